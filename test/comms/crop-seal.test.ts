/** Alert crops sealed to the central X25519 key: only that key opens them, only for that alert. */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { CROP_SEAL_ALG, CropSealError, openCrop, sealCrop } from '../../src/comms/crop-seal';

const central = generateKeyPairSync('x25519');
const other = generateKeyPairSync('x25519');
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, 7)]);

t.test('round trip with the central key; nothing of the plaintext in the sealed form', async (t) => {
  const s = sealCrop(jpeg, central.publicKey, 'alert-1');
  t.equal(s.alg, CROP_SEAL_ALG);
  t.notOk(JSON.stringify(s).includes(jpeg.toString('base64').slice(0, 12)), 'no JPEG bytes in the clear');
  t.same(openCrop(s, central.privateKey, 'alert-1'), jpeg);
  const s2 = sealCrop(jpeg, central.publicKey, 'alert-1');
  t.not(s2.epk, s.epk, 'a fresh ephemeral key per crop');
});

t.test('refusals: another key, another alert, altered bytes, not X25519', async (t) => {
  const s = sealCrop(jpeg, central.publicKey, 'alert-1');
  t.throws(() => openCrop(s, other.privateKey, 'alert-1'), /sealed to another key \(fingerprint [0-9a-f]{32}, this central key is [0-9a-f]{32}\)/);
  const toOther = sealCrop(jpeg, other.publicKey, 'alert-1');
  t.throws(() => openCrop({ ...toOther, keyFingerprint: s.keyFingerprint }, central.privateKey, 'alert-1'), CropSealError, 'a lying fingerprint still does not open');
  t.throws(() => openCrop(s, central.privateKey, 'alert-2'), /does not open with this central key for alert alert-2/);
  const ct = Buffer.from(s.ct, 'base64');
  ct[5] ^= 1;
  t.throws(() => openCrop({ ...s, ct: ct.toString('base64') }, central.privateKey, 'alert-1'), /altered/);
  t.throws(() => openCrop({ ...s, ct: '' }, central.privateKey, 'alert-1'), /truncated or malformed/);
  t.throws(() => sealCrop(jpeg, generateKeyPairSync('ed25519').publicKey, 'a'), /must be an X25519 public key/);
});

t.test('config: crops on exactly when a central key is provisioned; on without one is refused', async (t) => {
  const { parseConfig } = await import('../../src/config');
  const { cropsEnabled } = await import('../../src/comms/config');
  t.equal(cropsEnabled(parseConfig({}).mqtt), false, 'no central key: off');
  t.equal(cropsEnabled(parseConfig({ mqtt: { centralPublicKeyFile: '/k/central-x25519.pub' } }).mqtt), true, 'a central key: on');
  t.equal(cropsEnabled(parseConfig({ mqtt: { centralPublicKeyFile: '/k/central-x25519.pub', alertCrops: false } }).mqtt), false, 'turned off explicitly');
  t.throws(() => parseConfig({ mqtt: { alertCrops: true } }), /mqtt\.alertCrops: alert crops are only ever sent sealed to the central key/);
});
