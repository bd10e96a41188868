/**
 * Face alignment: least-squares similarity transform (rotation, uniform scale, translation) from
 * five facial points to the embedder's template points (its manifest entry), and a bilinear
 * affine warp to the template's size.
 */
import type { Point, RgbImage } from './types';

/** 2x3 affine matrix [a, b, tx, c, d, ty]: x' = a x + b y + tx, y' = c x + d y + ty. */
export type Affine = [number, number, number, number, number, number];

/**
 * Umeyama's least-squares similarity from `src` to `dst`. In 2D with a proper rotation this has a
 * closed form: with demeaned points, [a -b; b a] where a = sum(x x' + y y') / sum(x^2 + y^2) and
 * b = sum(x y' - y x') / sum(x^2 + y^2). Throws when the points are degenerate (all the same).
 */
export function similarityTransform(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`similarityTransform needs >= 2 matching points, got ${n} and ${dst.length}`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i][0]; sy += src[i][1]; dx += dst[i][0]; dy += dst[i][1];
  }
  sx /= n; sy /= n; dx /= n; dy /= n;
  let num1 = 0, num2 = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i][0] - sx, y = src[i][1] - sy;
    const u = dst[i][0] - dx, v = dst[i][1] - dy;
    num1 += x * u + y * v;
    num2 += x * v - y * u;
    den += x * x + y * y;
  }
  if (!(den > 1e-12)) throw new Error('similarityTransform: source points are degenerate (all equal)');
  const a = num1 / den;
  const b = num2 / den;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}

export function applyAffine(m: Affine, p: Point): Point {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, tx, c, d, ty] = m;
  const det = a * d - b * c;
  if (Math.abs(det) < 1e-12) throw new Error('invertAffine: matrix is singular');
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/**
 * Warp `src` by `m` (src -> dst coordinates) into a dstW x dstH RGB image, bilinear, black outside
 * (as OpenCV's warpAffine with BORDER_CONSTANT 0). Where all four neighbours are inside (almost
 * every pixel of a face), floor(s) is s | 0 (s >= 0 there), tested on the coordinates before any
 * rounding: x0 >= 0 && x0 + 1 < W is exactly 0 <= sx < W - 1. The weights are the same products
 * as before, so the output is bit-identical (test/vision/align-warp.test.ts); the border (missing
 * neighbours as black) is borderPixel.
 */
export function warpAffineRgb(src: RgbImage, m: Affine, dstW: number, dstH: number): RgbImage {
  const [a, b, tx, c, d, ty] = invertAffine(m);
  const out = new Uint8Array(dstW * dstH * 3);
  const { width: W, height: H, data } = src;
  const stride = W * 3;
  const xLimit = W - 1, yLimit = H - 1;
  let o = 0;
  for (let y = 0; y < dstH; y++) {
    const sxr = b * y + tx;
    const syr = d * y + ty;
    for (let x = 0; x < dstW; x++, o += 3) {
      const sx = a * x + sxr;
      const sy = c * x + syr;
      if (sx >= 0 && sy >= 0 && sx < xLimit && sy < yLimit) {
        const x0 = sx | 0, y0 = sy | 0;
        const fx = sx - x0, fy = sy - y0;
        const gx = 1 - fx, gy = 1 - fy;
        const w00 = gx * gy, w10 = fx * gy, w01 = gx * fy, w11 = fx * fy;
        const p = y0 * stride + x0 * 3;
        const q = p + stride;
        out[o] = (data[p] * w00 + data[p + 3] * w10 + data[q] * w01 + data[q + 3] * w11 + 0.5) | 0;
        out[o + 1] = (data[p + 1] * w00 + data[p + 4] * w10 + data[q + 1] * w01 + data[q + 4] * w11 + 0.5) | 0;
        out[o + 2] = (data[p + 2] * w00 + data[p + 5] * w10 + data[q + 2] * w01 + data[q + 5] * w11 + 0.5) | 0;
      } else {
        borderPixel(src, sx, sy, out, o);
      }
    }
  }
  return { width: dstW, height: dstH, data: out };
}

/** One output pixel at source (sx, sy) near or past the edge: neighbours outside count as black; left 0 when all four are. */
function borderPixel(src: RgbImage, sx: number, sy: number, out: Uint8Array, o: number): void {
  const { width: W, height: H, data } = src;
  const x0 = Math.floor(sx), y0 = Math.floor(sy);
  if (!(x0 >= -1 && y0 >= -1 && x0 < W && y0 < H)) return;
  const stride = W * 3;
  const fx = sx - x0, fy = sy - y0;
  const in00 = x0 >= 0 && y0 >= 0, in10 = x0 + 1 < W && y0 >= 0;
  const in01 = x0 >= 0 && y0 + 1 < H, in11 = x0 + 1 < W && y0 + 1 < H;
  const p00 = y0 * stride + x0 * 3;
  const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    if (in00) v += data[p00 + ch] * w00;
    if (in10) v += data[p00 + 3 + ch] * w10;
    if (in01) v += data[p00 + stride + ch] * w01;
    if (in11) v += data[p00 + stride + 3 + ch] * w11;
    out[o + ch] = (v + 0.5) | 0;
  }
}

/** Align a face: the similarity from its five points to the template's, warped to the template's size. */
export function alignFace(src: RgbImage, fivePoints: readonly Point[], template: { width: number; height: number; points: readonly Point[] }): { aligned: RgbImage; transform: Affine } {
  const transform = similarityTransform(fivePoints, template.points);
  return { aligned: warpAffineRgb(src, transform, template.width, template.height), transform };
}
