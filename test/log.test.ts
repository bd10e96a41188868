import t from 'tap';
import { createLogger, createMemoryLogger } from '../src/log';
import { BIOMETRIC_FIELDS, findBiometrics } from '../src/biometric-fields';
import { GENESIS_HASH, makeEntry } from '../src/audit/log';
import { biometricsInLog } from './helpers/log-guard';

t.test('JSON lines with level, message, fields and child fields', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date('2026-01-01T00:00:00Z') });
  log.debug('hidden');
  log.child({ component: 'camera' }).warn('stalled', { seconds: 5 });
  t.equal(lines.length, 1);
  t.same(JSON.parse(lines[0]), { time: '2026-01-01T00:00:00.000Z', level: 'warn', msg: 'stalled', component: 'camera', seconds: 5 });
});

t.test('biometric fields and typed arrays are never written', async (t) => {
  const log = createMemoryLogger();
  log.info('face', { embedding: [0.1, 0.2], crop: 'abc', vec: new Float32Array(4), fivePoints: [[1, 2]], trackId: 7 });
  t.same(log.lines[0].embedding, '[redacted]');
  t.same(log.lines[0].crop, '[redacted]');
  t.same(log.lines[0].vec, '[redacted]');
  t.same(log.lines[0].fivePoints, '[redacted]');
  t.equal(log.lines[0].trackId, 7);
});

/** A face as the vision code holds one, nested inside other fields the way a careless log call would pass it. */
function nestedFace() {
  const embedding = new Float32Array(512).map((_, i) => Math.sin(i) / 16);
  return {
    trackId: 12,
    alert: { alertId: 'a-1', best: { face: { box: [10, 20, 80, 90], score: 0.93 }, quality: { sharpness: 88 } } },
    track: { frames: 4, template: { embedding: Array.from(embedding) }, landmarks: [[1, 2], [3, 4]] },
    faces: [{ crop: Buffer.from('jpeg-bytes'), aligned: new Uint8Array(112 * 112 * 3) }, { vec: embedding }],
    deep: [[{ pixels: 'raw', note: 'kept' }]],
    counts: { faces: 3, crops: 0 },
  };
}

t.test('redaction is recursive: nested objects, arrays, typed arrays anywhere', async (t) => {
  const log = createMemoryLogger();
  log.info('track update', nestedFace());
  const line = log.lines[0] as any;
  t.equal(line.trackId, 12);
  t.equal(line.alert.alertId, 'a-1', 'ids stay');
  t.equal(line.alert.best.face, '[redacted]', 'a nested face object');
  t.equal(line.alert.best.quality.sharpness, 88, 'quality figures stay');
  t.equal(line.track.template.embedding, '[redacted]', 'an embedding two levels down');
  t.equal(line.track.landmarks, '[redacted]');
  t.equal(line.faces, '[redacted]', 'an array of faces');
  t.equal(line.deep[0][0].pixels, '[redacted]', 'inside nested arrays');
  t.equal(line.deep[0][0].note, 'kept');
  t.same(line.counts, { faces: 3, crops: 0 }, 'counts named like biometrics are counts, not biometrics');
  const bare = createMemoryLogger();
  bare.info('arrays', { list: [1, new Float32Array(8), { x: new Uint8Array(3) }], buf: Buffer.from('x') });
  t.same(bare.lines[0].list, [1, '[redacted]', { x: '[redacted]' }], 'typed arrays inside arrays');
  t.equal(bare.lines[0].buf, '[redacted]', 'a Buffer');
  t.same(findBiometrics(log.lines[0]), [], 'nothing biometric left in the line');
});

t.test('errors, cycles and child fields go through the same redaction', async (t) => {
  const log = createMemoryLogger();
  const cyc: any = { id: 1 };
  cyc.self = cyc;
  log.child({ ctx: { embedding: [0.5] } }).error('failed', { error: Object.assign(new Error('boom'), { code: 'E1' }), cyc });
  t.same(log.lines[0].ctx, { embedding: '[redacted]' });
  t.same(log.lines[0].error, { message: 'boom', name: 'Error', code: 'E1' });
  t.same(log.lines[0].cyc, { id: 1, self: '[circular]' });
});

t.test('one list: every biometric name the logger redacts, the audit log refuses, at any depth', async (t) => {
  t.ok(BIOMETRIC_FIELDS.includes('embedding') && BIOMETRIC_FIELDS.includes('aligned') && BIOMETRIC_FIELDS.includes('landmarks'));
  for (const name of BIOMETRIC_FIELDS) {
    const log = createMemoryLogger();
    log.info('x', { outer: { [name]: 'value' } });
    t.equal((log.lines[0].outer as any)[name], '[redacted]', `logger redacts nested ${name}`);
    t.throws(() => makeEntry({ type: 'x', outer: { [name]: 'value' } }, new Date(), 1, GENESIS_HASH), /is biometric/, `audit refuses nested ${name}`);
  }
});

t.test('the log guard used by the daemon test fails on a leaked face and passes on the logger output', async (t) => {
  // What an unredacted logger would write (the old top-level-only redaction passed these through).
  const leaked = JSON.stringify({ time: 'x', level: 'info', msg: 'track update', ...nestedFace() });
  const problems = biometricsInLog(`gst: some stderr line\n${leaked}\n`);
  t.ok(problems.length >= 4, `the guard finds the leak: ${problems.join('; ')}`);
  t.match(problems.join('\n'), /field alert\.best\.face/);
  t.match(problems.join('\n'), /serialised typed array/);
  t.ok(biometricsInLog(JSON.stringify({ msg: 'x', v: Array.from(new Float32Array(64).map((_, i) => Math.cos(i))) })).length > 0, 'an embedding under an innocent name');
  const log = createMemoryLogger();
  log.info('track update', nestedFace());
  t.same(biometricsInLog(log.lines.map((l) => JSON.stringify(l)).join('\n')), [], 'the redacted line is clean');
});
