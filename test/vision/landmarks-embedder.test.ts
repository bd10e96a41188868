import t from 'tap';
import { cosine, embedderInput, l2Normalise } from '../../src/vision/embedder';
import { decodeLandmarks, fivePointsFrom68, landmarkCrop, landmarkInput } from '../../src/vision/landmarks';
import { greyOf, resizeRgb } from '../../src/vision/resize';
import type { Point } from '../../src/vision/types';

t.test('fivePointsFrom68 uses the documented indices', async (t) => {
  const pts: Point[] = Array.from({ length: 68 }, (_, i) => [i, 1000 + i] as Point);
  const five = fivePointsFrom68(pts);
  t.same(five[0], [(37 + 38 + 40 + 41) / 4, 1000 + (37 + 38 + 40 + 41) / 4], 'left eye');
  t.same(five[1], [(43 + 44 + 46 + 47) / 4, 1000 + (43 + 44 + 46 + 47) / 4], 'right eye');
  t.same(five[2], [30, 1030], 'nose tip');
  t.same(five[3], [54, 1054], 'left mouth = mean(48, 60)');
  t.same(five[4], [59, 1059], 'right mouth = mean(54, 64)');
  t.throws(() => fivePointsFrom68(pts.slice(1)), /needs 68 points, got 67/);
});

t.test('decodeLandmarks: relative to the crop, floats kept', async (t) => {
  const out = new Float32Array(136);
  out[0] = 0.5; out[1] = 0.25; out[134] = 1; out[135] = 0.125;
  const pts = decodeLandmarks(out, { x: 10, y: 20, w: 100, h: 80 });
  t.same(pts[0], [60, 40]);
  t.same(pts[67], [110, 30]);
  t.throws(() => decodeLandmarks(new Float32Array(10), { x: 0, y: 0, w: 1, h: 1 }), /10 values, expected 136/);
});

t.test('landmarkCrop stays inside the frame', async (t) => {
  t.same(landmarkCrop([-5.2, 10.4, 44.8, 60.4], 100, 100), { x: 0, y: 10, w: 50, h: 50 });
  t.same(landmarkCrop([80, 80, 130, 130], 100, 100), { x: 50, y: 50, w: 50, h: 50 });
});

t.test('landmarkInput is grey/256 of the resized crop', async (t) => {
  const w = 8, h = 8;
  const data = new Uint8Array(w * h * 3).fill(0);
  for (let i = 0; i < w * h; i++) { data[i * 3] = 100; data[i * 3 + 1] = 150; data[i * 3 + 2] = 200; }
  const x = landmarkInput({ width: w, height: h, data }, { x: 0, y: 0, w: 8, h: 8 });
  t.equal(x.length, 64 * 64);
  t.equal(x[123], greyOf(100, 150, 200) / 256);
  t.equal(greyOf(100, 150, 200), Math.round(0.299 * 100 + 0.587 * 150 + 0.114 * 200));
});

t.test('resizeRgb follows the pixel-centre convention', async (t) => {
  const src = { width: 4, height: 1, data: Uint8Array.from([0, 0, 0, 40, 40, 40, 80, 80, 80, 120, 120, 120]) };
  const up = resizeRgb(src, 8, 1);
  // dst x maps to (x + 0.5) * 0.5 - 0.5: 0 -> clamp 0, 1 -> 0.25, 2 -> 0.75 ...
  t.same(Array.from(up.data).filter((_, i) => i % 3 === 0), [0, 10, 30, 50, 70, 90, 110, 120]);
  const down = resizeRgb(src, 2, 1);
  t.same(Array.from(down.data).filter((_, i) => i % 3 === 0), [20, 100]);
});

t.test('embedderInput feeds BGR planar, (v-127)/128', async (t) => {
  const data = new Uint8Array(112 * 112 * 3);
  for (let i = 0; i < 112 * 112; i++) { data[i * 3] = 255; data[i * 3 + 1] = 127; data[i * 3 + 2] = 0; }
  const x = embedderInput({ width: 112, height: 112, data });
  const plane = 112 * 112;
  t.equal(x[0], -127 / 128, 'first plane is blue');
  t.equal(x[plane], 0, 'second is green');
  t.equal(x[2 * plane], 1, 'third is red');
});

t.test('l2Normalise and cosine', async (t) => {
  const v = l2Normalise(Float32Array.from([3, 4]));
  t.ok(Math.abs(v[0] - 0.6) < 1e-7 && Math.abs(v[1] - 0.8) < 1e-7);
  t.ok(Math.abs(cosine(v, v) - 1) < 1e-6);
  t.equal(cosine(Float32Array.from([1, 0]), Float32Array.from([0, 1])), 0);
  t.throws(() => l2Normalise(new Float32Array(4)), /zero or non-finite/);
  t.throws(() => cosine(new Float32Array(2), new Float32Array(3)), /lengths differ/);
});
