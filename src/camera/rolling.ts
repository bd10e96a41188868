/**
 * Event counts over a sliding window (default: the last hour, in one-minute buckets). Pure: the
 * time is passed in.
 */
export class RollingCount {
  private readonly counts: number[];
  private readonly starts: number[];

  constructor(private readonly windowMs = 3_600_000, private readonly bucketMs = 60_000) {
    const n = Math.ceil(windowMs / bucketMs);
    this.counts = new Array<number>(n).fill(0);
    this.starts = new Array<number>(n).fill(-Infinity);
  }

  add(nowMs: number, n = 1): void {
    const start = Math.floor(nowMs / this.bucketMs) * this.bucketMs;
    const i = Math.floor(nowMs / this.bucketMs) % this.counts.length;
    if (this.starts[i] !== start) {
      this.starts[i] = start;
      this.counts[i] = 0;
    }
    this.counts[i] += n;
  }

  /** Events in (now - window, now]. */
  total(nowMs: number): number {
    let sum = 0;
    for (let i = 0; i < this.counts.length; i++) {
      if (this.starts[i] > nowMs - this.windowMs && this.starts[i] <= nowMs) sum += this.counts[i];
    }
    return sum;
  }
}

/** Exponential backoff: initial, initial*factor, ... capped at max. */
export function backoffDelay(attempt: number, opts: { initialMs: number; maxMs: number; factor: number }): number {
  return Math.min(opts.maxMs, opts.initialMs * Math.pow(opts.factor, Math.max(0, attempt)));
}
