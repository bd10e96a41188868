/**
 * Embedding scheduler: which of a frame's tracked faces get landmarks, alignment, quality and an
 * embedding, under a per-frame budget. Pure: the frame's candidates (track id, box size, detector
 * score) and the frame time in, the picked ones out; per-track bookkeeping only (no biometrics, no
 * I/O, no clock).
 *
 * Per frame at most `maxEmbeddingsPerFrame` faces are analysed, fewer when the measured times say
 * they would not fit in `maxFrameMs` (frameBudget(); at least one). When the budget is short (more
 * faces than it holds), a track is analysed at most `maxPerTrackPerSecond` times per second of
 * frame time, so that one track cannot take the budget from the others; when the budget has room
 * left after every face the rate allows, the rate-held faces fill it (a slow, non-realtime replay
 * or a quiet scene analyses every face of every frame: the cap shares a short budget, it does not
 * throw away spare capacity). Among the faces allowed by the rate, in this order:
 *   0. tracks never analysed (new), and tracks seen for `maxWaitFrames` frames or more since their
 *      last analysis (so that no track starves, whatever the other classes hold);
 *   1. tracks whose decision is open (no alert, and not yet confidently below the threshold), and
 *      below-threshold tracks whose face grew by `improvedRatio` over their largest analysed one;
 *   2. decided tracks: alerted, or (unless their face improved) with `decidedAfter` embeddings whose
 *      best top-1 stayed below the threshold by `decidedMargin` or more.
 * Within a class: the longest-waiting first (frames seen since the last analysis), then the
 * largest face; rate-held faces fill spare slots in the same order. Bound (tested): a track seen
 * in every frame is analysed at least once every
 * max(maxWaitFrames, frames per 1/maxPerTrackPerSecond) + ceil(tracks / budget) frames.
 */
import { z } from 'zod';

export const SchedulerConfigSchema = z.strictObject({
  /** At most this many faces per frame get landmarks + embedding (the rest are tracked by box and counted). */
  maxEmbeddingsPerFrame: z.number().int().min(1).max(64).default(4),
  /**
   * Time budget of a frame, ms (detect + the analysed faces, from the measured means); fewer faces
   * are analysed when they would not fit (at least one). Held on average: time a frame leaves
   * unused (up to one face's) is carried to the next. 0 = the count budget alone.
   */
  maxFrameMs: z.number().min(0).max(10000).default(40),
  /** At most this many analyses per track per second of frame time, when the frame's budget is short (spare slots are filled regardless). */
  maxPerTrackPerSecond: z.number().positive().max(120).default(8),
  /** A track seen this many frames without an analysis goes to the front (never starved). */
  maxWaitFrames: z.number().int().min(1).max(600).default(8),
  /** A face this many times larger (box side) than the track's largest analysed one counts as improved. */
  improvedRatio: z.number().min(1).max(10).default(1.25),
  /** Embeddings of a track before it may be decided "below the threshold". */
  decidedAfter: z.number().int().min(1).max(1000).default(6),
  /** How far below the threshold the track's best top-1 must stay to be decided. */
  decidedMargin: z.number().min(0).max(2).default(0.1),
});
export type SchedulerConfig = z.infer<typeof SchedulerConfigSchema>;

/**
 * The number of faces to analyse in a frame: maxEmbeddingsPerFrame, or fewer when the measured
 * mean times say they would not fit in maxFrameMs plus `carryMs` (at least one: every track keeps
 * being seen). `carryMs` is what earlier frames left unused (unusedFrameMs): the budget holds on
 * average, so a frame with room for 1.6 faces analyses 1 or 2, not always 1.
 */
export function frameBudget(
  cfg: Pick<SchedulerConfig, 'maxEmbeddingsPerFrame' | 'maxFrameMs'>,
  measured: { detectMs: number; perFaceMs: number } | undefined,
  carryMs = 0,
): number {
  if (!cfg.maxFrameMs || !measured || !(measured.perFaceMs > 0)) return cfg.maxEmbeddingsPerFrame;
  const fit = Math.floor((cfg.maxFrameMs + carryMs - measured.detectMs) / measured.perFaceMs);
  return Math.max(1, Math.min(cfg.maxEmbeddingsPerFrame, fit));
}

/**
 * The time budget a frame that analysed `faces` faces leaves to the next one: what was left of
 * maxFrameMs plus its own carry, never below 0 and never more than one face's time (so an idle
 * stretch cannot bank a burst that would overrun later frames).
 */
export function unusedFrameMs(
  cfg: Pick<SchedulerConfig, 'maxFrameMs'>,
  measured: { detectMs: number; perFaceMs: number } | undefined,
  faces: number,
  carryMs = 0,
): number {
  if (!cfg.maxFrameMs || !measured || !(measured.perFaceMs > 0)) return 0;
  const left = cfg.maxFrameMs + carryMs - measured.detectMs - faces * measured.perFaceMs;
  return Math.min(measured.perFaceMs, Math.max(0, left));
}

/** One tracked face of the frame, as the detector saw it. */
export interface Candidate {
  trackId: number;
  /** Box side in source pixels (the detector's square box). */
  side: number;
}

/** What the analysis of a picked face gave. */
export interface AnalysisOutcome {
  /** The face passed the quality gate and was embedded. */
  embedded: boolean;
  /** Its top-1 score against the watchlist (when embedded and a watchlist is active). */
  top1Score?: number;
  /** The decision alerted on this track (or silenced it for the subject). */
  alerted?: boolean;
}

export type Priority = 'new-or-waiting' | 'open' | 'decided';

