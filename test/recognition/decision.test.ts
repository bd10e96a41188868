import t from 'tap';
import { AlertDecider, releaseAlertCrop, type Observation } from '../../src/recognition/decision';
import { DecisionConfigSchema } from '../../src/recognition/config';
import type { FaceQuality } from '../../src/vision/types';

const basis = { threshold: 0.5, falseAlertRate: 0.001, watchlistSize: 10, decidingGroup: 'race=african' };
const good: FaceQuality = { interOcularPx: 40, sharpness: 100, yawDeg: 0, pitchDeg: 0, detScore: 0.99, passed: true, reasons: [] };
const bad: FaceQuality = { ...good, sharpness: 2, passed: false, reasons: ['blurry'] };
const crop = (v: number) => ({ width: 2, height: 2, data: new Uint8Array(12).fill(v) });
const obs = (trackId: number, at: number, ref: string | undefined, score: number, q = good, c?: number): Observation => ({
  trackId, at, quality: q, ...(ref ? { top1: { ref, category: 'wanted', score } } : {}), ...(c !== undefined ? { crop: crop(c) } : {}),
});

t.test('min-frames: no alert from a single frame, one alert at K frames, never twice per track', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), basis);
  t.equal(d.observe(obs(1, 1000, 'S1', 0.9, good, 1)), undefined, 'one strong frame is not enough');
  t.equal(d.observe(obs(1, 1040, 'S1', 0.4, good, 2)), undefined, 'below threshold: not evidence');
  t.equal(d.observe(obs(1, 1080, 'S1', 0.7, bad, 3)), undefined, 'quality fails: not evidence');
  t.equal(d.observe(obs(1, 1120, 'S1', 0.6, good, 4)), undefined);
  const a = d.observe(obs(1, 1160, 'S1', 0.55, good, 5));
  t.match(a, {
    trackId: 1, subject: { ref: 'S1', category: 'wanted' }, score: 0.9, bestScore: 0.9, threshold: 0.5,
    falseAlertRate: 0.001, watchlistSize: 10, decidingGroup: 'race=african', rule: 'min-frames',
    framesOfEvidence: 3, framesSeen: 5, firstSeen: 1000, lastSeen: 1160, quality: good,
  });
  t.same([...a!.crop!.data], new Array(12).fill(1), 'the crop of the best frame');
  t.equal(d.observe(obs(1, 1200, 'S1', 0.95, good)), undefined, 'at most one alert per subject per track');
  releaseAlertCrop(a!);
  t.equal(a!.crop, undefined);
});

t.test('mixed top-1 subjects do not add up', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 2 }), basis);
  t.equal(d.observe(obs(1, 0, 'S1', 0.8)), undefined);
  t.equal(d.observe(obs(1, 1, 'S2', 0.8)), undefined);
  t.equal(d.observe(obs(1, 2, undefined, 0)), undefined);
  t.match(d.observe(obs(1, 3, 'S2', 0.6)), { subject: { ref: 'S2' }, framesOfEvidence: 2 });
});

t.test('mean-best: the mean of the best M scores must reach the threshold', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ rule: 'mean-best', bestCount: 3 }), basis);
  t.equal(d.observe(obs(1, 0, 'S1', 0.9)), undefined, 'fewer than M frames');
  t.equal(d.observe(obs(1, 1, 'S1', 0.2)), undefined);
  t.equal(d.observe(obs(1, 2, 'S1', 0.3)), undefined, 'mean 0.467 < 0.5');
  const a = d.observe(obs(1, 3, 'S1', 0.45));
  t.match(a, { rule: 'mean-best', bestScore: 0.9, framesOfEvidence: 1 });
  t.ok(Math.abs(a!.score - (0.9 + 0.45 + 0.3) / 3) < 1e-9);
});

t.test('per-subject cooldown across tracks', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 1, cooldownSeconds: 60 }), basis);
  t.ok(d.observe(obs(1, 0, 'S1', 0.8)));
  t.equal(d.observe(obs(2, 30_000, 'S1', 0.8, good, 9)), undefined, 'another track within the cooldown');
  t.equal(d.observe(obs(2, 90_000, 'S1', 0.8)), undefined, 'that track stays silent for the subject');
  t.ok(d.observe(obs(2, 90_000, 'S2', 0.8)), 'other subjects are not affected');
  t.ok(d.observe(obs(3, 61_000, 'S1', 0.8)), 'a new track after the cooldown alerts');
  t.same(d.stats, { alerts: 3, suppressedByCooldown: 1 });
});

