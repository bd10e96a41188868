/**
 * The pure part of `eval quality` (src/eval/quality.ts) and the calibration's quality section
 * (withQuality): bands from edges, per-bin TAR and FMR on synthetic scores with known answers, the
 * gate rule, detection counts, and a calibration the unit reads with per-band thresholds.
 */
import t from 'tap';
import { seededRandom } from '../../src/eval/bootstrap';
import { buildCalibration, withQuality } from '../../src/eval/calibration-file';
import { distributionOf } from '../../src/eval/distribution';
import { bandsFromEdges, binomialAtLeast, binReports, BinnedScores, binsFromEdges, binsOfBands, DetectionCounts, gateFrom, quantile, trackMinTar } from '../../src/eval/quality';
import { bandOf, parseCalibration, thresholdFor } from '../../src/recognition/calibration';

t.test('bands from edges: disjoint, named, every size in exactly one; bad edges refused', async (t) => {
  const bands = bandsFromEdges([10, 14, 20]);
  t.same(bands.map((b) => b.name), ['iod-0-10', 'iod-10-14', 'iod-14-20', 'iod-20-up']);
  t.same(bands.map((b) => b.interOcularPx), [[0, 10], [10, 14], [14, 20], [20, null]]);
  for (const x of [0, 9.99, 10, 13.9, 14, 19.99, 20, 500]) t.equal(bands.filter((b) => bandOf([b], { interOcularPx: x, sharpness: 1 })).length, 1, `${x} px in one band`);
  t.equal(bandOf(bands, { interOcularPx: 14, sharpness: 0 }), 'iod-14-20', 'lower edge inclusive');
  t.throws(() => bandsFromEdges([]), /at least one inter-ocular edge/);
  t.throws(() => bandsFromEdges([10, 10]), /band edges must increase: 10 then 10/);
  t.throws(() => bandsFromEdges([-1]), /band edge -1 is not a positive number/);
  t.same(binsOfBands(bands).map((b) => [b.lo, b.hi]), [[0, 10], [10, 14], [14, 20], [20, null]]);
  t.same(binsFromEdges([5], 'sharpness').map((b) => b.name), ['sharpness-0-5', 'sharpness-5-up']);
});

t.test('per-bin TAR and FMR: known score sets give known answers; the gate is where TAR collapses', async (t) => {
  const bins = binsFromEdges([10, 20], 'iod');
  const s = new BinnedScores(bins);
  const rnd = seededRandom(9);
  // 100 probes per bin, each with 100 impostor scores uniform in [-0.2, 0.3) and a genuine score:
  // small faces (5 px) genuine uniform in [0, 0.5); mid (15 px) in [0.2, 0.7); big (30 px) in [0.4, 0.9).
  for (const [x, lo] of [[5, 0], [15, 0.2], [30, 0.4]] as const) {
    for (let i = 0; i < 100; i++) {
      const imp = Float32Array.from({ length: 101 }, () => -0.2 + 0.5 * rnd());
      s.add(x, lo + 0.5 * rnd(), imp, 7); // index 7 is the mate, skipped
    }
  }
  t.equal(s.add(-1, 0.9, [0.1]), undefined, 'a measure in no bin is not counted');
  const reports = binReports(s, [1e-2], () => 0.3); // the unit's threshold 0.3: FMR 0 everywhere (impostors < 0.3)
  t.same(reports.map((r) => [r.name, r.probes, r.genuine, r.impostor]), [['iod-0-10', 100, 100, 10000], ['iod-10-20', 100, 100, 10000], ['iod-20-up', 100, 100, 10000]]);
  const tar = reports.map((r) => r.atUnit['0.01'].tar!);
  t.ok(Math.abs(tar[0] - 0.4) < 0.12 && Math.abs(tar[1] - 0.8) < 0.1 && tar[2] === 1, `TAR at 0.3: ${tar.map((x) => x.toFixed(2))} (expected ~0.4, ~0.8, 1)`);
  t.same(reports.map((r) => r.atUnit['0.01'].fmr), [0, 0, 0]);
  for (const r of reports) {
    t.equal(r.own.length, 1);
    t.ok(Math.abs(r.own[0].threshold - 0.295) < 0.01, `${r.name}: own threshold at FMR 1e-2 ~ 0.295 (${r.own[0].threshold.toFixed(3)})`);
  }
  const g = gateFrom(reports, 1e-2, 0.5);
  t.equal(g.gate, 10, 'the mid bin holds TAR >= 50%, the small one does not');
  t.match(g.reason, /below it: iod-0-10 \d+\.\d%/);
  t.equal(gateFrom(reports, 1e-2, 0.95).gate, 20);
  t.equal(gateFrom(reports, 1e-2, 1.01).gate, null);
  t.match(gateFrom(reports, 1e-2, 1.01).reason, /no bin reaches TAR 101.0% at FMR 0.01/);
});

