import t from 'tap';
import type { Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog, verifyAuditFile } from '../../src/audit/log';
import { createMemoryLogger } from '../../src/log';
import { DecisionConfigSchema, type DecisionConfig } from '../../src/recognition/config';
import { SessionConfigSchema } from '../../src/session/config';
import { markerPath } from '../../src/session/marker';
import { DeploymentSession, type ThresholdProvider } from '../../src/session/session';
import { SessionError } from '../../src/session/state';
import { BundleRefusedError } from '../../src/watchlist/bundle';
import { UsedBundleIds } from '../../src/watchlist/bundle-ledger';
import { STORE_FILE } from '../../src/watchlist/store';
import { embeddingNeedles, makeBundle, makeKit, makeSubjects, MODEL_SHA, scanFor, type Kit } from '../fixtures/session-kit';

const T0 = new Date('2030-01-01T08:30:00Z'); // bundles are created 08:00 and live 8 h by default
const H = 3600_000;

function setup(t: Test, opts: { maxDurationHours?: number; namesAllowed?: boolean; thresholdFor?: ThresholdProvider; kit?: Kit; decision?: DecisionConfig } = {}) {
  const kit = opts.kit ?? makeKit(t.testdir());
  const audit = new AuditLog(path.join(kit.stateDir, 'audit.jsonl'));
  t.teardown(() => audit.close());
  const logger = createMemoryLogger();
  const requests: { falseAlertRate: number; watchlistSize: number; fused?: boolean }[] = [];
  const session = new DeploymentSession({
    config: SessionConfigSchema.parse({ maxDurationHours: opts.maxDurationHours ?? 6, namesAllowed: opts.namesAllowed ?? false }),
    unitId: 'unit-1',
    runtimeDir: kit.runtimeDir,
    stateDir: kit.stateDir,
    usedBundleIds: new UsedBundleIds(path.join(kit.stateDir, 'used-bundle-ids')),
    unitKeys: kit.unitKeys,
    authorityPublic: kit.authority.ed25519Public,
    embeddingModelSha256: MODEL_SHA,
    maxBundleBytes: 1 << 20,
    thresholdFor: opts.thresholdFor ?? ((req) => (requests.push(req), { threshold: 0.42, decidingGroup: 'sex=female' })),
    ...(opts.decision ? { decision: opts.decision } : {}),
    audit,
    logger,
  });
  return { kit, session, audit, logger, requests };
}

