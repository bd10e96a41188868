/** Writing the calibration file that `eval` produces (the format is owned by recognition/calibration.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCalibration, type Calibration, type ScoreDistribution } from '../recognition/calibration';
import { withoutDetectionFailures } from './all-pairs';
import { forCalibrationFile } from './distribution';

export interface MeasuredDistribution {
  dist: ScoreDistribution;
  /** Pairs with an image where no face was found (score -1): left out of the calibration, the unit never compares those. */
  failurePairs: number;
}

export function buildCalibration(opts: {
  embedderSha256: string;
  createdAt: Date;
  source: Record<string, unknown>;
  impostor: MeasuredDistribution;
  groups?: Map<string, MeasuredDistribution>;
}): Calibration {
  const clean = (m: MeasuredDistribution) => forCalibrationFile(withoutDetectionFailures(m.dist, m.failurePairs));
  const cal: Calibration = {
    v: 1,
    model: { embedderSha256: opts.embedderSha256 },
    createdAt: opts.createdAt.toISOString(),
    source: opts.source,
    impostor: clean(opts.impostor),
  };
  if (opts.groups && opts.groups.size) {
    cal.groups = Object.fromEntries([...opts.groups].filter(([, m]) => m.dist.count - m.failurePairs > 0).map(([k, m]) => [k, clean(m)]));
  }
  return parseCalibration(cal, 'about to be written'); // never write a file the unit would refuse
}

/**
 * A calibration with its `fused` section set (replaced) from a measured fused-template impostor
 * distribution; everything else of `base` is kept. Version 2 (the fused section needs it).
 */
export function buildFusedCalibration(
  base: Calibration,
  fused: { frames: number; weighting: 'uniform' | 'quality'; impostor: ScoreDistribution; source: Record<string, unknown> },
): Calibration {
  const cal: Calibration = {
    ...base,
    v: 2,
    fused: { frames: fused.frames, weighting: fused.weighting, impostor: forCalibrationFile(fused.impostor), source: fused.source },
  };
  return parseCalibration(cal, 'about to be written');
}

export function writeCalibrationFile(file: string, cal: Calibration): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, JSON.stringify(cal) + '\n');
}

/**
 * A calibration with its quality section replaced (version 2). `fused.bands` entries for bands the
 * new section does not define are dropped (they would no longer be read); the caller is told which.
 */
export function withQuality(cal: Calibration, quality: NonNullable<Calibration['quality']>): { cal: Calibration; droppedFusedBands: string[] } {
  const names = new Set(quality.bands.map((b) => b.name));
  const next: Calibration = { ...cal, v: 2, quality: { ...quality, impostor: Object.fromEntries(Object.entries(quality.impostor).map(([k, d]) => [k, forCalibrationFile(d)])) } };
  const dropped: string[] = [];
  if (cal.fused?.bands) {
    const kept = Object.fromEntries(Object.entries(cal.fused.bands).filter(([k]) => names.has(k) || (dropped.push(k), false)));
    next.fused = { ...cal.fused, bands: kept };
    if (Object.keys(kept).length === 0) delete next.fused.bands;
  }
  return { cal: parseCalibration(next, 'about to be written'), droppedFusedBands: dropped };
}