export interface FramePlan {
  /** Indices into the candidates, in the order to analyse them. */
  picked: number[];
  /** Candidates allowed by the per-track rate but beyond the frame's budget (count or time). */
  deferredByBudget: number;
  /** Candidates whose track was analysed too recently (maxPerTrackPerSecond) and for which no spare slot was left. */
  deferredByRate: number;
}

interface TrackState {
  analysed: number;
  embedded: number;
  lastAnalysedSec: number | undefined;
  /** Frames seen since the last analysis (since the start, when never analysed). */
  waiting: number;
  largestSide: number;
  bestTop1: number;
  alerted: boolean;
}

export class EmbeddingScheduler {
  private readonly tracks = new Map<number, TrackState>();

  constructor(private readonly cfg: SchedulerConfig) {}

  /**
   * Plan a frame: `candidates` are its tracked faces, `atSec` the frame time in seconds (media time
   * when known), `threshold` the active decision threshold (undefined: no watchlist, so no track is
   * decided by score).
   */
  plan(candidates: readonly Candidate[], atSec: number, threshold?: number, budget = this.cfg.maxEmbeddingsPerFrame): FramePlan {
    const minGap = 1 / this.cfg.maxPerTrackPerSecond;
    type Ranked = { i: number; cls: number; waiting: number; side: number };
    const ranked: Ranked[] = [];
    const held: Ranked[] = [];
    candidates.forEach((c, i) => {
      const s = this.state(c.trackId);
      s.waiting++;
      const r = { i, cls: this.classOf(s, c, threshold), waiting: s.waiting, side: c.side };
      // 1 ms of slack: frame times from seq / fps are not exact multiples.
      if (s.lastAnalysedSec !== undefined && atSec - s.lastAnalysedSec < minGap - 1e-3) held.push(r);
      else ranked.push(r);
    });
    const order = (a: Ranked, b: Ranked) => a.cls - b.cls || b.waiting - a.waiting || b.side - a.side || a.i - b.i;
    ranked.sort(order);
    const slots = Math.max(1, Math.min(budget, this.cfg.maxEmbeddingsPerFrame));
    const take = ranked.slice(0, slots);
    const deferredByBudget = ranked.length - take.length;
    // Spare slots (everything the rate allows fits): the rate-held faces fill them.
    if (take.length < slots && held.length > 0) take.push(...held.sort(order).slice(0, slots - take.length));
    const deferredByRate = candidates.length - take.length - deferredByBudget;
    for (const r of take) {
      const s = this.state(candidates[r.i].trackId);
      s.lastAnalysedSec = atSec;
      s.waiting = 0;
      s.analysed++;
      s.largestSide = Math.max(s.largestSide, candidates[r.i].side);
    }
    return { picked: take.map((r) => r.i), deferredByBudget, deferredByRate };
  }

  /** Report what a picked face's analysis gave (after plan() picked it). */
  record(trackId: number, outcome: AnalysisOutcome): void {
    const s = this.state(trackId);
    if (outcome.embedded) s.embedded++;
    if (outcome.top1Score !== undefined) s.bestTop1 = Math.max(s.bestTop1, outcome.top1Score);
    if (outcome.alerted) s.alerted = true;
  }

  /** The priority class a track is in now (tests, debugging). */
  priorityOf(trackId: number, side: number, threshold?: number): Priority {
    const cls = this.classOf(this.state(trackId), { trackId, side }, threshold);
    return cls === 0 ? 'new-or-waiting' : cls === 1 ? 'open' : 'decided';
  }

  /** Per-track counts (the replay summary and the bench: embeddings per track). */
  trackStats(trackId: number): { analysed: number; embedded: number } | undefined {
    const s = this.tracks.get(trackId);
    return s && { analysed: s.analysed, embedded: s.embedded };
  }

  /** Track `from` turned out to continue track `into` (the tracker merged them): its counts go to `into`. */
  mergeTrack(from: number, into: number): void {
    const f = this.tracks.get(from);
    if (!f) return;
    const s = this.state(into);
    s.analysed += f.analysed;
    s.embedded += f.embedded;
    s.largestSide = Math.max(s.largestSide, f.largestSide);
    s.bestTop1 = Math.max(s.bestTop1, f.bestTop1);
    s.alerted ||= f.alerted;
    if (f.lastAnalysedSec !== undefined && (s.lastAnalysedSec === undefined || f.lastAnalysedSec > s.lastAnalysedSec)) {
      s.lastAnalysedSec = f.lastAnalysedSec;
      s.waiting = f.waiting;
    }
    this.tracks.delete(from);
  }

  /** The track ended: forget it. */
  endTrack(trackId: number): void {
    this.tracks.delete(trackId);
  }

  endAll(): void {
    this.tracks.clear();
  }

  get trackCount(): number {
    return this.tracks.size;
  }

  private classOf(s: TrackState, c: Candidate, threshold: number | undefined): number {
    if (s.analysed === 0 || s.waiting >= this.cfg.maxWaitFrames) return 0;
    if (s.alerted) return 2;
    const improved = c.side >= s.largestSide * this.cfg.improvedRatio;
    const below = threshold !== undefined && s.embedded >= this.cfg.decidedAfter && s.bestTop1 < threshold - this.cfg.decidedMargin;
    return below && !improved ? 2 : 1;
  }

  private state(trackId: number): TrackState {
    let s = this.tracks.get(trackId);
    if (!s) {
      s = { analysed: 0, embedded: 0, lastAnalysedSec: undefined, waiting: 0, largestSide: 0, bestTop1: -Infinity, alerted: false };
      this.tracks.set(trackId, s);
    }
    return s;
  }
}