function auditTypes(kit: Kit): string[] {
  return readFileSync(path.join(kit.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
}

t.test('start from a real bundle, match, end by command: record and wipe', async (t) => {
  const { kit, session, requests } = setup(t);
  const subjects = makeSubjects(5, 1, 2);
  const info = session.start(makeBundle(kit, subjects, { sessionId: 'op-7' }), T0);
  t.match(info, { id: 'op-7', state: 'active', watchlistSize: 5, threshold: 0.42, targetFalseAlertRate: 1e-3, decidingGroup: 'sex=female' });
  t.equal(info.startedAt, T0.toISOString());
  t.equal(info.expiresAt, new Date(T0.getTime() + 6 * H).toISOString(), 'max duration (6 h) comes before the bundle expiry (16:00)');
  t.same(requests, [{ falseAlertRate: 1e-3, watchlistSize: 5 }], 'threshold asked for distinct subjects, not rows');
  t.ok(existsSync(path.join(kit.runtimeDir, STORE_FILE)), 'the store is a real SQLite file');
  t.ok(existsSync(markerPath(kit.stateDir)), 'crash marker written');
  const m = session.matcher()!;
  t.equal(m.size, 5, 'one row per subject: its two photos fused into one template');
  t.equal(m.top1(subjects[3].embeddings[1])!.ref, 'case-1-3');

  session.noteFaces(120);
  session.noteFaces(30);
  session.noteTrack();
  session.noteTrack();
  session.noteAlert('a1');
  session.noteAlert('a2');
  session.noteAlert('a3');
  session.adjudicate('a1', 'confirmed', T0);
  session.adjudicate('a2', 'false-alert', T0);
  t.throws(() => session.adjudicate('zz', 'confirmed', T0), { name: 'SessionError', code: 'unknown-alert', message: /alert zz was not raised in session op-7/ });

  const end = new Date(T0.getTime() + H);
  const rec = session.end('command', end);
  t.match(rec, {
    v: 1, sessionId: 'op-7', unitId: 'unit-1', endedBy: 'command', endedAt: end.toISOString(), watchlistSize: 5, threshold: 0.42,
    facesProcessed: 150, tracks: 2, alerts: 3, confirmed: 1, falseAlerts: 1, unadjudicated: 1, decidingGroup: 'sex=female',
  });
  t.match(rec.wipe, { ok: true, keyZeroed: true, leftovers: [] });
  t.same(rec.decision, { rule: 'min-frames', fused: false }, 'the record says the alerts were decided on single frames');
  t.equal(rec.wipe.filesRemoved.length, 1);
  t.notOk(existsSync(path.join(kit.runtimeDir, STORE_FILE)), 'store file gone');
  t.notOk(existsSync(markerPath(kit.stateDir)), 'marker removed at a clean end');
  t.equal(m.size, 0, 'the matrix was cleared');
  t.equal(session.matcher(), undefined);
  t.equal(session.info().state, 'ended');
  t.throws(() => session.end('command', end), { code: 'no-session' });
  t.same(auditTypes(kit), ['bundle.accepted', 'session.start', 'alert.adjudicated', 'alert.adjudicated', 'wipe', 'session.end']);
  t.ok(verifyAuditFile(path.join(kit.stateDir, 'audit.jsonl')).ok, 'audit chain intact');
  t.same(scanFor([kit.root], embeddingNeedles(subjects.flatMap((s) => s.embeddings))), [], 'no embedding bytes anywhere on disk');
});

t.test('expiry: time passed in, bundle expiry or max duration, whichever is first', async (t) => {
  const { kit, session } = setup(t, { maxDurationHours: 12 });
  // bundle made at 08:00, lives 2 h: the bundle ends the session at 10:00, before 08:30 + 12 h
  session.start(makeBundle(kit, makeSubjects(2), { expiresInH: 2 }), T0);
  t.equal(session.info().expiresAt, '2030-01-01T10:00:00.000Z');
  t.equal(session.checkExpiry(new Date('2030-01-01T09:59:59.999Z')), undefined, 'not yet');
  t.equal(session.info().state, 'active');
  const rec = session.checkExpiry(new Date('2030-01-01T10:00:00Z'))!;
  t.equal(rec.endedBy, 'expiry');
  t.ok(rec.wipe.ok);
  t.equal(session.info().state, 'ended');
  t.equal(session.checkExpiry(new Date('2030-01-01T11:00:00Z')), undefined, 'nothing to end');

  // max duration first: 1.5 h configured
  const s2 = setup(t, { maxDurationHours: 1.5 });
  s2.session.start(makeBundle(s2.kit, makeSubjects(2)), T0);
  t.equal(s2.session.info().expiresAt, '2030-01-01T10:00:00.000Z');
  t.equal(s2.session.checkExpiry(new Date('2030-01-01T10:00:00Z'))!.endedBy, 'expiry');
});

t.test('config: max duration is schema-limited to 12 h', async (t) => {
  t.equal(SessionConfigSchema.parse({}).maxDurationHours, 6);
  t.throws(() => SessionConfigSchema.parse({ maxDurationHours: 13 }), /may not exceed 12 hours/);
  t.throws(() => SessionConfigSchema.parse({ maxDurationHours: 0 }), /must be more than 0/);
  t.throws(() => SessionConfigSchema.parse({ falseAlertRate: 0 }), /falseAlertRate must be more than 0/);
  t.throws(() => SessionConfigSchema.parse({ extra: 1 }), /extra/);
});

t.test('a refused bundle changes nothing: the running session keeps its watchlist', async (t) => {
  const { kit, session, logger } = setup(t);
  const subjects = makeSubjects(3, 1);
  session.start(makeBundle(kit, subjects, { sessionId: 'op-1' }), T0);
  const before = session.info();
  const m = session.matcher()!;
  const other = makeKit(path.join(kit.root, 'other'));
  const good = makeBundle(kit, makeSubjects(3, 2), { sessionId: 'op-2' });
  const flipped = Buffer.from(good);
  flipped[flipped.length - 10] ^= 1;

  const cases: [string, Buffer, string][] = [
    ['bad-signature', flipped, 'bad-signature'],
    ['another authority', makeBundle(kit, makeSubjects(1, 3), { authority: other.authority }), 'bad-signature'],
    ['another unit', makeBundle(kit, makeSubjects(1, 3), { unitKeys: other.unitKeys }), 'wrong-unit'],
    ['expired', makeBundle(kit, makeSubjects(1, 3), { createdAt: new Date('2029-12-31T08:00:00Z') }), 'expired'],
    ['truncated', good.subarray(0, 100), 'truncated'],
  ];
  for (const [what, bytes, code] of cases) {
    t.throws(() => session.start(bytes, T0), BundleRefusedError, what);
    try {
      session.start(bytes, T0);
    } catch (err) {
      t.equal((err as BundleRefusedError).code, code, `${what}: code`);
    }
  }
  // a valid bundle while a session runs: refused as a SessionError, and its id is not burnt
  t.throws(() => session.start(good, T0), { name: 'SessionError', code: 'session-active', message: /already active: end it/ });
  t.same(session.info(), before, 'session unchanged');
  t.equal(session.matcher(), m, 'same matcher');
  t.equal(m.top1(subjects[1].embeddings[0])!.ref, 'case-1-1', 'same watchlist');
  t.ok(logger.lines.some((l) => l.msg === 'watchlist bundle refused' && l.code === 'bad-signature'));
  const refused = readFileSync(path.join(kit.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string }).filter((e) => e.type === 'bundle.refused');
  t.same(refused.map((e) => e.code), ['bad-signature', 'bad-signature', 'bad-signature', 'bad-signature', 'wrong-unit', 'wrong-unit', 'expired', 'expired', 'truncated', 'truncated', 'session-active'], 'every refusal audited with its reason');

  session.end('command', T0);
  t.equal(session.start(good, T0).id, 'op-2', 'the bundle refused while busy is still usable afterwards');
  session.end('command', T0);
});

t.test('a refused bundle on an idle unit leaves no file, marker or used id', async (t) => {
  const { kit, session } = setup(t, { thresholdFor: () => { throw new Error('no calibration for this model'); } });
  const bundle = makeBundle(kit, makeSubjects(2));
  t.throws(() => session.start(bundle, T0), { name: 'SessionError', code: 'threshold-failed', message: /cannot choose a threshold for 2 subjects at false-alert rate 0.001: no calibration for this model/ });
  t.equal(session.info().state, 'idle');
  t.notOk(existsSync(path.join(kit.runtimeDir, STORE_FILE)));
  t.notOk(existsSync(markerPath(kit.stateDir)));
  t.notOk(existsSync(path.join(kit.stateDir, 'used-bundle-ids')), 'the bundle id was not used up');
});

t.test('replay is refused, also by a new process (ledger in the state dir)', async (t) => {
  const first = setup(t);
  const bundle = makeBundle(first.kit, makeSubjects(2));
  first.session.start(bundle, T0);
  first.session.end('command', T0);
  t.throws(() => first.session.start(bundle, T0), { name: 'BundleRefusedError', code: 'replayed' });
  const restarted = setup(t, { kit: first.kit });
  t.throws(() => restarted.session.start(bundle, T0), { name: 'BundleRefusedError', code: 'replayed', message: /already been used on this unit/ });
});

t.test('names: dropped unless configured', async (t) => {
  for (const namesAllowed of [false, true]) {
    const { kit, session } = setup(t, { namesAllowed });
    session.start(makeBundle(kit, makeSubjects(2)), T0);
    const store = (session as unknown as { active: { store: { readAll(): { name?: string }[] } } }).active.store;
    t.same(store.readAll().map((e) => e.name), namesAllowed ? ['Name Of 0', 'Name Of 1'] : [undefined, undefined], `namesAllowed ${namesAllowed}`);
    session.end('command', T0);
  }
});

t.test('noteX outside a session is ignored; errors say what to do', async (t) => {
  const { session } = setup(t);
  session.noteFaces(3);
  session.noteTrack();
  session.noteAlert('x');
  t.throws(() => session.adjudicate('x', 'confirmed', T0), { code: 'no-session', message: /no session is active/ });
  t.throws(() => session.end('sigterm', T0), SessionError);
  t.same(session.info(), { state: 'idle', watchlistSize: 0, targetFalseAlertRate: 1e-3 });
});

t.test('leftovers of a crash block a new session until wiped, and the bundle stays usable', async (t) => {
  const { kit, session } = setup(t);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(kit.runtimeDir, { recursive: true });
  writeFileSync(path.join(kit.runtimeDir, STORE_FILE), 'rows of a crashed session');
  const bundle = makeBundle(kit, makeSubjects(2));
  t.throws(() => session.start(bundle, T0), { name: 'SessionError', code: 'store-failed', message: /a watchlist store already exists .*run 'lfr-edge wipe --boot'/ });
  t.equal(session.info().state, 'idle');
  t.notOk(existsSync(markerPath(kit.stateDir)));
  const { wipeLeftovers } = await import('../../src/session/leftovers');
  wipeLeftovers({ runtimeDir: kit.runtimeDir, stateDir: kit.stateDir, unitId: 'unit-1', now: T0 });
  t.equal(session.start(bundle, T0).state, 'active', 'after the wipe the same bundle starts');
  session.end('command', T0);
});

t.test('reportAborted shows the crashed session until a new one starts', async (t) => {
  const { kit, session } = setup(t);
  const WIPE = { ok: true, filesRemoved: [], leftovers: [], keyZeroed: true, at: T0.toISOString() };
  const aborted = {
    v: 1 as const, sessionId: 'op-old', unitId: 'unit-1', bundleId: 'b-00000000', startedAt: '2030-01-01T01:00:00.000Z', endedAt: T0.toISOString(),
    endedBy: 'aborted' as const, watchlistSize: 3, threshold: 0.4, targetFalseAlertRate: 1e-3, facesProcessed: 0, tracks: 0, alerts: 0,
    confirmed: 0, falseAlerts: 0, unadjudicated: 0, wipe: WIPE,
  };
  session.reportAborted(aborted);
  t.match(session.info(), { id: 'op-old', state: 'aborted', watchlistSize: 3 });
  t.equal(session.start(makeBundle(kit, makeSubjects(1)), T0).state, 'active');
  t.throws(() => session.reportAborted(aborted), { code: 'session-active' });
  session.end('command', T0);
});

t.test("rule 'template': the session computes the fused threshold and the session info and record state it", async (t) => {
  const decision = DecisionConfigSchema.parse({ rule: 'template', template: { frames: 4, weighting: 'uniform' } });
  const { kit, session, requests } = setup(t, {
    decision,
    thresholdFor: (req) => {
      requests.push(req);
      return req.fused ? { threshold: 0.47, decidingGroup: 'fused' } : { threshold: 0.42 };
    },
  });
  const info = session.start(makeBundle(kit, makeSubjects(3, 1, 1), { sessionId: 'op-f' }), T0);
  t.same(requests, [{ falseAlertRate: 1e-3, watchlistSize: 3 }, { falseAlertRate: 1e-3, watchlistSize: 3, fused: true }]);
  t.same(info.decision, { rule: 'template', fused: true, fusedThreshold: 0.47, fusedDecidingGroup: 'fused', templateFrames: 4, weighting: 'uniform' });
  t.equal(info.threshold, 0.42, 'the single-frame threshold is still stated');
  const rec = session.end('command', new Date(T0.getTime() + H));
  t.same(rec.decision, info.decision);
  const start = readFileSync(path.join(kit.stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'session.start');
  t.match(start, { rule: 'template', fusedThreshold: 0.47 }, 'audited');
});
