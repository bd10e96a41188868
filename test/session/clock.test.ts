/**
 * The session's maximum duration holds on a monotonic clock as well as on the wall clock: with
 * injected clocks, the wall clock steps back 5 h (the session must still end after its 6 h of
 * real time) and forward 5 h (it may end sooner, never later).
 */
import t from 'tap';
import type { Test } from 'tap';
import path from 'node:path';
import { AuditLog } from '../../src/audit/log';
import { createMemoryLogger } from '../../src/log';
import { SessionConfigSchema } from '../../src/session/config';
import { DeploymentSession } from '../../src/session/session';
import { expiryDue, monotonicDeadline } from '../../src/session/state';
import { UsedBundleIds } from '../../src/watchlist/bundle-ledger';
import { makeBundle, makeKit, makeSubjects, MODEL_SHA } from '../fixtures/session-kit';

const H = 3600_000;
const T0 = new Date('2030-01-01T08:30:00Z'); // bundles from the kit are made at 08:00 and live 8 h

t.test('pure: the monotonic deadline and which clock ends the session', async (t) => {
  const start = { wall: T0, monoMs: 1_000 };
  const expiresAt = new Date(T0.getTime() + 6 * H);
  const deadlineMs = monotonicDeadline(start, expiresAt);
  t.equal(deadlineMs, 1_000 + 6 * H);
  const facts = { expiresAt: expiresAt.toISOString() };
  // wall clock stepped back 5 h one hour in: after 6 h of real time the wall says 09:30
  t.equal(expiryDue(facts, new Date(T0.getTime() + 1 * H - 1), { nowMs: 1_000 + 6 * H - 1, deadlineMs }), undefined, 'just before 6 h real: running');
  t.equal(expiryDue(facts, new Date(T0.getTime() + 1 * H), { nowMs: 1_000 + 6 * H, deadlineMs }), 'monotonic', 'wall stepped back 5 h: the monotonic clock ends it at 6 h');
  t.equal(expiryDue(facts, new Date(T0.getTime() + 6 * H), { nowMs: 1_000 + 1 * H, deadlineMs }), 'wall', 'wall stepped forward 5 h: the wall ends it sooner');
  t.equal(expiryDue(facts, new Date(T0.getTime() + 6 * H), undefined), 'wall', 'no monotonic deadline: the wall clock alone');
  t.equal(monotonicDeadline(start, new Date(T0.getTime() - H)), 1_000, 'an expiry already past gives a deadline of now');
});

function setup(t: Test) {
  const kit = makeKit(t.testdir());
  const audit = new AuditLog(path.join(kit.stateDir, 'audit.jsonl'));
  t.teardown(() => audit.close());
  let monoMs = 50_000;
  const logger = createMemoryLogger();
  const session = new DeploymentSession({
    config: SessionConfigSchema.parse({ maxDurationHours: 6 }),
    unitId: 'unit-1',
    runtimeDir: kit.runtimeDir,
    stateDir: kit.stateDir,
    usedBundleIds: new UsedBundleIds(path.join(kit.stateDir, 'used-bundle-ids')),
    unitKeys: kit.unitKeys,
    authorityPublic: kit.authority.ed25519Public,
    embeddingModelSha256: MODEL_SHA,
    maxBundleBytes: 1 << 20,
    thresholdFor: () => ({ threshold: 0.42 }),
    audit,
    logger,
    monotonicMs: () => monoMs,
  });
  return { kit, session, logger, advance: (ms: number) => (monoMs += ms) };
}

t.test('wall clock steps back 5 h: the session still ends after 6 h of real time', async (t) => {
  const { kit, session, logger, advance } = setup(t);
  session.start(makeBundle(kit, makeSubjects(2)), T0);
  t.equal(session.info().expiresAt, new Date(T0.getTime() + 6 * H).toISOString());
  advance(1 * H); // one real hour in, the wall clock is stepped back 5 h
  const wallAt = (realH: number) => new Date(T0.getTime() + (realH - 5) * H);
  t.equal(session.checkExpiry(wallAt(1)), undefined, 'running after the step');
  advance(4 * H + 59 * 60_000); // 5 h 59 min real
  t.equal(session.checkExpiry(wallAt(5 + 59 / 60)), undefined, 'running at 5 h 59 min real');
  advance(60_000); // 6 h real; the wall clock says 09:30, 4.5 h before the expiry it shows
  const rec = session.checkExpiry(wallAt(6));
  t.ok(rec, 'ended at 6 h of real time');
  t.equal(rec?.endedBy, 'expiry');
  t.equal(rec?.wipe.ok, true, 'and wiped');
  t.equal(session.info().state, 'ended');
  t.ok(logger.lines.some((l) => /monotonic clock/.test(String(l.msg))), 'the reason is logged');
});

t.test('wall clock steps forward 5 h: the session ends sooner, by the wall clock', async (t) => {
  const { kit, session, advance } = setup(t);
  session.start(makeBundle(kit, makeSubjects(2)), T0);
  advance(30 * 60_000);
  t.equal(session.checkExpiry(new Date(T0.getTime() + 30 * 60_000)), undefined, 'running before the step');
  advance(30 * 60_000); // one real hour in, the wall clock jumps 5 h ahead: 6 h after the start on the wall
  const rec = session.checkExpiry(new Date(T0.getTime() + 6 * H));
  t.equal(rec?.endedBy, 'expiry', 'never longer than the wall clock allows');
});

t.test('no clock step: the monotonic deadline and the wall expiry agree', async (t) => {
  const { kit, session, advance } = setup(t);
  session.start(makeBundle(kit, makeSubjects(2), { expiresInH: 2 }), T0); // bundle expiry 10:00: 1.5 h
  advance(1.5 * H - 1);
  t.equal(session.checkExpiry(new Date(T0.getTime() + 1.5 * H - 1)), undefined);
  advance(1);
  t.equal(session.checkExpiry(new Date(T0.getTime() + 1.5 * H))?.endedBy, 'expiry');
});
