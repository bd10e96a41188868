import t from 'tap';
import { decodeDetections, detectorInput, iou, nms, squareBox, DETECTOR_HEIGHT, DETECTOR_WIDTH } from '../../src/vision/detector';
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

t.test('detectorInput: 320x240 RGB planar, (v-127)/128', async (t) => {
  const w = 64, h = 48;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    data[i * 3] = 255; // R
    data[i * 3 + 1] = 127; // G
    data[i * 3 + 2] = 0; // B
  }
  const x = detectorInput({ width: w, height: h, data });
  const plane = DETECTOR_WIDTH * DETECTOR_HEIGHT;
  t.equal(x.length, 3 * plane);
  t.equal(x[0], 1, 'R plane first');
  t.equal(x[plane + 100], 0, 'G plane');
  t.equal(x[2 * plane + 5000], -127 / 128, 'B plane last');
});
