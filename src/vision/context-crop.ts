/**
 * The crop an officer compares with the watchlist photo: the face box with a margin (hair,
 * shoulders), cut from the frame at the camera's resolution, scaled down only when larger than
 * `maxSidePx`. Pure.
 */
import { resizeRgb } from './resize';
import type { Box, RgbImage } from './types';

export interface ContextCropOptions {
  /** Margin on each side as a fraction of the box side. */
  marginFraction: number;
  /** Longest side of the result; never scaled up. */
  maxSidePx: number;
}

export function contextCrop(img: RgbImage, box: Box, o: ContextCropOptions): RgbImage {
  const side = Math.max(box[2] - box[0], box[3] - box[1]);
  const m = side * o.marginFraction;
  const x0 = Math.max(0, Math.floor(box[0] - m));
  const y0 = Math.max(0, Math.floor(box[1] - m));
  const x1 = Math.min(img.width, Math.ceil(box[2] + m));
  const y1 = Math.min(img.height, Math.ceil(box[3] + m));
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const scale = Math.min(1, o.maxSidePx / Math.max(w, h));
  return resizeRgb(img, Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale)), { x: x0, y: y0, w, h });
}
