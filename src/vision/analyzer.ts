/**
 * FaceAnalyzer: one frame in, every face out (box, 68 landmarks, five points, quality, L2-normalised
 * embedding), with per-stage times. Owns the three ONNX sessions; runs on whatever thread calls it
 * (the daemon and the CLI use it inside a worker: see worker-client.ts).
 */
import type { Logger } from '../log';
import type { VerifiedModels } from '../models/manifest';
import { alignFace } from './align';
import type { ExecutionProviderName, VisionConfig } from './config';
import { DETECTOR_HEIGHT, DETECTOR_WIDTH, decodeDetections, detectorInput, nms, squareBox } from './detector';
import { embedderInput, l2Normalise } from './embedder';
import { decodeLandmarks, fivePointsFrom68, LANDMARK_SIZE, landmarkCrop, landmarkInput } from './landmarks';
import { createOrtModel, ort, type OrtModel, type ProviderAttempt } from './ort';
import { assessQuality } from './quality';
import type { Face, FrameAnalysis, RgbImage, StageTimes } from './types';

export interface AnalyzeOptions {
  /** Keep the aligned 112x112 crop on each face (for an alert's best crop). */
  withAligned?: boolean;
  /**
   * 'all' (default): every face is embedded (eval, embed, watchlist photos). 'quality-passing':
   * faces that fail the quality gate are not embedded (their `embedding` is empty, length 0): the
   * live chain never matches them, and the embedder is most of the per-face time.
   */
  embed?: 'all' | 'quality-passing';
}

const now = () => performance.now();

export function emptyTimes(): StageTimes {
  return { detectPre: 0, detectRun: 0, detectPost: 0, landmarkPre: 0, landmarkRun: 0, align: 0, quality: 0, embedPre: 0, embedRun: 0, total: 0 };
}

export class FaceAnalyzer {
  private readonly detInput = new Float32Array(3 * DETECTOR_WIDTH * DETECTOR_HEIGHT);
  private readonly lmInput = new Float32Array(LANDMARK_SIZE * LANDMARK_SIZE);
  private readonly embInput = new Float32Array(3 * 112 * 112);

  private constructor(
    private readonly cfg: VisionConfig,
    private readonly detector: OrtModel,
    private readonly landmarker: OrtModel,
    private readonly embedder: OrtModel,
    readonly attempts: ProviderAttempt[],
  ) {}

  static async create(cfg: VisionConfig, models: VerifiedModels, logger: Logger): Promise<FaceAnalyzer> {
    const log = logger.child({ component: 'vision' });
    // The first model finds the first provider that loads; the others start from it.
    const det = await createOrtModel(models.paths.detector, cfg, log);
    const rest = cfg.providers.slice(cfg.providers.indexOf(det.provider));
    const lm = await createOrtModel(models.paths.landmarks, cfg, log, rest);
    const emb = await createOrtModel(models.paths.embedder, cfg, log, rest);
    return new FaceAnalyzer(cfg, det, lm, emb, [...det.attempts, ...lm.attempts, ...emb.attempts]);
  }

  /** The execution provider of the embedder (the model that dominates the time). */
  get provider(): ExecutionProviderName {
    return this.embedder.provider;
  }

  /** Analyses run one at a time: the input tensors are reused, so they must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  analyze(img: RgbImage, opts: AnalyzeOptions = {}): Promise<FrameAnalysis> {
    const run = this.queue.then(() => this.analyzeNow(img, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async analyzeNow(img: RgbImage, opts: AnalyzeOptions): Promise<FrameAnalysis> {
    if (img.data.length !== img.width * img.height * 3) {
      throw new Error(`analyze: image data is ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
    }
    const times = emptyTimes();
    const t0 = now();
    detectorInput(img, this.detInput);
    const t1 = now();
    const detOut = await this.detector.session.run({
      [this.detector.inputName]: new ort.Tensor('float32', this.detInput, [1, 3, DETECTOR_HEIGHT, DETECTOR_WIDTH]),
    });
    const t2 = now();
    const scores = detOut.scores.data as Float32Array;
    const boxes = detOut.boxes.data as Float32Array;
    const dets = nms(decodeDetections(scores, boxes, img.width, img.height, this.cfg.detThreshold), this.cfg.nmsIou)
      .slice(0, this.cfg.maxFacesPerFrame)
      .map((d) => ({ score: d.score, box: squareBox(d.box, img.width, img.height) }))
      .filter((d) => d.box[2] - d.box[0] >= this.cfg.minFaceSidePx);
    const t3 = now();
    times.detectPre = t1 - t0;
    times.detectRun = t2 - t1;
    times.detectPost = t3 - t2;

    const faces: Face[] = [];
    for (const det of dets) {
      let a = now();
      const crop = landmarkCrop(det.box, img.width, img.height);
      landmarkInput(img, crop, this.lmInput);
      let b = now();
      times.landmarkPre += b - a;
      const lmOut = await this.landmarker.session.run({
        [this.landmarker.inputName]: new ort.Tensor('float32', this.lmInput, [1, 1, LANDMARK_SIZE, LANDMARK_SIZE]),
      });
      a = now();
      times.landmarkRun += a - b;
      const landmarks = decodeLandmarks(lmOut[this.landmarker.outputNames[0]].data as Float32Array, crop);
      const fivePoints = fivePointsFrom68(landmarks);
      const { aligned } = alignFace(img, fivePoints);
      b = now();
      times.align += b - a;
      const quality = assessQuality(fivePoints, aligned, det.score, this.cfg.quality);
      a = now();
      times.quality += a - b;
      let embedding: Float32Array = new Float32Array(0); // a fresh one per face: the worker transfers its buffer
      if (quality.passed || opts.embed !== 'quality-passing') {
        embedderInput(aligned, this.embInput);
        b = now();
        times.embedPre += b - a;
        const embOut = await this.embedder.session.run({
          [this.embedder.inputName]: new ort.Tensor('float32', this.embInput, [1, 3, 112, 112]),
        });
        a = now();
        times.embedRun += a - b;
        embedding = l2Normalise(embOut[this.embedder.outputNames[0]].data as Float32Array);
      }
      const face: Face = { box: det.box, detScore: det.score, landmarks, fivePoints, quality, embedding };
      if (opts.withAligned) face.aligned = aligned;
      faces.push(face);
    }
    times.total = now() - t0;
    return { width: img.width, height: img.height, faces, times };
  }

  async close(): Promise<void> {
    await this.detector.session.release();
    await this.landmarker.session.release();
    await this.embedder.session.release();
  }
}
