/**
 * session.calibrationPolicy: what a calibration must contain before a session may start, pure
 * checks first, then a real DeploymentSession refusing a start, then the daemon's real session
 * component over a real Mosquitto: cmd-result and audit carry the reason, a fixed calibration is
 * taken at the next start-session without a restart, and the session message and the record state
 * the FMR per group at the operating threshold with its interval.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { schemaErrors } from '../helpers/asyncapi';
import { ConfigSchema } from '../../src/config/schema';
import { buildCalibration } from '../../src/eval/calibration-file';
import { distributionOf } from '../../src/eval/distribution';
import { thresholdFor, type Calibration } from '../../src/recognition/calibration';
import {
  calibrationPolicyFailures, CalibrationPolicySchema, CalibrationRefusedError, loadCalibrationForSession, sessionCalibrationFacts, wilsonInterval,
} from '../../src/session/calibration-policy';
import { seededRandom } from '../../src/eval/bootstrap';
import { mosquittoAvailable, waitFor } from '../helpers/mosquitto';
import { startSessionUnit } from '../fixtures/session-unit';
import { MODEL_SHA } from '../fixtures/session-kit';
import { decisionBasisOf } from '../../src/daemon/session-decider';

const SHA = 'cd'.repeat(32);
const NOW = new Date('2031-06-01T12:00:00Z');

/** Impostor scores ~ N(0, 0.1) (seeded), `n` of them. */
function scores(n: number, seed: number): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => {
    const u = Math.max(r(), 1e-12);
    return Math.max(-1, Math.min(1, 0.1 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r())));
  });
}

function calibration(opts: { sha?: string; createdAt?: Date; groups?: Record<string, number> } = {}): Calibration {
  const groups = new Map(Object.entries(opts.groups ?? { 'sex=F': 20_000, 'sex=M': 30_000 }).map(([k, n], i) => [k, { dist: distributionOf(scores(n, 10 + i)), failurePairs: 0 }]));
  return buildCalibration({
    embedderSha256: opts.sha ?? SHA,
    createdAt: opts.createdAt ?? new Date('2031-05-01T00:00:00Z'),
    source: { command: 'calibrate', images: 'force-faces', imageCount: 400 },
    impostor: { dist: distributionOf(scores(50_000, 1)), failurePairs: 0 },
    groups,
  });
}

const policy = (p: Record<string, unknown> = {}) => CalibrationPolicySchema.parse(p);
const ctx = { embedderSha256: SHA, now: NOW, file: 'models/calibration.json' };

t.test('a calibration that meets the policy passes; defaults ask only for the right embedder', async (t) => {
  t.same(calibrationPolicyFailures(calibration(), policy(), ctx), []);
  t.same(calibrationPolicyFailures(calibration(), policy({ requiredGroups: ['sex=F', 'sex=M'], minImpostorPairsPerGroup: 10_000, maxAgeDays: 60 }), ctx), []);
  t.same(policy(), { requiredGroups: [], minImpostorPairsPerGroup: 1000, maxAgeDays: null });
});

t.test('every failure is named, with what fixes it', async (t) => {
  const other = calibrationPolicyFailures(calibration({ sha: 'ef'.repeat(32) }), policy(), ctx);
  t.equal(other.length, 1);
  t.match(other[0], `measured with embedder ${'ef'.repeat(32)}, this unit runs embedder ${SHA} (uncalibrated)`);
  t.match(other[0], "lfr-edge calibrate --images DIR --demographics CSV --out models/calibration.json");

  const missing = calibrationPolicyFailures(calibration(), policy({ requiredGroups: ['race=african', 'sex=F'] }), ctx);
  t.same(missing, ["required group 'race=african' is not in models/calibration.json (it has sex=F, sex=M)"]);
  const none = calibrationPolicyFailures(calibration({ groups: {} }), policy({ requiredGroups: ['sex=F'] }), ctx);
  t.match(none[0], /it has no groups: it was made without --demographics/);

  const few = calibrationPolicyFailures(calibration(), policy({ requiredGroups: ['sex=F'], minImpostorPairsPerGroup: 25_000 }), ctx);
  t.same(few, ["required group 'sex=F' rests on 20000 impostor pairs, the policy needs at least 25000: calibrate on more people of that group"]);

  const old = calibrationPolicyFailures(calibration({ createdAt: new Date('2030-01-01T00:00:00Z') }), policy({ maxAgeDays: 365 }), ctx);
  t.equal(old.length, 1);
  t.match(old[0], /is 516 days old \(created 2030-01-01T00:00:00.000Z\), the policy allows 365: recalibrate/);

  const all = calibrationPolicyFailures(calibration({ sha: 'ef'.repeat(32), createdAt: new Date('2030-01-01') }), policy({ maxAgeDays: 365, requiredGroups: ['race=african'] }), ctx);
  t.equal(all.length, 3, 'all reasons at once, not the first only');
});

