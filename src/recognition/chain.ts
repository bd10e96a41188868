/**
 * One frame's way through recognition: detect -> tracker (associates the detections by box, before
 * any embedding exists) -> scheduler (which tracked faces get analysed under the frame's budget)
 * -> landmarks/align/quality/embed for those only -> matcher (top-1) -> decision. The adapter
 * between the frame loop and the pure cores; used by the daemon, `lfr-edge replay` and the bench.
 *
 * Nothing is capped silently: every detected face is tracked, and every face that is not embedded
 * in a frame is counted with the reason (the frame's budget, the per-track rate, the quality gate).
 * Non-matching faces live only in this call: their embeddings are zeroed once the decision has
 * seen them.
 */
import { performance } from 'node:perf_hooks';
import type { Frame } from '../camera/frame';
import type { ContextCropOptions } from '../vision/context-crop';
import type { FrameAnalysis, FrameDetections, RgbImage } from '../vision/types';
import type { Alert, AlertDecider } from './decision';
import type { Matcher } from './matcher';
import { EmbeddingScheduler, frameBudget, unusedFrameMs, type SchedulerConfig } from './scheduler';
import type { DecisionConfig } from './config';
import { TrackTemplate, type TrackTemplateConfig } from './track-template';
import type { Tracker } from './tracker';

/** The track templates the chain keeps: only for rule 'template' (none otherwise: no embedding is held). */
export function trackTemplateConfig(decision: DecisionConfig): TrackTemplateConfig | undefined {
  return decision.rule === 'template' ? decision.template : undefined;
}

/** What the chain needs of a decision (an AlertDecider, or one that follows the active session). */
export type TrackDecider = Pick<AlertDecider, 'observe' | 'holdsCrop' | 'endTrack' | 'endAll'>;

export interface AnalyzeOpts {
  withAligned?: boolean;
  withContext?: ContextCropOptions;
  transfer?: boolean;
  embed?: 'all' | 'quality-passing';
  /** Enrolment photos: embed each face and its mirror image and average (never the live chain). */
  flipAverage?: boolean | 'both';
}

/** Whole-image analysis (watchlist photos, stills): every face, one call. */
export interface FrameAnalyzer {
  analyze(img: RgbImage, opts?: AnalyzeOpts): Promise<FrameAnalysis>;
}

/**
 * The live chain's two-stage vision (VisionWorker): detect() keeps the frame; analyzeDetected()
 * runs landmarks/align/quality/embed for the faces at those indices of the last detect().
 * The chain asks for `embed: 'quality-passing'`: a face failing the quality gate is not embedded
 * (its embedding is empty; the tracker follows it by box overlap).
 */
export interface FrameVision {
  detect(img: RgbImage, opts?: { transfer?: boolean }): Promise<FrameDetections>;
  analyzeDetected(indices: number[], opts?: Omit<AnalyzeOpts, 'transfer'>): Promise<FrameAnalysis>;
}

/** Why detected faces were not embedded. */
export interface NotEmbedded {
  /** Beyond the frame's budget (scheduler.maxEmbeddingsPerFrame). */
  budget: number;
  /** Their track was analysed too recently (scheduler.maxPerTrackPerSecond). */
  rate: number;
  /** Analysed, but failed the quality gate. */
  quality: number;
}

export interface ChainCounts {
  frames: number;
  facesDetected: number;
  /** Faces that got landmarks, alignment and quality (picked by the scheduler). */
  facesAnalysed: number;
  facesPassingQuality: number;
  facesEmbedded: number;
  /** facesDetected - facesEmbedded, by reason. */
  facesNotEmbedded: number;
  notEmbedded: NotEmbedded;
  tracksStarted: number;
  /** Tracks counted in tracksStarted that were later found to continue a lost track (merged into it). */
  tracksMerged: number;
  tracksEnded: number;
  alerts: number;
  /** Embeddings of each ended track: histogram[k] = tracks ended with k embeddings (last bucket: k or more). */
  embeddingsPerEndedTrack: number[];
  /** Sum over frames of the pure model time (ORT run of detector, landmarks, embedder), ms. */
  modelMs: number;
  /** Sum over frames of the whole processFrame time, ms. */
  frameMs: number;
}

const HISTOGRAM_BUCKETS = 32;
const EMPTY = new Float32Array(0);

