/**
 * The stated false-alert rate holds for the watchlist the unit actually holds: several photos per
 * subject, and faces of different quality bands. Synthetic embeddings (seeded): an identity is a
 * random direction plus a shared "mean face" component; a photo is its identity plus noise; a
 * degraded face (band 'small') has more noise and more of the mean face, so it scores higher against
 * everyone, as blurred, small faces do. The calibration is measured the way `eval` measures it
 * (single face against single face, separate identities), then real Matcher top-1 searches of faces
 * not on the watchlist count how many pass the threshold the session computes.
 */
import t from 'tap';
import { seededRandom } from '../../src/eval/bootstrap';
import { distributionOf } from '../../src/eval/distribution';
import { thresholdFor, thresholdTable, bandOf, type Calibration, type QualityBand } from '../../src/recognition/calibration';
import { Matcher, type MatcherSubject } from '../../src/recognition/matcher';
import { TrackTemplate } from '../../src/recognition/track-template';
import { AlertDecider, type DecisionBasis } from '../../src/recognition/decision';
import { DecisionConfigSchema } from '../../src/recognition/config';
import { decisionBasisOf } from '../../src/daemon/session-decider';
import { sessionBandThresholds } from '../../src/session/calibration-policy';
import type { SessionInfo } from '../../src/session/state';
import type { FaceQuality } from '../../src/vision/types';

const DIM = 64;
const rnd = seededRandom(20261202);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const unit = (v: Float32Array) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const randomDir = () => unit(Float32Array.from({ length: DIM }, gauss));
const MEAN_FACE = randomDir();
const BANDS: QualityBand[] = [
  { name: 'good', interOcularPx: [24, null], sharpness: [0, null] },
  { name: 'small', interOcularPx: [0, 24], sharpness: [0, null] },
];
const face = (identity: Float32Array, band: 'good' | 'small') => {
  const [noise, mean] = band === 'good' ? [0.5, 0.15] : [0.9, 0.45];
  return unit(identity.map((x, i) => x + mean * MEAN_FACE[i] + (noise / Math.sqrt(DIM)) * gauss() * Math.sqrt(DIM) * 0.125));
};
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

/** Impostor scores as eval measures them: a face of band b against a clean photo of someone else. */
function impostorScores(band: 'good' | 'small', n: number): number[] {
  const out: number[] = [];
  const ids = Array.from({ length: 400 }, randomDir);
  const gallery = ids.map((id) => face(id, 'good'));
  while (out.length < n) {
    const probe = face(randomDir(), band); // a new identity each time
    for (const g of gallery) out.push(dot(probe, g));
  }
  return out.slice(0, n);
}

const good = impostorScores('good', 240_000);
const small = impostorScores('small', 240_000);
const calibration: Calibration = {
  v: 2,
  model: { embedderSha256: 'synthetic' },
  createdAt: '2026-12-02T00:00:00.000Z',
  source: { kind: 'synthetic' },
  impostor: distributionOf(good),
  quality: { bands: BANDS, impostor: { good: distributionOf(good), small: distributionOf(small) } },
};

/** N subjects with `photos` photos each, as the session hands them to the matcher (one entry per photo). */
function watchlist(n: number, photos: number): MatcherSubject[] {
  const rows: MatcherSubject[] = [];
  for (let s = 0; s < n; s++) {
    const id = randomDir();
    for (let k = 0; k < photos; k++) rows.push({ ref: `s${s}`, category: 'c', embedding: face(id, 'good') });
  }
  return rows;
}

/** Share of faces not on the watchlist whose top-1 passes the threshold. */
function falseAlertShare(m: Matcher, band: 'good' | 'small', threshold: number, searches: number): number {
  let alerts = 0;
  for (let i = 0; i < searches; i++) if (m.top1(face(randomDir(), band))!.score >= threshold) alerts++;
  return alerts / searches;
}

/** Upper end of a generous (4 sigma) binomial band around the target: the observed rate must stay under it. */
const ceiling = (rate: number, n: number) => rate + 4 * Math.sqrt((rate * (1 - rate)) / n);

const RATE = 0.01;
const N = 20;
const SEARCHES = 12_000;