t.test('config: group keys are checked, the policy sits in session config', async (t) => {
  t.throws(() => ConfigSchema.parse({ session: { calibrationPolicy: { requiredGroups: ['african'] } } }), /attribute=value/);
  t.throws(() => ConfigSchema.parse({ session: { calibrationPolicy: { minGroupPairs: 3 } } }), /minGroupPairs/);
  const cfg = ConfigSchema.parse({ session: { calibrationPolicy: { requiredGroups: ['race=african,sex=F'], maxAgeDays: 90 } } });
  t.same(cfg.session.calibrationPolicy, { requiredGroups: ['race=african,sex=F'], minImpostorPairsPerGroup: 1000, maxAgeDays: 90 });
});

t.test('loading: a missing file means uncalibrated; a malformed one is refused with its problem', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"v":1}' });
  const err = t.throws(() => loadCalibrationForSession(path.join(dir, 'none.json'), policy(), { embedderSha256: SHA, now: NOW })) as CalibrationRefusedError;
  t.ok(err instanceof CalibrationRefusedError);
  t.match(err.message, `no calibration at ${path.join(dir, 'none.json')}: embedder ${SHA} is uncalibrated; make one with 'lfr-edge calibrate`);
  t.throws(() => loadCalibrationForSession(path.join(dir, 'bad.json'), policy(), { embedderSha256: SHA, now: NOW }), /calibration refused by session.calibrationPolicy: calibration .*bad.json is malformed/);
  writeFileSync(path.join(dir, 'good.json'), JSON.stringify(calibration()));
  t.equal(loadCalibrationForSession(path.join(dir, 'good.json'), policy({ requiredGroups: ['sex=M'] }), { embedderSha256: SHA, now: NOW }).impostor.count, 50_000);
});

t.test('what a session states: per group, FMR at the threshold with its interval', async (t) => {
  const cal = calibration();
  const d = thresholdFor(cal, { falseAlertRate: 1e-3, watchlistSize: 10 });
  const facts = sessionCalibrationFacts(cal, d.threshold, d.perComparisonFmr);
  t.same(Object.keys(facts.fmrByGroup), ['overall', 'sex=F', 'sex=M']);
  t.equal(facts.createdAt, cal.createdAt);
  t.equal(facts.source.images, 'force-faces');
  const raw = scores(20_000, 10);
  const k = raw.filter((s) => s >= d.threshold).length;
  const f = facts.fmrByGroup['sex=F'];
  t.equal(f.falseMatches, k, 'counted from the exact tail');
  t.equal(f.fmr, k / 20_000);
  t.ok(f.interval[0] <= f.fmr && f.fmr <= f.interval[1]);
  t.equal(f.measured, 20_000 * d.perComparisonFmr >= 10);
  t.ok(facts.fmrByGroup.overall.fmr <= d.perComparisonFmr, 'overall at most the target');
  // Wilson: known values
  const [lo, hi] = wilsonInterval(0, 1000);
  t.equal(lo, 0);
  t.ok(Math.abs(hi - 0.003826) < 1e-5, `zero events in 1000: upper ${hi}`);
  const [lo2, hi2] = wilsonInterval(10, 100);
  t.ok(Math.abs(lo2 - 0.05523) < 1e-4 && Math.abs(hi2 - 0.17437) < 1e-4, `10 in 100: [${lo2}, ${hi2}]`);
});

