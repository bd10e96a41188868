/**
 * Every pair among a folder-per-person image set: genuine pairs (same person) kept whole, impostor
 * pairs (millions) summarised as they stream past. Pure apart from the CPU it burns.
 */
import { TAIL_MAX, type ScoreDistribution } from '../recognition/calibration';
import { DistributionBuilder, TopScores } from './distribution';
import type { PersonImages } from './identify';
import { EmbeddingMatrix } from './score-matrix';

/** The first `max` images (by name) of each person. */
export function capPerPerson(people: readonly PersonImages[], max: number): PersonImages[] {
  return people.map((p) => ({ person: p.person, images: [...p.images].sort().slice(0, max) }));
}

/** Rows grouped by person: person index of each row. */
export function personIndexOfRows(people: readonly PersonImages[]): Int32Array {
  const out = new Int32Array(people.reduce((n, p) => n + p.images.length, 0));
  let r = 0;
  people.forEach((p, k) => p.images.forEach(() => (out[r++] = k)));
  return out;
}

export function pairCounts(personOfRow: Int32Array): { genuine: number; impostor: number } {
  const sizes = new Map<number, number>();
  for (const p of personOfRow) sizes.set(p, (sizes.get(p) ?? 0) + 1);
  const n = personOfRow.length;
  let genuine = 0;
  for (const s of sizes.values()) genuine += (s * (s - 1)) / 2;
  return { genuine, impostor: (n * (n - 1)) / 2 - genuine };
}

/**
 * Visit every pair i < j once, a row at a time: `visit(i, scores)` gets the scores of row i against
 * rows i+1 .. N-1 (scores[k] is the pair (i, i+1+k)). Rows must be grouped by person.
 */
export function scanPairs(m: EmbeddingMatrix, visit: (i: number, scores: Float32Array) => void, onRow?: (i: number) => void): void {
  const out = new Float32Array(Math.max(1, m.rows));
  for (let i = 0; i < m.rows; i++) {
    visit(i, m.rowScores(i, i + 1, m.rows, out));
    onRow?.(i);
  }
}

export interface AllPairsScores {
  genuine: Float64Array;
  impostor: ScoreDistribution;
  /** Pairs in which at least one image had no face (scored -1). */
  detectionFailurePairs: { genuine: number; impostor: number };
  /** The highest-scoring impostor pairs (row indices): where label errors in a data set show up. */
  topImpostors: { i: number; j: number; score: number }[];
}

/**
 * All genuine and impostor scores. The impostor tail is kept exact down to `minFar` (so TAR at
 * that FAR is exact), and at least TAIL_MAX long for the calibration file.
 */
export function allPairsScores(m: EmbeddingMatrix, personOfRow: Int32Array, minFar = 1e-2, onRow?: (i: number) => void): AllPairsScores {
  const counts = pairCounts(personOfRow);
  const builder = new DistributionBuilder(Math.max(TAIL_MAX, Math.ceil(minFar * counts.impostor) + 1));
  const genuine = new Float64Array(counts.genuine);
  let g = 0;
  const failures = { genuine: 0, impostor: 0 };
  const top = new TopScores(20);
  scanPairs(
    m,
    (i, scores) => {
      const pi = personOfRow[i];
      for (let k = 0; k < scores.length; k++) {
        const j = i + 1 + k;
        const failed = !m.present[i] || !m.present[j];
        if (personOfRow[j] === pi) {
          genuine[g++] = scores[k];
          if (failed) failures.genuine++;
        } else {
          builder.add(scores[k]);
          top.push(scores[k], i, j);
          if (failed) failures.impostor++;
        }
      }
    },
    onRow,
  );
  const t = top.result();
  const topImpostors = Array.from(t.scores, (score, k) => ({ i: t.a[k], j: t.b[k], score }));
  return { genuine: genuine.sort().reverse(), impostor: builder.build(), detectionFailurePairs: failures, topImpostors };
}

/** The same distribution without the pairs that had no face (score -1, bottom bin): the unit never compares those. */
export function withoutDetectionFailures(d: ScoreDistribution, failurePairs: number): ScoreDistribution {
  if (failurePairs === 0) return d;
  const counts = [...d.histogram.counts];
  counts[0] -= failurePairs;
  let tail = d.tail;
  const firstFailure = tail.indexOf(-1);
  if (firstFailure >= 0) tail = tail.slice(0, Math.max(firstFailure, tail.length - failurePairs));
  return { count: d.count - failurePairs, histogram: { ...d.histogram, counts }, tail };
}
