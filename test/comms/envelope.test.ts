import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { canonicalJson } from '../../src/canonical-json';
import { encodeCommand, payloadLimitFor, signCommand, verifyCommand, CommandRefusedError } from '../../src/comms/command-envelope';
import { MqttConfigSchema } from '../../src/comms/config';
import { signRecord, verifyRecord, fingerprintOf } from '../../src/comms/record-signature';
import { parseTopic, unitTopic, commandTopic } from '../../src/comms/topics';

const authority = generateKeyPairSync('ed25519');
const now = new Date('2025-03-01T12:00:00.000Z');
const ctx = { unitId: 'van-1', authorityPublic: authority.publicKey, now, maxPayloadBytes: 4096, maxSmallPayloadBytes: 4096, maxLifetimeS: 3600, clockSkewS: 60, topicType: 'ping' };
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
  t.same(encodeCommand(cmd), buf(cmd), 'JSON.stringify of the envelope is its wire form');
  t.equal(verifyCommand(buf(cmd), ctx).commandId, cmd.commandId);
  t.equal(verifyCommand(buf(JSON.parse(JSON.stringify(cmd))), ctx).signed.type, 'ping', 'a JSON round trip keeps the signed bytes');
  t.equal(refusal(() => verifyCommand(buf(cmd), { ...ctx, now: new Date(now.getTime() + 301_000) })), 'expired');
  const future = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now: new Date(now.getTime() + 600_000) }, authority.privateKey);
  t.equal(refusal(() => verifyCommand(buf(future), ctx)), 'not-yet-valid');
  const long = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now, ttlS: 7200 }, authority.privateKey);
  t.equal(refusal(() => verifyCommand(buf(long), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, sig: 'A'.repeat(86) + '==' }), ctx)), 'bad-signature');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, sig: 'AAAA' }), ctx)), 'bad-signature');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, sig: '' }), ctx)), 'missing-signature');
  t.equal(refusal(() => verifyCommand(buf({ v: 2, commandId: cmd.commandId, signed: cmd.signed }), ctx)), 'missing-signature');
  t.equal(refusal(() => verifyCommand(buf({ ...cmd, v: 3 }), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(buf([1]), ctx)), 'malformed');
  t.equal(refusal(() => verifyCommand(Buffer.alloc(5000), ctx)), 'oversized');
  t.throws(() => signCommand({ type: 'ping', unitId: 'x', body: {}, now }, authority.publicKey), /Ed25519 private key/);
});

t.test('the signature covers the raw bytes: any change to them, even whitespace, is refused', async (t) => {
  const cmd = signCommand({ type: 'adjudicate', unitId: 'van-1', body: { alertId: 'a-1', verdict: 'confirmed' }, now }, authority.privateKey);
  const wire = encodeCommand(cmd).toString();
  const c = { ...ctx, topicType: 'adjudicate' };
  t.equal(refusal(() => verifyCommand(Buffer.from(wire.replace('"confirmed"', '"false-alert"')), c)), 'bad-signature', 'a changed verdict');
  t.equal(refusal(() => verifyCommand(Buffer.from(wire.replace('"body":{', '"body": {')), c)), 'bad-signature', 'added whitespace');
  t.equal(refusal(() => verifyCommand(Buffer.from(wire.slice(0, -1) + ' }'), c)), 'bad-signature', 'a space before the last brace');
  const reordered = JSON.stringify({ v: 2, sig: cmd.sig, commandId: cmd.commandId, signed: cmd.signed });
  t.equal(refusal(() => verifyCommand(Buffer.from(reordered), c)), 'malformed', 'members out of order');
  const other = signCommand({ type: 'adjudicate', unitId: 'van-1', body: { alertId: 'a-1', verdict: 'confirmed' }, now }, authority.privateKey);
  const swapped = JSON.stringify({ v: 2, commandId: other.commandId, sig: cmd.sig, signed: cmd.signed });
  t.equal(refusal(() => verifyCommand(Buffer.from(swapped), c)), 'malformed', 'an envelope commandId that is not the signed one');
});

t.test('v1 envelopes (signature inside the parsed JSON) are refused with what to do', async (t) => {
  const v1 = { v: 1, type: 'ping', unitId: 'van-1', commandId: '6f1c0d7e-0000-4000-8000-000000000001', issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString(), body: {}, sig: 'x'.repeat(88) };
  t.throws(() => verifyCommand(Buffer.from(JSON.stringify(v1)), ctx), { reason: 'malformed', message: /v1 command envelope .* takes only v2, signed over raw bytes/ });
});

