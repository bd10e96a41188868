/**
 * Embeddings of an evaluation set as one matrix, and the scores (dot products = cosine) of one row
 * against a range of rows: the inner loop of every all-pairs and 1:N evaluation. Uses the
 * matcher's WebAssembly SIMD kernel when the runtime has it, plain JavaScript otherwise.
 *
 * A row without an embedding (no face detected) scores DETECTION_FAILURE_SCORE (-1) against
 * everything: its pairs count as non-matches.
 */
import { createDotKernel, WASM_PAGE_BYTES, type DotKernel } from '../recognition/dot-kernel';

export const DETECTION_FAILURE_SCORE = -1;

export class EmbeddingMatrix {
  readonly rows: number;
  readonly dim: number;
  /** Row-major, `stride` floats per row (dim rounded up to a multiple of 16, zero-padded). */
  private readonly data: Float32Array;
  private readonly stride: number;
  readonly present: Uint8Array;
  private readonly kernel?: DotKernel;
  private readonly outPtr: number;

  constructor(embeddings: readonly (Float32Array | undefined)[], opts: { useWasm?: boolean } = {}) {
    this.rows = embeddings.length;
    const first = embeddings.find((e) => e !== undefined);
    this.dim = first?.length ?? 0;
    this.stride = Math.max(16, Math.ceil(this.dim / 16) * 16);
    this.present = new Uint8Array(this.rows);
    const matrixBytes = this.rows * this.stride * 4;
    const outBytes = Math.max(1, this.rows) * 4;
    this.kernel = opts.useWasm === false ? undefined : createDotKernel();
    if (this.kernel) {
      const need = matrixBytes + outBytes;
      const have = this.kernel.memory.buffer.byteLength;
      if (need > have) this.kernel.memory.grow(Math.ceil((need - have) / WASM_PAGE_BYTES));
      this.data = new Float32Array(this.kernel.memory.buffer, 0, this.rows * this.stride);
      this.outPtr = matrixBytes;
    } else {
      this.data = new Float32Array(this.rows * this.stride);
      this.outPtr = 0;
    }
    embeddings.forEach((e, i) => {
      if (!e) return;
      if (e.length !== this.dim) throw new RangeError(`embedding ${i} has ${e.length} dimensions, expected ${this.dim}`);
      this.data.set(e, i * this.stride);
      this.present[i] = 1;
    });
  }

  /** Scores of row `i` against rows [from, to), written to out[0 .. to-from). */
  rowScores(i: number, from: number, to: number, out: Float32Array): Float32Array {
    const n = to - from;
    if (n <= 0) return out.subarray(0, 0);
    const res = out.subarray(0, n);
    if (!this.present[i]) {
      res.fill(DETECTION_FAILURE_SCORE);
      return res;
    }
    if (this.kernel) {
      this.kernel.scores(from * this.stride * 4, i * this.stride * 4, this.outPtr, n, this.stride * 4);
      res.set(new Float32Array(this.kernel.memory.buffer, this.outPtr, n));
    } else {
      const d = this.data;
      const s = this.stride;
      const qi = i * s;
      for (let r = 0; r < n; r++) {
        const ri = (from + r) * s;
        let acc = 0;
        for (let k = 0; k < this.dim; k++) acc += d[qi + k] * d[ri + k];
        res[r] = acc;
      }
    }
    for (let r = 0; r < n; r++) if (!this.present[from + r]) res[r] = DETECTION_FAILURE_SCORE;
    return res;
  }

  score(i: number, j: number): number {
    const out = new Float32Array(1);
    return this.rowScores(i, j, j + 1, out)[0];
  }
}
