/**
 * Verification maths on genuine / impostor score sets (pure): TAR at fixed FARs with the threshold
 * for each, ROC points, and the LFW 10-fold accuracy protocol.
 *
 * Convention everywhere: a pair is accepted (a match) when score >= threshold.
 */
import {
  countDescAtOrAbove,
  thresholdForFmr,
  type ScoreDistribution,
} from '../recognition/calibration';

/** "1e-3" for 0.001: the JSON key of a rate. */
export function rateKey(rate: number): string {
  const [m, e] = rate.toExponential().split('e');
  return `${m}e${Number(e)}`;
}

export function sortedDesc(scores: ArrayLike<number>): Float64Array {
  return Float64Array.from(scores).sort().reverse();
}

export interface FarOperatingPoint {
  far: number;
  threshold: number;
  tar: number;
  /** False accepts behind the FAR (floor(far * impostors)). */
  falseAccepts: number;
  /** False when the threshold was read from a histogram (bin resolution) rather than exact scores. */
  exact: boolean;
}

export interface FarNotReported {
  far: number;
  reason: string;
}

/**
 * TAR and threshold at each FAR. A FAR below 1 / (number of impostor pairs) is not reported: with
 * fewer impostor pairs than 1/FAR, not a single false accept can be observed, so any threshold
 * above the highest impostor score "achieves" it and the figure would be meaningless.
 */
export function tarAtFars(
  genuineDesc: Float64Array,
  impostor: ScoreDistribution,
  fars: readonly number[],
): { points: FarOperatingPoint[]; notReported: FarNotReported[] } {
  const points: FarOperatingPoint[] = [];
  const notReported: FarNotReported[] = [];
  for (const far of fars) {
    if (far * impostor.count < 1) {
      notReported.push({
        far,
        reason: `needs at least ${Math.ceil(1 / far)} impostor pairs to observe one false accept; there are ${impostor.count}`,
      });
      continue;
    }
    const t = thresholdForFmr(impostor, far);
    const tar = genuineDesc.length === 0 ? 0 : countDescAtOrAbove(genuineDesc, t.threshold) / genuineDesc.length;
    points.push({ far, threshold: t.threshold, tar, falseAccepts: t.allowed, exact: t.exact });
  }
  return { points, notReported };
}

export interface RocPoint {
  far: number;
  tar: number;
  threshold: number;
}

/** ROC points at log-spaced FARs from 1/impostors up to 1 (for charts). */
export function rocCurve(genuineDesc: Float64Array, impostor: ScoreDistribution, pointsPerDecade = 10): RocPoint[] {
  if (impostor.count === 0) return [];
  const lo = Math.log10(1 / impostor.count);
  const out: RocPoint[] = [];
  const steps = Math.max(1, Math.ceil(-lo * pointsPerDecade));
  for (let i = 0; i <= steps; i++) {
    const far = Math.pow(10, lo + ((0 - lo) * i) / steps);
    const t = thresholdForFmr(impostor, Math.min(far, 1));
    const tar = genuineDesc.length === 0 ? 0 : countDescAtOrAbove(genuineDesc, t.threshold) / genuineDesc.length;
    out.push({ far: Math.max(t.allowed, 1) / impostor.count, tar, threshold: t.threshold });
  }
  return out;
}

// --- LFW 10-fold accuracy -------------------------------------------------------------------

/**
 * Fold of each pair, LFW style: matched and mismatched pairs are each cut, in file order, into
 * `k` consecutive chunks; fold i is matched chunk i + mismatched chunk i. On the standard LFW
 * `pairs.txt` (10 sets of 300 matched then 300 mismatched) these are exactly its 10 sets; on a
 * file with all matched pairs first (pairsDevTrain.txt) every fold is still balanced.
 */
export function lfwFolds(same: readonly boolean[], k = 10): Int32Array {
  const fold = new Int32Array(same.length);
  for (const want of [true, false]) {
    const idx: number[] = [];
    same.forEach((s, i) => {
      if (s === want) idx.push(i);
    });
    idx.forEach((pairIndex, j) => {
      fold[pairIndex] = Math.floor((j * k) / idx.length);
    });
  }
  return fold;
}

/** The threshold that maximises accuracy on the given pairs (midpoint between neighbouring scores). */
export function bestThreshold(scores: ArrayLike<number>, same: readonly boolean[], indices: readonly number[]): { threshold: number; accuracy: number } {
  const order = [...indices].sort((x, y) => scores[x] - scores[y]);
  const n = order.length;
  if (n === 0) return { threshold: 0, accuracy: 0 };
  // Threshold below everything: every pair accepted.
  let correct = order.reduce((c, i) => c + (same[i] ? 1 : 0), 0);
  let best = correct;
  let bestT = scores[order[0]] - 1e-6;
  for (let j = 0; j < n; j++) {
    // Move pair order[j] below the threshold (rejected).
    correct += same[order[j]] ? -1 : 1;
    const next = j + 1 < n ? scores[order[j + 1]] : undefined;
    if (next !== undefined && next === scores[order[j]]) continue; // ties move together
    if (correct > best) {
      best = correct;
      bestT = next === undefined ? scores[order[j]] + 1e-6 : (scores[order[j]] + next) / 2;
    }
  }
  return { threshold: bestT, accuracy: best / n };
}

export interface TenFoldResult {
  folds: { threshold: number; accuracy: number; pairs: number }[];
  /** Mean test-fold accuracy. */
  accuracy: number;
  /** Population standard deviation over folds (as the usual LFW scripts: numpy std). */
  std: number;
  /** Mean of the per-fold thresholds. */
  threshold: number;
}

/** LFW protocol: for each fold, the best threshold on the other 9 folds, accuracy on this one. */
export function tenFoldAccuracy(scores: ArrayLike<number>, same: readonly boolean[], k = 10): TenFoldResult {
  if (scores.length !== same.length) throw new RangeError('scores and labels differ in length');
  const fold = lfwFolds(same, k);
  const folds: TenFoldResult['folds'] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < same.length; i++) (fold[i] === f ? test : train).push(i);
    if (test.length === 0) continue;
    const { threshold } = bestThreshold(scores, same, train);
    let correct = 0;
    for (const i of test) if ((scores[i] >= threshold) === same[i]) correct++;
    folds.push({ threshold, accuracy: correct / test.length, pairs: test.length });
  }
  const accs = folds.map((f) => f.accuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / Math.max(1, accs.length);
  const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length));
  const threshold = folds.reduce((a, f) => a + f.threshold, 0) / Math.max(1, folds.length);
  return { folds, accuracy: mean, std, threshold };
}
