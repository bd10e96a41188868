/**
 * Recognition by face quality (pure): genuine and impostor scores of degraded probe faces binned by
 * a quality measure (inter-ocular distance bands; sharpness bins), TAR and FMR per bin, detection
 * rate per target size, the gate where genuine matches collapse, and the calibration's quality
 * section. `lfr-edge eval quality` (src/commands/eval/quality.ts) feeds it.
 */
import { bandOf, countAtOrAbove, countDescAtOrAbove, type QualityBand, type ScoreDistribution } from '../recognition/calibration';
import { DistributionBuilder } from './distribution';
import { sortedDesc, tarAtFars, type FarNotReported, type FarOperatingPoint } from './roc';

/** Inter-ocular bands from ascending edges: [0, e0), [e0, e1), ..., [eN, inf). Names: iod-0-10, ..., iod-40-up. */
export function bandsFromEdges(edges: readonly number[]): QualityBand[] {
  if (edges.length === 0) throw new RangeError('quality bands need at least one inter-ocular edge');
  for (let i = 0; i < edges.length; i++) {
    if (!(edges[i] > 0) || !Number.isFinite(edges[i])) throw new RangeError(`band edge ${edges[i]} is not a positive number`);
    if (i > 0 && !(edges[i] > edges[i - 1])) throw new RangeError(`band edges must increase: ${edges[i - 1]} then ${edges[i]}`);
  }
  // Disjoint ranges: a face belongs to exactly one band.
  return [0, ...edges].map((lo, i) => {
    const hi = i < edges.length ? edges[i] : null;
    return { name: `iod-${lo}-${hi ?? 'up'}`, interOcularPx: [lo, hi] as [number, number | null], sharpness: [0, null] as [number, number | null] };
  });
}

/** A bin of some quality measure: half-open [lo, hi), hi null = no upper limit. */
export interface QualityBin {
  name: string;
  lo: number;
  hi: number | null;
}

export function binsFromEdges(edges: readonly number[], prefix: string): QualityBin[] {
  const lows = [0, ...edges];
  return lows.map((lo, i) => ({ name: `${prefix}-${lo}-${i < edges.length ? edges[i] : 'up'}`, lo, hi: i < edges.length ? edges[i] : null }));
}

const inBin = (b: QualityBin, x: number) => x >= b.lo && (b.hi === null || x < b.hi);

/** Genuine scores and the impostor distribution of one bin. */
class BinScores {
  readonly genuine: number[] = [];
  readonly impostor = new DistributionBuilder();
  probes = 0;
}

/** Scores per bin: a probe face with its measure, its mated score (if any) and its impostor scores. */
export class BinnedScores {
  private readonly scores = new Map<string, BinScores>();

  constructor(readonly bins: readonly QualityBin[]) {
    for (const b of bins) this.scores.set(b.name, new BinScores());
  }

  /** The bin of measure x (undefined: none). */
  binOf(x: number): string | undefined {
    return this.bins.find((b) => inBin(b, x))?.name;
  }

  add(x: number, genuine: number | undefined, impostors: ArrayLike<number>, skip = -1): string | undefined {
    const name = this.binOf(x);
    if (name === undefined) return undefined;
    const s = this.scores.get(name)!;
    s.probes++;
    if (genuine !== undefined) s.genuine.push(genuine);
    for (let i = 0; i < impostors.length; i++) if (i !== skip) s.impostor.add(impostors[i]);
    return name;
  }

  get(name: string): { genuine: number[]; impostor: ScoreDistribution; probes: number } {
    const s = this.scores.get(name);
    if (!s) throw new RangeError(`no bin '${name}'`);
    return { genuine: s.genuine, impostor: s.impostor.build(), probes: s.probes };
  }
}

export interface BinReport {
  name: string;
  lo: number;
  hi: number | null;
  /** Detected probe faces whose measure fell in this bin. */
  probes: number;
  genuine: number;
  impostor: number;
  /** TAR at the bin's own threshold for each FMR (what this quality could give on its own). */
  own: FarOperatingPoint[];
  ownNotReported: FarNotReported[];
  /** At the unit's thresholds (key: rate), when given: TAR and the FMR that holds in this bin. */
  atUnit: Record<string, { threshold: number; tar: number | null; fmr: number | null; falseMatches: number }>;
  /** Median genuine score (null: none). */
  genuineMedian: number | null;
}

/**
 * The report of one bin set. `unitThreshold(rate, bin)` is the threshold the unit would use for
 * this bin at per-comparison rate `rate` (e.g. thresholdFor with the band), or undefined to skip.
 */
