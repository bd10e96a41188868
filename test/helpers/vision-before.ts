/**
 * The pre-processing functions as they were before the speed work on branch vratio, kept verbatim
 * so the faster ones can be checked against them (bit for bit) on real photos and synthetic
 * images. Test-only: nothing in src/ uses these.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../src/eval/bootstrap';
import { invertAffine, type Affine } from '../../src/vision/align';
import { decodeImageFile } from '../../src/vision/image';
import { greyOf, resizeRectRgb, type PlanarSpec, type Rect } from '../../src/vision/resize';
import type { RgbImage } from '../../src/vision/types';
import { sharedData } from './data';

/** resize.ts computeAxisMap before (no cache: the tests are not timed). */
function axisMapBefore(srcOffset: number, srcLen: number, dstLen: number): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const scale = srcLen / dstLen;
  const i0 = new Int32Array(dstLen);
  const i1 = new Int32Array(dstLen);
  const w1 = new Float32Array(dstLen);
  for (let d = 0; d < dstLen; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let f = Math.floor(s);
    let w = s - f;
    if (f >= srcLen - 1) {
      f = srcLen - 1;
      w = 0;
    }
    i0[d] = srcOffset + f;
    i1[d] = srcOffset + Math.min(f + 1, srcLen - 1);
    w1[d] = w;
  }
  return { i0, i1, w1 };
}

/** resize.ts resizeToPlanar before. */
export function resizeToPlanarBefore(
  src: RgbImage,
  rect: Rect,
  dstW: number,
  dstH: number,
  out: Float32Array,
  spec: PlanarSpec,
  outW = dstW,
  outH = dstH,
): void {
  if (outW < dstW || outH < dstH) throw new Error(`resizeToPlanar: output ${outW}x${outH} is smaller than the resized ${dstW}x${dstH}`);
  const plane = outW * outH;
  if (out.length < 3 * plane) throw new Error(`resizeToPlanar: output tensor has ${out.length} values, needs ${3 * plane}`);
  const xm = axisMapBefore(rect.x, rect.w, dstW);
  const ym = axisMapBefore(rect.y, rect.h, dstH);
  const data = src.data;
  const stride = src.width * 3;
  // Planes of R, G and B in the tensor, and each one's mean and scale (spec order = tensor order).
  const bgr = spec.channels === 'BGR';
  const pr = bgr ? 2 * plane : 0, pb = bgr ? 0 : 2 * plane;
  const [m0, m1, m2] = spec.mean, [s0, s1, s2] = spec.scale;
  const mr = bgr ? m2 : m0, mb = bgr ? m0 : m2, sr = bgr ? s2 : s0, sb = bgr ? s0 : s2;
  const mg = m1, sg = s1;
  const xi0 = xm.i0, xi1 = xm.i1, xw = xm.w1;
  for (let dy = 0; dy < dstH; dy++) {
    const row0 = ym.i0[dy] * stride;
    const row1 = ym.i1[dy] * stride;
    const wy = ym.w1[dy];
    const wy0 = 1 - wy;
    let o = dy * outW;
    for (let dx = 0; dx < dstW; dx++, o++) {
      const c0 = xi0[dx] * 3;
      const c1 = xi1[dx] * 3;
      const wx = xw[dx];
      const wx0 = 1 - wx;
      const w00 = wx0 * wy0, w01 = wx * wy0, w10 = wx0 * wy, w11 = wx * wy;
      const a = row0 + c0, b = row0 + c1, c = row1 + c0, d = row1 + c1;
      const r = ((data[a] * w00 + data[b] * w01 + data[c] * w10 + data[d] * w11 + 0.5) | 0);
      const g = ((data[a + 1] * w00 + data[b + 1] * w01 + data[c + 1] * w10 + data[d + 1] * w11 + 0.5) | 0);
      const bl = ((data[a + 2] * w00 + data[b + 2] * w01 + data[c + 2] * w10 + data[d + 2] * w11 + 0.5) | 0);
      out[pr + o] = (r - mr) * sr;
      out[plane + o] = (g - mg) * sg;
      out[pb + o] = (bl - mb) * sb;
    }
  }
  if (outW > dstW || outH > dstH) {
    const padR = -mr * sr, padG = -mg * sg, padB = -mb * sb;
    for (let y = 0; y < outH; y++) {
      for (let x = y < dstH ? dstW : 0; x < outW; x++) {
        const o = y * outW + x;
        out[pr + o] = padR;
        out[plane + o] = padG;
        out[pb + o] = padB;
      }
    }
  }
}

