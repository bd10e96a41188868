import t from 'tap';
import { decodeDetections, iou, nms, squareBox } from '../../src/vision/detector';
import { decodeYunet, yunetInputSize } from '../../src/vision/detectors/yunet';
import { resizeToPlanar } from '../../src/vision/resize';
import type { Detection } from '../../src/vision/types';

t.test('decodeDetections keeps face scores >= threshold and scales to the frame', async (t) => {
  const scores = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6]);
  const boxes = Float32Array.from([0, 0, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 1, 1, 0, 0, 1, 1]);
  const d = decodeDetections(scores, boxes, 640, 480, 0.65);
  t.equal(d.length, 2);
  t.same(d[0].box.map((v) => Math.round(v)), [64, 96, 192, 192]);
  t.equal(d[0].score, Math.fround(0.8));
  t.same(d[1].box, [320, 240, 640, 480]);
  t.throws(() => decodeDetections(scores, boxes.subarray(0, 8), 640, 480, 0.5), /4 scores but 2 boxes/);
});

t.test('iou of known boxes', async (t) => {
  t.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  t.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  t.equal(iou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150);
});

t.test('nms is score-ordered and suppresses overlaps above the threshold', async (t) => {
  const dets: Detection[] = [
    { box: [0, 0, 10, 10], score: 0.7 },
    { box: [1, 1, 11, 11], score: 0.95 }, // overlaps the first: the higher score wins
    { box: [50, 50, 60, 60], score: 0.8 },
    { box: [0, 0, 10, 9.9], score: 0.9 }, // also overlaps box 2 (IoU ~0.67)
  ];
  const kept = nms(dets, 0.4);
  t.same(kept.map((d) => d.score), [0.95, 0.8]);
  // A loose threshold keeps everything that overlaps less than it.
  t.equal(nms(dets, 0.99).length, 4);
});

t.test('squareBox: side = height around the centre, moved back inside the frame', async (t) => {
  t.same(squareBox([10, 10, 30, 50], 100, 100), [0, 10, 40, 50]);
  t.same(squareBox([40, 40, 60, 80], 100, 100), [30, 40, 70, 80]);
  const edge = squareBox([90, 10, 100, 50], 100, 100);
  t.same(edge, [60, 10, 100, 50], 'shifted left, still square');
  const huge = squareBox([0, 0, 50, 200], 100, 120);
  t.equal(huge[2] - huge[0], 100, 'side clipped to the smaller frame dimension');
});

t.test('resizeToPlanar: channel order, per-channel mean and scale, padding as black', async (t) => {
  const w = 64, h = 48;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    data[i * 3] = 255; // R
    data[i * 3 + 1] = 127; // G
    data[i * 3 + 2] = 0; // B
  }
  const img = { width: w, height: h, data };
  const rect = { x: 0, y: 0, w, h };
  const plane = 320 * 240;
  const x = new Float32Array(3 * plane);
  resizeToPlanar(img, rect, 320, 240, x, { channels: 'RGB', mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128] });
  t.equal(x[0], 1, 'RGB: R plane first, (v-127)/128');
  t.equal(x[plane + 100], 0, 'G plane');
  t.equal(x[2 * plane + 5000], -127 / 128, 'B plane last');
  const raw = new Float32Array(3 * 64 * 64);
  resizeToPlanar(img, rect, 32, 24, raw, { channels: 'BGR', mean: [0, 0, 0], scale: [1, 1, 1] }, 64, 64);
  const p2 = 64 * 64;
  t.equal(raw[0], 0, 'BGR raw: B plane first');
  t.equal(raw[p2 + 3], 127, 'G');
  t.equal(raw[2 * p2 + 64 * 23 + 31], 255, 'R plane last, last resized pixel');
  t.equal(raw[2 * p2 + 32], 0, 'right of the resized image: padding (black)');
  t.equal(raw[2 * p2 + 64 * 24], 0, 'below it: padding');
  const per = new Float32Array(3 * 4 * 4);
  resizeToPlanar(img, rect, 2, 2, per, { channels: 'BGR', mean: [1, 2, 3], scale: [2, 3, 4] }, 4, 4);
  t.equal(per[0], (0 - 1) * 2, 'B with mean[0], scale[0]');
  t.equal(per[16], (127 - 2) * 3, 'G with mean[1], scale[1]');
  t.equal(per[32], (255 - 3) * 4, 'R with mean[2], scale[2]');
  t.equal(per[32 + 3], (0 - 3) * 4, 'padding is a black pixel normalised');
  t.throws(() => resizeToPlanar(img, rect, 8, 8, new Float32Array(10), { channels: 'RGB', mean: [0, 0, 0], scale: [1, 1, 1] }), /output tensor has 10 values, needs 192/);
});

