/**
 * Pure detection helpers shared by the detectors (src/vision/detectors/): UltraFace output
 * decoding, score-ordered NMS, IoU, and squaring of boxes.
 */
import type { Box, Detection, RgbImage } from './types';

/**
 * Candidates from the detector's outputs: `scores` [N,2] (column 1 = face) and `boxes` [N,4]
 * (normalised x1,y1,x2,y2), scaled to a frame of `width` x `height`, score >= threshold.
 */
export function decodeDetections(scores: Float32Array, boxes: Float32Array, width: number, height: number, threshold: number): Detection[] {
  const n = scores.length / 2;
  if (boxes.length !== n * 4) throw new Error(`detector outputs disagree: ${n} scores but ${boxes.length / 4} boxes`);
  const out: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1];
    if (s < threshold) continue;
    out.push({
      score: s,
      box: [boxes[4 * i] * width, boxes[4 * i + 1] * height, boxes[4 * i + 2] * width, boxes[4 * i + 3] * height],
    });
  }
  return out;
}

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy NMS: highest score first, drop any box overlapping a kept one by IoU > iouThreshold. */
export function nms<T extends Detection>(dets: T[], iouThreshold: number): T[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const d of sorted) {
    if (kept.every((k) => iou(k.box, d.box) <= iouThreshold)) kept.push(d);
  }
  return kept;
}

/**
 * A square box around the detection's centre with side = its height, moved back inside the frame
 * where it crosses an edge (and clipped only when the side exceeds the frame).
 */
export function squareBox(b: Box, width: number, height: number): Box {
  const cx = (b[0] + b[2]) / 2;
  const cy = (b[1] + b[3]) / 2;
  const side = Math.min(b[3] - b[1], width, height);
  let x1 = cx - side / 2;
  let y1 = cy - side / 2;
  x1 = Math.min(Math.max(0, x1), width - side);
  y1 = Math.min(Math.max(0, y1), height - side);
  return [x1, y1, x1 + side, y1 + side];
}
