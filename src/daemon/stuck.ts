/**
 * Is recognition stuck? The pure core of the watchdog decision (time passed in): the frame loop
 * counts as stuck when frames are expected (the camera streams) but none was processed
 * successfully for `stuckMs`, whether because none came back (a hung stage) or because every one
 * failed (vision down). Failed frames are not progress. Only time while frames are expected counts
 * (the span between two observations that both expected frames): a camera outage is the camera
 * supervisor's to report, not the loop's, and a camera that restarts now and then (a looping file,
 * a flapping stream) does not reset the clock either; once stuck, only a processed frame clears it.
 * Observe at least every second or so.
 */
export interface LoopProgress {
  /** Frames processed successfully since start. */
  processed: number;
  /** Frames that failed since start. */
  failed: number;
}

export interface StuckVerdict {
  stuck: boolean;
  /** Why, when stuck: "every frame failed for 21 s (612 frames)" or "no frame processed for 21 s". */
  reason: string | null;
  /** Time frames were expected since the last processed frame. */
  idleMs: number;
}

export class StuckDetector {
  private lastProcessed: number | undefined;
  private failedAtProgress = 0;
  private idleMs = 0;
  private last: { at: number; expecting: boolean } | undefined;

  constructor(private readonly stuckMs: number) {
    if (!(stuckMs > 0) || !Number.isFinite(stuckMs)) throw new RangeError(`StuckDetector: stuckMs must be a positive number of milliseconds, got ${stuckMs}`);
  }

  observe(p: LoopProgress, expectingFrames: boolean, nowMs: number): StuckVerdict {
    const prev = this.last;
    this.last = { at: nowMs, expecting: expectingFrames };
    if (this.lastProcessed === undefined || p.processed !== this.lastProcessed) {
      this.lastProcessed = p.processed;
      this.failedAtProgress = p.failed;
      this.idleMs = 0;
      return { stuck: false, reason: null, idleMs: 0 };
    }
    if (prev?.expecting && expectingFrames) this.idleMs += Math.max(0, nowMs - prev.at);
    // once stuck, only a processed frame clears it (a camera restart in between does not)
    if (this.idleMs < this.stuckMs) return { stuck: false, reason: null, idleMs: this.idleMs };
    const failed = p.failed - this.failedAtProgress;
    const secs = Math.round(this.idleMs / 1000);
    return {
      stuck: true,
      reason: failed > 0 ? `every frame failed for ${secs} s (${failed} frames)` : `no frame processed for ${secs} s`,
      idleMs: this.idleMs,
    };
  }
}