t.test('yunetInputSize: the configured width, aspect kept, padded to multiples of 32', async (t) => {
  t.same(yunetInputSize(1280, 720, 640, 32), { dstW: 640, dstH: 360, padW: 640, padH: 384, scale: 0.5 });
  t.same(yunetInputSize(1280, 720, 960, 32), { dstW: 960, dstH: 540, padW: 960, padH: 544, scale: 0.75 });
  t.same(yunetInputSize(250, 250, 320, 32), { dstW: 320, dstH: 320, padW: 320, padH: 320, scale: 1.28 });
});

t.test('decodeYunet: score sqrt(cls*obj) clamped, box and points from the grid cell', async (t) => {
  // A 64x32 padded input: stride 32 has 2 cols x 1 row; stride 16 has 4 x 2 (all below threshold).
  const s16 = { stride: 16, cls: new Float32Array(8), obj: new Float32Array(8), bbox: new Float32Array(32), kps: new Float32Array(80) };
  const s32 = {
    stride: 32,
    cls: Float32Array.from([0.81, 1.7]),
    obj: Float32Array.from([1, 0.25]),
    bbox: Float32Array.from([0, 0, 0, 0, 0.5, 0.25, Math.log(2), Math.log(0.5)]),
    kps: new Float32Array(20),
  };
  for (let k = 0; k < 5; k++) { s32.kps[10 + 2 * k] = k * 0.1; s32.kps[10 + 2 * k + 1] = 0.5; }
  const c = decodeYunet([s16, s32], 64, 32, 0.45);
  t.equal(c.length, 2);
  t.ok(Math.abs(c[0].score - 0.9) < 1e-6, 'cell 0: sqrt(0.81 * 1)');
  t.same(c[0].box, [-16, -16, 16, 16], 'cell 0: centre (0,0), size exp(0) * 32');
  t.ok(Math.abs(c[1].score - 0.5) < 1e-6, 'cell 1: cls clamped to 1: sqrt(1 * 0.25)');
  const b = c[1].box;
  t.ok(Math.abs(b[0] - (48 - 32)) < 1e-4 && Math.abs(b[2] - (48 + 32)) < 1e-4, 'centre x (1 + 0.5) * 32, width exp(ln 2) * 32');
  t.ok(Math.abs(b[1] - (8 - 8)) < 1e-4 && Math.abs(b[3] - (8 + 8)) < 1e-4, 'centre y (0 + 0.25) * 32, height exp(ln 0.5) * 32');
  t.ok(c[1].fivePoints!.every(([x, y], k) => Math.abs(x - (k * 0.1 + 1) * 32) < 1e-4 && Math.abs(y - 16) < 1e-4), 'points ((kx + col) s, (ky + row) s)');
  t.equal(decodeYunet([s16, s32], 64, 32, 0.95).length, 0, 'threshold applied');
  t.throws(() => decodeYunet([s32], 96, 32, 0.5), /stride 32 disagree with the 96x32 input: cls 2, .* expected 3 each/);
});
