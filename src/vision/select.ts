import type { Face } from './types';

/** The face whose box centre is closest to the image centre (LFW-style evaluation photos). */
export function centralFace(faces: Face[], width: number, height: number): Face | undefined {
  let best: Face | undefined;
  let bestD = Infinity;
  for (const f of faces) {
    const cx = (f.box[0] + f.box[2]) / 2 - width / 2;
    const cy = (f.box[1] + f.box[3]) / 2 - height / 2;
    const d = cx * cx + cy * cy;
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

/** The face with the largest box. */
export function largestFace(faces: Face[]): Face | undefined {
  let best: Face | undefined;
  for (const f of faces) if (!best || f.box[2] - f.box[0] > best.box[2] - best.box[0]) best = f;
  return best;
}
