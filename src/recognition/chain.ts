/**
 * One frame's way through recognition: vision (detect, align, quality, embed) -> tracker ->
 * matcher (top-1) -> decision. The adapter between the frame loop and the pure cores; used by
 * the daemon, `lfr-edge replay` and the bench. Non-matching faces live only in this call: their
 * embeddings are zeroed once the decision has seen them.
 */
import { performance } from 'node:perf_hooks';
import type { Frame } from '../camera/frame';
import type { ContextCropOptions } from '../vision/context-crop';
import type { FrameAnalysis, RgbImage } from '../vision/types';
import type { Alert, AlertDecider } from './decision';

/** What the chain needs of a decision (an AlertDecider, or one that follows the active session). */
export type TrackDecider = Pick<AlertDecider, 'observe' | 'holdsCrop' | 'endTrack' | 'endAll'>;
import type { Matcher } from './matcher';
import type { Tracker } from './tracker';

export interface FrameAnalyzer {
  /**
   * The chain asks for `embed: 'quality-passing'`: a face failing the quality gate is never
   * matched, so it need not be embedded (its embedding is then empty; the tracker follows it by
   * box overlap). An analyzer may embed it anyway.
   */
  analyze(img: RgbImage, opts?: { withAligned?: boolean; withContext?: ContextCropOptions; transfer?: boolean; embed?: 'all' | 'quality-passing' }): Promise<FrameAnalysis>;
}

export interface ChainCounts {
  frames: number;
  facesDetected: number;
  facesPassingQuality: number;
  tracksStarted: number;
  tracksEnded: number;
  alerts: number;
  /** Sum over frames of the pure model time (ORT run of detector, landmarks, embedder), ms. */
  modelMs: number;
  /** Sum over frames of the whole processFrame time, ms. */
  frameMs: number;
}

export class RecognitionChain {
  private readonly c: ChainCounts = { frames: 0, facesDetected: 0, facesPassingQuality: 0, tracksStarted: 0, tracksEnded: 0, alerts: 0, modelMs: 0, frameMs: 0 };

  constructor(
    private readonly deps: {
      vision: FrameAnalyzer;
      tracker: Tracker;
      decider: TrackDecider;
      /** The active watchlist; undefined = no session (faces are tracked and counted only). */
      matcher: () => Matcher | undefined;
      /** Called for each alert; it owns the alert's crop (release it once sent). */
      onAlert: (alert: Alert) => void;
      /**
       * Which face crop the decision may hold for an alert: the aligned 112x112 face (default), the
       * face with a margin at the frame's resolution, or none (crops cannot be sent: none is made).
       */
      crops?: 'aligned' | { context: ContextCropOptions } | 'none';
    },
  ) {}

  get counts(): ChainCounts {
    return { ...this.c };
  }

  /** Process a frame; its pixels are handed over to the vision worker (not usable afterwards). */
  async processFrame(frame: Frame): Promise<void> {
    const t0 = performance.now();
    const { vision, tracker, decider, onAlert } = this.deps;
    const crops = this.deps.crops ?? 'aligned';
    const analysis = await vision.analyze(frame.image, {
      transfer: true,
      withAligned: crops === 'aligned',
      ...(typeof crops === 'object' ? { withContext: crops.context } : {}),
      embed: 'quality-passing',
    });
    const t = analysis.times;
    this.c.modelMs += t.detectRun + t.landmarkRun + t.embedRun;
    this.c.facesDetected += analysis.faces.length;
    const update = tracker.update(analysis.faces, frame.capturedAt);
    this.c.tracksStarted += update.started.length;
    const matcher = this.deps.matcher();
    analysis.faces.forEach((face, i) => {
      if (face.quality.passed) this.c.facesPassingQuality++;
      const top1 = face.quality.passed && face.embedding.length > 0 && matcher && matcher.size > 0 ? matcher.top1(face.embedding) : undefined;
      const crop = face.context ?? face.aligned;
      const alert = decider.observe({ trackId: update.trackIds[i], at: frame.capturedAt, quality: face.quality, top1, crop });
      face.embedding.fill(0);
      // A crop that is neither a track's best (held by the decision) nor an alert's is not kept.
      for (const img of [face.aligned, face.context]) if (img && img !== alert?.crop && !decider.holdsCrop(img)) img.data.fill(0);
      if (alert) {
        this.c.alerts++;
        onAlert(alert);
      }
    });
    for (const e of update.ended) decider.endTrack(e.id);
    this.c.tracksEnded += update.ended.length;
    this.c.frames++;
    this.c.frameMs += performance.now() - t0;
  }

  /** End every track and drop all biometric state (session end, shutdown). */
  endAll(): void {
    for (const e of this.deps.tracker.endAll()) this.deps.decider.endTrack(e.id);
    this.deps.decider.endAll();
  }
}
