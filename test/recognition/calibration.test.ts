import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  checkCalibrationModel,
  countAtOrAbove,
  fmrAt,
  nextUp,
  parseCalibration,
  perComparisonFmr,
  readCalibrationFile,
  thresholdFor,
  thresholdForFmr,
  type Calibration,
} from '../../src/recognition/calibration';
import { DistributionBuilder, distributionOf, forCalibrationFile } from '../../src/eval/distribution';
import { seededRandom } from '../../src/eval/bootstrap';

function normalScores(n: number, mean: number, sd: number, seed: number): number[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = 1 - rnd();
    const v = rnd();
    return Math.max(-1, Math.min(1, mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
  });
}

function cal(impostor: number[], groups?: Record<string, number[]>): Calibration {
  return {
    v: 1,
    model: { embedderSha256: 'abc' },
    createdAt: '2026-01-01T00:00:00.000Z',
    source: { kind: 'test' },
    impostor: distributionOf(impostor),
    ...(groups ? { groups: Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, distributionOf(v)])) } : {}),
  };
}

t.test('per-comparison FMR: 1 - (1 - rate)^(1/N), about rate/N', async (t) => {
  t.equal(perComparisonFmr(0.01, 1), 0.01);
  t.ok(Math.abs(perComparisonFmr(1e-3, 1000) - 1.0005e-6) < 1e-9);
  const p = perComparisonFmr(0.05, 200);
  t.ok(Math.abs(1 - Math.pow(1 - p, 200) - 0.05) < 1e-12);
});

t.test('known rates: the threshold is the lowest score with FMR <= target', async (t) => {
  const c = cal(Array.from({ length: 10000 }, (_, i) => i / 10000 - 0.5)); // -0.5 .. 0.4999
  const d = thresholdFor(c, { falseAlertRate: 1e-2, watchlistSize: 1 });
  t.equal(d.perComparisonFmr, 1e-2);
  t.equal(d.threshold, nextUp(9899 / 10000 - 0.5), '100 allowed: just above the 101st highest score');
  t.equal(fmrAt(c.impostor, d.threshold), 0.01, 'exactly 100 of 10000 at or above it');
  t.ok(fmrAt(c.impostor, 9899 / 10000 - 0.5) > 0.01, 'the next score down lets one more through');
  t.equal(d.decidingGroup, 'overall');
  t.equal(d.resolutionLimited, false);
});

t.test('a group whose impostor scores run higher decides the threshold', async (t) => {
  const a = normalScores(40000, 0.05, 0.1, 1); // lower-scoring group
  const b = normalScores(40000, 0.12, 0.1, 2); // impostor scores run higher
  const c = cal([...a, ...b], { 'race=a': a, 'race=b': b });
  const d = thresholdFor(c, { falseAlertRate: 1e-2, watchlistSize: 10 });
  const p = d.perComparisonFmr;
  t.equal(d.decidingGroup, 'race=b');
  t.equal(d.threshold, thresholdForFmr(c.groups!['race=b'], p).threshold, 'the threshold group b needs');
  t.ok(fmrAt(c.groups!['race=b'], d.threshold) <= p, 'group b meets the target');
  t.ok(fmrAt(c.groups!['race=a'], d.threshold) <= p, 'group a too');
  t.ok(fmrAt(c.impostor, d.threshold) < p, 'overall is below target (the average would have been laxer)');
  t.ok(d.threshold > thresholdForFmr(c.impostor, p).threshold);
  t.same(d.groupsConsidered, ['race=a', 'race=b']);
});

t.test('a group with too few impostor pairs for the rate cannot decide, and says so', async (t) => {
  const big = normalScores(50000, 0.0, 0.1, 3);
  const small = normalScores(500, 0.3, 0.1, 4); // much higher but tiny
  const c = cal([...big, ...small], { 'sex=F': small, 'sex=M': big });
  const d = thresholdFor(c, { falseAlertRate: 1e-3, watchlistSize: 1 });
  t.same(d.groupsTooSmall, ['sex=F'], '500 pairs x 1e-3 = 0.5 expected events < 10');
  t.same(d.groupsConsidered, ['sex=M']);
  t.not(d.decidingGroup, 'sex=F');
  const loose = thresholdFor(c, { falseAlertRate: 1e-3, watchlistSize: 1, minGroupEvents: 0.5 });
  t.equal(loose.decidingGroup, 'sex=F', 'with a lower bar it decides');
});

t.test('a group with zero events at the threshold, and rates beyond the data', async (t) => {
  const c = cal(normalScores(1000, 0, 0.1, 5), { 'g=x': Array(500).fill(-0.5) });
  const d = thresholdFor(c, { falseAlertRate: 0.5, watchlistSize: 1, minGroupEvents: 1 });
  t.equal(d.decidingGroup, 'overall', 'a group whose pairs all score low never raises the threshold');
  const tiny = thresholdFor(c, { falseAlertRate: 1e-4, watchlistSize: 100 });
  t.equal(tiny.resolutionLimited, true);
  t.equal(tiny.threshold, nextUp(c.impostor.tail[0]), 'just above the highest impostor score seen');
});

