/**
 * FaceAnalyzer: one frame in, every face out (box, 68 landmarks, five points, quality, L2-normalised
 * embedding), with per-stage times. Owns the three ONNX sessions; runs on whatever thread calls it
 * (the daemon and the CLI use it inside a worker: see worker-client.ts). Two stages for the live
 * path: detect() (detector only, every face) then analyzeDetected(indices) for the faces chosen.
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
import { contextCrop, type ContextCropOptions } from './context-crop';
import type { Box, DetectedFace, Point, Face, FrameAnalysis, FrameDetections, RgbImage, StageTimes } from './types';

export interface AnalyzeOptions {
  /** Keep the aligned 112x112 crop on each face (for an alert's best crop). */
  withAligned?: boolean;
  /** Keep the face with a margin at the frame's resolution on each face (an alert's crop for the officer). */
  withContext?: ContextCropOptions;
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
  /** The frame of the last detect() (or analyze()) and its faces: what analyzeDetected() works on. */
  private current?: { img: RgbImage; faces: DetectedFace[] };

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every face in the frame (one detection, one analysis): `detect()` then `analyzeDetected()` of all. */
  analyze(img: RgbImage, opts: AnalyzeOptions = {}): Promise<FrameAnalysis> {
    return this.enqueue(async () => {
      const t0 = now();
      const det = await this.detectNow(img);
      const res = await this.analyzeDetectedNow(det.faces.map((_, i) => i), opts);
      const d = det.times;
      res.times.detectPre = d.detectPre;
      res.times.detectRun = d.detectRun;
      res.times.detectPost = d.detectPost;
      res.times.total = now() - t0;
      return res;
    });
  }

  /**
   * The detector stage only: every face kept after NMS and the minimum size (no cap on their
   * number). The frame stays the current one (for analyzeDetected) until the next detect().
   * `opts.transfer` is for the worker's API (VisionWorker); in-thread the frame is never copied.
   */
  detect(img: RgbImage, _opts: { transfer?: boolean } = {}): Promise<FrameDetections> {
    return this.enqueue(async () => {
      const det = await this.detectNow(img);
      // Copies: the caller may change what it gets; the analyzer keeps its own for analyzeDetected().
      return { ...det, faces: det.faces.map((f) => ({ ...f, box: [...f.box] as Box, ...(f.fivePoints ? { fivePoints: f.fivePoints.map((p) => [...p] as Point) } : {}) })) };
    });
  }

  /**
   * Landmarks, alignment, quality and embedding for the faces at `indices` of the last detect(),
   * returned in the order of `indices`. Only the stages after detection are timed.
   */
  analyzeDetected(indices: number[], opts: AnalyzeOptions = {}): Promise<FrameAnalysis> {
    return this.enqueue(() => this.analyzeDetectedNow(indices, opts));
  }

  private async detectNow(img: RgbImage): Promise<FrameDetections> {
    if (img.data.length !== img.width * img.height * 3) {
      throw new Error(`analyze: image data is ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
    }
    this.current = undefined;
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
    const faces: DetectedFace[] = [];
    for (const d of nms(decodeDetections(scores, boxes, img.width, img.height, this.cfg.detThreshold), this.cfg.nmsIou)) {
      const box = squareBox(d.box, img.width, img.height);
      if (box[2] - box[0] >= this.cfg.minFaceSidePx) faces.push({ box, detScore: d.score });
    }
    const t3 = now();
    times.detectPre = t1 - t0;
    times.detectRun = t2 - t1;
    times.detectPost = t3 - t2;
    times.total = t3 - t0;
    this.current = { img, faces };
    return { width: img.width, height: img.height, faces, times };
  }

  private async analyzeDetectedNow(indices: readonly number[], opts: AnalyzeOptions): Promise<FrameAnalysis> {
    const cur = this.current;
    if (!cur) throw new Error('analyzeDetected: no frame yet: call detect() first');
    const { img } = cur;
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= cur.faces.length) {
        throw new Error(`analyzeDetected: index ${i} is not a face of the last detect() (it found ${cur.faces.length})`);
      }
    }
    const times = emptyTimes();
    const t0 = now();
    const faces: Face[] = [];
    for (const idx of indices) {
      const det = cur.faces[idx];
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
      const quality = assessQuality(fivePoints, aligned, det.detScore, this.cfg.quality);
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
      const face: Face = { box: [...det.box] as Box, detScore: det.detScore, landmarks, fivePoints, quality, embedding };
      if (opts.withAligned) face.aligned = aligned;
      if (opts.withContext) face.context = contextCrop(img, det.box, opts.withContext);
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
