import t from 'tap';
import { createHash, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  generateAuthorityKeys,
  generateUnitKeys,
  KeyError,
  loadAuthorityKeys,
  loadPrivateKey,
  loadPublicKey,
  loadUnitKeys,
  publicKeyFingerprint,
  rawPublicKey,
} from '../../src/watchlist/keys';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'lfr-keys-'));
const mode = (f: string) => statSync(f).mode & 0o777;

t.test('unit keys: four PEM files, private 0600, public 0644, loadable and matching', async (t) => {
  const dir = path.join(tmp(), 'keys');
  const old = process.umask(0o000); // a permissive umask must not loosen the private files
  try {
    generateUnitKeys(dir);
  } finally {
    process.umask(old);
  }
  t.same(readdirSync(dir).sort(), ['unit-ed25519.key', 'unit-ed25519.pub', 'unit-x25519.key', 'unit-x25519.pub']);
  t.equal(mode(path.join(dir, 'unit-x25519.key')), 0o600);
  t.equal(mode(path.join(dir, 'unit-ed25519.key')), 0o600);
  t.equal(mode(path.join(dir, 'unit-x25519.pub')), 0o644);
  t.equal(mode(path.join(dir, 'unit-ed25519.pub')), 0o644);
  const k = loadUnitKeys(dir);
  t.equal(k.x25519Private.asymmetricKeyType, 'x25519');
  t.equal(k.ed25519Public.asymmetricKeyType, 'ed25519');
  const sig = sign(null, Buffer.from('hello'), k.ed25519Private);
  t.ok(verify(null, Buffer.from('hello'), k.ed25519Public, sig));
});

t.test('refuses to overwrite: names the existing file and writes nothing', async (t) => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'unit-ed25519.pub'), 'precious');
  t.throws(() => generateUnitKeys(dir), { name: 'KeyError', message: /refusing to overwrite existing key file .*unit-ed25519\.pub/ });
  t.notOk(existsSync(path.join(dir, 'unit-x25519.key')), 'no half-made identity is left');
  generateAuthorityKeys(dir);
  t.throws(() => generateAuthorityKeys(dir), /refusing to overwrite existing key files .*authority-ed25519\.key, .*authority-ed25519\.pub/);
  t.equal(loadAuthorityKeys(dir).ed25519Private.asymmetricKeyType, 'ed25519');
});

t.test('fingerprint: hex of the first 16 bytes of sha256 of the raw public key, same from private or public', async (t) => {
  const dir = tmp();
  generateUnitKeys(dir);
  const k = loadUnitKeys(dir);
  const fp = publicKeyFingerprint(k.x25519Public);
  t.match(fp, /^[0-9a-f]{32}$/);
  t.equal(fp, createHash('sha256').update(rawPublicKey(k.x25519Public)).digest().subarray(0, 16).toString('hex'));
  t.equal(publicKeyFingerprint(k.x25519Private), fp);
  t.not(publicKeyFingerprint(k.ed25519Public), fp);
  t.equal(rawPublicKey(k.x25519Public).length, 32);
});

t.test('loading refuses, with a message that says what to do', async (t) => {
  const dir = tmp();
  generateUnitKeys(dir);
  const key = path.join(dir, 'unit-x25519.key');
  chmodSync(key, 0o644);
  t.throws(() => loadPrivateKey(key), { message: `private key file ${key} has mode 0644: readable by other users; run 'chmod 600 ${key}'` });
  t.throws(() => loadUnitKeys(dir), KeyError);
  chmodSync(key, 0o600);
  t.throws(() => loadPublicKey(path.join(dir, 'nope.pub')), { message: `public key file ${path.join(dir, 'nope.pub')} does not exist` });
  t.throws(() => loadPublicKey(key), { message: `${key} holds a private key; give the public key (.pub) file, and keep the private one where it belongs` });
  t.throws(() => loadPublicKey(path.join(dir, 'unit-x25519.pub'), ['ed25519']), /holds a x25519 key; expected ed25519/);
  const junk = path.join(dir, 'junk.pub');
  writeFileSync(junk, 'not a key');
  t.throws(() => loadPublicKey(junk), new RegExp(`${junk} is not a PEM public key`));

  // A public file that is not the half of the private one (mixed-up provisioning).
  const other = tmp();
  generateUnitKeys(other);
  copyFileSync(path.join(other, 'unit-x25519.pub'), path.join(dir, 'unit-x25519.pub'));
  t.throws(() => loadUnitKeys(dir), { message: `${path.join(dir, 'unit-x25519.pub')} is not the public half of ${key}` });
});