/** landmarks.ts landmarkInput before: resizeRectRgb with a per-pixel callback, then greyOf. */
export function landmarkInputBefore(img: RgbImage, crop: Rect, size: number, mean: number, scale: number, out = new Float32Array(size * size)): Float32Array {
  resizeRectRgb(img, crop, size, size, (i, r, g, b) => {
    out[i] = (greyOf(r, g, b) - mean) * scale;
  });
  return out;
}

/** align.ts warpAffineRgb before. */
export function warpAffineRgbBefore(src: RgbImage, m: Affine, dstW: number, dstH: number): RgbImage {
  const inv = invertAffine(m);
  const out = new Uint8Array(dstW * dstH * 3);
  const { width: W, height: H, data } = src;
  const stride = W * 3;
  let o = 0;
  for (let y = 0; y < dstH; y++) {
    const sxr = inv[1] * y + inv[2];
    const syr = inv[4] * y + inv[5];
    for (let x = 0; x < dstW; x++, o += 3) {
      const sx = inv[0] * x + sxr;
      const sy = inv[3] * x + syr;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const p = y0 * stride + x0 * 3;
        const w00 = (1 - fx) * (1 - fy), w10 = fx * (1 - fy), w01 = (1 - fx) * fy, w11 = fx * fy;
        const q = p + stride;
        out[o] = (data[p] * w00 + data[p + 3] * w10 + data[q] * w01 + data[q + 3] * w11 + 0.5) | 0;
        out[o + 1] = (data[p + 1] * w00 + data[p + 4] * w10 + data[q + 1] * w01 + data[q + 4] * w11 + 0.5) | 0;
        out[o + 2] = (data[p + 2] * w00 + data[p + 5] * w10 + data[q + 2] * w01 + data[q + 5] * w11 + 0.5) | 0;
      } else if (x0 >= -1 && y0 >= -1 && x0 < W && y0 < H) {
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
    }
  }
  return { width: dstW, height: dstH, data: out };
}

/** quality.ts laplacianVariance before. */
export function laplacianVarianceBefore(img: RgbImage): number {
  const { width: W, height: H, data } = img;
  const grey = new Float32Array(W * H);
  for (let i = 0, p = 0; i < W * H; i++, p += 3) grey[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] + 0.5) | 0;
  let sum = 0, sum2 = 0, n = 0;
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const l = grey[i - 1] + grey[i + 1] + grey[i - W] + grey[i + W] - 4 * grey[i];
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const m = sum / n;
  return sum2 / n - m * m;
}

/** A seeded noisy RGB image with smooth gradients and hard edges (every byte value occurs). */
export function syntheticImage(width: number, height: number, seed = 1): RgbImage {
  const rnd = seededRandom(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const edge = (x >> 3) % 2 === (y >> 3) % 2 ? 60 : 0;
      data[p] = Math.min(255, ((x * 255) / width + edge + rnd() * 40) | 0);
      data[p + 1] = Math.min(255, ((y * 255) / height + rnd() * 40) | 0);
      data[p + 2] = (rnd() * 256) | 0;
    }
  }
  return { width, height, data };
}

/** The first image of each of the first `n` LFW people (sorted), decoded. Needs ../shared/data/lfw-dev. */
export async function realPhotos(n: number): Promise<{ name: string; img: RgbImage }[]> {
  const dir = sharedData('lfw-dev', 'images');
  const out: { name: string; img: RgbImage }[] = [];
  for (const p of readdirSync(dir).sort().slice(0, n)) {
    const f = readdirSync(path.join(dir, p)).sort()[0];
    out.push({ name: f, img: await decodeImageFile(path.join(dir, p, f)) });
  }
  return out;
}

/** How many values of `a` and `b` differ, and by how much at most. */
export function differences(a: ArrayLike<number>, b: ArrayLike<number>): { count: number; max: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let count = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      count++;
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
  }
  return { count, max };
}
