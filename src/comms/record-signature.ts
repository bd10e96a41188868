/**
 * The deployment record, signed by the unit's Ed25519 key so the central side can prove which unit
 * wrote it and that nobody changed it on the way.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../canonical-json';
import type { DeploymentRecord, RecordMessage } from './messages';

/** Hex sha256 of the raw 32-byte Ed25519/X25519 public key, first 16 bytes (as src/watchlist/keys.ts). */
export function fingerprintOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const raw = Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 32);
}

export function signRecord(record: DeploymentRecord, unitEd25519Private: KeyObject): RecordMessage {
  const { signature: _ignored, ...plain } = record as DeploymentRecord & { signature?: unknown };
  const sig = sign(null, Buffer.from(canonicalJson(plain), 'utf8'), unitEd25519Private).toString('base64');
  return { ...plain, signature: { alg: 'Ed25519', keyFingerprint: fingerprintOf(unitEd25519Private), sig } };
}

/** True when `signed` carries a valid signature by `unitEd25519Public` over every other field. */
export function verifyRecord(signed: RecordMessage, unitEd25519Public: KeyObject): boolean {
  if (!signed || typeof signed !== 'object' || !signed.signature || signed.signature.alg !== 'Ed25519') return false;
  const { signature, ...plain } = signed;
  if (typeof signature.sig !== 'string') return false;
  return verify(null, Buffer.from(canonicalJson(plain), 'utf8'), unitEd25519Public, Buffer.from(signature.sig, 'base64'));
}
