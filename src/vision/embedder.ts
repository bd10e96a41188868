/**
 * The Embedder: an aligned face in, an L2-normalised embedding out. Everything about the model
 * (input name and size, colour order, per-channel mean and scale, alignment template, output name
 * and dimension) comes from its manifest entry.
 */
import type { EmbedderModel } from '../models/manifest';
import { ort, type OrtModel } from './ort';
import type { PlanarSpec } from './resize';
import type { Point, RgbImage } from './types';

/** Aligned RGB crop -> [1,3,H,W] planar float in the spec's channel order, (v - mean[c]) * scale[c]. */
export function embedderInput(aligned: RgbImage, spec: PlanarSpec, out = new Float32Array(3 * aligned.width * aligned.height)): Float32Array {
  const plane = aligned.width * aligned.height;
  const d = aligned.data;
  const bgr = spec.channels === 'BGR';
  const [m0, m1, m2] = spec.mean, [s0, s1, s2] = spec.scale;
  // Source offsets (0 = R, 2 = B) of the tensor's planes 0 and 2.
  const c0 = bgr ? 2 : 0, c2 = bgr ? 0 : 2;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = (d[p + c0] - m0) * s0;
    out[plane + i] = (d[p + 1] - m1) * s1;
    out[2 * plane + i] = (d[p + c2] - m2) * s2;
  }
  return out;
}

/** A new L2-normalised copy; throws on a zero or non-finite vector. */
export function l2Normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error('cannot L2-normalise a zero or non-finite embedding');
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** Cosine similarity of two L2-normalised embeddings (their dot product). */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`embedding lengths differ: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Where the five points go in the aligned crop, and its size. */
export interface AlignmentTemplate {
  width: number;
  height: number;
  points: readonly Point[];
}

export interface Embedder {
  /** The manifest key. */
  readonly key: string;
  readonly dim: number;
  readonly template: AlignmentTemplate;
  /** L2-normalised embedding of a face aligned to `template` (a fresh array each time). */
  embed(aligned: RgbImage): Promise<{ embedding: Float32Array; preMs: number; runMs: number }>;
  close(): Promise<void>;
}

export class OnnxEmbedder implements Embedder {
  readonly dim: number;
  readonly template: AlignmentTemplate;
  private readonly input: Float32Array<ArrayBuffer>;
  private readonly spec: PlanarSpec;

  constructor(
    readonly key: string,
    private readonly entry: EmbedderModel,
    private readonly model: OrtModel,
  ) {
    const [w, h] = entry.alignment.size;
    if (entry.input.channels === 'GREY') throw new Error(`embedder ${key}: needs a colour input, the manifest says GREY`);
    this.spec = { channels: entry.input.channels, mean: entry.input.mean, scale: entry.input.scale };
    this.template = { width: w, height: h, points: entry.alignment.points };
    this.dim = entry.embedding.dim;
    this.input = new Float32Array(3 * w * h);
  }

  async embed(aligned: RgbImage): Promise<{ embedding: Float32Array; preMs: number; runMs: number }> {
    const { width: w, height: h } = this.template;
    if (aligned.width !== w || aligned.height !== h) throw new Error(`embedder ${this.key}: aligned face is ${aligned.width}x${aligned.height}, the model takes ${w}x${h}`);
    const t0 = performance.now();
    embedderInput(aligned, this.spec, this.input);
    const t1 = performance.now();
    const out = await this.model.session.run({ [this.entry.input.name]: new ort.Tensor('float32', this.input, [1, 3, h, w]) });
    const t2 = performance.now();
    const raw = out[this.entry.embedding.output].data as Float32Array;
    if (raw.length !== this.dim) throw new Error(`embedder ${this.key}: output '${this.entry.embedding.output}' has ${raw.length} values, the manifest says ${this.dim}`);
    return { embedding: l2Normalise(raw), preMs: t1 - t0, runMs: t2 - t1 };
  }

  close(): Promise<void> {
    return this.model.session.release();
  }
}