t.test('per-command size limits: only start-session may be large', async (t) => {
  const limits = { maxPayloadBytes: 1 << 20, maxSmallPayloadBytes: 2048 };
  t.same(payloadLimitFor('start-session', limits), { bytes: 1 << 20, key: 'mqtt.commands.maxPayloadBytes' });
  for (const type of ['end-session', 'adjudicate', 'ping', 'self-destruct']) t.equal(payloadLimitFor(type, limits).bytes, 2048, type);
  const big = Buffer.alloc(100_000, 0x20);
  const c = { ...ctx, ...limits };
  t.throws(() => verifyCommand(big, { ...c, topicType: 'ping' }), { reason: 'oversized', message: /ping command payload is 100000 bytes, more than the 2048 allowed \(mqtt\.commands\.maxSmallPayloadBytes\)/ });
  t.equal(refusal(() => verifyCommand(big, { ...c, topicType: 'start-session' })), 'malformed', 'start-session of that size gets past the size check');
  const d = MqttConfigSchema.parse({}).commands;
  t.ok(d.maxSmallPayloadBytes <= 64 * 1024 && d.maxSmallPayloadBytes >= 1024, `default small-command limit ${d.maxSmallPayloadBytes} B`);
});

t.test('nothing unsigned is parsed: garbage, unsigned and badly signed payloads never reach JSON.parse', async (t) => {
  const c = { ...ctx, maxPayloadBytes: 32 << 20, maxSmallPayloadBytes: 4096, topicType: 'start-session' };
  const cmd = signCommand({ type: 'start-session', unitId: 'van-1', body: { bundle: 'QUJD' }, now }, authority.privateKey);
  const bigJson = Buffer.from(JSON.stringify({ v: 2, commandId: cmd.commandId, sig: cmd.sig, signed: { ...cmd.signed, body: { bundle: 'A'.repeat(20 << 20) } } }));
  const impostor = generateKeyPairSync('ed25519');
  const forged = encodeCommand(signCommand({ type: 'start-session', unitId: 'van-1', body: { bundle: 'A'.repeat(1 << 20) }, now }, impostor.privateKey));
  const real = JSON.parse;
  let parses = 0;
  JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => { parses++; return real(text, reviver); }) as typeof JSON.parse;
  try {
    t.equal(refusal(() => verifyCommand(bigJson, c)), 'bad-signature', '20 MiB of JSON under a signature that is not its own');
    t.equal(refusal(() => verifyCommand(forged, c)), 'bad-signature', 'signed by another key');
    t.equal(refusal(() => verifyCommand(Buffer.from('{"v":2,' + '"x":1,'.repeat(100_000) + '"y":1}'), c)), 'malformed', 'JSON without the envelope prefix');
    t.equal(refusal(() => verifyCommand(Buffer.alloc(1 << 20, 0xff), c)), 'malformed', 'binary garbage');
    t.equal(parses, 0, 'JSON.parse was never called');
    t.equal(verifyCommand(encodeCommand(cmd), c).signed.type, 'start-session');
    t.equal(parses, 1, 'a good command is parsed once, after its signature verified');
  } finally {
    JSON.parse = real;
  }
});

t.test('end-session is never refused for the unit clock; other commands are', async (t) => {
  const end = signCommand({ type: 'end-session', unitId: 'van-1', body: {}, now }, authority.privateKey);
  const ping = signCommand({ type: 'ping', unitId: 'van-1', body: {}, now }, authority.privateKey);
  const c = { ...ctx, topicType: 'end-session' };
  for (const [label, stepH, window] of [['5 h behind', -5, 'not-yet-valid'], ['5 h ahead', 5, 'expired']] as const) {
    const unitNow = new Date(now.getTime() + stepH * 3600_000);
    const v = verifyCommand(encodeCommand(end), { ...c, now: unitNow });
    t.equal(v.outsideWindow, window, `unit clock ${label}: end-session accepted, flagged ${window}`);
    t.equal(refusal(() => verifyCommand(encodeCommand(ping), { ...ctx, now: unitNow })), window, `unit clock ${label}: ping refused`);
  }
  t.equal(verifyCommand(encodeCommand(end), c).outsideWindow, undefined, 'within the window: nothing flagged');
  const other = signCommand({ type: 'end-session', unitId: 'van-2', body: {}, now }, authority.privateKey);
  t.equal(refusal(() => verifyCommand(encodeCommand(other), { ...c, now: new Date(now.getTime() - 5 * 3600_000) })), 'wrong-unit', 'the unit is still checked');
  const forged = signCommand({ type: 'end-session', unitId: 'van-1', body: {}, now }, generateKeyPairSync('ed25519').privateKey);
  t.equal(refusal(() => verifyCommand(encodeCommand(forged), { ...c, now: new Date(now.getTime() - 5 * 3600_000) })), 'bad-signature', 'and the signature');
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
