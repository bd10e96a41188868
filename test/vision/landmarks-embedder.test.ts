import t from 'tap';
import { cosine, embedderInput, l2Normalise } from '../../src/vision/embedder';
import { loadManifest, modelOfKind } from '../../src/models/manifest';
import { decodeLandmarks, fivePointsFrom, landmarkCrop, landmarkInput } from '../../src/vision/landmarks';
import { MANIFEST } from './template';
import { greyOf, resizeRgb } from '../../src/vision/resize';
import type { Point } from '../../src/vision/types';

const lm68 = modelOfKind(loadManifest(MANIFEST), 'landmarks-68', 'landmarks');

t.test("fivePointsFrom with the manifest's groups uses the documented 68-point indices", async (t) => {
  const pts: Point[] = Array.from({ length: 68 }, (_, i) => [i, 1000 + i] as Point);
  const fivePointsFrom68 = (p: Point[]) => fivePointsFrom(p, lm68.decode.fivePoints);
  const five = fivePointsFrom68(pts);
  t.same(five[0], [(37 + 38 + 40 + 41) / 4, 1000 + (37 + 38 + 40 + 41) / 4], 'left eye');
  t.same(five[1], [(43 + 44 + 46 + 47) / 4, 1000 + (43 + 44 + 46 + 47) / 4], 'right eye');
  t.same(five[2], [30, 1030], 'nose tip');
  t.same(five[3], [54, 1054], 'left mouth = mean(48, 60)');
  t.same(five[4], [59, 1059], 'right mouth = mean(54, 64)');
  t.throws(() => fivePointsFrom68(pts.slice(0, 60)), /landmark index 60 is not one of the 60 points/);
  t.throws(() => fivePointsFrom(pts, [[0], [1]]), /needs 5 groups, got 2/);
});

t.test('decodeLandmarks: relative to the crop, floats kept', async (t) => {
  const out = new Float32Array(136);
  out[0] = 0.5; out[1] = 0.25; out[134] = 1; out[135] = 0.125;
  const pts = decodeLandmarks(out, { x: 10, y: 20, w: 100, h: 80 }, 68);
  t.same(pts[0], [60, 40]);
  t.same(pts[67], [110, 30]);
  t.throws(() => decodeLandmarks(new Float32Array(10), { x: 0, y: 0, w: 1, h: 1 }, 68), /10 values, expected 136/);
});

t.test('landmarkCrop stays inside the frame', async (t) => {
  t.same(landmarkCrop([-5.2, 10.4, 44.8, 60.4], 100, 100), { x: 0, y: 10, w: 50, h: 50 });
  t.same(landmarkCrop([80, 80, 130, 130], 100, 100), { x: 50, y: 50, w: 50, h: 50 });
});

t.test("landmarkInput is (grey - mean) * scale of the resized crop (the manifest's: grey/256)", async (t) => {
  const w = 8, h = 8;
  const data = new Uint8Array(w * h * 3).fill(0);
  for (let i = 0; i < w * h; i++) { data[i * 3] = 100; data[i * 3 + 1] = 150; data[i * 3 + 2] = 200; }
  const size = lm68.input.shape[2] as number;
  const x = landmarkInput({ width: w, height: h, data }, { x: 0, y: 0, w: 8, h: 8 }, size, lm68.input.mean[0], lm68.input.scale[0]);
  t.equal(x.length, 64 * 64);
  t.equal(x[123], greyOf(100, 150, 200) / 256);
  const y = landmarkInput({ width: w, height: h, data }, { x: 0, y: 0, w: 8, h: 8 }, 32, 100, 0.5);
  t.equal(y.length, 32 * 32);
  t.equal(y[5], (greyOf(100, 150, 200) - 100) * 0.5, 'another size, mean and scale');
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

t.test("embedderInput honours channel order and per-channel mean and scale exactly", async (t) => {
  const data = new Uint8Array(112 * 112 * 3);
  for (let i = 0; i < 112 * 112; i++) { data[i * 3] = 255; data[i * 3 + 1] = 127; data[i * 3 + 2] = 0; }
  const img = { width: 112, height: 112, data };
  const plane = 112 * 112;
  const shipped = modelOfKind(loadManifest(MANIFEST), 'faceplugin-512', 'embedder').input;
  const x = embedderInput(img, shipped as { channels: 'BGR'; mean: number[]; scale: number[] });
  t.equal(x[0], -127 / 128, "the shipped spec (BGR, (v-127)/128): first plane is blue");
  t.equal(x[plane], 0, 'second is green');
  t.equal(x[2 * plane], 1, 'third is red');
  const arc = embedderInput(img, { channels: 'RGB', mean: [127.5, 127.5, 127.5], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5] });
  const f = (v: number) => Math.fround((v - 127.5) * (1 / 127.5));
  t.equal(arc[0], f(255), 'RGB (v-127.5)/127.5: first plane is red');
  t.equal(arc[plane + 7], f(127), 'green');
  t.equal(arc[2 * plane + 9], -1, 'blue last');
  const per = embedderInput(img, { channels: 'BGR', mean: [1, 2, 3], scale: [10, 20, 30] });
  t.equal(per[0], (0 - 1) * 10, 'BGR plane 0 = B with mean[0], scale[0]');
  t.equal(per[plane], (127 - 2) * 20, 'plane 1 = G with mean[1], scale[1]');
  t.equal(per[2 * plane], (255 - 3) * 30, 'plane 2 = R with mean[2], scale[2]');
  const perRgb = embedderInput(img, { channels: 'RGB', mean: [1, 2, 3], scale: [10, 20, 30] });
  t.equal(perRgb[0], (255 - 1) * 10, 'RGB plane 0 = R with mean[0], scale[0]');
  t.equal(perRgb[2 * plane], (0 - 3) * 30, 'plane 2 = B with mean[2], scale[2]');
});

t.test('l2Normalise and cosine', async (t) => {
  const v = l2Normalise(Float32Array.from([3, 4]));
  t.ok(Math.abs(v[0] - 0.6) < 1e-7 && Math.abs(v[1] - 0.8) < 1e-7);
  t.ok(Math.abs(cosine(v, v) - 1) < 1e-6);
  t.equal(cosine(Float32Array.from([1, 0]), Float32Array.from([0, 1])), 0);
  t.throws(() => l2Normalise(new Float32Array(4)), /zero or non-finite/);
  t.throws(() => cosine(new Float32Array(2), new Float32Array(3)), /lengths differ/);
});
