/**
 * Streaming summaries of score sets too large to keep whole (all impostor pairs of a data set:
 * millions): a histogram plus the exact top scores, optionally with the pair each came from.
 */
import { binOf, HISTOGRAM_BINS, TAIL_MAX, type ScoreDistribution } from '../recognition/calibration';

export interface TopScoresResult {
  /** Scores sorted descending. */
  scores: Float64Array;
  /** Payloads (e.g. the two image indices of a pair), in the same order. */
  a: Int32Array;
  b: Int32Array;
}

/**
 * The k highest scores seen (and every score >= `floor`, if a floor is given), kept with a payload.
 * Amortised O(1) per push: the buffer is compacted to the top k when it reaches 2k.
 */
export class TopScores {
  private scores: Float64Array;
  private a: Int32Array;
  private b: Int32Array;
  private n = 0;
  private cutoff = -Infinity;

  constructor(
    readonly k: number,
    readonly floor = -Infinity,
  ) {
    if (!(k >= 1)) throw new RangeError(`TopScores needs k >= 1, got ${k}`);
    const cap = Number.isFinite(k) ? Math.min(2 * k, 1024) : 1024;
    this.scores = new Float64Array(cap);
    this.a = new Int32Array(cap);
    this.b = new Int32Array(cap);
  }

  push(score: number, a = 0, b = 0): void {
    if (score < this.floor && (!Number.isFinite(this.k) || score <= this.cutoff)) return;
    if (this.n === this.scores.length) this.makeRoom();
    this.scores[this.n] = score;
    this.a[this.n] = a;
    this.b[this.n] = b;
    this.n++;
  }

  private makeRoom(): void {
    if (Number.isFinite(this.k) && this.n >= 2 * this.k) {
      this.compact();
      if (this.n < this.scores.length) return;
    }
    const cap = this.scores.length * 2;
    const grow = <T extends Float64Array | Int32Array>(arr: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(arr);
      return next;
    };
    this.scores = grow(this.scores, (n) => new Float64Array(n));
    this.a = grow(this.a, (n) => new Int32Array(n));
    this.b = grow(this.b, (n) => new Int32Array(n));
  }

  private order(): Uint32Array {
    const idx = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const s = this.scores;
    return idx.sort((x, y) => s[y] - s[x]);
  }

  /** Keep the top k (plus everything at or above the floor). */
  private compact(): void {
    const idx = this.order();
    let keep = Math.min(this.k, this.n);
    while (this.floor > -Infinity && keep < this.n && this.scores[idx[keep]] >= this.floor) keep++;
    const kth = this.scores[idx[Math.min(this.k, this.n) - 1]];
    const scores = new Float64Array(this.scores.length);
    const a = new Int32Array(this.scores.length);
    const b = new Int32Array(this.scores.length);
    for (let i = 0; i < keep; i++) {
      scores[i] = this.scores[idx[i]];
      a[i] = this.a[idx[i]];
      b[i] = this.b[idx[i]];
    }
    this.scores = scores;
    this.a = a;
    this.b = b;
    this.n = keep;
    this.cutoff = kth;
  }

  result(): TopScoresResult {
    const idx = this.order();
    const keep = Number.isFinite(this.k) ? Math.max(Math.min(this.k, this.n), this.floor > -Infinity ? countAtOrAboveIdx(this.scores, idx, this.floor) : 0) : this.n;
    const out: TopScoresResult = { scores: new Float64Array(keep), a: new Int32Array(keep), b: new Int32Array(keep) };
    for (let i = 0; i < keep; i++) {
      out.scores[i] = this.scores[idx[i]];
      out.a[i] = this.a[idx[i]];
      out.b[i] = this.b[idx[i]];
    }
    return out;
  }
}

function countAtOrAboveIdx(scores: Float64Array, idx: Uint32Array, floor: number): number {
  let i = 0;
  while (i < idx.length && scores[idx[i]] >= floor) i++;
  return i;
}

/** Histogram + exact top `tailSize` scores: the calibration file's summary of a distribution. */
export class DistributionBuilder {
  private readonly counts = new Float64Array(HISTOGRAM_BINS);
  private readonly top: TopScores;
  private n = 0;
  private static readonly H = { min: -1, max: 1, bins: HISTOGRAM_BINS } as const;

  constructor(readonly tailSize = TAIL_MAX) {
    this.top = new TopScores(Math.max(1, tailSize));
  }

  add(score: number): void {
    this.counts[binOf(DistributionBuilder.H, score)]++;
    this.top.push(score);
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  build(): ScoreDistribution {
    const tail = this.top.result().scores;
    return {
      count: this.n,
      histogram: { min: -1, max: 1, bins: HISTOGRAM_BINS, counts: Array.from(this.counts) },
      tail: Array.from(tail.subarray(0, Math.min(this.tailSize, tail.length))),
    };
  }
}

/** A distribution from a complete score list (small sets: the tail holds every score). */
export function distributionOf(scores: ArrayLike<number>): ScoreDistribution {
  const b = new DistributionBuilder(Math.max(1, scores.length));
  for (let i = 0; i < scores.length; i++) b.add(scores[i]);
  return b.build();
}

/** For a calibration file: at most TAIL_MAX tail scores, each rounded UP to 1e-6 (thresholds stay on the safe side). */
export function forCalibrationFile(d: ScoreDistribution): ScoreDistribution {
  const tail = d.tail.slice(0, TAIL_MAX).map((s) => Math.min(1, Math.ceil(s * 1e6) / 1e6));
  return { count: d.count, histogram: { ...d.histogram, counts: [...d.histogram.counts] }, tail };
}
