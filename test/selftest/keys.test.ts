/** Unit keys and the authority key: real key files, real modes and owners. */
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkAuthorityKey, checkCentralKey, checkUnitKeys, privateKeyProblem } from '../../src/selftest/keys';
import { generateAuthorityKeys, generateCentralKeys, generateUnitKeys } from '../../src/watchlist/keys';

const uid = process.getuid!();
const made: string[] = [];
t.teardown(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-selftest-keys-'));
  made.push(dir);
  return dir;
}

function unitDir(): string {
  const dir = tempDir();
  generateUnitKeys(dir);
  return dir;
}

t.test('fresh unit keys pass and name both fingerprints', async (t) => {
  const dir = unitDir();
  const r = checkUnitKeys(dir, uid);
  t.equal(r.ok, true, r.detail);
  t.match(r.detail, new RegExp(`private keys 0600, owned by uid ${uid}; X25519 [0-9a-f]{32}, Ed25519 [0-9a-f]{32}`));
});

t.test('a private key readable by others fails with the chmod to run', async (t) => {
  const dir = unitDir();
  const file = path.join(dir, 'unit-ed25519.key');
  chmodSync(file, 0o644);
  const r = checkUnitKeys(dir, uid);
  t.equal(r.ok, false);
  t.equal(r.detail, `${file} has mode 0644: readable by other users; run 'chmod 600 ${file}'`);
  chmodSync(file, 0o640);
  t.match(checkUnitKeys(dir, uid).detail, /mode 0640: readable by other users/, 'group-readable too');
});

t.test('a private key owned by another user fails', async (t) => {
  const dir = unitDir();
  const file = path.join(dir, 'unit-x25519.key');
  if (uid === 0) {
    chownSync(file, 4242, 4242);
    const r = checkUnitKeys(dir, 0);
    t.equal(r.ok, false);
    t.match(r.detail, /unit-x25519\.key is owned by uid 4242, not by this user \(uid 0\): the service user must own its keys; run 'chown lfr-edge: /);
  } else {
    const r = checkUnitKeys(dir, uid + 1);
    t.equal(r.ok, false);
    t.match(r.detail, new RegExp(`owned by uid ${uid}, not by this user \\(uid ${uid + 1}\\)`));
  }
  t.equal(privateKeyProblem('k', { mode: 0o100600, uid: 5 }, 5), undefined, 'right mode and owner: no problem');
});

t.test('a missing key names keys init; a mismatched public key is refused', async (t) => {
  const dir = unitDir();
  rmSync(path.join(dir, 'unit-x25519.key'));
  const missing = checkUnitKeys(dir, uid);
  t.equal(missing.ok, false);
  t.match(missing.detail, new RegExp(`unit-x25519\\.key does not exist: make the unit's keys with 'lfr-edge keys init --dir ${dir}'`));
  const a = unitDir();
  const b = unitDir();
  copyFileSync(path.join(b, 'unit-ed25519.pub'), path.join(a, 'unit-ed25519.pub'));
  const mismatch = checkUnitKeys(a, uid);
  t.equal(mismatch.ok, false);
  t.match(mismatch.detail, /unit-ed25519\.pub is not the public half of .*unit-ed25519\.key/);
});

t.test('authority key: present passes; missing, private or wrong type fails', async (t) => {
  const dir = tempDir();
  generateAuthorityKeys(dir);
  const good = checkAuthorityKey(path.join(dir, 'authority-ed25519.pub'));
  t.equal(good.ok, true);
  t.match(good.detail, /authority-ed25519\.pub: Ed25519 [0-9a-f]{32}$/);
  const missing = checkAuthorityKey(path.join(dir, 'nope.pub'));
  t.equal(missing.ok, false);
  t.match(missing.detail, /nope\.pub does not exist \(the central authority's Ed25519 public key; without it no command is accepted/);
  t.match(checkAuthorityKey(path.join(dir, 'authority-ed25519.key')).detail, /holds a private key/);
  const unit = unitDir();
  t.match(checkAuthorityKey(path.join(unit, 'unit-x25519.pub')).detail, /holds a x25519 key; expected ed25519/);
});

t.test('central key: absent is fine (crops off); present shows its fingerprint; private, missing or wrong type fails', async (t) => {
  const none = checkCentralKey(undefined, false);
  t.equal(none.ok, true);
  t.match(none.detail, /^not provisioned: alert face crops are off \(scripts\/provision --central-key/);
  const dir = tempDir();
  generateCentralKeys(dir);
  const good = checkCentralKey(path.join(dir, 'central-x25519.pub'), true);
  t.equal(good.ok, true);
  t.match(good.detail, /central-x25519\.pub: X25519 [0-9a-f]{32}; alert face crops are sealed to it$/);
  t.match(checkCentralKey(path.join(dir, 'central-x25519.pub'), false).detail, /alert face crops off \(mqtt\.alertCrops false\)$/);
  const priv = checkCentralKey(path.join(dir, 'central-x25519.key'), true);
  t.equal(priv.ok, false);
  t.match(priv.detail, /holds a private key.*scripts\/provision --central-key installs it/);
  t.match(checkCentralKey(path.join(dir, 'nope.pub'), true).detail, /nope\.pub does not exist/);
  const auth = tempDir();
  generateAuthorityKeys(auth);
  t.match(checkCentralKey(path.join(auth, 'authority-ed25519.pub'), true).detail, /holds a ed25519 key; expected x25519/);
});