t.test('several photos per subject: the false-alert rate is the stated one (one template per subject)', async (t) => {
  const rows = watchlist(N, 5);
  const m = new Matcher(rows);
  t.equal(m.size, N, 'one row per subject, not per photo');
  const { threshold } = thresholdFor(calibration, { falseAlertRate: RATE, watchlistSize: m.subjects });
  const share = falseAlertShare(m, 'good', threshold, SEARCHES);
  t.ok(share <= ceiling(RATE, SEARCHES), `observed ${share.toFixed(4)} <= ${ceiling(RATE, SEARCHES).toFixed(4)} (target ${RATE})`);
  t.ok(share >= RATE / 4, `and not far below it either (${share.toFixed(4)}): the test measures the rate, it is not vacuous`);
  // What the bug did: 5 chances per subject at a threshold computed for N subjects.
  const perPhoto = rows.map((r, i) => ({ ...r, ref: `row${i}` }));
  const buggy = falseAlertShare(new Matcher(perPhoto), 'good', threshold, SEARCHES);
  t.ok(buggy > ceiling(RATE, SEARCHES), `a row per photo at that threshold gives ${buggy.toFixed(4)}: the test tells the two apart`);
});

t.test('per quality band: the rate holds in every band at the band threshold', async (t) => {
  const m = new Matcher(watchlist(N, 3));
  const table = thresholdTable(calibration, { falseAlertRate: RATE, watchlistSize: m.subjects });
  t.same(table.bands.map((b) => b.name), ['good', 'small']);
  for (const band of ['good', 'small'] as const) {
    const row = table.bands.find((b) => b.name === band)!;
    t.equal(row.single.bandData, 'measured');
    const share = falseAlertShare(m, band, row.single.threshold, SEARCHES);
    t.ok(share <= ceiling(RATE, SEARCHES), `band ${band}: observed ${share.toFixed(4)} <= ${ceiling(RATE, SEARCHES).toFixed(4)} at threshold ${row.single.threshold.toFixed(4)}`);
  }
  const smallRow = table.bands.find((b) => b.name === 'small')!;
  t.ok(smallRow.single.threshold > table.base.threshold, 'degraded faces need a higher threshold here');
  t.equal(smallRow.single.decidingGroup, 'band=small');
  const withoutBands = falseAlertShare(m, 'small', table.base.threshold, SEARCHES);
  t.ok(withoutBands > ceiling(RATE, SEARCHES), `the threshold without bands lets ${withoutBands.toFixed(4)} of small faces alert: bands are needed`);
});

t.test('bandOf: the first band whose ranges hold the face', async (t) => {
  t.equal(bandOf(BANDS, { interOcularPx: 30, sharpness: 5 }), 'good');
  t.equal(bandOf(BANDS, { interOcularPx: 24, sharpness: 5 }), 'good', 'lower edge inclusive');
  t.equal(bandOf(BANDS, { interOcularPx: 23.9, sharpness: 5 }), 'small');
  t.equal(bandOf(undefined, { interOcularPx: 23.9, sharpness: 5 }), undefined);
  t.equal(bandOf([{ name: 'x', interOcularPx: [10, 20], sharpness: [5, null] }], { interOcularPx: 15, sharpness: 1 }), undefined);
});

