/**
 * FaceAnalyzer: one frame in, every face out (box, landmarks, five points, quality, L2-normalised
 * embedding), with per-stage times. Owns the ONNX sessions (the detectors for live video and for
 * stills, the landmark model a detector needs for its five points, the embedder), each built from
 * its manifest entry and checked against it at creation. Runs on whatever thread calls it (the
 * daemon and the CLI use it inside a worker: see worker-client.ts). Two stages for the live path:
 * detect() (detector only, every face) then analyzeDetected(indices) for the faces chosen.
 */
import type { Logger } from '../log';
import { modelOfKind, type VerifiedModels } from '../models/manifest';
import { checkModelIo } from '../models/spec';
import { alignFace } from './align';
import type { ExecutionProviderName, VisionConfig } from './config';
import { squareBox } from './detector';
import { createDetector, type Detector } from './detectors';
import { OnnxEmbedder, type Embedder } from './embedder';
import { Landmarker } from './landmarks';
import { createOrtModel, type EngineChoice, type OrtModel, type ProviderAttempt } from './ort';
import { assessQuality } from './quality';
import { contextCrop, type ContextCropOptions } from './context-crop';
import { alignMirrored } from './mirror';
import { meanTemplate } from '../recognition/template';
import type { Box, DetectedFace, Face, FrameAnalysis, FrameDetections, Point, RgbImage, StageTimes } from './types';
import { frameZones, keptByZones, type FrameZones } from './zones';

/** Which detector: 'live' (vision.detector, with zones and masks) or 'stills' (vision.stillDetector, whole photo). */
export type DetectorUse = 'live' | 'stills';

export interface AnalyzeOptions {
  /** Keep the aligned crop on each face (for an alert's best crop). */
  withAligned?: boolean;
  /**
   * Keep the landmark model's points on each face (`lfr-edge embed`). Default: `landmarks` is
   * empty (the five points are kept): nothing downstream needs them, and 68 point pairs per face
   * were most of what a result cost to clone back from the vision worker.
   */
  withLandmarks?: boolean;
  /** Keep the face with a margin at the frame's resolution on each face (an alert's crop for the officer). */
  withContext?: ContextCropOptions;
  /**
   * 'all' (default): every face is embedded (eval, embed, watchlist photos). 'quality-passing':
   * faces that fail the quality gate are not embedded (their `embedding` is empty, length 0): the
   * live chain never matches them, and the embedder is most of the per-face time.
   */
  embed?: 'all' | 'quality-passing';
  /** analyze() only: the detector to use (default 'stills'). */
  detector?: DetectorUse;
  /**
   * Enrolment: each face's embedding is the mean of its own and its mirror image's (L2-normalised
   * again; mirror.ts). Doubles the embedding time per face: watchlist photos and evaluation only,
   * never the live chain. 'both': `embedding` stays the plain one and `flipAveraged` is added
   * (evaluation: searches and enrolments from one analysis).
   */
  flipAverage?: boolean | 'both';
}

export interface DetectOptions {
  /** For the worker's API (VisionWorker); in-thread the frame is never copied. */
  transfer?: boolean;
  /** Default 'live'. */
  detector?: DetectorUse;
}

const now = () => performance.now();

export function emptyTimes(): StageTimes {
  return { detectPre: 0, detectRun: 0, detectPost: 0, landmarkPre: 0, landmarkRun: 0, align: 0, quality: 0, embedPre: 0, embedRun: 0, total: 0 };
}

interface CurrentFace extends DetectedFace {
  /** The detector's landmark model when the five points come from one. */
  landmarker?: Landmarker;
}

export class FaceAnalyzer {
  /** The frame of the last detect() (or analyze()) and its faces: what analyzeDetected() works on. */
  private current?: { img: RgbImage; faces: CurrentFace[] };
  /** Zones in pixels, per frame size. */
  private zonesFor?: { w: number; h: number; zones: FrameZones };

  private constructor(
    private readonly cfg: VisionConfig,
    private readonly detectors: Record<DetectorUse, Detector>,
    private readonly landmarkers: Map<string, Landmarker>,
    readonly embedder: Embedder,
    private readonly embedderProvider: ExecutionProviderName,
    private readonly closers: (() => Promise<void>)[],
    readonly attempts: ProviderAttempt[],
    /** Engine checks made (engine providers only): which EP-context engines loaded, and why the others did not. */
    readonly engines: EngineChoice[] = [],
  ) {}

