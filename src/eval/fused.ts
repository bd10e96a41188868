/**
 * Fused track templates on folder-per-person data (pure): the impostor distribution of fused
 * templates that calibrates the 'template' decision rule, and the genuine scores that measure K
 * and the weighting.
 *
 * Protocol, for every person with >= 2 images (sorted by name):
 * - enrolment: their first image, flip-averaged (as the unit enrols a photo);
 * - "track": their other images stand for a track's frames; its template is what the unit builds
 *   (track-template.ts: the best K by quality weight, weighted or uniform mean), from the plain
 *   embeddings (the live unit never flips);
 * - genuine: a person's track template against their own enrolment; impostor: against every other
 *   person's enrolment.
 * One enrolment photo, not all of them: a mean of several photos has a narrower impostor
 * distribution, so one photo gives the higher (safer) fused threshold. The unit's fused threshold is
 * never below its single-face one anyway (thresholdFor).
 */
import type { ScoreDistribution } from '../recognition/calibration';
import { thresholdForFmr } from '../recognition/calibration';
import { TrackTemplate, type TrackTemplateConfig } from '../recognition/track-template';
import type { FaceQuality } from '../vision/types';
import { DistributionBuilder } from './distribution';
import { rateKey } from './roc';
import { EmbeddingMatrix } from './score-matrix';

export interface FusedFace {
  embedding: Float32Array;
  quality: FaceQuality;
}

export interface FusedPerson {
  person: string;
  /** Sorted by name; the first is the enrolment photo. */
  images: string[];
}

export interface FusedMeasurement {
  frames: number;
  weighting: TrackTemplateConfig['weighting'];
  /** People with an enrolment face and at least one track face. */
  people: number;
  /** Mean number of embeddings fused per template. */
  meanFramesFused: number;
  impostor: ScoreDistribution;
  genuine: number[];
  /** TAR (genuine >= threshold) at each FMR of this impostor distribution, with the threshold. */
  tar: Record<string, number | null>;
  thresholds: Record<string, number | null>;
}

export const DEFAULT_FUSED_FMRS = [1e-2, 1e-3, 1e-4, 1e-5] as const;

export function measureFused(
  people: readonly FusedPerson[],
  plainOf: (image: string) => FusedFace | undefined,
  enrolOf: (image: string) => Float32Array | undefined,
  cfg: TrackTemplateConfig,
  fmrs: readonly number[] = DEFAULT_FUSED_FMRS,
): FusedMeasurement {
  const enrolled: Float32Array[] = [];
  const templates: Float32Array[] = [];
  let fusedTotal = 0;
  for (const p of people) {
    if (p.images.length < 2) continue;
    const e = enrolOf(p.images[0]);
    if (!e) continue;
    const t = new TrackTemplate(cfg);
    for (const img of p.images.slice(1)) {
      const f = plainOf(img);
      if (f) t.add(f.embedding, f.quality);
    }
    const tpl = t.template();
    if (!tpl) continue;
    enrolled.push(e);
    templates.push(Float32Array.from(tpl));
    fusedTotal += t.size;
    t.clear();
  }
  const n = enrolled.length;
  if (n < 2) throw new RangeError(`fused templates need at least 2 people with 2 or more usable images; there are ${n}`);
  const m = new EmbeddingMatrix([...enrolled, ...templates]);
  const out = new Float32Array(n);
  const impostor = new DistributionBuilder();
  const genuine: number[] = [];
  for (let a = 0; a < n; a++) {
    const s = m.rowScores(n + a, 0, n, out);
    for (let b = 0; b < n; b++) {
      if (b === a) genuine.push(s[b]);
      else impostor.add(s[b]);
    }
  }
  const dist = impostor.build();
  const tar: Record<string, number | null> = {};
  const thresholds: Record<string, number | null> = {};
  for (const f of fmrs) {
    const key = rateKey(f);
    if (f * dist.count < 1) {
      tar[key] = thresholds[key] = null;
      continue;
    }
    const t = thresholdForFmr(dist, f).threshold;
    thresholds[key] = t;
    tar[key] = genuine.filter((g) => g >= t).length / genuine.length;
  }
  return { frames: cfg.frames, weighting: cfg.weighting, people: n, meanFramesFused: fusedTotal / n, impostor: dist, genuine, tar, thresholds };
}
