/**
 * Device and authority keys: PEM files, private keys PKCS#8 with mode 0600, public keys SPKI 0644.
 *
 * Unit (`lfr-edge keys init`): an X25519 pair (watchlist bundles are encrypted to it) and an
 * Ed25519 pair (for what the unit signs). Authority (`lfr-edge keys authority`): an Ed25519 pair
 * whose public half is provisioned on every unit as the trust anchor.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export const UNIT_KEY_FILES = {
  x25519Private: 'unit-x25519.key',
  x25519Public: 'unit-x25519.pub',
  ed25519Private: 'unit-ed25519.key',
  ed25519Public: 'unit-ed25519.pub',
} as const;

export const AUTHORITY_KEY_FILES = {
  ed25519Private: 'authority-ed25519.key',
  ed25519Public: 'authority-ed25519.pub',
} as const;

/** The central service's X25519 pair (`lfr-edge keys central`): units seal alert crops to its public half. */
export const CENTRAL_KEY_FILES = {
  x25519Private: 'central-x25519.key',
  x25519Public: 'central-x25519.pub',
} as const;

export interface UnitKeys {
  x25519Private: KeyObject;
  x25519Public: KeyObject;
  ed25519Private: KeyObject;
  ed25519Public: KeyObject;
}

export interface AuthorityKeys {
  ed25519Private: KeyObject;
  ed25519Public: KeyObject;
}

/** A key file is missing, unreadable, of the wrong type or too widely readable. */
export class KeyError extends Error {
  override name = 'KeyError';
}

type KeyType = 'x25519' | 'ed25519';

/** The raw 32-byte public key of an X25519 or Ed25519 KeyObject (public or private). */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new KeyError(`not an X25519/Ed25519 key (type ${String(pub.asymmetricKeyType)})`);
  return Buffer.from(jwk.x, 'base64url');
}

/** Hex of the first 16 bytes of sha256(raw 32-byte public key): names a key in bundles and logs. */
export function publicKeyFingerprint(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest().subarray(0, 16).toString('hex');
}

function writeNewFile(file: string, content: string, mode: number): void {
  const fd = openSync(file, 'wx', mode); // 'wx': fails if the file exists, never overwrites
  try {
    fchmodSync(fd, mode); // the umask must not loosen or tighten what we promise
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writePairs(dir: string, pairs: { privateFile: string; publicFile: string; type: KeyType }[]): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = pairs.flatMap((p) => [path.join(dir, p.privateFile), path.join(dir, p.publicFile)]);
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0) {
    throw new KeyError(
      `refusing to overwrite existing key file${existing.length > 1 ? 's' : ''} ${existing.join(', ')}; ` +
        `move ${existing.length > 1 ? 'them' : 'it'} away first if you really mean to replace this identity`,
    );
  }
  for (const p of pairs) {
    // Overloads of generateKeyPairSync are per literal type; both export the same way.
    const { privateKey, publicKey } = generateKeyPairSync(p.type as 'ed25519');
    writeNewFile(path.join(dir, p.privateFile), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    writeNewFile(path.join(dir, p.publicFile), publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  }
  return files;
}

/** Make a unit's identity in DIR; refuses (naming the file) if any of its key files exists. Returns the files written. */
export function generateUnitKeys(dir: string): string[] {
  return writePairs(dir, [
    { privateFile: UNIT_KEY_FILES.x25519Private, publicFile: UNIT_KEY_FILES.x25519Public, type: 'x25519' },
    { privateFile: UNIT_KEY_FILES.ed25519Private, publicFile: UNIT_KEY_FILES.ed25519Public, type: 'ed25519' },
  ]);
}

/** Make the central authority's Ed25519 pair in DIR; refuses to overwrite. Returns the files written. */
export function generateAuthorityKeys(dir: string): string[] {
  return writePairs(dir, [
    { privateFile: AUTHORITY_KEY_FILES.ed25519Private, publicFile: AUTHORITY_KEY_FILES.ed25519Public, type: 'ed25519' },
  ]);
}

/** Make the central service's X25519 pair in DIR; refuses to overwrite. Returns the files written. */
export function generateCentralKeys(dir: string): string[] {
  return writePairs(dir, [{ privateFile: CENTRAL_KEY_FILES.x25519Private, publicFile: CENTRAL_KEY_FILES.x25519Public, type: 'x25519' }]);
}

function readKeyFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KeyError(`${what} ${file} does not exist`);
    if (code === 'EACCES') throw new KeyError(`${what} ${file} is not readable by this user`);
    throw new KeyError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

function expectType(key: KeyObject, file: string, types: readonly KeyType[]): void {
  const t = key.asymmetricKeyType as string | undefined;
  if (!t || !(types as readonly string[]).includes(t)) {
    throw new KeyError(`${file} holds a ${t ?? 'unknown'} key; expected ${types.join(' or ')}`);
  }
}

/** A PEM private key (PKCS#8). Refuses a file readable by group or others (like ssh does). */
export function loadPrivateKey(file: string, types: readonly KeyType[] = ['x25519', 'ed25519']): KeyObject {
  const pem = readKeyFile(file, 'private key file');
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new KeyError(
      `private key file ${file} has mode ${mode.toString(8).padStart(4, '0')}: readable by other users; run 'chmod 600 ${file}'`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new KeyError(`${file} is not a PEM private key: ${(err as Error).message}`);
  }
  expectType(key, file, types);
  return key;
}

/** A PEM public key (SPKI). */
export function loadPublicKey(file: string, types: readonly KeyType[] = ['x25519', 'ed25519']): KeyObject {
  const pem = readKeyFile(file, 'public key file');
  if (pem.includes('PRIVATE KEY-----')) {
    // createPublicKey() would quietly derive the public half; a private key must not travel as a .pub.
    throw new KeyError(`${file} holds a private key; give the public key (.pub) file, and keep the private one where it belongs`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new KeyError(`${file} is not a PEM public key: ${(err as Error).message}`);
  }
  expectType(key, file, types);
  return key;
}

function loadPair(dir: string, privateFile: string, publicFile: string, type: KeyType): [KeyObject, KeyObject] {
  const priv = loadPrivateKey(path.join(dir, privateFile), [type]);
  const pub = loadPublicKey(path.join(dir, publicFile), [type]);
  if (!rawPublicKey(priv).equals(rawPublicKey(pub))) {
    throw new KeyError(`${path.join(dir, publicFile)} is not the public half of ${path.join(dir, privateFile)}`);
  }
  return [priv, pub];
}

/** The unit's four keys from DIR (made by `lfr-edge keys init`), each pair checked to match. */
export function loadUnitKeys(dir: string): UnitKeys {
  const [x25519Private, x25519Public] = loadPair(dir, UNIT_KEY_FILES.x25519Private, UNIT_KEY_FILES.x25519Public, 'x25519');
  const [ed25519Private, ed25519Public] = loadPair(dir, UNIT_KEY_FILES.ed25519Private, UNIT_KEY_FILES.ed25519Public, 'ed25519');
  return { x25519Private, x25519Public, ed25519Private, ed25519Public };
}

/** The authority's pair from DIR (made by `lfr-edge keys authority`). */
export function loadAuthorityKeys(dir: string): AuthorityKeys {
  const [ed25519Private, ed25519Public] = loadPair(
    dir,
    AUTHORITY_KEY_FILES.ed25519Private,
    AUTHORITY_KEY_FILES.ed25519Public,
    'ed25519',
  );
  return { ed25519Private, ed25519Public };
}
