import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { canonicalJson } from '../../src/canonical-json';
import { signCommand, verifyCommand, CommandRefusedError } from '../../src/comms/command-envelope';
import { signRecord, verifyRecord, fingerprintOf } from '../../src/comms/record-signature';
import { parseTopic, unitTopic, commandTopic } from '../../src/comms/topics';

const authority = generateKeyPairSync('ed25519');
const now = new Date('2025-03-01T12:00:00.000Z');
const ctx = { unitId: 'van-1', authorityPublic: authority.publicKey, now, maxPayloadBytes: 4096, maxLifetimeS: 3600, clockSkewS: 60, topicType: 'ping' };
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CommandRefusedError) return e.reason;
    throw e;
  }
  return 'accepted';
};

t.test('canonical JSON sorts keys at every level and refuses what cannot be signed', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}');
  t.throws(() => canonicalJson({ x: NaN }), /\$\.x: NaN cannot be signed/);
  t.throws(() => canonicalJson({ x: new Uint8Array(2) }), /base64/);
});

t.test('a signed command verifies; time window and limits are enforced', async (t) => {
  const cmd = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now }, authority.privateKey);
  const buf = (o: unknown) => Buffer.from(JSON.stringify(o));
  t.equal(verifyCommand(buf(cmd), ctx).commandId, cmd.commandId);
  t.equal(refusal(() => verifyCommand(buf(cmd), { ...ctx, now: new Date(now.getTime() + 301_000) })), 'expired');
  const future = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now: new Date(now.getTime() + 600_000) }, authority.privateKey);
  t.equal(refusal(() => verifyCommand(buf(future), ctx)), 'not-yet-valid');
  const long = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now, ttlS: 7200 }, authority.privateKey);
  t.equal(refusal(() => verifyCommand(buf(long), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, sig: 'AAAA' }), ctx)), 'bad-signature');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, v: 2 }), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(buf([1]), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(Buffer.alloc(5000), ctx)), 'oversized');
  t.throws(() => signCommand({ type: 'ping', unitId: 'x', body: {}, now }, authority.publicKey), /Ed25519 private key/);
});

t.test('records: signed by the unit, any change breaks the signature', async (t) => {
  const unit = generateKeyPairSync('ed25519');
  const rec = { v: 1 as const, sessionId: 's', unitId: 'u', bundleId: 'b', startedAt: 'x', endedAt: 'y', endedBy: 'expiry' as const, watchlistSize: 1, threshold: 0.4, targetFalseAlertRate: 0.001, facesProcessed: 1, tracks: 1, alerts: 0, confirmed: 0, falseAlerts: 0, unadjudicated: 0, wipe: { ok: true, filesRemoved: [], leftovers: [], keyZeroed: true, at: 'z' } };
  const signed = signRecord(rec, unit.privateKey);
  t.equal(signed.signature.keyFingerprint, fingerprintOf(unit.publicKey));
  t.equal(signed.signature.keyFingerprint.length, 32);
  t.ok(verifyRecord(signed, unit.publicKey));
  t.notOk(verifyRecord({ ...signed, wipe: { ...signed.wipe, ok: false } }, unit.publicKey));
  t.notOk(verifyRecord(signed, generateKeyPairSync('ed25519').publicKey));
});

t.test('topics are built in one place and parsed back', async (t) => {
  t.equal(unitTopic('van-1', 'alert'), 'lfr/v1/van-1/alert');
  t.equal(commandTopic('van-1', 'start-session'), 'lfr/v1/van-1/cmd/start-session');
  t.throws(() => unitTopic('van/+', 'alert'), /not usable in a topic/);
  t.same(parseTopic('lfr/v1/van-1/cmd/ping'), { unitId: 'van-1', kind: 'cmd', command: 'ping' });
  t.same(parseTopic('lfr/v1/van-1/health'), { unitId: 'van-1', kind: 'health' });
  t.equal(parseTopic('lfr/v2/van-1/health'), undefined);
});