t.test('ending a track drops its evidence and zeroes its crops', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3 }), basis);
  const o = obs(7, 0, 'S1', 0.9, good, 200);
  d.observe(o);
  d.observe(obs(7, 1, 'S1', 0.9));
  t.equal(d.trackCount, 1);
  d.endTrack(7);
  t.equal(d.trackCount, 0);
  t.ok(o.crop!.data.every((v) => v === 0), 'crop zeroed');
  t.equal(d.observe(obs(7, 2, 'S1', 0.9)), undefined, 'evidence starts again from nothing');
  d.endAll();
  t.equal(d.trackCount, 0);
});

t.test('a threshold that is not a number is refused', async (t) => {
  t.throws(() => new AlertDecider(DecisionConfigSchema.parse({}), { ...basis, threshold: NaN }), { message: 'decision: threshold must be a number, got NaN' });
});

t.test('a crop is held only for candidates near the threshold (recognition.decision.cropKeepBelow)', async (t) => {
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 3, cropKeepBelow: 0.05 }), basis);
  const far = obs(3, 0, 'S1', 0.3, good, 50);
  d.observe(far);
  t.notOk(d.holdsCrop(far.crop!), 'a best frame far below the threshold (0.3 < 0.5 - 0.05) keeps no crop');
  const near = obs(3, 1, 'S1', 0.47, good, 51);
  d.observe(near);
  t.ok(d.holdsCrop(near.crop!), 'one within the margin (0.47 >= 0.45) is held');
  d.observe(obs(3, 2, 'S1', 0.6, good, 52));
  d.observe(obs(3, 3, 'S1', 0.6));
  const a = d.observe(obs(3, 4, 'S1', 0.55));
  t.same([...a!.crop!.data], new Array(12).fill(52), 'the alert carries the best crop');
  t.ok(near.crop!.data.every((v) => v === 0), 'the replaced one was zeroed');
});

t.test('quality bands: each face is held to its band threshold; the alert states the band and the threshold', async (t) => {
  const small: FaceQuality = { ...good, interOcularPx: 16 };
  const banded = {
    ...basis,
    bands: [
      { name: 'iod-0-20', interOcularPx: [0, 20] as [number, number | null], sharpness: [0, null] as [number, number | null], threshold: 0.7 },
      { name: 'iod-20-up', interOcularPx: [20, null] as [number, number | null], sharpness: [0, null] as [number, number | null], threshold: 0.5 },
    ],
  };
  const d = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 2 }), banded);
  t.same(d.thresholdOf(small), { threshold: 0.7, band: 'iod-0-20' });
  t.same(d.thresholdOf(good), { threshold: 0.5, band: 'iod-20-up' });
  t.same(d.thresholdOf({ ...good, interOcularPx: -1 }), { threshold: 0.5 }, 'a face in no band: the base threshold');
  t.equal(d.observe(obs(1, 0, 'S1', 0.65, small)), undefined);
  t.equal(d.observe(obs(1, 1, 'S1', 0.66, small)), undefined, 'two small faces at 0.65: below their band threshold, no evidence');
  t.equal(d.observe(obs(1, 2, 'S1', 0.72, small)), undefined, 'one small face above 0.7 counts');
  const a = d.observe(obs(1, 3, 'S1', 0.55, good));
  t.match(a, { framesOfEvidence: 2, score: 0.72, threshold: 0.7, band: 'iod-0-20' }, 'held to the band of its best counted frame');
  // Without bands the same frames would have alerted at the second frame.
  const plain = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 2 }), basis);
  plain.observe(obs(1, 0, 'S1', 0.65, small));
  const p = plain.observe(obs(1, 1, 'S1', 0.66, small));
  t.match(p, { threshold: 0.5, framesOfEvidence: 2 });
  t.equal(p!.band, undefined, 'no bands: no band stated');
  // A band threshold below the base never lowers it.
  const low = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 1 }), { ...basis, bands: [{ ...banded.bands[0], threshold: 0.1 }] });
  t.same(low.thresholdOf(small), { threshold: 0.5, band: 'iod-0-20' });
});

