/**
 * Templates: one embedding standing for several of the same face, the (weighted) mean of
 * L2-normalised embeddings, L2-normalised again. Used for an enrolled subject (all its photos and
 * their mirror images) and for a track (its best frames). Pure.
 */

/** The weighted mean of equal-length embeddings, L2-normalised. Throws on no input, a length mismatch or a non-positive total weight. */
export function meanTemplate(embeddings: readonly Float32Array[], weights?: readonly number[]): Float32Array {
  if (embeddings.length === 0) throw new RangeError('a template needs at least one embedding');
  if (weights && weights.length !== embeddings.length) throw new RangeError(`template: ${weights.length} weights for ${embeddings.length} embeddings`);
  const dim = embeddings[0].length;
  const acc = new Float64Array(dim);
  let total = 0;
  embeddings.forEach((e, k) => {
    if (e.length !== dim) throw new RangeError(`template: embedding ${k} has ${e.length} dimensions, the first has ${dim}`);
    const w = weights ? weights[k] : 1;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`template: weight ${k} must be a finite number >= 0, got ${w}`);
    total += w;
    for (let i = 0; i < dim; i++) acc[i] += w * e[i];
  });
  if (!(total > 0)) throw new RangeError('template: the weights sum to 0');
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += acc[i] * acc[i];
  norm = Math.sqrt(norm);
  const out = new Float32Array(dim);
  if (norm > 0) for (let i = 0; i < dim; i++) out[i] = acc[i] / norm;
  acc.fill(0);
  return out;
}
