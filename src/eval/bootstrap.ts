/**
 * Intervals for a false-match rate by resampling PEOPLE (not pairs): pairs that share a person are
 * not independent, and resampling people keeps that dependence. Pure; the RNG is seeded, so a
 * report is reproducible.
 */

/** mulberry32: a small, fast, seedable PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of a string (FNV-1a), to derive per-figure seeds from one seed. */
export function hashSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface PeoplePairs {
  /** Images of each person (in the group). Impostor pairs between a and b: n[a] * n[b]. */
  imagesPerPerson: ArrayLike<number>;
  /** The person indices (a, b), a != b, of every false match (one entry per image pair). */
  falseMatches: ReadonlyArray<readonly [number, number]>;
}

export interface RateInterval {
  lo: number;
  hi: number;
  method: 'bootstrap-people' | 'clopper-pearson-zero';
}

/** Two-sided 95% upper bound for a rate with zero events in n trials (exact binomial). */
export function zeroEventUpper(n: number, alpha = 0.05): number {
  return n > 0 ? 1 - Math.pow(alpha / 2, 1 / n) : 1;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * 95% percentile-bootstrap interval of FMR = false matches / impostor pairs, resampling people with
 * replacement. With zero observed false matches every resample is 0 too, which says nothing: then
 * the upper bound is the exact binomial one (treating pairs as independent, which is optimistic).
 */
export function bootstrapFmrInterval(data: PeoplePairs, opts: { replicates: number; random: () => number; level?: number }): RateInterval {
  const n = data.imagesPerPerson;
  const m = n.length;
  let pairs = 0;
  let sum = 0;
  for (let a = 0; a < m; a++) {
    pairs += sum * n[a];
    sum += n[a];
  }
  const alpha = 1 - (opts.level ?? 0.95);
  if (data.falseMatches.length === 0) return { lo: 0, hi: zeroEventUpper(pairs, alpha), method: 'clopper-pearson-zero' };
  const w = new Float64Array(m);
  const rates = new Float64Array(opts.replicates);
  let kept = 0;
  for (let r = 0; r < opts.replicates; r++) {
    w.fill(0);
    for (let k = 0; k < m; k++) w[Math.floor(opts.random() * m)]++;
    let s = 0;
    let s2 = 0;
    for (let a = 0; a < m; a++) {
      const x = w[a] * n[a];
      s += x;
      s2 += x * x;
    }
    const denom = (s * s - s2) / 2;
    if (denom <= 0) continue;
    let num = 0;
    for (const [a, b] of data.falseMatches) num += w[a] * w[b];
    rates[kept++] = num / denom;
  }
  const sorted = rates.subarray(0, kept).sort();
  return { lo: quantile(sorted, alpha / 2), hi: quantile(sorted, 1 - alpha / 2), method: 'bootstrap-people' };
}
