/**
 * Bilinear resize of a rectangle of a packed RGB image straight to a normalised grey plane: the
 * landmark model's input. The same values as resizeRectRgb (resize.ts) followed by greyOf (same
 * axis maps, same float expressions), without the per-pixel callback and with each channel rounded
 * as (v + 0.5) | 0 instead of Math.round(v), which was most of the cost in V8 (a 64x64 crop of an
 * LFW photo: 0.17 -> 0.10 ms). The two roundings agree for every v >= 0 except one within an ulp
 * below a half where v + 0.5 crosses a power of two (then rounds up): none among the 64x64 crops
 * of the bench photos (test/vision/resize-grey.test.ts checks them, and a synthetic image).
 */
import { axisMap, type Rect } from './resize';
import type { RgbImage } from './types';

/** out[i] = (grey - mean) * scale, grey = round(0.299 R + 0.587 G + 0.114 B) of the resized pixel i. */
export function resizeRectGrey(src: RgbImage, rect: Rect, dstW: number, dstH: number, out: Float32Array, mean: number, scale: number): void {
  if (out.length < dstW * dstH) throw new Error(`resizeRectGrey: output has ${out.length} values, needs ${dstW * dstH}`);
  const xm = axisMap(rect.x, rect.w, dstW);
  const ym = axisMap(rect.y, rect.h, dstH);
  const cols = xm.cols, xws = xm.weights, end = 2 * dstW;
  const data = src.data;
  const stride = src.width * 3;
  for (let dy = 0; dy < dstH; dy++) {
    const row0 = ym.i0[dy] * stride;
    const row1 = ym.i1[dy] * stride;
    const wy = ym.w1[dy];
    const wy0 = 1 - wy;
    let o = dy * dstW;
    for (let k = 0; k < end; k += 2, o++) {
      const c0 = cols[k], c1 = cols[k + 1];
      const wx0 = xws[k], wx = xws[k + 1];
      const a = row0 + c0, b = row0 + c1, c = row1 + c0, d = row1 + c1;
      const r = ((data[a] * wx0 + data[b] * wx) * wy0 + (data[c] * wx0 + data[d] * wx) * wy + 0.5) | 0;
      const g = ((data[a + 1] * wx0 + data[b + 1] * wx) * wy0 + (data[c + 1] * wx0 + data[d + 1] * wx) * wy + 0.5) | 0;
      const bl = ((data[a + 2] * wx0 + data[b + 2] * wx) * wy0 + (data[c + 2] * wx0 + data[d + 2] * wx) * wy + 0.5) | 0;
      out[o] = (((0.299 * r + 0.587 * g + 0.114 * bl + 0.5) | 0) - mean) * scale;
    }
  }
}