export class RecognitionChain {
  private readonly c: ChainCounts = {
    frames: 0, facesDetected: 0, facesAnalysed: 0, facesPassingQuality: 0, facesEmbedded: 0, facesNotEmbedded: 0,
    notEmbedded: { budget: 0, rate: 0, quality: 0 }, tracksStarted: 0, tracksMerged: 0, tracksEnded: 0, alerts: 0,
    embeddingsPerEndedTrack: new Array<number>(HISTOGRAM_BUCKETS).fill(0), modelMs: 0, frameMs: 0,
  };
  private readonly scheduler: EmbeddingScheduler;
  /** Smoothed wall times of detect() and of one analysed face (for the frame's time budget). */
  private measured: { detectMs: number; perFaceMs: number } | undefined;
  private detectMsSeen: number | undefined;
  /** Frame time the last frame left unused (scheduler unusedFrameMs), added to the next one's budget. */
  private budgetCarryMs = 0;
  /** Rule 'template': each live track's template (copies of its best embeddings; zeroed when it ends). */
  private readonly templates = new Map<number, TrackTemplate>();

  constructor(
    private readonly deps: {
      vision: FrameVision;
      tracker: Tracker;
      decider: TrackDecider;
      scheduler: SchedulerConfig;
      /** The active watchlist; undefined = no session (faces are tracked and counted only). */
      matcher: () => Matcher | undefined;
      /** The active decision threshold (lets the scheduler treat far-below tracks as decided). */
      threshold?: () => number | undefined;
      /** Called for each alert; it owns the alert's crop (release it once sent). */
      onAlert: (alert: Alert) => void;
      /**
       * Which face crop the decision may hold for an alert: the aligned 112x112 face (default), the
       * face with a margin at the frame's resolution, or none (crops cannot be sent: none is made).
       */
      crops?: 'aligned' | { context: ContextCropOptions } | 'none';
      /**
       * Rule 'template': keep per track the quality-weighted mean of its best K embeddings, match it
       * whenever it changes and give the decision its top-1 (`trackTemplateConfig`). Undefined: none.
       */
      template?: TrackTemplateConfig;
    },
  ) {
    this.scheduler = new EmbeddingScheduler(deps.scheduler);
  }

  get counts(): ChainCounts {
    return { ...this.c, notEmbedded: { ...this.c.notEmbedded }, embeddingsPerEndedTrack: [...this.c.embeddingsPerEndedTrack] };
  }

  /** Process a frame; its pixels are handed over to the vision worker (not usable afterwards). */
  async processFrame(frame: Frame): Promise<void> {
    const t0 = performance.now();
    const { vision, tracker, decider, onAlert } = this.deps;
    // Frame time for motion and the per-track rate: media time when the stream has a frame rate
    // (seq counts dropped frames too), else the capture time.
    const atSec = frame.fps ? frame.seq / frame.fps : frame.capturedAt / 1000;
    const d0 = performance.now();
    const det = await vision.detect(frame.image, { transfer: true });
    const detectMs = performance.now() - d0;
    this.detectMsSeen = this.detectMsSeen === undefined ? detectMs : 0.8 * this.detectMsSeen + 0.2 * detectMs;
    // The frame's face counts are added together at its end: a health read between two awaits
    // sees consistent counts (detected = embedded + not embedded).
    let modelMs = det.times.detectRun;
    const update = tracker.update(det.faces.map((f) => ({ box: f.box, embedding: EMPTY })), frame.capturedAt, atSec);
    const started = [...update.started];
    const matcher = this.deps.matcher();
    const matching = matcher !== undefined && matcher.size > 0;
    const plan = this.scheduler.plan(
      det.faces.map((f, i) => ({ trackId: update.trackIds[i], side: f.box[2] - f.box[0] })),
      atSec,
      matching ? this.deps.threshold?.() : undefined,
      frameBudget(this.deps.scheduler, this.measured, this.budgetCarryMs),
    );
    // From the estimates the budget was made with (this frame's own times update them below).
    this.budgetCarryMs = unusedFrameMs(this.deps.scheduler, this.measured, plan.picked.length, this.budgetCarryMs);
    let embedded = 0;
    let analysed = 0;
    let passing = 0;
    let failedQuality = 0;
    if (plan.picked.length > 0) {
      const crops = this.deps.crops ?? 'aligned';
      const a0 = performance.now();
      const analysis = await vision.analyzeDetected(plan.picked, {
        withAligned: crops === 'aligned',
        ...(typeof crops === 'object' ? { withContext: crops.context } : {}),
        embed: 'quality-passing',
      });
      modelMs += analysis.times.landmarkRun + analysis.times.embedRun;
      analysed = analysis.faces.length;
      const perFace = (performance.now() - a0) / Math.max(1, plan.picked.length);
      this.measured = {
        detectMs: this.detectMsSeen ?? 0,
        perFaceMs: this.measured ? 0.8 * this.measured.perFaceMs + 0.2 * perFace : perFace,
      };
      analysis.faces.forEach((face, k) => {
        let trackId = update.trackIds[plan.picked[k]];
        if (face.quality.passed) passing++;
        if (face.embedding.length > 0) {
          embedded++;
          const a = tracker.attachEmbedding(trackId, face.embedding);
          if (a.started !== undefined) started.push(a.started);
          if (a.merged !== undefined) this.merged(a.merged, a.trackId, started);
          trackId = a.trackId;
        } else {
          failedQuality++;
        }
        const usable = face.quality.passed && face.embedding.length > 0 && matching;
        const top1 = usable ? matcher.top1(face.embedding) : undefined;
        let fused: { top1?: { ref: string; category: string; score: number }; frames: number } | undefined;
        if (usable && this.deps.template) {
          let tpl = this.templates.get(trackId);
          if (!tpl) this.templates.set(trackId, (tpl = new TrackTemplate(this.deps.template)));
          if (tpl.add(face.embedding, face.quality)) {
            const m = matcher.top1(tpl.template()!);
            fused = { ...(m ? { top1: { ref: m.ref, category: m.category, score: m.score } } : {}), frames: tpl.size };
          }
        }
        const crop = face.context ?? face.aligned;
        const alert = decider.observe({ trackId, at: frame.capturedAt, quality: face.quality, top1, crop, ...(fused ? { fused } : {}) });
        this.scheduler.record(trackId, { embedded: face.embedding.length > 0, top1Score: top1?.score, alerted: alert !== undefined });
        face.embedding.fill(0);
        // A crop that is neither a track's best (held by the decision) nor an alert's is not kept.
        for (const img of [face.aligned, face.context]) if (img && img !== alert?.crop && !decider.holdsCrop(img)) img.data.fill(0);
        if (alert) {
          // Frames of the track seen (by the tracker), not only the analysed ones the decision saw.
          alert.framesSeen = Math.max(alert.framesSeen, tracker.active.find((tr) => tr.id === alert.trackId)?.hits ?? 0);
          this.c.alerts++;
          onAlert(alert);
        }
      });
    }
    this.c.modelMs += modelMs;
    this.c.facesDetected += det.faces.length;
    this.c.facesAnalysed += analysed;
    this.c.facesPassingQuality += passing;
    this.c.facesEmbedded += embedded;
    this.c.facesNotEmbedded += det.faces.length - embedded;
    this.c.notEmbedded.budget += plan.deferredByBudget;
    this.c.notEmbedded.rate += plan.deferredByRate;
    this.c.notEmbedded.quality += failedQuality;
    this.c.tracksStarted += started.length;
    for (const e of update.ended) this.endTrack(e.id);
    this.c.frames++;
    this.c.frameMs += performance.now() - t0;
  }

