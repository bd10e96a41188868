import t from 'tap';
import { REFERENCE_POINTS as REFERENCE_POINTS_112 } from './template';
import { QualityConfigSchema } from '../../src/vision/config';
import { assessQuality, laplacianVariance, poseFromFivePoints } from '../../src/vision/quality';
import type { Point, RgbImage } from '../../src/vision/types';

function flat(v: number): RgbImage {
  return { width: 112, height: 112, data: new Uint8Array(112 * 112 * 3).fill(v) };
}
function checker(): RgbImage {
  const img = flat(0);
  for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) if ((x + y) % 2) img.data.fill(255, (y * 112 + x) * 3, (y * 112 + x) * 3 + 3);
  return img;
}

t.test('laplacianVariance: zero on a flat image, large on a checkerboard', async (t) => {
  t.equal(laplacianVariance(flat(128)), 0);
  const v = laplacianVariance(checker());
  t.ok(Math.abs(v - (4 * 255) ** 2) < 1e-6, `checkerboard variance ${v}`);
});

t.test('pose: the reference points are frontal; moving the nose sideways gives yaw', async (t) => {
  const p0 = poseFromFivePoints(REFERENCE_POINTS_112);
  t.ok(Math.abs(p0.yawDeg) < 1, `yaw ${p0.yawDeg}`);
  t.ok(Math.abs(p0.pitchDeg) < 1, `pitch ${p0.pitchDeg}`);
  t.ok(Math.abs(p0.interOcularPx - 35.24) < 0.01);
  const turned = REFERENCE_POINTS_112.map((p, i) => (i === 2 ? [p[0] + 17.6, p[1]] : p) as Point);
  const p1 = poseFromFivePoints(turned);
  t.ok(p1.yawDeg > 40 && p1.yawDeg < 50, `yaw with the nose half an eye distance aside: ${p1.yawDeg}`);
  const down = REFERENCE_POINTS_112.map((p, i) => (i === 2 ? [p[0], p[1] + 15] : p) as Point);
  t.ok(poseFromFivePoints(down).pitchDeg > 20, 'nose towards the mouth: pitch');
  // Roll does not change yaw: rotate every point by 30 degrees.
  const c = Math.cos(0.5), s = Math.sin(0.5);
  const rolled = REFERENCE_POINTS_112.map(([x, y]) => [c * x - s * y, s * x + c * y] as Point);
  t.ok(Math.abs(poseFromFivePoints(rolled).yawDeg) < 1, 'roll-invariant');
});

t.test('assessQuality reports every failing measure with its reason', async (t) => {
  const cfg = QualityConfigSchema.parse({});
  const ok = assessQuality(REFERENCE_POINTS_112, checker(), 0.99, cfg);
  t.equal(ok.passed, true);
  t.same(ok.reasons, []);
  const small = REFERENCE_POINTS_112.map(([x, y]) => [x / 4, y / 4] as Point);
  const bad = assessQuality(small, flat(90), 0.5, cfg);
  t.equal(bad.passed, false);
  t.same(bad.reasons, ['face-too-small', 'blurry', 'low-detector-score']);
  const strict = assessQuality(REFERENCE_POINTS_112, checker(), 0.99, { ...cfg, minInterOcularPx: 40 });
  t.same(strict.reasons, ['face-too-small']);
});
