/** Embedding model (fr_feature.onnx): aligned 112x112 face in BGR planar, (v-127)/128; L2-normalised output. */
import type { RgbImage } from './types';

/** Aligned RGB crop -> [1,3,112,112] BGR planar float, (v - 127) / 128. */
export function embedderInput(aligned: RgbImage, out = new Float32Array(3 * aligned.width * aligned.height)): Float32Array {
  const plane = aligned.width * aligned.height;
  const d = aligned.data;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = (d[p + 2] - 127) / 128; // B
    out[plane + i] = (d[p + 1] - 127) / 128; // G
    out[2 * plane + i] = (d[p] - 127) / 128; // R
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
