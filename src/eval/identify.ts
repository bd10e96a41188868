/**
 * Open-set 1:N identification on folder-per-person data (pure).
 *
 * Protocol: people with >= 2 images are enrolled with their first image (sorted by name); their
 * other images are mated searches; every image of a person with one image is a non-mated search.
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
  gallery: { person: string; image: string }[];
  mated: { person: string; image: string }[];
  nonMated: { person: string; image: string }[];
}

export function planIdentification(people: readonly PersonImages[]): IdentificationPlan {
  const plan: IdentificationPlan = { gallery: [], mated: [], nonMated: [] };
  for (const p of people) {
    const images = [...p.images].sort();
    if (images.length >= 2) {
      plan.gallery.push({ person: p.person, image: images[0] });
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

export function evaluateIdentification(
  plan: IdentificationPlan,
  embeddingOf: (image: string) => Float32Array | undefined,
  fpirs: readonly number[] = DEFAULT_FPIRS,
): IdentifyResult {
  const G = plan.gallery.length;
  if (G === 0) throw new RangeError('nobody to enroll: identification needs people with at least 2 images');
  const searches = [...plan.mated, ...plan.nonMated];
  const all = [...plan.gallery, ...searches].map((e) => embeddingOf(e.image));
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

  const result: IdentifyResult = {
    enrolled: G,
    mated: plan.mated.length,
    nonMated: plan.nonMated.length,
    rank1: plan.mated.length ? matedCorrect.length / plan.mated.length : 0,
    tpir: {},
    thresholds: {},
    notReported: [],
    enrollmentFailures: plan.gallery.filter((_, g) => !m.present[g]).length,
    searchFailures: searches.filter((_, k) => !m.present[G + k]).length,
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
