/**
 * Alert face crops sealed to the central X25519 key, so that the broker and any subscriber other
 * than the central service see no face: ephemeral X25519 with the central public key -> HKDF-SHA256
 * (salt = ephemeral public || central public, info = CROP_HKDF_INFO) -> AES-256-GCM, the alert id
 * as associated data (a crop cannot be moved onto another alert). Pure: keys and bytes in and out.
 */
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { publicKeyFingerprint, rawPublicKey } from '../watchlist/keys';

export const CROP_SEAL_ALG = 'x25519-hkdf-sha256-aes256gcm' as const;
export const CROP_HKDF_INFO = Buffer.from('lfr-edge alert crop v1', 'ascii');

/** The sealed form carried in `alert.crop.sealed` (all binary fields base64). */
export interface SealedCrop {
  alg: typeof CROP_SEAL_ALG;
  /** publicKeyFingerprint of the central X25519 key it is sealed to. */
  keyFingerprint: string;
  /** Ephemeral X25519 public key (raw 32 bytes). */
  epk: string;
  nonce: string;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ct: string;
}

export class CropSealError extends Error {
  override name = 'CropSealError';
}

function x25519PublicFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function deriveKey(shared: Buffer, epk: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), CROP_HKDF_INFO, 32));
}

/** Seal JPEG bytes to the central public key, bound to the alert id. */
export function sealCrop(jpeg: Buffer, centralPublic: KeyObject, alertId: string): SealedCrop {
  if (centralPublic.asymmetricKeyType !== 'x25519') throw new CropSealError('the central key must be an X25519 public key (central-x25519.pub)');
  const recipient = rawPublicKey(centralPublic);
  const eph = generateKeyPairSync('x25519');
  const epk = rawPublicKey(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: centralPublic });
  const key = deriveKey(shared, epk, recipient);
  shared.fill(0);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(alertId, 'utf8'));
  const ct = Buffer.concat([c.update(jpeg), c.final(), c.getAuthTag()]);
  key.fill(0);
  return { alg: CROP_SEAL_ALG, keyFingerprint: publicKeyFingerprint(centralPublic), epk: epk.toString('base64'), nonce: nonce.toString('base64'), ct: ct.toString('base64') };
}

/** Open a sealed crop with the central private key; throws CropSealError saying why it does not open. */
export function openCrop(sealed: SealedCrop, centralPrivate: KeyObject, alertId: string): Buffer {
  if (!sealed || sealed.alg !== CROP_SEAL_ALG) throw new CropSealError(`the crop is not sealed with ${CROP_SEAL_ALG}`);
  const mine = publicKeyFingerprint(centralPrivate);
  if (sealed.keyFingerprint !== mine) {
    throw new CropSealError(`the crop is sealed to another key (fingerprint ${sealed.keyFingerprint}, this central key is ${mine}): check the central public key provisioned on the unit`);
  }
  const epk = Buffer.from(sealed.epk ?? '', 'base64');
  const nonce = Buffer.from(sealed.nonce ?? '', 'base64');
  const ct = Buffer.from(sealed.ct ?? '', 'base64');
  if (epk.length !== 32 || nonce.length !== 12 || ct.length < 16) throw new CropSealError('the sealed crop is truncated or malformed');
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: centralPrivate, publicKey: x25519PublicFromRaw(epk) });
  } catch (err) {
    throw new CropSealError(`the sealed crop's ephemeral key is unusable: ${(err as Error).message}`);
  }
  const key = deriveKey(shared, epk, rawPublicKey(centralPrivate));
  shared.fill(0);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(Buffer.from(alertId, 'utf8'));
  d.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  } catch {
    throw new CropSealError(`the crop does not open with this central key for alert ${alertId}: sealed to another key, moved from another alert, or altered`);
  } finally {
    key.fill(0);
  }
}
