/**
 * 68-point landmark model (fr_landmark.onnx): 64x64 grey crop of the square face box in, 136
 * relative coordinates out; and the five alignment points derived from the 68.
 */
import { greyOf, resizeRectRgb, type Rect } from './resize';
import type { Box, Point, RgbImage } from './types';

export const LANDMARK_SIZE = 64;

/** The integer crop rectangle of a square box, kept inside the frame. */
export function landmarkCrop(box: Box, width: number, height: number): Rect {
  const w = Math.max(1, Math.min(Math.round(box[2] - box[0]), width));
  const h = Math.max(1, Math.min(Math.round(box[3] - box[1]), height));
  const x = Math.min(Math.max(0, Math.round(box[0])), width - w);
  const y = Math.min(Math.max(0, Math.round(box[1])), height - h);
  return { x, y, w, h };
}

/** Crop resized to 64x64 (bilinear), grey rounded to an integer, divided by 256: [1,1,64,64]. */
export function landmarkInput(img: RgbImage, crop: Rect, out = new Float32Array(LANDMARK_SIZE * LANDMARK_SIZE)): Float32Array {
  resizeRectRgb(img, crop, LANDMARK_SIZE, LANDMARK_SIZE, (i, r, g, b) => {
    out[i] = greyOf(r, g, b) / 256;
  });
  return out;
}

/** The model's [136] output (x,y pairs relative to the crop) in frame pixels. */
export function decodeLandmarks(output: Float32Array, crop: Rect): Point[] {
  if (output.length !== 136) throw new Error(`landmark output has ${output.length} values, expected 136`);
  const pts: Point[] = new Array(68);
  for (let i = 0; i < 68; i++) pts[i] = [crop.x + output[2 * i] * crop.w, crop.y + output[2 * i + 1] * crop.h];
  return pts;
}

function mean(pts: Point[], idx: number[]): Point {
  let x = 0, y = 0;
  for (const i of idx) {
    x += pts[i][0];
    y += pts[i][1];
  }
  return [x / idx.length, y / idx.length];
}

/** Left eye, right eye, nose tip, left and right mouth corners from the 68 (0-based iBUG indices). */
export function fivePointsFrom68(pts: Point[]): Point[] {
  if (pts.length !== 68) throw new Error(`fivePointsFrom68 needs 68 points, got ${pts.length}`);
  return [
    mean(pts, [37, 38, 40, 41]),
    mean(pts, [43, 44, 46, 47]),
    [pts[30][0], pts[30][1]],
    mean(pts, [48, 60]),
    mean(pts, [54, 64]),
  ];
}
