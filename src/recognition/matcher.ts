/**
 * Matcher: cosine similarity of one face's embedding against every row of the active watchlist,
 * brute force over one contiguous Float32Array (embeddings are L2-normalised, so score = dot
 * product). Pure: data in, data out, no I/O, no clock.
 *
 * One row per subject: entries given with the same `ref` (several photos of one subject, e.g. an
 * older bundle) are fused into one template, their L2-normalised mean (template.ts). The
 * threshold is calibrated for the number of subjects, and a non-watchlist face gets exactly one
 * chance per subject: with a row per photo it would get one per photo, and the real false-alert
 * rate would be higher than the stated one (docs/accuracy.md, "One template per subject").
 * `top1` reports the best subject; `topK` the k best.
 *
 * The dot products run in a WebAssembly SIMD kernel (dot-kernel.ts) when the runtime has it,
 * else in plain JavaScript (same results to float rounding). The matrix lives in memory only;
 * `clear()` zeroes it (and the query and score scratch) when the session ends.
 */
import { createDotKernel, WASM_PAGE_BYTES, type DotKernel } from './dot-kernel';
import { meanTemplate } from './template';

export interface MatcherSubject {
  ref: string;
  category: string;
  embedding: Float32Array;
}

export interface MatchResult {
  /** Row index: the subject's position among the distinct refs, in order of first appearance. */
  index: number;
  ref: string;
  category: string;
  score: number;
}

export interface MatcherOptions {
  /** 'auto' (default): wasm SIMD when available, else JavaScript. */
  kernel?: 'auto' | 'wasm' | 'js';
}

export class Matcher {
  readonly dimension: number;
  private rows: number;
  private readonly stride: number; // floats per row, padded to a multiple of 16 for the kernel
  private refs: string[];
  private categories: string[];
  private subjectOfRow: Int32Array; // row -> distinct-subject number (by ref)
  private subjectCount: number;
  private readonly kernel: DotKernel | undefined;
  private matrix: Float32Array;
  private query: Float32Array;
  private scores: Float32Array;
  private readonly offsets: { q: number; out: number };

  constructor(entries: MatcherSubject[], opts: MatcherOptions = {}) {
    const dim = entries.length ? entries[0].embedding.length : 0;
    entries.forEach((s, i) => {
      if (s.embedding.length !== dim) {
        throw new Error(`matcher: entry ${i} (${s.ref}) has ${s.embedding.length} dimensions, the first has ${dim}; a watchlist uses one embedding model`);
      }
    });
    const subjects = fuseByRef(entries);
    this.dimension = dim;
    this.rows = subjects.length;
    this.stride = Math.ceil(dim / 16) * 16;
    this.refs = subjects.map((s) => s.ref);
    this.categories = subjects.map((s) => s.category);
    const ids = new Map<string, number>();
    this.subjectOfRow = Int32Array.from(subjects, (s) => {
      let id = ids.get(s.ref);
      if (id === undefined) ids.set(s.ref, (id = ids.size));
      return id;
    });
    this.subjectCount = ids.size;

    const kind = opts.kernel ?? 'auto';
    this.kernel = kind === 'js' ? undefined : createDotKernel();
    if (kind === 'wasm' && !this.kernel) throw new Error('matcher: this runtime has no WebAssembly SIMD; use kernel "js" or "auto"');
    const matrixBytes = this.rows * this.stride * 4;
    this.offsets = { q: matrixBytes, out: matrixBytes + this.stride * 4 };
    if (this.kernel) {
      const need = this.offsets.out + this.rows * 4;
      const have = this.kernel.memory.buffer.byteLength;
      if (need > have) this.kernel.memory.grow(Math.ceil((need - have) / WASM_PAGE_BYTES));
      const buf = this.kernel.memory.buffer;
      this.matrix = new Float32Array(buf, 0, this.rows * this.stride);
      this.query = new Float32Array(buf, this.offsets.q, this.stride);
      this.scores = new Float32Array(buf, this.offsets.out, this.rows);
    } else {
      this.matrix = new Float32Array(this.rows * this.stride);
      this.query = new Float32Array(this.stride);
      this.scores = new Float32Array(this.rows);
    }
    subjects.forEach((s, i) => this.matrix.set(s.embedding, i * this.stride));
    for (const s of subjects) if (!entries.includes(s)) s.embedding.fill(0); // fused copies: in the matrix now
  }