t.test('the unit: refused with the reason (cmd-result, audit), accepted once the calibration is fixed, per-group FMR in the session and the record', { skip: mosquittoAvailable() }, async (t) => {
  const u = await startSessionUnit(t, { unitId: 'van-pol', config: { session: { calibrationPolicy: { requiredGroups: ['race=african', 'race=latino'], minImpostorPairsPerGroup: 800 } } } });
  t.ok(await u.link.link!.waitConnected(5000));
  const calFile = u.cfg.session.calibrationFile;
  const cal = JSON.parse(readFileSync(calFile, 'utf8')) as Calibration; // the shipped lfw-dev one, keyed to the test embedder
  const write = (c: object) => writeFileSync(calFile, JSON.stringify(c));

  // 1. no calibration: the embedder is uncalibrated
  rmSync(calFile);
  const none = await u.send('start-session', { bundle: u.bundleB64(3) });
  t.same([none.accepted, none.reason, none.code], [false, 'failed', 'calibration-refused']);
  t.match(none.message, `no calibration at ${calFile}: embedder ${MODEL_SHA} is uncalibrated; make one with 'lfr-edge calibrate`);
  // 2. a calibration without a required group
  const groups = { ...cal.groups! };
  delete groups['race=latino'];
  write({ ...cal, groups });
  const missing = await u.send('start-session', { bundle: u.bundleB64(3) });
  t.equal(missing.code, 'calibration-refused');
  t.match(missing.message, "required group 'race=latino' is not in");
  // 3. a calibration of another embedder
  write({ ...cal, model: { embedderSha256: 'ef'.repeat(32) } });
  const other = await u.send('start-session', { bundle: u.bundleB64(3) });
  t.equal(other.code, 'calibration-refused');
  t.match(other.message, `measured with embedder ${'ef'.repeat(32)}, this unit runs embedder ${MODEL_SHA} (uncalibrated)`);
  t.equal(u.started.length, 0, 'no session started');
  const audit = readFileSync(u.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(audit.some((e) => e.type === 'bundle.refused' && e.code === 'calibration-refused' && String(e.reason).includes("'race=latino' is not in")), 'the refusal is audited with its reason');
  t.equal(audit.filter((e) => e.type === 'command.refused' && e.code === 'calibration-refused').length, 3, 'each refused command audited');
  t.notOk(u.of('session').some((s) => s.state === 'active'));

  // 4. the complete calibration: taken at the next start-session, no restart
  write(cal);
  const accepted = await u.send('start-session', { bundle: u.bundleB64(3) });
  t.equal(accepted.accepted, true, JSON.stringify(accepted));
  await waitFor(() => u.of('session').some((s) => s.state === 'active'), 5000, 'session active');
  const msg = u.of('session').find((s) => s.state === 'active');
  const fmr = msg.calibration.fmrByGroup;
  for (const g of ['overall', 'race=african', 'race=latino', 'sex=F']) {
    t.ok(fmr[g] && fmr[g].impostorPairs > 0 && fmr[g].interval.length === 2 && fmr[g].interval[0] <= fmr[g].fmr && fmr[g].fmr <= fmr[g].interval[1], `session message: ${g} FMR ${fmr[g]?.fmr} in ${JSON.stringify(fmr[g]?.interval)}`);
  }
  t.equal(msg.calibration.interval, 'wilson-95-pairs');
  t.equal(msg.calibration.createdAt, cal.createdAt);

  const end = await u.send('end-session');
  t.equal(end.accepted, true);
  await waitFor(() => u.of('record').length > 0, 5000, 'the record');
  const rec = u.of('record')[0];
  t.same(rec.calibration.fmrByGroup, fmr, 'the record states the same per-group FMR');
  t.equal(rec.threshold, msg.threshold);
  t.same(schemaErrors('Session', msg), [], 'the session message as docs/asyncapi.yaml states it');
  t.same(schemaErrors('Record', rec), [], 'the record as docs/asyncapi.yaml states it');
});

t.test('quality bands: the session message and the record state each band, its threshold and what decided it', { skip: mosquittoAvailable() }, async (t) => {
  const u = await startSessionUnit(t, { unitId: 'van-bands' });
  t.ok(await u.link.link!.waitConnected(5000));
  const calFile = u.cfg.session.calibrationFile;
  const cal = JSON.parse(readFileSync(calFile, 'utf8')) as Calibration;
  // Small faces' impostors score higher (shifted by 0.15): their band needs a higher threshold.
  const shifted = distributionOf(Float64Array.from(scores(60_000, 77), (s) => Math.min(1, s + 0.15)));
  const quality = {
    bands: [
      { name: 'iod-0-20', interOcularPx: [0, 20] as [number, number | null], sharpness: [0, null] as [number, number | null] },
      { name: 'iod-20-up', interOcularPx: [20, null] as [number, number | null], sharpness: [0, null] as [number, number | null] },
    ],
    impostor: { 'iod-0-20': shifted, 'iod-20-up': distributionOf(scores(60_000, 78)) },
  };
  writeFileSync(calFile, JSON.stringify({ ...cal, v: 2, quality }));
  const accepted = await u.send('start-session', { bundle: u.bundleB64(3) });
  t.equal(accepted.accepted, true, JSON.stringify(accepted));
  await waitFor(() => u.of('session').some((s) => s.state === 'active'), 5000, 'session active');
  const msg = u.of('session').find((s) => s.state === 'active');
  const bands = msg.calibration.bands as { name: string; threshold: number; decidingGroup: string; bandData: string; interOcularPx: unknown; fmr: { fmr: number } }[];
  t.same(bands.map((b) => b.name), ['iod-0-20', 'iod-20-up']);
  const small = bands[0];
  t.ok(small.threshold > msg.threshold, `small faces: threshold ${small.threshold} above the session's ${msg.threshold}`);
  t.equal(small.decidingGroup, 'band=iod-0-20');
  t.same(small.interOcularPx, [0, 20]);
  t.ok(bands[1].threshold >= msg.threshold, 'no band goes below the session threshold');
  for (const b of bands) t.ok(b.fmr.fmr <= thresholdFor(cal, { falseAlertRate: u.cfg.session.falseAlertRate, watchlistSize: 3 }).perComparisonFmr, `${b.name}: the band's FMR at its threshold (${b.fmr.fmr}) holds the per-comparison rate`);
  // the decision uses them (the daemon's basis of this session)
  const basis = decisionBasisOf(u.started[0]);
  t.same(basis.bands?.map((b) => [b.name, b.threshold]), bands.map((b) => [b.name, b.threshold]));
  t.same(schemaErrors('Session', msg), [], 'the session message with bands as docs/asyncapi.yaml states it');
  const end = await u.send('end-session');
  t.equal(end.accepted, true);
  await waitFor(() => u.of('record').length > 0, 5000, 'the record');
  t.same(u.of('record')[0].calibration.bands, bands, 'the record states the same bands and thresholds');
});
