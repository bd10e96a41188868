/**
 * Open-set 1:N identification on folder-per-person data (pure).
 *
 * Protocol: people with >= 2 images are enrolled with their first image (sorted by name); their
 * other images are mated searches; every image of a person with one image is a non-mated search.
 * With all-photo enrolment (`evaluateAllPhotoIdentification`) the searches and the people are the
 * same, only the enrolment differs: each person is one template, the mean of the flip-averaged
 * embeddings of all their photos except the one searched for (leave-one-out), as the unit enrols.
 * A search returns the top-1 enrolled person and its score.
 *   TPIR(t) = mated searches whose top-1 is the right person with score >= t / mated searches
 *   FPIR(t) = non-mated searches whose top-1 score >= t / non-mated searches
 * The threshold at FPIR f is the lowest t with FPIR(t) <= f, from the non-mated top-1 scores.
 * An image without a face (detection failure) scores -1: a mated search misses, a non-mated one
 * raises nothing. A person whose enrollment image has no face stays enrolled with no template, so
 * every one of their mated searches misses.
 */
import { thresholdForFmr } from '../recognition/calibration';
import { distributionOf } from './distribution';
import { rateKey } from './roc';
import { DETECTION_FAILURE_SCORE, EmbeddingMatrix } from './score-matrix';

export interface PersonImages {
  person: string;
  /** Sorted by name. */
  images: string[];
}

export interface IdentificationPlan {
  /** `image`: the enrolment photo (the first by name); `images`: all the person's photos, sorted. */
  gallery: { person: string; image: string; images: string[] }[];
  mated: { person: string; image: string }[];
  nonMated: { person: string; image: string }[];
}

export function planIdentification(people: readonly PersonImages[]): IdentificationPlan {
  const plan: IdentificationPlan = { gallery: [], mated: [], nonMated: [] };
  for (const p of people) {
    const images = [...p.images].sort();
    if (images.length >= 2) {
      plan.gallery.push({ person: p.person, image: images[0], images });
      for (const image of images.slice(1)) plan.mated.push({ person: p.person, image });
    } else if (images.length === 1) {
      plan.nonMated.push({ person: p.person, image: images[0] });
    }
  }
  return plan;
}

export interface IdentifyResult {
  enrolled: number;
  mated: number;
  nonMated: number;
  /** Mated searches whose top-1 is the right person (no threshold). */
  rank1: number;
  tpir: Record<string, number>;
  thresholds: Record<string, number>;
  /** FPIRs not reported, with the reason (too few non-mated searches). */
  notReported: { fpir: number; reason: string }[];
  /** Enrolled people whose enrollment image had no detectable face. */
  enrollmentFailures: number;
  /** Searches (mated + non-mated) whose image had no detectable face. */
  searchFailures: number;
}

export const DEFAULT_FPIRS = [1e-2, 1e-3] as const;

/**
 * First-photo enrolment: each person enrolled with their first photo. `enrolEmbeddingOf` gives the
 * enrolment photo's embedding (default: `embeddingOf`, the searches' kind; flip-averaged for
 * enrolment as the unit does it).
 */
export function evaluateIdentification(
  plan: IdentificationPlan,
  embeddingOf: (image: string) => Float32Array | undefined,
  fpirs: readonly number[] = DEFAULT_FPIRS,
  enrolEmbeddingOf: (image: string) => Float32Array | undefined = embeddingOf,
): IdentifyResult {
  const G = plan.gallery.length;
  if (G === 0) throw new RangeError('nobody to enroll: identification needs people with at least 2 images');
  const searches = [...plan.mated, ...plan.nonMated];
  const all = [...plan.gallery.map((g) => enrolEmbeddingOf(g.image)), ...searches.map((e) => embeddingOf(e.image))];
  const m = new EmbeddingMatrix(all);
  const out = new Float32Array(G);
  const top1 = (row: number): { index: number; score: number } => {
    if (!m.present[row]) return { index: -1, score: DETECTION_FAILURE_SCORE };
    const s = m.rowScores(row, 0, G, out);
    let index = -1;
    let score = DETECTION_FAILURE_SCORE;
    for (let g = 0; g < G; g++) {
      if (m.present[g] && s[g] > score) {
        score = s[g];
        index = g;
      }
    }
    return { index, score };
  };

  const matedCorrect: number[] = []; // scores of mated searches whose top-1 is right
  plan.mated.forEach((q, k) => {
    const r = top1(G + k);
    if (r.index >= 0 && plan.gallery[r.index].person === q.person) matedCorrect.push(r.score);
  });
  const nonMatedScores = plan.nonMated.map((_, k) => top1(G + plan.mated.length + k).score);
  return summarise(plan, matedCorrect, nonMatedScores, fpirs, {
    enrollmentFailures: plan.gallery.filter((_, g) => !m.present[g]).length,
    searchFailures: searches.filter((_, k) => !m.present[G + k]).length,
  });
}

/**
 * All-photo enrolment, leave-one-out: each person is one template, the L2-normalised mean of the
 * enrolment embeddings (`enrolEmbeddingOf`, flip-averaged) of all their photos; for a mated search
 * the searched photo is left out of its own person's template (a person with two photos is then
 * enrolled with the other one). Searches use `embeddingOf` (plain, as the live unit sees a face).
 * A person none of whose other photos has a face has no template for that search (it misses).
 */