t.test('per quality band through the session facts and the decision: the rate holds for every band of face', async (t) => {
  const m = new Matcher(watchlist(N, 3));
  const req = { falseAlertRate: RATE, watchlistSize: m.subjects };
  const base = thresholdFor(calibration, req);
  const bands = sessionBandThresholds(calibration, req)!;
  t.same(bands.map((b) => [b.name, b.bandData]), [['good', 'measured'], ['small', 'measured']]);
  const info: SessionInfo = {
    state: 'active', watchlistSize: m.subjects, threshold: base.threshold, targetFalseAlertRate: RATE,
    calibration: { createdAt: calibration.createdAt, source: calibration.source, interval: 'wilson-95-pairs', fmrByGroup: {}, bands },
  };
  const quality = (band: 'good' | 'small'): FaceQuality => ({ interOcularPx: band === 'good' ? 40 : 12, sharpness: 50, yawDeg: 0, pitchDeg: 0, detScore: 0.99, passed: true, reasons: [] });
  const alertShare = (basis: DecisionBasis, band: 'good' | 'small') => {
    const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 1 }), basis);
    let alerts = 0;
    let named = 0;
    for (let i = 0; i < SEARCHES; i++) {
      // one face per track, far apart in time (no cooldown): each passer-by has one chance
      const a = d.observe({ trackId: i, at: i * 1e9, quality: quality(band), top1: m.top1(face(randomDir(), band)) });
      if (a) {
        alerts++;
        if (a.band === band) named++;
      }
      d.endTrack(i);
    }
    if (basis.bands) t.equal(named, alerts, `band ${band}: every alert names the band`);
    return alerts / SEARCHES;
  };
  const basis = decisionBasisOf(info);
  for (const band of ['good', 'small'] as const) {
    const share = alertShare(basis, band);
    t.ok(share <= ceiling(RATE, SEARCHES), `band ${band}: ${share.toFixed(4)} of passers-by alerted <= ${ceiling(RATE, SEARCHES).toFixed(4)} (target ${RATE})`);
  }
  const { bands: _b, ...noBands } = basis;
  const without = alertShare(noBands, 'small');
  t.ok(without > ceiling(RATE, SEARCHES), `without the band thresholds ${without.toFixed(4)} of small faces alert: the decision must use them`);
});

t.test('fused track templates: the rate holds at the fused threshold, which the fused impostors set', async (t) => {
  // A passer-by's track: K degraded frames of one new identity, fused as the chain fuses them. The
  // shared mean-face component adds up while the noise averages out, so templates score higher
  // against everyone than single frames do: their threshold must come from their own impostors.
  const K = 10;
  const cfg = { frames: K, weighting: 'quality' as const, weight: { interOcularPx: [10, 40] as [number, number], sharpness: [5, 60] as [number, number] } };
  const quality = (i: number) => ({ interOcularPx: 14 + 2 * i, sharpness: 30, yawDeg: 0, pitchDeg: 0, detScore: 0.9, passed: true, reasons: [] });
  const trackTemplate = () => {
    const tpl = new TrackTemplate(cfg);
    const id = randomDir();
    for (let i = 0; i < K; i++) tpl.add(face(id, 'small'), quality(i));
    const v = Float32Array.from(tpl.template()!);
    tpl.clear();
    return v;
  };
  const gallery = Array.from({ length: 400 }, () => face(randomDir(), 'good'));
  const fusedScores: number[] = [];
  while (fusedScores.length < 240_000) {
    const probe = trackTemplate();
    for (const g of gallery) fusedScores.push(dot(probe, g));
  }
  const cal: Calibration = { ...calibration, fused: { frames: K, weighting: 'quality', impostor: distributionOf(fusedScores) } };
  const m = new Matcher(watchlist(N, 3));
  const req = { falseAlertRate: RATE, watchlistSize: m.subjects };
  const fused = thresholdFor(cal, { ...req, fused: true });
  const single = thresholdFor(cal, req);
  t.equal(fused.bandData, 'measured');
  t.equal(fused.decidingGroup, 'fused');
  t.ok(fused.threshold > single.threshold, `fused ${fused.threshold.toFixed(4)} > single ${single.threshold.toFixed(4)}`);
  const share = (threshold: number) => {
    let alerts = 0;
    for (let i = 0; i < SEARCHES; i++) if (m.top1(trackTemplate())!.score >= threshold) alerts++;
    return alerts / SEARCHES;
  };
  const atFused = share(fused.threshold);
  t.ok(atFused <= ceiling(RATE, SEARCHES), `templates at the fused threshold: ${atFused.toFixed(4)} <= ${ceiling(RATE, SEARCHES).toFixed(4)}`);
  t.ok(atFused >= RATE / 4, `and not vacuous (${atFused.toFixed(4)})`);
  const atSingle = share(single.threshold);
  t.ok(atSingle > ceiling(RATE, SEARCHES), `templates at the single-face threshold: ${atSingle.toFixed(4)}: the fused calibration is needed`);
  t.equal(thresholdFor({ ...calibration }, { ...req, fused: true }).threshold, single.threshold, 'without fused data: the single-face threshold, never lower');
});
