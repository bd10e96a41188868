/**
 * Sealing outbox rows at rest: AES-256-GCM with a key derived (HKDF-SHA256) from the unit's Ed25519
 * private key, so a copied state directory without the unit's key reveals no face crop. Layout of
 * a sealed value: 12-byte nonce | 16-byte tag | ciphertext. The associated data binds the row's
 * kind and message id, so sealed payloads cannot be swapped between rows.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

const INFO = 'lfr-edge outbox seal v1';

export function deriveOutboxKey(unitEd25519Private: KeyObject): Buffer {
  if (unitEd25519Private.asymmetricKeyType !== 'ed25519' || unitEd25519Private.type !== 'private') {
    throw new Error('the outbox key is derived from the unit Ed25519 private key (unit-ed25519.key); got another kind of key');
  }
  const seed = Buffer.from(unitEd25519Private.export({ format: 'jwk' }).d as string, 'base64url');
  const key = Buffer.from(hkdfSync('sha256', seed, Buffer.from('lfr-edge'), Buffer.from(INFO), 32));
  seed.fill(0);
  return key;
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, c.getAuthTag(), body]);
}

export class SealError extends Error {
  override name = 'SealError';
}

export function unseal(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 28) throw new SealError('sealed outbox row is truncated');
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(sealed.subarray(12, 28));
  try {
    return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
  } catch {
    throw new SealError(`sealed outbox row (${aad}) does not open with this unit's key: the state directory belongs to another unit key, or the row was altered`);
  }
}
