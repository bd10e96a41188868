import t from 'tap';
import { alignFace, applyAffine, invertAffine, similarityTransform, warpAffineRgb, type Affine } from '../../src/vision/align';
import { REFERENCE_POINTS as REFERENCE_POINTS_112, TEMPLATE } from './template';
import type { Point, RgbImage } from '../../src/vision/types';

function similarity(scale: number, angleRad: number, tx: number, ty: number): Affine {
  const a = scale * Math.cos(angleRad), b = scale * Math.sin(angleRad);
  return [a, -b, tx, b, a, ty];
}

t.test('similarityTransform recovers known rotation, scale and translation exactly', async (t) => {
  const src: Point[] = [[10, 20], [50, 22], [30, 40], [15, 60], [45, 61]];
  for (const [s, ang, tx, ty] of [[1, 0, 0, 0], [2.5, 0.3, 12, -7], [0.4, -1.2, 100, 50], [1.7, Math.PI * 0.9, -30, 8]]) {
    const m = similarity(s, ang, tx, ty);
    const dst = src.map((p) => applyAffine(m, p));
    const est = similarityTransform(src, dst);
    for (let i = 0; i < 6; i++) t.ok(Math.abs(est[i] - m[i]) < 1e-9, `coefficient ${i} for s=${s} angle=${ang}`);
  }
});

t.test('similarityTransform is the least-squares fit under noise (residual below a perturbed fit)', async (t) => {
  const src: Point[] = [[10, 20], [50, 22], [30, 40], [15, 60], [45, 61]];
  const m = similarity(1.3, 0.2, 5, 9);
  const noise = [[0.5, -0.3], [-0.4, 0.2], [0.1, 0.6], [-0.2, -0.5], [0.3, 0.1]];
  const dst = src.map((p, i) => { const q = applyAffine(m, p); return [q[0] + noise[i][0], q[1] + noise[i][1]] as Point; });
  const est = similarityTransform(src, dst);
  const resid = (mm: Affine) => src.reduce((s, p, i) => { const q = applyAffine(mm, p); return s + (q[0] - dst[i][0]) ** 2 + (q[1] - dst[i][1]) ** 2; }, 0);
  const r0 = resid(est);
  for (const d of [1e-3, -1e-3]) {
    t.ok(resid([est[0] + d, est[1], est[2], est[3], est[4] - 0, est[5]].map((v, i) => (i === 4 ? v + d : v)) as Affine) > r0);
    t.ok(resid([est[0], est[1], est[2] + d * 100, est[3], est[4], est[5]]) > r0);
  }
});

t.test('similarityTransform refuses degenerate points', async (t) => {
  t.throws(() => similarityTransform([[1, 1], [1, 1]], [[0, 0], [1, 1]]), /degenerate/);
  t.throws(() => similarityTransform([[1, 1]], [[0, 0]]), /needs >= 2/);
});

t.test('invertAffine', async (t) => {
  const m = similarity(2, 0.5, 3, 4);
  const inv = invertAffine(m);
  const p = applyAffine(inv, applyAffine(m, [7, -3]));
  t.ok(Math.abs(p[0] - 7) < 1e-12 && Math.abs(p[1] + 3) < 1e-12);
});

function gradient(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    data[i] = x; data[i + 1] = y; data[i + 2] = 200;
  }
  return { width: w, height: h, data };
}

t.test('warpAffineRgb: identity copies, translation shifts, outside is black, bilinear in between', async (t) => {
  const img = gradient(20, 10);
  const id = warpAffineRgb(img, [1, 0, 0, 0, 1, 0], 20, 10);
  t.same(id.data, img.data, 'identity');
  const shifted = warpAffineRgb(img, [1, 0, 3, 0, 1, 0], 20, 10); // dst x = src x + 3
  t.equal(shifted.data[(0 * 20 + 5) * 3], 2, 'dst (5,0) samples src (2,0)');
  t.equal(shifted.data[(0 * 20 + 0) * 3 + 2], 0, 'dst (0,0) maps outside: black');
  const half = warpAffineRgb(img, [1, 0, 0.5, 0, 1, 0], 20, 10);
  t.equal(half.data[(2 * 20 + 6) * 3], 6, 'half-pixel shift of a linear ramp: round(5.5) = 6');
  const zoom = warpAffineRgb(img, [2, 0, 0, 0, 2, 0], 40, 20);
  t.equal(zoom.data[(0 * 40 + 9) * 3], 5, 'x2 zoom: dst 9 samples src 4.5 -> 4.5 rounds to 5');
});

t.test('alignFace puts the five points on the reference points', async (t) => {
  const img = gradient(200, 200);
  const m = similarity(0.7, 0.25, 10, -5); // reference -> image
  const five = REFERENCE_POINTS_112.map((p) => applyAffine(invertAffine(m), p));
  const { aligned, transform } = alignFace(img, five, TEMPLATE);
  t.equal(aligned.width, 112);
  t.equal(aligned.height, 112);
  five.forEach((p, i) => {
    const q = applyAffine(transform, p);
    t.ok(Math.hypot(q[0] - REFERENCE_POINTS_112[i][0], q[1] - REFERENCE_POINTS_112[i][1]) < 1e-9, `point ${i}`);
  });
});