export function evaluateAllPhotoIdentification(
  plan: IdentificationPlan,
  embeddingOf: (image: string) => Float32Array | undefined,
  enrolEmbeddingOf: (image: string) => Float32Array | undefined,
  fpirs: readonly number[] = DEFAULT_FPIRS,
): IdentifyResult {
  const G = plan.gallery.length;
  if (G === 0) throw new RangeError('nobody to enroll: identification needs people with at least 2 images');
  let dim = 0;
  // Per person: the sum of its enrolment embeddings (f64) and the normalised template of all of them.
  const sums: (Float64Array | undefined)[] = plan.gallery.map((g) => {
    let acc: Float64Array | undefined;
    for (const img of g.images) {
      const e = enrolEmbeddingOf(img);
      if (!e) continue;
      if (!acc) acc = new Float64Array((dim = e.length));
      else if (e.length !== acc.length) throw new RangeError(`embedding of ${img} has ${e.length} dimensions, expected ${acc.length}`);
      for (let i = 0; i < e.length; i++) acc[i] += e[i];
    }
    return acc;
  });
  const normalised = (v: Float64Array): Float32Array | undefined => {
    let n = 0;
    for (let i = 0; i < v.length; i++) n += v[i] * v[i];
    n = Math.sqrt(n);
    if (!(n > 1e-9)) return undefined;
    const o = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) o[i] = v[i] / n;
    return o;
  };
  const templates = sums.map((s) => (s ? normalised(s) : undefined));
  const searches = [...plan.mated, ...plan.nonMated];
  const queries = searches.map((q) => embeddingOf(q.image));
  if (dim === 0) dim = queries.find((q) => q)?.length ?? 0;
  const m = new EmbeddingMatrix([...templates, ...queries]);
  const out = new Float32Array(G);
  const galleryIndex = new Map(plan.gallery.map((g, i) => [g.person, i]));
  const top1 = (row: number, own?: { g: number; leftOut?: Float32Array }): { index: number; score: number } => {
    if (!m.present[row]) return { index: -1, score: DETECTION_FAILURE_SCORE };
    const s = m.rowScores(row, 0, G, out);
    if (own) {
      // The searched photo is not part of its own person's template.
      let score = DETECTION_FAILURE_SCORE;
      const sum = sums[own.g];
      if (sum) {
        const t = own.leftOut ? normalised(sum.map((v, i) => v - own.leftOut![i])) : templates[own.g];
        if (t) {
          const q = queries[row - G]!;
          let acc = 0;
          for (let i = 0; i < t.length; i++) acc += t[i] * q[i];
          score = acc;
        }
      }
      s[own.g] = score;
    }
    let index = -1;
    let score = DETECTION_FAILURE_SCORE;
    for (let g = 0; g < G; g++) {
      if ((m.present[g] || g === own?.g) && s[g] > score) {
        score = s[g];
        index = g;
      }
    }
    return { index, score };
  };
  const matedCorrect: number[] = [];
  let enrollmentFailures = 0;
  plan.mated.forEach((q, k) => {
    const g = galleryIndex.get(q.person);
    if (g === undefined) throw new RangeError(`mated search ${q.image}: ${q.person} is not enrolled`);
    const r = top1(G + k, { g, leftOut: enrolEmbeddingOf(q.image) });
    if (r.index === g && r.score > DETECTION_FAILURE_SCORE) matedCorrect.push(r.score);
  });
  for (let g = 0; g < G; g++) if (!templates[g]) enrollmentFailures++;
  const nonMatedScores = plan.nonMated.map((_, k) => top1(G + plan.mated.length + k).score);
  return summarise(plan, matedCorrect, nonMatedScores, fpirs, {
    enrollmentFailures,
    searchFailures: queries.filter((q) => !q).length,
  });
}

function summarise(
  plan: IdentificationPlan,
  matedCorrect: number[],
  nonMatedScores: number[],
  fpirs: readonly number[],
  failures: { enrollmentFailures: number; searchFailures: number },
): IdentifyResult {
  const result: IdentifyResult = {
    enrolled: plan.gallery.length,
    mated: plan.mated.length,
    nonMated: plan.nonMated.length,
    rank1: plan.mated.length ? matedCorrect.length / plan.mated.length : 0,
    tpir: {},
    thresholds: {},
    notReported: [],
    ...failures,
  };
  const dist = plan.nonMated.length ? distributionOf(nonMatedScores) : undefined;
  for (const f of fpirs) {
    if (!dist || f * dist.count < 1) {
      result.notReported.push({
        fpir: f,
        reason: `needs at least ${Math.ceil(1 / f)} non-mated searches to observe one false positive; there are ${plan.nonMated.length}`,
      });
      continue;
    }
    const t = thresholdForFmr(dist, f).threshold;
    result.thresholds[rateKey(f)] = t;
    result.tpir[rateKey(f)] = plan.mated.length ? matedCorrect.filter((s) => s >= t).length / plan.mated.length : 0;
  }
  return result;
}