t.test('quality bands, mean-best: the mean is held to the highest threshold among the frames averaged', async (t) => {
  const small: FaceQuality = { ...good, interOcularPx: 12 };
  const bands = [
    { name: 'small', interOcularPx: [0, 20] as [number, number | null], sharpness: [0, null] as [number, number | null], threshold: 0.8 },
    { name: 'big', interOcularPx: [20, null] as [number, number | null], sharpness: [0, null] as [number, number | null], threshold: 0.5 },
  ];
  const d = new AlertDecider(DecisionConfigSchema.parse({ rule: 'mean-best', bestCount: 2 }), { ...basis, bands });
  t.equal(d.observe(obs(1, 0, 'S1', 0.75, small)), undefined);
  t.equal(d.observe(obs(1, 1, 'S1', 0.7, good)), undefined, 'mean 0.725 < 0.8 (a small face is among the two)');
  t.equal(d.observe(obs(1, 2, 'S1', 0.74, good)), undefined, 'best two 0.75 (small) and 0.74: mean 0.745 < 0.8');
  const a = d.observe(obs(1, 3, 'S1', 0.9, good));
  t.match(a, { rule: 'mean-best', threshold: 0.8, band: 'small' }, 'best two 0.9 and 0.75 (small): mean 0.825 held to 0.8');
  t.ok(Math.abs(a!.score - 0.825) < 1e-9);
  const e = new AlertDecider(DecisionConfigSchema.parse({ rule: 'mean-best', bestCount: 2 }), { ...basis, bands });
  e.observe(obs(2, 0, 'S1', 0.6, small));
  t.equal(e.observe(obs(2, 1, 'S1', 0.55, good)), undefined, 'mean 0.575 < 0.8 while a small face is among the best');
  t.equal(e.observe(obs(2, 2, 'S1', 0.7, good)), undefined, 'best two 0.7 and 0.6 (small): 0.65 < 0.8');
  const b = e.observe(obs(2, 3, 'S1', 0.72, good));
  t.equal(b?.threshold, 0.5, 'best two now both big faces: held to 0.5');
  t.equal(b?.band, 'big');
  t.ok(Math.abs(b!.score - 0.71) < 1e-9, `mean of 0.72 and 0.7 (${b?.score})`);
});

t.test("rule 'template': decides on the fused top-1 against the fused threshold", async (t) => {
  const cfg = DecisionConfigSchema.parse({ rule: 'template', template: { frames: 5, minFrames: 2 } });
  t.throws(() => new AlertDecider(cfg, basis), /rule 'template' needs a fused threshold/);
  const d = new AlertDecider(cfg, { ...basis, fusedThreshold: 0.6, fusedDecidingGroup: 'fused' });
  const fused = (o: Observation, ref: string, score: number, frames: number): Observation => ({ ...o, fused: { top1: { ref, category: 'wanted', score }, frames } });
  t.equal(d.observe(obs(1, 0, 'S1', 0.9, good, 1)), undefined, 'single frames never decide under this rule, however high');
  t.equal(d.observe(fused(obs(1, 40, 'S1', 0.9, good, 2), 'S1', 0.95, 1)), undefined, 'a template of one frame is below template.minFrames');
  t.equal(d.observe(fused(obs(1, 80, 'S1', 0.5, good, 3), 'S1', 0.59, 2)), undefined, 'fused score below the fused threshold');
  const a = d.observe(fused(obs(1, 120, 'S2', 0.4, good, 4), 'S1', 0.61, 3));
  t.match(a, {
    subject: { ref: 'S1' }, score: 0.61, bestScore: 0.9, threshold: 0.6, rule: 'template', fused: true, templateFrames: 3,
    framesOfEvidence: 3, framesSeen: 4, decidingGroup: 'fused',
  });
  t.same([...a!.crop!.data], new Array(12).fill(1), "the subject's best frame crop");
  t.equal(d.observe(fused(obs(1, 160, 'S1', 0.9), 'S1', 0.9, 4)), undefined, 'once per subject per track');
  // a track whose frames never had the subject as top-1: the crop of the frame that completed the template
  const b = d.observe(fused(obs(2, 200, 'S9', 0.2, good, 7), 'S3', 0.7, 2));
  t.match(b, { subject: { ref: 'S3' }, fused: true, bestScore: 0.7 });
  t.same([...b!.crop!.data], new Array(12).fill(7));
  t.equal(d.observe(fused(obs(3, 1000, 'S1', 0.9), 'S1', 0.9, 5)), undefined, 'the cooldown holds for fused alerts');
  t.same(d.stats, { alerts: 2, suppressedByCooldown: 1 });
  const single = new AlertDecider(DecisionConfigSchema.parse({ minFrames: 1 }), basis).observe(obs(1, 0, 'S1', 0.9));
  t.match(single, { fused: false, rule: 'min-frames' });
  t.notOk('templateFrames' in single!);
});
