/**
 * Mirror images for flip-averaged enrolment: an enrolment photo is embedded twice, as it is and as
 * its left-right mirror image, and the two embeddings are averaged (template.ts). The mirror image
 * is aligned to the embedder's template from the mirrored five points (left and right swapped), so
 * it is exact for any template, symmetric or not, and the photo itself is never copied: the warp
 * reads the original through the reflection. Enrolment only (watchlist build, eval): the live
 * chain never pays for it. Pure.
 */
import { similarityTransform, warpAffineRgb, type Affine } from './align';
import type { Point, RgbImage } from './types';

/** The five points (left eye, right eye, nose, left mouth, right mouth) of the image mirrored left-right (x -> width - 1 - x). */
export function mirrorFivePoints(points: readonly Point[], width: number): Point[] {
  if (points.length !== 5) throw new RangeError(`mirrorFivePoints needs the 5 alignment points, got ${points.length}`);
  const m = (p: Point): Point => [width - 1 - p[0], p[1]];
  // The subject's left eye in the mirror image is the right eye of the original, and so on.
  return [m(points[1]), m(points[0]), m(points[2]), m(points[4]), m(points[3])];
}

/** The image mirrored left-right (a copy). */
export function mirrorImage(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  if (data.length !== w * h * 3) throw new RangeError(`mirrorImage: ${data.length} bytes for ${w}x${h}x3`);
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) {
      const s = row + x * 3;
      const d = row + (w - 1 - x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * The face of the mirrored image, aligned to the template: the same pixels as
 * `alignFace(mirrorImage(img), mirrorFivePoints(points, img.width), template)`, without the copy.
 */
export function alignMirrored(img: RgbImage, fivePoints: readonly Point[], template: { width: number; height: number; points: readonly Point[] }): RgbImage {
  const t = similarityTransform(mirrorFivePoints(fivePoints, img.width), template.points);
  // Original pixel (x, y) is mirrored pixel (W-1-x, y): compose the transform with that reflection.
  const w1 = img.width - 1;
  const viaReflection: Affine = [-t[0], t[1], t[0] * w1 + t[2], -t[3], t[4], t[3] * w1 + t[5]];
  return warpAffineRgb(img, viaReflection, template.width, template.height);
}
