/**
 * The unit's identity and trust anchor: every key file present, private keys mode 0600 and owned
 * by the user the check runs as (the service user), public halves matching their private keys,
 * and the central authority's Ed25519 public key loadable.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { KeyError, loadPrivateKey, loadPublicKey, publicKeyFingerprint, rawPublicKey, UNIT_KEY_FILES } from '../watchlist/keys';
import { fail, pass, type CheckResult } from './check';

export interface KeyFileFacts {
  mode: number;
  uid: number;
}

/** Pure: what is wrong with a private key file's mode and owner, or undefined. */
export function privateKeyProblem(file: string, facts: KeyFileFacts, uid: number): string | undefined {
  const mode = facts.mode & 0o777;
  if (mode & 0o077) {
    return `${file} has mode ${mode.toString(8).padStart(4, '0')}: readable by other users; run 'chmod 600 ${file}'`;
  }
  if (facts.uid !== uid) {
    return `${file} is owned by uid ${facts.uid}, not by this user (uid ${uid}): the service user must own its keys; run 'chown lfr-edge: ${file}' (scripts/provision does)`;
  }
  return undefined;
}

function stat(file: string, keysDir: string): KeyFileFacts {
  try {
    const s = statSync(file);
    return { mode: s.mode, uid: s.uid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyError(`${file} does not exist: make the unit's keys with 'lfr-edge keys init --dir ${keysDir}' (scripts/provision does)`);
    }
    throw new KeyError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function checkUnitKeys(keysDir: string, uid: number): CheckResult {
  const name = 'unit keys';
  try {
    const fps: string[] = [];
    for (const [label, priv, pub, type] of [
      ['X25519', UNIT_KEY_FILES.x25519Private, UNIT_KEY_FILES.x25519Public, 'x25519'],
      ['Ed25519', UNIT_KEY_FILES.ed25519Private, UNIT_KEY_FILES.ed25519Public, 'ed25519'],
    ] as const) {
      const privFile = path.join(keysDir, priv);
      const pubFile = path.join(keysDir, pub);
      const problem = privateKeyProblem(privFile, stat(privFile, keysDir), uid);
      if (problem) return fail(name, problem);
      stat(pubFile, keysDir);
      const privateKey = loadPrivateKey(privFile, [type]);
      const publicKey = loadPublicKey(pubFile, [type]);
      if (!rawPublicKey(privateKey).equals(rawPublicKey(publicKey))) {
        return fail(name, `${pubFile} is not the public half of ${privFile}: the unit would be registered under the wrong key; restore the matching pair`);
      }
      fps.push(`${label} ${publicKeyFingerprint(publicKey)}`);
    }
    return pass(name, `${keysDir}: private keys 0600, owned by uid ${uid}; ${fps.join(', ')}`);
  } catch (err) {
    if (err instanceof KeyError) return fail(name, err.message);
    throw err;
  }
}

export function checkAuthorityKey(file: string): CheckResult {
  const name = 'authority key';
  try {
    const key = loadPublicKey(file, ['ed25519']);
    return pass(name, `${file}: Ed25519 ${publicKeyFingerprint(key)}`);
  } catch (err) {
    if (err instanceof KeyError) {
      return fail(name, `${err.message} (the central authority's Ed25519 public key; without it no command is accepted; scripts/provision --authority-key installs it)`);
    }
    throw err;
  }
}

/**
 * The central service's X25519 public key (mqtt.centralPublicKeyFile), when provisioned: loadable
 * and of that kind (else the daemon refuses to start); its fingerprint is printed so it can be
 * compared with `lfr-edge keys central`'s. Not provisioned is fine: alert crops are then off.
 */
export function checkCentralKey(file: string | undefined, cropsOn: boolean): CheckResult {
  const name = 'central key';
  if (file === undefined) return pass(name, 'not provisioned: alert face crops are off (scripts/provision --central-key central-x25519.pub turns them on)');
  try {
    const key = loadPublicKey(file, ['x25519']);
    return pass(name, `${file}: X25519 ${publicKeyFingerprint(key)}; ${cropsOn ? 'alert face crops are sealed to it' : 'alert face crops off (mqtt.alertCrops false)'}`);
  } catch (err) {
    if (err instanceof KeyError) return fail(name, `${err.message} (the central service's X25519 public key, mqtt.centralPublicKeyFile; the daemon does not start without it; scripts/provision --central-key installs it)`);
    throw err;
  }
}