  /** End every track and drop all biometric state (session end, shutdown). */
  endAll(): void {
    for (const e of this.deps.tracker.endAll()) this.endTrack(e.id);
    this.deps.decider.endAll();
    this.scheduler.endAll();
    for (const tpl of this.templates.values()) tpl.clear();
    this.templates.clear();
  }

  /** Live track templates (tests: none outlives its track). */
  get templateCount(): number {
    return this.templates.size;
  }

  /**
   * A track fragment merged by the tracker into a track lost recently: its scheduler counts go to
   * that track, its decision evidence (no embedding yet, so no score) is dropped, and it is not
   * counted as a track (started this frame: not counted at all; earlier: counted as merged).
   */
  private merged(fragment: number, into: number, startedThisFrame: number[]): void {
    this.deps.decider.endTrack(fragment);
    this.scheduler.mergeTrack(fragment, into);
    const k = startedThisFrame.indexOf(fragment);
    if (k >= 0) startedThisFrame.splice(k, 1);
    else this.c.tracksMerged++;
  }

  private endTrack(id: number): void {
    this.deps.decider.endTrack(id);
    this.templates.get(id)?.clear();
    this.templates.delete(id);
    const n = this.scheduler.trackStats(id)?.embedded ?? 0;
    this.c.embeddingsPerEndedTrack[Math.min(n, HISTOGRAM_BUCKETS - 1)]++;
    this.scheduler.endTrack(id);
    this.c.tracksEnded++;
  }
}

/** Summary of the embeddings-per-track histogram (replay summary, bench). */
export function embeddingsPerTrackSummary(histogram: readonly number[]): { tracks: number; median: number; mean: number; atLeast3Share: number } {
  const tracks = histogram.reduce((a, b) => a + b, 0);
  if (tracks === 0) return { tracks: 0, median: 0, mean: 0, atLeast3Share: 0 };
  let sum = 0;
  let atLeast3 = 0;
  histogram.forEach((n, k) => {
    sum += n * k;
    if (k >= 3) atLeast3 += n;
  });
  let acc = 0;
  let median = 0;
  for (let k = 0; k < histogram.length; k++) {
    acc += histogram[k];
    if (acc * 2 >= tracks) {
      median = k;
      break;
    }
  }
  return { tracks, median, mean: Math.round((sum / tracks) * 100) / 100, atLeast3Share: Math.round((atLeast3 / tracks) * 1000) / 1000 };
}