t.test('gate: an empty top bin decides nothing; a thin bin in the middle stops the run', async (t) => {
  const bins = binsFromEdges([10, 20, 40], 'iod');
  const s = new BinnedScores(bins);
  for (const [x, n, gen] of [[5, 50, 0.1], [15, 50, 0.9], [30, 50, 0.9]] as const) for (let i = 0; i < n; i++) s.add(x, gen, [0]);
  const r = binReports(s, [0.5], () => 0.5);
  t.equal(gateFrom(r, 0.5, 0.5).gate, 10, 'iod-40-up has no faces: it does not stop the gate');
  const thin = new BinnedScores(bins);
  for (const [x, n] of [[15, 5], [30, 50], [50, 50]] as const) for (let i = 0; i < n; i++) thin.add(x, 0.9, [0]);
  t.equal(gateFrom(binReports(thin, [0.5], () => 0.5), 0.5, 0.5).gate, 20, 'a bin with too few genuine scores is not trusted');
});

t.test("the gate rule: the single-frame TAR at which a track reaches the decision's frames with even odds", async (t) => {
  t.equal(binomialAtLeast(10, 0, 0.1), 1);
  t.ok(Math.abs(binomialAtLeast(10, 3, 0.5) - 0.9453125) < 1e-12, 'P(Bin(10, 0.5) >= 3) = 968/1024');
  t.equal(binomialAtLeast(3, 4, 0.9), 0);
  const p = trackMinTar(10, 3);
  t.ok(Math.abs(binomialAtLeast(10, 3, p) - 0.5) < 1e-9 && p > 0.25 && p < 0.27, `10 frames, 3 needed: ${p}`);
  t.ok(trackMinTar(20, 3) < p, 'longer tracks: smaller faces help');
  t.equal(trackMinTar(2, 3), 1, 'a track shorter than minFrames can never reach it');
  t.throws(() => trackMinTar(0, 3), /frames per track must be a positive integer, got 0/);
});

t.test('detection counts by target size; quantile', async (t) => {
  const d = new DetectionCounts(binsFromEdges([10], 'iod'));
  d.add(8, false);
  d.add(9, true);
  d.add(30, true);
  t.same(d.report(), [{ name: 'iod-0-10', copies: 2, detected: 1, rate: 0.5 }, { name: 'iod-10-up', copies: 1, detected: 1, rate: 1 }]);
  t.equal(quantile([5, 1, 4, 2, 3], 0.05), 1);
  t.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
  t.equal(quantile([], 0.5), null);
});

t.test('withQuality: a v2 calibration with the bands, fused bands kept only for bands still defined', async (t) => {
  const r = seededRandom(4);
  const normal = (n: number, mu: number) => Float64Array.from({ length: n }, () => mu + 0.1 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
  const base = buildCalibration({ embedderSha256: 'ab'.repeat(32), createdAt: new Date('2026-12-01T00:00:00Z'), source: { command: 'eval verify' }, impostor: { dist: distributionOf(normal(50_000, 0)), failurePairs: 0 } });
  const withFused = parseCalibration({ ...base, v: 2, fused: { frames: 5, weighting: 'quality', impostor: distributionOf(normal(5000, 0)), bands: { old: distributionOf(normal(100, 0)) } }, quality: { bands: [{ name: 'old', interOcularPx: [0, null], sharpness: [0, null] }], impostor: {} } }, 'x');
  const bands = bandsFromEdges([20]);
  const { cal, droppedFusedBands } = withQuality(withFused, { bands, impostor: { 'iod-0-20': distributionOf(normal(50_000, 0.1)), 'iod-20-up': distributionOf(normal(50_000, -0.05)) }, source: { command: 'eval quality' } });
  t.equal(cal.v, 2);
  t.same(droppedFusedBands, ['old']);
  t.equal(cal.fused?.bands, undefined, 'no fused band left: the key is removed');
  t.equal(cal.fused?.frames, 5, 'the fused section itself is kept');
  t.equal(cal.impostor.count, base.impostor.count, 'the overall distribution is untouched');
  const req = { falseAlertRate: 1e-3, watchlistSize: 1 };
  const small = thresholdFor(cal, { ...req, band: 'iod-0-20' });
  const big = thresholdFor(cal, { ...req, band: 'iod-20-up' });
  const overall = thresholdFor(cal, req);
  t.equal(small.decidingGroup, 'band=iod-0-20');
  t.ok(small.threshold > overall.threshold + 0.05, `small faces' impostors score higher: ${small.threshold.toFixed(3)} > ${overall.threshold.toFixed(3)}`);
  t.equal(big.threshold, overall.threshold, 'a band whose impostors score lower keeps the overall threshold');
  t.equal(big.decidingGroup, 'overall');
});
