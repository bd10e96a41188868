/**
 * Landmark stage (e.g. the 68-point fr_landmark.onnx): a grey crop of the square face box in,
 * relative x,y pairs out; the five alignment points are means of landmark groups. Input size,
 * normalisation, output name, point count and the five groups come from the manifest entry.
 */
import type { LandmarksModel } from '../models/manifest';
import { ort, type OrtModel } from './ort';
import type { Rect } from './resize';
import { resizeRectGrey } from './resize-grey';
import type { Box, Point, RgbImage } from './types';

/** The integer crop rectangle of a square box, kept inside the frame. */
export function landmarkCrop(box: Box, width: number, height: number): Rect {
  const w = Math.max(1, Math.min(Math.round(box[2] - box[0]), width));
  const h = Math.max(1, Math.min(Math.round(box[3] - box[1]), height));
  const x = Math.min(Math.max(0, Math.round(box[0])), width - w);
  const y = Math.min(Math.max(0, Math.round(box[1])), height - h);
  return { x, y, w, h };
}

/** Crop resized to size x size (bilinear), grey rounded to an integer, then (grey - mean) * scale. */
export function landmarkInput(img: RgbImage, crop: Rect, size: number, mean: number, scale: number, out = new Float32Array(size * size)): Float32Array {
  resizeRectGrey(img, crop, size, size, out, mean, scale);
  return out;
}

/** The model's output (x,y pairs relative to the crop) in frame pixels. */
export function decodeLandmarks(output: Float32Array, crop: Rect, points: number): Point[] {
  if (output.length !== 2 * points) throw new Error(`landmark output has ${output.length} values, expected ${2 * points}`);
  const pts: Point[] = new Array(points);
  for (let i = 0; i < points; i++) pts[i] = [crop.x + output[2 * i] * crop.w, crop.y + output[2 * i + 1] * crop.h];
  return pts;
}

function mean(pts: Point[], idx: readonly number[]): Point {
  let x = 0, y = 0;
  for (const i of idx) {
    x += pts[i][0];
    y += pts[i][1];
  }
  return [x / idx.length, y / idx.length];
}

/** Left eye, right eye, nose tip, left and right mouth corners: the mean of each group of landmarks. */
export function fivePointsFrom(pts: Point[], groups: readonly (readonly number[])[]): Point[] {
  if (groups.length !== 5) throw new Error(`fivePointsFrom needs 5 groups, got ${groups.length}`);
  for (const g of groups) for (const i of g) if (i >= pts.length) throw new Error(`landmark index ${i} is not one of the ${pts.length} points`);
  return groups.map((g) => mean(pts, g));
}

export interface LandmarkResult {
  landmarks: Point[];
  fivePoints: Point[];
  preMs: number;
  runMs: number;
}

/** The landmark model run on one face box. */
export class Landmarker {
  private readonly size: number;
  private readonly input: Float32Array<ArrayBuffer>;

  constructor(
    readonly key: string,
    private readonly entry: LandmarksModel,
    private readonly model: OrtModel,
  ) {
    const [, c, h, w] = entry.input.shape;
    if (c !== 1 || entry.input.channels !== 'GREY') throw new Error(`landmarks ${key}: only grey single-plane inputs are supported, the manifest says ${entry.input.channels} ${JSON.stringify(entry.input.shape)}`);
    if (typeof h !== 'number' || h !== w) throw new Error(`landmarks ${key}: needs a static square input, the manifest says ${JSON.stringify(entry.input.shape)}`);
    this.size = h;
    this.input = new Float32Array(h * h);
  }

  async run(img: RgbImage, box: Box): Promise<LandmarkResult> {
    const t0 = performance.now();
    const crop = landmarkCrop(box, img.width, img.height);
    landmarkInput(img, crop, this.size, this.entry.input.mean[0], this.entry.input.scale[0], this.input);
    const t1 = performance.now();
    const out = await this.model.session.run({ [this.entry.input.name]: new ort.Tensor('float32', this.input, [1, 1, this.size, this.size]) });
    const t2 = performance.now();
    const landmarks = decodeLandmarks(out[this.entry.decode.output].data as Float32Array, crop, this.entry.decode.points);
    return { landmarks, fivePoints: fivePointsFrom(landmarks, this.entry.decode.fivePoints), preMs: t1 - t0, runMs: t2 - t1 };
  }

  close(): Promise<void> {
    return this.model.session.release();
  }
}
