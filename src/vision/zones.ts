/**
 * Detection zones and masks (as Frigate does): polygons in frame-normalised coordinates (0..1) or
 * pixels. A detection is kept when its box centre is inside some include zone (or there is none)
 * and inside no exclusion mask. Optionally the detector sees only the zones' bounding box, so a
 * small signposted area gets all of the detector's input pixels. Pure functions.
 */
import type { Rect } from './resize';
import type { Box, Point } from './types';

export interface ZonesSpec {
  units: 'normalised' | 'pixels';
  include: readonly (readonly Point[])[];
  exclude: readonly (readonly Point[])[];
  cropToZones: boolean;
}

/** Zones in frame pixels for one frame size. */
export interface FrameZones {
  include: Point[][];
  exclude: Point[][];
  /** The detector's input rectangle: the include zones' bounding box (cropToZones), else the whole frame. */
  roi: Rect;
}

/** Even-odd ray casting: is `p` inside the polygon (points on an edge may fall either way)? */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function boxCentre(b: Box): Point {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

/** The zones in pixels of a `width` x `height` frame, and the detector's rectangle. */
export function frameZones(spec: ZonesSpec, width: number, height: number): FrameZones {
  const toPx = (poly: readonly Point[]): Point[] => (spec.units === 'normalised' ? poly.map(([x, y]) => [x * width, y * height] as Point) : poly.map((p) => [p[0], p[1]] as Point));
  const include = spec.include.map(toPx);
  const exclude = spec.exclude.map(toPx);
  let roi: Rect = { x: 0, y: 0, w: width, h: height };
  if (spec.cropToZones && include.length > 0) {
    const xs = include.flat().map((p) => p[0]), ys = include.flat().map((p) => p[1]);
    const x1 = Math.max(0, Math.floor(Math.min(...xs))), y1 = Math.max(0, Math.floor(Math.min(...ys)));
    const x2 = Math.min(width, Math.ceil(Math.max(...xs))), y2 = Math.min(height, Math.ceil(Math.max(...ys)));
    if (x2 - x1 >= 1 && y2 - y1 >= 1) roi = { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }
  return { include, exclude, roi };
}

/** Is a detection with box `b` kept by the zones (centre in an include zone, in no mask)? */
export function keptByZones(b: Box, z: FrameZones): boolean {
  const c = boxCentre(b);
  if (z.include.length > 0 && !z.include.some((poly) => pointInPolygon(c, poly))) return false;
  return !z.exclude.some((poly) => pointInPolygon(c, poly));
}
