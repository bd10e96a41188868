/** Synthetic embeddings for the eval tests (seeded, so every run is the same). */
import { seededRandom } from '../../src/eval/bootstrap';

export function gaussian(rnd: () => number): number {
  const u = 1 - rnd();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
}

/**
 * `people` identities; each image = identity + noise (+ `groupPull` times a direction shared by
 * everyone in the same group), L2-normalised.
 */
export function syntheticPeople(opts: { people: number; imagesPerPerson: (p: number) => number; dim?: number; noise?: number; seed: number; groupOf?: (p: number) => string | undefined; groupPull?: Record<string, number> }) {
  const dim = opts.dim ?? 64;
  const rnd = seededRandom(opts.seed);
  const vec = () => Float32Array.from({ length: dim }, () => gaussian(rnd));
  const groupDir = new Map<string, Float32Array>();
  const out: { person: string; image: string; embedding: Float32Array; group?: string }[] = [];
  for (let p = 0; p < opts.people; p++) {
    const id = normalise(vec());
    const group = opts.groupOf?.(p);
    const pull = group ? (opts.groupPull?.[group] ?? 0) : 0;
    if (group && !groupDir.has(group)) groupDir.set(group, normalise(vec()));
    for (let k = 0; k < opts.imagesPerPerson(p); k++) {
      const noise = normalise(vec());
      const e = id.map((x, i) => x + (opts.noise ?? 0.6) * noise[i] + (group ? pull * groupDir.get(group)![i] : 0));
      const person = `p${String(p).padStart(3, '0')}`;
      out.push({ person, image: `${person}/${person}_${String(k + 1).padStart(4, '0')}.jpg`, embedding: normalise(Float32Array.from(e)), group });
    }
  }
  return out;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