export function binReports(
  scores: BinnedScores,
  fars: readonly number[],
  unitThreshold?: (far: number, bin: string) => number | undefined,
): BinReport[] {
  return scores.bins.map((b) => {
    const s = scores.get(b.name);
    const gen = sortedDesc(s.genuine);
    const { points, notReported } = tarAtFars(gen, s.impostor, fars);
    const atUnit: BinReport['atUnit'] = {};
    for (const far of fars) {
      const t = unitThreshold?.(far, b.name);
      if (t === undefined) continue;
      const fm = s.impostor.count ? countAtOrAbove(s.impostor, t).count : 0;
      atUnit[String(far)] = {
        threshold: t,
        tar: gen.length ? countDescAtOrAbove(gen, t) / gen.length : null,
        fmr: s.impostor.count ? fm / s.impostor.count : null,
        falseMatches: fm,
      };
    }
    return {
      name: b.name,
      lo: b.lo,
      hi: b.hi,
      probes: s.probes,
      genuine: gen.length,
      impostor: s.impostor.count,
      own: points,
      ownNotReported: notReported,
      atUnit,
      genuineMedian: gen.length ? gen[Math.floor(gen.length / 2)] : null,
    };
  });
}

/** Band edges of `bandsFromEdges` as bins (lowest first), for the reports. */
export function binsOfBands(bands: readonly QualityBand[]): QualityBin[] {
  return [...bands].map((b) => ({ name: b.name, lo: b.interOcularPx[0], hi: b.interOcularPx[1] })).sort((a, b) => a.lo - b.lo);
}

/** The band a face of this inter-ocular distance and sharpness belongs to (bands from `bandsFromEdges`). */
export function bandName(bands: readonly QualityBand[], interOcularPx: number, sharpness: number): string | undefined {
  return bandOf(bands, { interOcularPx, sharpness });
}

/** Detection of the degraded copies, per bin of the TARGET inter-ocular distance (what was pasted). */
export class DetectionCounts {
  private readonly counts = new Map<string, { copies: number; detected: number }>();
  constructor(readonly bins: readonly QualityBin[]) {
    for (const b of bins) this.counts.set(b.name, { copies: 0, detected: 0 });
  }
  add(targetIod: number, detected: boolean): void {
    const b = this.bins.find((x) => inBin(x, targetIod));
    if (!b) return;
    const c = this.counts.get(b.name)!;
    c.copies++;
    if (detected) c.detected++;
  }
  report(): { name: string; copies: number; detected: number; rate: number | null }[] {
    return this.bins.map((b) => {
      const c = this.counts.get(b.name)!;
      return { name: b.name, ...c, rate: c.copies ? c.detected / c.copies : null };
    });
  }
}

/**
 * The gate from the measurement: the lower edge of the lowest bin from which on every bin's TAR
 * (at the unit's threshold for `far`) is at least `minTar`: below it, a single frame matches its
 * mate less often than `minTar`. Null when no bin qualifies (or no TAR is known).
 */
export function gateFrom(reports: readonly BinReport[], far: number, minTar: number, minGenuine = 20): { gate: number | null; reason: string } {
  const key = String(far);
  const sorted = [...reports].sort((a, b) => a.lo - b.lo);
  let gate: number | null = null;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const r = sorted[i];
    const tar = r.atUnit[key]?.tar ?? null;
    if (r.genuine < minGenuine) {
      if (gate === null) continue; // an empty top bin (e.g. sizes never generated) decides nothing
      break;
    }
    if (tar === null || tar < minTar) break;
    gate = r.lo;
  }
  if (gate === null) return { gate, reason: `no bin reaches TAR ${fmtPct(minTar)} at FMR ${far} with at least ${minGenuine} genuine scores` };
  const below = sorted.filter((r) => r.lo < gate!).map((r) => `${r.name} ${fmtPct(r.atUnit[key]?.tar)}`);
  return { gate, reason: `lowest edge from which every bin has TAR >= ${fmtPct(minTar)} at FMR ${far}${below.length ? `; below it: ${below.join(', ')}` : ''}` };
}

const fmtPct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialAtLeast(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let term = Math.pow(1 - p, n); // P(X = 0)
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - below);
}

/**
 * The single-frame TAR at which a track of `frames` faces of that quality reaches `minFrames`
 * matching frames (the decision's evidence) with probability `odds`: below it a face of that
 * quality adds little to finding a suspect. Frames are taken as independent (optimistic for a
 * steady face, pessimistic for one that changes).
 */
export function trackMinTar(frames: number, minFrames: number, odds = 0.5): number {
  if (!(Number.isInteger(frames) && frames >= 1)) throw new RangeError(`frames per track must be a positive integer, got ${frames}`);
  if (!(Number.isInteger(minFrames) && minFrames >= 1)) throw new RangeError(`minFrames must be a positive integer, got ${minFrames}`);
  if (minFrames > frames) return 1;
  let lo = 0, hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialAtLeast(frames, minFrames, mid) >= odds) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The p-quantile of a list (nearest rank; null for an empty list). */
export function quantile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
