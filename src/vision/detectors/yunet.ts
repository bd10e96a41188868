/**
 * YuNet detector (libfacedetection.train, yunet_n_dynamic.onnx): dynamic input, the frame (or a
 * rectangle of it) resized to the configured width keeping its aspect, padded right/bottom to a
 * multiple of 32; per stride, outputs cls, obj, bbox and kps (five points of its own). Decoding as
 * OpenCV's FaceDetectorYN (modules/objdetect/src/face_detect.cpp). Sizes, colour order,
 * normalisation and output names come from the manifest entry. An entry that names a landmark
 * model (`fivePoints`) gives boxes only: the five points come from that model.
 */
import type { DetectorModel } from '../../models/manifest';
import { nms } from '../detector';
import type { OrtModel } from '../ort';
import { ort } from '../ort';
import { resizeToPlanar, type Rect } from '../resize';
import type { Point, RgbImage } from '../types';
import { wholeFrame, type Candidate, type Detector, type DetectorRun, type DetectorSettings } from './types';

/** One stride's outputs, flat: cls [N], obj [N], bbox [N*4], kps [N*10], N = rows * cols of the padded input. */
export interface YunetStrideOutput {
  stride: number;
  cls: Float32Array;
  obj: Float32Array;
  bbox: Float32Array;
  kps: Float32Array;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Candidates from YuNet's outputs for a padded input of padW x padH, in input pixels: score =
 * sqrt(clamp01(cls) * clamp01(obj)); box centre ((col + b0) s, (row + b1) s), size (exp(b2) s,
 * exp(b3) s); point k ((kx + col) s, (ky + row) s). Pure.
 */
export function decodeYunet(outputs: readonly YunetStrideOutput[], padW: number, padH: number, threshold: number): Candidate[] {
  const out: Candidate[] = [];
  for (const { stride: s, cls, obj, bbox, kps } of outputs) {
    const cols = Math.floor(padW / s), rows = Math.floor(padH / s);
    const n = rows * cols;
    if (cls.length !== n || obj.length !== n || bbox.length !== 4 * n || kps.length !== 10 * n) {
      throw new Error(`yunet outputs for stride ${s} disagree with the ${padW}x${padH} input: cls ${cls.length}, obj ${obj.length}, bbox ${bbox.length / 4}, kps ${kps.length / 10}, expected ${n} each`);
    }
    for (let idx = 0; idx < n; idx++) {
      const score = Math.sqrt(clamp01(cls[idx]) * clamp01(obj[idx]));
      if (score < threshold) continue;
      const row = Math.floor(idx / cols), col = idx - row * cols;
      const cx = (col + bbox[4 * idx]) * s, cy = (row + bbox[4 * idx + 1]) * s;
      const w = Math.exp(bbox[4 * idx + 2]) * s, h = Math.exp(bbox[4 * idx + 3]) * s;
      const fivePoints: Point[] = [];
      for (let k = 0; k < 5; k++) fivePoints.push([(kps[10 * idx + 2 * k] + col) * s, (kps[10 * idx + 2 * k + 1] + row) * s]);
      out.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, fivePoints });
    }
  }
  return out;
}

/** The resized and padded input size for a `w` x `h` region at input width `inputWidth`. */
export function yunetInputSize(w: number, h: number, inputWidth: number, multipleOf: number): { dstW: number; dstH: number; padW: number; padH: number; scale: number } {
  const scale = inputWidth / w;
  const dstW = inputWidth;
  const dstH = Math.max(1, Math.round(h * scale));
  const up = (v: number) => Math.ceil(v / multipleOf) * multipleOf;
  return { dstW, dstH, padW: up(dstW), padH: up(dstH), scale };
}

export class YunetDetector implements Detector {
  private input: Float32Array<ArrayBuffer> = new Float32Array(0);
  private readonly inputWidth: number;
  private readonly multipleOf: number;

  constructor(
    readonly key: string,
    private readonly entry: DetectorModel & { decode: { kind: 'yunet' } },
    private readonly model: OrtModel,
    private readonly settings: DetectorSettings,
  ) {
    const dyn = entry.input.dynamic;
    if (!dyn) throw new Error(`detector ${key}: a yunet detector needs input.dynamic in the manifest`);
    this.multipleOf = dyn.multipleOf;
    this.inputWidth = settings.inputWidth ?? dyn.width;
    if (this.inputWidth % dyn.multipleOf !== 0) throw new Error(`detector ${key}: input width ${this.inputWidth} is not a multiple of ${dyn.multipleOf}`);
  }

  /**
   * The landmark model named by the entry's `fivePoints` (e.g. yunet-n-lm68: YuNet's boxes with the
   * 68-point model's five points, the alignment the watchlist and the calibration were made with);
   * absent: YuNet's own five points.
   */
  get fivePointsFrom(): string | undefined {
    return this.entry.fivePoints;
  }

  async detect(img: RgbImage, roi: Rect = wholeFrame(img)): Promise<DetectorRun> {
    const t0 = performance.now();
    const { dstW, dstH, padW, padH, scale } = yunetInputSize(roi.w, roi.h, this.inputWidth, this.multipleOf);
    if (this.input.length !== 3 * padW * padH) this.input = new Float32Array(3 * padW * padH);
    resizeToPlanar(img, roi, dstW, dstH, this.input, this.entry.input as { channels: 'RGB' | 'BGR'; mean: number[]; scale: number[] }, padW, padH);
    const t1 = performance.now();
    const out = await this.model.session.run({ [this.entry.input.name]: new ort.Tensor('float32', this.input, [1, 3, padH, padW]) });
    const t2 = performance.now();
    const d = this.entry.decode;
    const name = (pattern: string, s: number) => pattern.replace('{stride}', String(s));
    const strides: YunetStrideOutput[] = d.strides.map((s) => ({
      stride: s,
      cls: out[name(d.cls, s)].data as Float32Array,
      obj: out[name(d.obj, s)].data as Float32Array,
      bbox: out[name(d.bbox, s)].data as Float32Array,
      kps: out[name(d.kps, s)].data as Float32Array,
    }));
    const inv = 1 / scale;
    const own = this.entry.fivePoints === undefined;
    const raw = decodeYunet(strides, padW, padH, this.settings.scoreThreshold).map((c) => {
      const cand: Candidate = {
        score: c.score,
        box: [c.box[0] * inv + roi.x, c.box[1] * inv + roi.y, c.box[2] * inv + roi.x, c.box[3] * inv + roi.y],
      };
      if (own) cand.fivePoints = c.fivePoints!.map(([x, y]) => [x * inv + roi.x, y * inv + roi.y] as Point);
      return cand;
    });
    const candidates = nms(raw, this.settings.nmsIou);
    return { candidates, preMs: t1 - t0, runMs: t2 - t1, postMs: performance.now() - t2 };
  }

  close(): Promise<void> {
    return this.model.session.release();
  }
}