  static async create(cfg: VisionConfig, models: VerifiedModels, logger: Logger): Promise<FaceAnalyzer> {
    const log = logger.child({ component: 'vision' });
    const { manifest } = models;
    const attempts: ProviderAttempt[] = [];
    const engines: EngineChoice[] = [];
    const closers: (() => Promise<void>)[] = [];
    let providers = cfg.providers;
    /** A session for a manifest key, checked against its entry; the first provider that loads is used for the rest. */
    const open = async (key: string): Promise<OrtModel> => {
      const entry = manifest.models[key];
      const m = await createOrtModel(models.paths[key], cfg, log, providers);
      attempts.push(...m.attempts);
      engines.push(...m.engines);
      closers.push(() => m.session.release());
      providers = providers.slice(providers.indexOf(m.provider));
      checkModelIo(key, entry, m.session.inputMetadata.map(meta), m.session.outputMetadata.map(meta));
      return m;
    };
    try {
      const built = new Map<string, Detector>();
      const landmarkers = new Map<string, Landmarker>();
      const detectorFor = async (key: string): Promise<Detector> => {
        const have = built.get(key);
        if (have) return have;
        const entry = modelOfKind(manifest, key, 'detector');
        const d = createDetector(key, entry, await open(key), {
          scoreThreshold: cfg.detThreshold ?? entry.decode.scoreThreshold,
          nmsIou: cfg.nmsIou ?? entry.decode.nmsIou,
          inputWidth: cfg.detectorInputWidth,
        });
        built.set(key, d);
        if (d.fivePointsFrom && !landmarkers.has(d.fivePointsFrom)) {
          const lk = d.fivePointsFrom;
          landmarkers.set(lk, new Landmarker(lk, modelOfKind(manifest, lk, 'landmarks'), await open(lk)));
        }
        return d;
      };
      const live = await detectorFor(cfg.detector);
      const stills = await detectorFor(cfg.stillDetector);
      const embKey = models.embedder;
      const embModel = await open(embKey);
      const embedder = new OnnxEmbedder(embKey, modelOfKind(manifest, embKey, 'embedder'), embModel);
      return new FaceAnalyzer(cfg, { live, stills }, landmarkers, embedder, embModel.provider, closers, attempts, engines);
    } catch (err) {
      await Promise.all(closers.map((c) => c().catch(() => undefined)));
      throw err;
    }
  }

  /** The execution provider of the embedder (the model that dominates the time). */
  get provider(): ExecutionProviderName {
    return this.embedderProvider;
  }

  /** The detector keys in use. */
  get detectorKeys(): Record<DetectorUse, string> {
    return { live: this.detectors.live.key, stills: this.detectors.stills.key };
  }