t.test('histogram fallback below the tail stays on the safe side', async (t) => {
  const scores = normalScores(100000, 0, 0.15, 6);
  const b = new DistributionBuilder(1000);
  scores.forEach((s) => b.add(s));
  const d = b.build();
  const r = thresholdForFmr(d, 0.05); // 5000 allowed > 1000 in the tail
  t.equal(r.exact, false);
  t.ok(scores.filter((s) => s >= r.threshold).length <= 5000);
  t.ok(countAtOrAbove(d, r.threshold).count <= 5000);
  t.ok(countAtOrAbove(d, r.threshold - 0.0005).count >= scores.filter((s) => s >= r.threshold - 0.0005).length, 'partial bins counted whole');
});

t.test('calibration file: round trip, validation errors, model check', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cal-'));
  const c = cal(normalScores(20000, 0, 0.1, 7));
  c.impostor = forCalibrationFile(c.impostor);
  t.equal(c.impostor.tail.length, 10000, 'at most 10000 tail scores in a file');
  const file = path.join(dir, 'calibration.json');
  writeFileSync(file, JSON.stringify(c));
  const back = readCalibrationFile(file);
  t.same(back, c);
  t.throws(() => readCalibrationFile(path.join(dir, 'missing.json')), /cannot read calibration .*missing\.json/);
  t.throws(() => parseCalibration({ ...c, v: 3 }, 'x.json'), /calibration x\.json is malformed: v: /);
  const bad = structuredClone(c);
  bad.impostor.count += 1;
  t.throws(() => parseCalibration(bad, 'x.json'), /impostor: histogram counts sum to 20000, count says 20001/);
  const unsorted = structuredClone(c);
  unsorted.impostor.tail[5] = 0.99;
  t.throws(() => parseCalibration(unsorted, 'x.json'), /tail is not sorted in descending order at index 5/);
  t.throws(() => checkCalibrationModel(c, 'def', 'x.json'), /measured with embedder abc, the installed embedder is def/);
  t.doesNotThrow(() => checkCalibrationModel(c, 'abc'));
  t.throws(() => thresholdFor(c, { falseAlertRate: 0, watchlistSize: 1 }), /between 0 and 1/);
  t.throws(() => thresholdFor(c, { falseAlertRate: 0.1, watchlistSize: 0 }), /positive integer/);
});

t.test('version 2: quality bands and fused templates, validated; thresholds per band and fused', async (t) => {
  const base = cal(normalScores(20000, 0, 0.1, 11));
  const c: Calibration = {
    ...base,
    v: 2,
    quality: {
      bands: [
        { name: 'sharp', interOcularPx: [20, null], sharpness: [30, null] },
        { name: 'rest', interOcularPx: [0, null], sharpness: [0, null] },
      ],
      impostor: { sharp: distributionOf(normalScores(20000, 0, 0.1, 12)), rest: distributionOf(normalScores(20000, 0.05, 0.12, 13)) },
    },
    fused: { frames: 5, weighting: 'quality', impostor: distributionOf(normalScores(20000, 0, 0.13, 14)), bands: { rest: distributionOf(normalScores(300, 0, 0.2, 15)) } },
  };
  t.same(parseCalibration(JSON.parse(JSON.stringify(c)), 'x.json'), c, 'round trip');
  t.throws(() => parseCalibration({ ...c, quality: { ...c.quality!, impostor: { other: c.impostor } } }, 'x.json'), /quality band 'other', which quality.bands does not define/);
  t.throws(
    () => parseCalibration({ ...c, quality: { ...c.quality!, bands: [c.quality!.bands[0], c.quality!.bands[0]] } }, 'x.json'),
    /quality band 'sharp' is defined twice/,
  );
  t.throws(
    () => parseCalibration({ ...c, quality: { ...c.quality!, bands: [{ name: 'e', interOcularPx: [20, 10], sharpness: [0, null] }], impostor: {} } }, 'x.json'),
    /band 'e' has an empty interOcularPx range \[20, 10\)/,
  );
  const req = { falseAlertRate: 0.01, watchlistSize: 2 };
  const overall = thresholdFor(c, req);
  const rest = thresholdFor(c, { ...req, band: 'rest' });
  t.equal(rest.band, 'rest');
  t.equal(rest.bandData, 'measured');
  t.equal(rest.decidingGroup, 'band=rest');
  t.equal(rest.threshold, thresholdForFmr(c.quality!.impostor.rest, rest.perComparisonFmr).threshold, "the band's own threshold when it is higher");
  t.ok(rest.threshold > overall.threshold);
  const sharp = thresholdFor(c, { ...req, band: 'sharp' });
  t.ok(sharp.threshold >= overall.threshold, 'a band never lowers the threshold below the overall one');
  const unknown = thresholdFor(c, { ...req, band: 'nope' });
  t.equal(unknown.threshold, overall.threshold);
  t.equal(unknown.bandData, 'none');
  t.equal(unknown.band, undefined);
  // fused: the band's fused data is too small at this rate (300 * 0.005 < 10): fused overall decides
  const fusedRest = thresholdFor(c, { ...req, band: 'rest', fused: true });
  t.equal(fusedRest.decidingGroup, 'fused');
  t.equal(fusedRest.threshold, thresholdForFmr(c.fused!.impostor, fusedRest.perComparisonFmr).threshold);
  t.equal(thresholdFor(base, { ...req, fused: true }).bandData, 'none', 'a version-1 file: fused falls back to the overall threshold');
  t.equal(thresholdFor(base, { ...req, fused: true }).threshold, thresholdFor(base, req).threshold);
});
