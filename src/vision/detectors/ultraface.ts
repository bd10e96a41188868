/**
 * UltraFace-style detector (fr_detect.onnx): a fixed input size; outputs `scores` [1,N,2] (column
 * 1 = face) and `boxes` [1,N,4] (x1,y1,x2,y2 relative to the input). Sizes, colour order,
 * normalisation and output names come from its manifest entry. It gives no five points: its
 * entry names the landmark model that does.
 */
import type { DetectorModel } from '../../models/manifest';
import { decodeDetections, nms } from '../detector';
import type { OrtModel } from '../ort';
import { ort } from '../ort';
import { resizeToPlanar, type Rect } from '../resize';
import type { RgbImage } from '../types';
import { wholeFrame, type Detector, type DetectorRun, type DetectorSettings } from './types';

export class UltraFaceDetector implements Detector {
  private readonly w: number;
  private readonly h: number;
  private readonly input: Float32Array<ArrayBuffer>;

  constructor(
    readonly key: string,
    private readonly entry: DetectorModel & { decode: { kind: 'ultraface' } },
    private readonly model: OrtModel,
    private readonly settings: DetectorSettings,
  ) {
    const [, , h, w] = entry.input.shape;
    if (typeof h !== 'number' || typeof w !== 'number') throw new Error(`detector ${key}: an ultraface detector needs a static input size, the manifest says ${JSON.stringify(entry.input.shape)}`);
    if (entry.input.channels === 'GREY') throw new Error(`detector ${key}: needs a colour input, the manifest says GREY`);
    this.w = w;
    this.h = h;
    this.input = new Float32Array(3 * w * h);
  }

  get fivePointsFrom(): string | undefined {
    return this.entry.fivePoints;
  }

  async detect(img: RgbImage, roi: Rect = wholeFrame(img)): Promise<DetectorRun> {
    const t0 = performance.now();
    const spec = this.entry.input as { channels: 'RGB' | 'BGR'; mean: number[]; scale: number[] };
    resizeToPlanar(img, roi, this.w, this.h, this.input, spec);
    const t1 = performance.now();
    const out = await this.model.session.run({ [this.entry.input.name]: new ort.Tensor('float32', this.input, [1, 3, this.h, this.w]) });
    const t2 = performance.now();
    const d = this.entry.decode;
    const raw = decodeDetections(out[d.scores].data as Float32Array, out[d.boxes].data as Float32Array, roi.w, roi.h, this.settings.scoreThreshold);
    for (const c of raw) {
      c.box[0] += roi.x;
      c.box[1] += roi.y;
      c.box[2] += roi.x;
      c.box[3] += roi.y;
    }
    const candidates = nms(raw, this.settings.nmsIou);
    return { candidates, preMs: t1 - t0, runMs: t2 - t1, postMs: performance.now() - t2 };
  }

  close(): Promise<void> {
    return this.model.session.release();
  }
}