  /** Analyses run one at a time: the input tensors are reused, so they must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every face in the frame (one detection, one analysis): `detect()` then `analyzeDetected()` of all. */
  analyze(img: RgbImage, opts: AnalyzeOptions = {}): Promise<FrameAnalysis> {
    return this.enqueue(async () => {
      const t0 = now();
      const det = await this.detectNow(img, opts.detector ?? 'stills');
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
   * The detector stage only: every face kept by the zones and masks, NMS and the minimum size (no
   * cap on their number). The frame stays the current one (for analyzeDetected) until the next
   * detect().
   */
  detect(img: RgbImage, opts: DetectOptions = {}): Promise<FrameDetections> {
    return this.enqueue(async () => {
      const det = await this.detectNow(img, opts.detector ?? 'live');
      // Copies: the caller may change what it gets; the analyzer keeps its own for analyzeDetected().
      const faces = det.faces.map(({ box, detScore, fivePoints }) => {
        const f: DetectedFace = { box: [...box] as Box, detScore };
        if (fivePoints) f.fivePoints = fivePoints.map((p) => [...p] as Point);
        return f;
      });
      return { ...det, faces };
    });
  }

  /**
   * Landmarks (when the detector needs them), alignment, quality and embedding for the faces at
   * `indices` of the last detect(), returned in the order of `indices`. Only the stages after
   * detection are timed.
   */
  analyzeDetected(indices: number[], opts: AnalyzeOptions = {}): Promise<FrameAnalysis> {
    return this.enqueue(() => this.analyzeDetectedNow(indices, opts));
  }

  private zones(width: number, height: number): FrameZones {
    const z = this.zonesFor;
    if (z && z.w === width && z.h === height) return z.zones;
    const zones = frameZones(this.cfg.zones, width, height);
    this.zonesFor = { w: width, h: height, zones };
    return zones;
  }

  private async detectNow(img: RgbImage, use: DetectorUse): Promise<FrameDetections & { faces: CurrentFace[] }> {
    if (img.data.length !== img.width * img.height * 3) {
      throw new Error(`analyze: image data is ${img.data.length} bytes, expected ${img.width}x${img.height}x3`);
    }
    this.current = undefined;
    const detector = this.detectors[use];
    const zones = use === 'live' ? this.zones(img.width, img.height) : undefined;
    const run = await detector.detect(img, zones?.roi);
    const t0 = now();
    const landmarker = detector.fivePointsFrom ? this.landmarkers.get(detector.fivePointsFrom) : undefined;
    const faces: CurrentFace[] = [];
    for (const c of run.candidates) {
      if (zones && !keptByZones(c.box, zones)) continue;
      const box = squareBox(c.box, img.width, img.height);
      if (box[2] - box[0] < this.cfg.minFaceSidePx) continue;
      const f: CurrentFace = { box, detScore: c.score };
      if (c.fivePoints) f.fivePoints = c.fivePoints;
      else f.landmarker = landmarker;
      faces.push(f);
    }
    const times = emptyTimes();
    times.detectPre = run.preMs;
    times.detectRun = run.runMs;
    times.detectPost = run.postMs + (now() - t0);
    times.total = times.detectPre + times.detectRun + times.detectPost;
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
      let landmarks: Point[] = [];
      let fivePoints: Point[];
      if (det.fivePoints) {
        fivePoints = det.fivePoints.map((p) => [...p] as Point);
      } else {
        if (!det.landmarker) throw new Error('analyzeDetected: the detector gives no five points and names no landmark model');
        const lm = await det.landmarker.run(img, det.box);
        times.landmarkPre += lm.preMs;
        times.landmarkRun += lm.runMs;
        landmarks = lm.landmarks;
        fivePoints = lm.fivePoints;
      }
      let a = now();
      const { aligned } = alignFace(img, fivePoints, this.embedder.template);
      let b = now();
      times.align += b - a;
      const quality = assessQuality(fivePoints, aligned, det.detScore, this.cfg.quality);
      a = now();
      times.quality += a - b;
      let embedding: Float32Array = new Float32Array(0); // a fresh one per face: the worker zeroes its copy once sent
      let flipAveraged: Float32Array | undefined;
      if (quality.passed || opts.embed !== 'quality-passing') {
        const e = await this.embedder.embed(aligned);
        times.embedPre += e.preMs;
        times.embedRun += e.runMs;
        embedding = e.embedding;
        if (opts.flipAverage) {
          const mirrored = alignMirrored(img, fivePoints, this.embedder.template);
          const f = await this.embedder.embed(mirrored);
          times.embedPre += f.preMs;
          times.embedRun += f.runMs;
          const avg = meanTemplate([e.embedding, f.embedding]);
          f.embedding.fill(0);
          mirrored.data.fill(0);
          if (opts.flipAverage === 'both') flipAveraged = avg;
          else {
            e.embedding.fill(0);
            embedding = avg;
          }
        }
      }
      const face: Face = { box: [...det.box] as Box, detScore: det.detScore, landmarks: opts.withLandmarks ? landmarks : [], fivePoints, quality, embedding };
      if (flipAveraged) face.flipAveraged = flipAveraged;
      if (opts.withAligned) face.aligned = aligned;
      if (opts.withContext) face.context = contextCrop(img, det.box, opts.withContext);
      faces.push(face);
    }
    times.total = now() - t0;
    return { width: img.width, height: img.height, faces, times };
  }

  async close(): Promise<void> {
    for (const c of this.closers) await c();
  }
}

function meta(m: { name: string; isTensor: boolean; shape?: ReadonlyArray<number | string> }): { name: string; shape: ReadonlyArray<number | string> } {
  return { name: m.name, shape: m.isTensor && m.shape ? m.shape : [] };
}
