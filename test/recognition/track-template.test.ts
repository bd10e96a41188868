/** Track templates (pure): the quality weight, the best K kept, the weighted mean, zeroing. */
import t from 'tap';
import { DecisionConfigSchema } from '../../src/recognition/config';
import { meanTemplate } from '../../src/recognition/template';
import { MIN_WEIGHT, qualityWeight, TrackTemplate, type TrackTemplateConfig } from '../../src/recognition/track-template';
import type { FaceQuality } from '../../src/vision/types';

const q = (interOcularPx: number, sharpness: number): FaceQuality => ({ interOcularPx, sharpness, yawDeg: 0, pitchDeg: 0, detScore: 0.99, passed: true, reasons: [] });
const unit = (...v: number[]) => {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
};
const cfg = (over: Partial<TrackTemplateConfig> = {}): TrackTemplateConfig => ({ ...DecisionConfigSchema.parse({}).template, ...over });

t.test('the quality weight: two ramps, floored', async (t) => {
  const w = cfg().weight;
  t.same(w, { interOcularPx: [10, 40], sharpness: [5, 60] }, 'the defaults');
  t.equal(qualityWeight(q(40, 60), w), 1, 'full size and sharpness');
  t.equal(qualityWeight(q(80, 500), w), 1, 'capped at 1');
  t.ok(Math.abs(qualityWeight(q(25, 60), w) - 0.5) < 1e-12, 'half way up the size ramp');
  t.ok(Math.abs(qualityWeight(q(25, 32.5), w) - 0.25) < 1e-12, 'the ramps multiply');
  t.equal(qualityWeight(q(5, 1), w), MIN_WEIGHT * MIN_WEIGHT, 'floored: every embedded face counts a little');
});

t.test('the best K by weight are kept and averaged with their weights', async (t) => {
  const tpl = new TrackTemplate(cfg({ frames: 2 }));
  t.equal(tpl.template(), undefined, 'empty');
  const a = unit(1, 0, 0), b = unit(0, 1, 0), c = unit(0, 0, 1);
  t.equal(tpl.add(a, q(20, 60)), true);
  t.equal(tpl.add(b, q(40, 60)), true);
  t.equal(tpl.size, 2);
  const wa = qualityWeight(q(20, 60), cfg().weight);
  t.same([...tpl.template()!], [...meanTemplate([a, b], [wa, 1])], 'the weighted mean');
  t.equal(tpl.add(c, q(15, 60)), false, 'lighter than both: not taken');
  t.equal(tpl.add(c, q(20, 60)), false, 'a tie keeps the older one');
  const before = tpl.template()!;
  t.equal(tpl.add(c, q(30, 60)), true, 'heavier than the lightest: replaces it');
  t.same([...before], new Array(3).fill(0), 'the superseded template is zeroed');
  const tc = qualityWeight(q(30, 60), cfg().weight);
  t.same([...tpl.template()!], [...meanTemplate([b, c], [1, tc])], 'a dropped out');
  t.same(tpl.bestQuality(), q(40, 60), 'the heaviest member');
  t.equal(tpl.seen, 5);
  a[0] = 7; // the template keeps copies
  t.same([...tpl.template()!], [...meanTemplate([b, c], [1, tc])]);
});

t.test('uniform weighting: the same best K, equal weights', async (t) => {
  const tpl = new TrackTemplate(cfg({ frames: 2, weighting: 'uniform' }));
  const a = unit(1, 0), b = unit(0, 1), c = unit(1, 1);
  tpl.add(a, q(12, 60));
  tpl.add(b, q(40, 60));
  tpl.add(c, q(35, 60));
  t.same([...tpl.template()!], [...meanTemplate([b, c])]);
});

t.test('clear zeroes every copy; bad settings are refused', async (t) => {
  const tpl = new TrackTemplate(cfg());
  tpl.add(unit(1, 2, 3), q(40, 60));
  const tplVec = tpl.template()!;
  tpl.clear();
  t.same([...tplVec], [0, 0, 0]);
  t.equal(tpl.size, 0);
  t.equal(tpl.template(), undefined);
  t.throws(() => new TrackTemplate(cfg({ frames: 0 })), /frames must be an integer >= 1, got 0/);
  t.throws(() => new TrackTemplate(cfg({ weight: { interOcularPx: [40, 10], sharpness: [5, 60] } })), /weight\.interOcularPx must be \[zero, full\] with full > zero, got \[40, 10\]/);
  t.throws(() => DecisionConfigSchema.parse({ template: { frames: 2, minFrames: 3 } }), /template\.minFrames must be at most template\.frames/);
  t.throws(() => DecisionConfigSchema.parse({ template: { weight: { sharpness: [60, 5] } } }), /a ramp is \[zero, full\] with full > zero/);
});
