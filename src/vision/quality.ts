/**
 * Per-face quality: size (inter-ocular distance), sharpness (variance of the Laplacian on the
 * aligned grey crop), pose (yaw/pitch estimated from the five points) and detector score, each
 * against a configurable limit. A failing face is reported with its reasons, never silently dropped.
 */
import type { QualityConfig } from './config';
import type { FaceQuality, Point, QualityReason, RgbImage } from './types';

let greyScratch = new Int32Array(0);

/**
 * Variance of the 4-neighbour Laplacian over the interior of the grey image (OpenCV ksize=1). Grey
 * values and Laplacians are integers, so the sums are exact in doubles (far below 2^53) whatever
 * the order: summing per row in integer-typed locals gives the same value as before, faster. The
 * grey plane is a scratch buffer kept between calls (synchronous, so never shared by two calls):
 * a fresh one per face cost about a third of the function (measured, 112x112).
 */
export function laplacianVariance(img: RgbImage): number {
  const { width: W, height: H, data } = img;
  if (W < 3 || H < 3) return 0;
  const n = W * H;
  if (greyScratch.length < n) greyScratch = new Int32Array(n);
  const grey = greyScratch;
  for (let i = 0, p = 0; i < n; i++, p += 3) grey[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2] + 0.5) | 0;
  let sum = 0, sum2 = 0;
  for (let y = 1; y < H - 1; y++) {
    let rowSum = 0, rowSum2 = 0;
    for (let i = y * W + 1, end = y * W + W - 1; i < end; i++) {
      const l = grey[i - 1] + grey[i + 1] + grey[i - W] + grey[i + W] - 4 * grey[i];
      rowSum += l;
      rowSum2 += l * l;
    }
    sum += rowSum;
    sum2 += rowSum2;
  }
  const count = (W - 2) * (H - 2);
  const m = sum / count;
  return sum2 / count - m * m;
}

/** Nose depth in front of the eye plane, as a fraction of the inter-ocular distance (anthropometric). */
const NOSE_DEPTH_RATIO = 0.5;
/** Where the nose tip sits between the eye line (0) and the mouth line (1) in a frontal face (reference points). */
const FRONTAL_NOSE_RATIO = 0.494;

/**
 * Yaw and pitch estimates in degrees from the five points (0, 0 = frontal). Roll is removed first
 * (eye line made horizontal). Yaw: the nose tip's sideways offset from the eyes' midpoint against
 * the nose depth; pitch: the nose tip's position between eye line and mouth line. Estimates, good
 * to roughly +-10 degrees: they gate obviously turned faces, they do not measure head pose.
 */
export function poseFromFivePoints(p: readonly Point[]): { yawDeg: number; pitchDeg: number; interOcularPx: number } {
  const [le, re, nose, lm, rm] = p;
  const ex = re[0] - le[0], ey = re[1] - le[1];
  const iod = Math.hypot(ex, ey);
  if (iod < 1e-6) return { yawDeg: 90, pitchDeg: 90, interOcularPx: 0 };
  const c = ex / iod, s = ey / iod; // rotate by -roll
  const rot = (q: Point): Point => [c * q[0] + s * q[1], -s * q[0] + c * q[1]];
  const L = rot(le), R = rot(re), N = rot(nose), ML = rot(lm), MR = rot(rm);
  const eyeMidX = (L[0] + R[0]) / 2, eyeY = (L[1] + R[1]) / 2, mouthY = (ML[1] + MR[1]) / 2;
  const depth = NOSE_DEPTH_RATIO * iod;
  const yawDeg = (Math.atan2(N[0] - eyeMidX, depth) * 180) / Math.PI;
  const eyeMouth = mouthY - eyeY;
  const pitchDeg = eyeMouth > 1e-6 ? (Math.atan2(((N[1] - eyeY) / eyeMouth - FRONTAL_NOSE_RATIO) * eyeMouth, depth) * 180) / Math.PI : 90;
  return { yawDeg, pitchDeg, interOcularPx: iod };
}

export function assessQuality(fivePoints: readonly Point[], aligned: RgbImage, detScore: number, cfg: QualityConfig): FaceQuality {
  const { yawDeg, pitchDeg, interOcularPx } = poseFromFivePoints(fivePoints);
  const sharpness = laplacianVariance(aligned);
  const reasons: QualityReason[] = [];
  if (interOcularPx < cfg.minInterOcularPx) reasons.push('face-too-small');
  if (sharpness < cfg.minSharpness) reasons.push('blurry');
  if (Math.abs(yawDeg) > cfg.maxYawDeg) reasons.push('yaw');
  if (Math.abs(pitchDeg) > cfg.maxPitchDeg) reasons.push('pitch');
  if (detScore < cfg.minDetScore) reasons.push('low-detector-score');
  return { interOcularPx, sharpness, yawDeg, pitchDeg, detScore, passed: reasons.length === 0, reasons };
}