  /** Number of rows: one per distinct subject (entries of one ref are fused). */
  get size(): number {
    return this.rows;
  }

  /** Number of distinct subjects (by ref). */
  get subjects(): number {
    return this.subjectCount;
  }

  get usesWasm(): boolean {
    return this.kernel !== undefined;
  }

  /** The best row, or undefined for an empty (or cleared) watchlist. */
  top1(q: Float32Array): MatchResult | undefined {
    if (this.rows === 0) return undefined;
    const scores = this.score(q);
    let best = -Infinity;
    let row = -1;
    for (let r = 0; r < scores.length; r++) {
      if (scores[r] > best) {
        best = scores[r];
        row = r;
      }
    }
    return row < 0 ? undefined : this.result(row, best);
  }

  /** The k best distinct subjects, best first, each with its best row. */
  topK(q: Float32Array, k: number): MatchResult[] {
    if (!Number.isInteger(k) || k < 1) throw new Error(`matcher: k must be a positive integer, got ${k}`);
    if (this.rows === 0) return [];
    const scores = this.score(q);
    const bestScore = new Float32Array(this.subjectCount).fill(-Infinity);
    const bestRow = new Int32Array(this.subjectCount).fill(-1);
    for (let r = 0; r < scores.length; r++) {
      const s = this.subjectOfRow[r];
      if (scores[r] > bestScore[s]) {
        bestScore[s] = scores[r];
        bestRow[s] = r;
      }
    }
    // keep the k best in a small sorted list (k is small: a handful of candidates)
    const top: { row: number; score: number }[] = [];
    for (let s = 0; s < this.subjectCount; s++) {
      const score = bestScore[s];
      if (bestRow[s] < 0 || (top.length === k && score <= top[k - 1].score)) continue;
      let at = top.length;
      while (at > 0 && top[at - 1].score < score) at--;
      top.splice(at, 0, { row: bestRow[s], score });
      if (top.length > k) top.pop();
    }
    return top.map((t) => this.result(t.row, t.score));
  }

  /** Zero the matrix and scratch memory and forget the rows. The matcher is empty afterwards. */
  clear(): void {
    this.matrix.fill(0);
    this.query.fill(0);
    this.scores.fill(0);
    if (this.kernel) new Uint8Array(this.kernel.memory.buffer).fill(0);
    this.rows = 0;
    this.refs = [];
    this.categories = [];
    this.subjectOfRow = new Int32Array(0);
    this.subjectCount = 0;
    this.matrix = new Float32Array(0);
    this.scores = new Float32Array(0);
  }

  private score(q: Float32Array): Float32Array {
    if (q.length !== this.dimension) {
      throw new Error(`matcher: query has ${q.length} dimensions, the watchlist has ${this.dimension}`);
    }
    this.query.set(q);
    if (this.kernel) {
      this.kernel.scores(0, this.offsets.q, this.offsets.out, this.rows, this.stride * 4);
      return this.scores;
    }
    const m = this.matrix, qq = this.query, out = this.scores, stride = this.stride;
    for (let r = 0, o = 0; r < this.rows; r++, o += stride) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let j = 0; j < stride; j += 4) {
        a0 += m[o + j] * qq[j];
        a1 += m[o + j + 1] * qq[j + 1];
        a2 += m[o + j + 2] * qq[j + 2];
        a3 += m[o + j + 3] * qq[j + 3];
      }
      out[r] = a0 + a1 + a2 + a3;
    }
    return out;
  }

  private result(row: number, score: number): MatchResult {
    return { index: row, ref: this.refs[row], category: this.categories[row], score };
  }
}

/** One entry per ref (first appearance order); several entries of a ref become their mean template. */
function fuseByRef(entries: MatcherSubject[]): MatcherSubject[] {
  const byRef = new Map<string, MatcherSubject[]>();
  for (const e of entries) {
    const list = byRef.get(e.ref);
    if (list) list.push(e);
    else byRef.set(e.ref, [e]);
  }
  return [...byRef.values()].map((list) =>
    list.length === 1 ? list[0] : { ref: list[0].ref, category: list[0].category, embedding: meanTemplate(list.map((e) => e.embedding)) },
  );
}
