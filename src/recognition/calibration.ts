/**
 * Calibration: a measured impostor score distribution (overall and, where demographic labels were
 * given, per group) turned into the operating threshold for a target false-alert rate at a given
 * watchlist size. Written by `lfr-edge eval ...`, read by the session at start.
 *
 * Version 2 adds, both optional:
 * - `quality`: quality bands (ranges of measured inter-ocular distance and sharpness) with the
 *   impostor distribution of single degraded faces in each band (`lfr-edge eval quality`): the
 *   threshold for a face in band b is also high enough for that band's impostors.
 * - `fused`: the impostor distribution of track templates (quality-weighted mean of a track's best
 *   `frames` embeddings), overall and per band of the template's best frame: a track's fused score
 *   is compared with the fused threshold.
 * A version-1 file (no bands, no fused data) still reads: every band then gets the overall threshold.
 *
 * Pure core (data in, data out), plus `readCalibrationFile()` as the one thin file adapter.
 *
 * A distribution is summarised by a histogram over [-1, 1] and the exact top scores (`tail`, sorted
 * descending). FMR(s) = (impostor scores >= s) / count. It is exact wherever the scores >= s all lie
 * in the tail, otherwise read from the histogram at bin resolution (0.001 with 2000 bins).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const HISTOGRAM_BINS = 2000;
export const TAIL_MAX = 10000;
/** A group decides the threshold only if at least this many false matches are expected at the target rate. */
export const DEFAULT_MIN_GROUP_EVENTS = 10;

export const HistogramSchema = z.strictObject({
  min: z.literal(-1),
  max: z.literal(1),
  bins: z.number().int().min(1),
  counts: z.array(z.number().int().min(0)),
});
export const ScoreDistributionSchema = z.strictObject({
  count: z.number().int().min(0),
  histogram: HistogramSchema,
  tail: z.array(z.number().min(-1.000001).max(1.000001)),
});
/** A half-open range [min, max) of a quality measure; max null = no upper limit. */
const RangeSchema = z.tuple([z.number().min(0), z.number().min(0).nullable()]);
export const QualityBandSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:-]{1,40}$/, 'band names are 1-40 letters, digits, "_", ".", ":" or "-"'),
  /** Inter-ocular distance in source pixels. */
  interOcularPx: RangeSchema,
  /** Variance of the Laplacian on the aligned 112x112 grey crop. */
  sharpness: RangeSchema,
});
export const QualityCalibrationSchema = z.strictObject({
  /** Bands in order; a face belongs to the first band whose ranges hold it. */
  bands: z.array(QualityBandSchema).min(1),
  /** Impostor scores of single faces in each band (key: band name). */
  impostor: z.record(z.string(), ScoreDistributionSchema),
  source: z.record(z.string(), z.unknown()).optional(),
});
export const FusedCalibrationSchema = z.strictObject({
  /** Embeddings fused into a track template (the best `frames` of the track). */
  frames: z.number().int().min(1),
  /** How the embeddings are weighted in the mean. */
  weighting: z.enum(['uniform', 'quality']),
  impostor: ScoreDistributionSchema,
  /** Per band of the template's best frame (key: band name of `quality.bands`). */
  bands: z.record(z.string(), ScoreDistributionSchema).optional(),
  source: z.record(z.string(), z.unknown()).optional(),
});
export const CalibrationSchema = z.strictObject({
  v: z.union([z.literal(1), z.literal(2)]),
  model: z.strictObject({ embedderSha256: z.string() }),
  createdAt: z.string(),
  source: z.record(z.string(), z.unknown()),
  impostor: ScoreDistributionSchema,
  groups: z.record(z.string(), ScoreDistributionSchema).optional(),
  quality: QualityCalibrationSchema.optional(),
  fused: FusedCalibrationSchema.optional(),
});

export type ScoreHistogram = z.infer<typeof HistogramSchema>;
export type ScoreDistribution = z.infer<typeof ScoreDistributionSchema>;
export type Calibration = z.infer<typeof CalibrationSchema>;
export type QualityBand = z.infer<typeof QualityBandSchema>;
export type QualityCalibration = z.infer<typeof QualityCalibrationSchema>;
export type FusedCalibration = z.infer<typeof FusedCalibrationSchema>;

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** Validate parsed JSON as a calibration file; `source` names it in errors. */
export function parseCalibration(raw: unknown, source: string): Calibration {
  const parsed = CalibrationSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new CalibrationError(`calibration ${source} is malformed: ${issues}; regenerate it with 'lfr-edge eval verify ... --calibration-out FILE'`);
  }
  const cal = parsed.data;
  const named: [string, ScoreDistribution][] = [
    ['impostor', cal.impostor],
    ...Object.entries(cal.groups ?? {}).map(([k, v]) => [`groups.${k}`, v] as [string, ScoreDistribution]),
    ...Object.entries(cal.quality?.impostor ?? {}).map(([k, v]) => [`quality.impostor.${k}`, v] as [string, ScoreDistribution]),
    ...(cal.fused ? [['fused.impostor', cal.fused.impostor] as [string, ScoreDistribution]] : []),
    ...Object.entries(cal.fused?.bands ?? {}).map(([k, v]) => [`fused.bands.${k}`, v] as [string, ScoreDistribution]),
  ];
  for (const [name, d] of named) checkDistribution(d, `calibration ${source}: ${name}`);
  const bandNames = new Set<string>();
  for (const b of cal.quality?.bands ?? []) {
    if (bandNames.has(b.name)) throw new CalibrationError(`calibration ${source}: quality band '${b.name}' is defined twice`);
    bandNames.add(b.name);
    for (const [m, r] of [['interOcularPx', b.interOcularPx], ['sharpness', b.sharpness]] as const) {
      if (r[1] !== null && !(r[1] > r[0])) throw new CalibrationError(`calibration ${source}: quality band '${b.name}' has an empty ${m} range [${r[0]}, ${r[1]})`);
    }
  }
  for (const k of [...Object.keys(cal.quality?.impostor ?? {}), ...Object.keys(cal.fused?.bands ?? {})]) {
    if (!bandNames.has(k)) throw new CalibrationError(`calibration ${source}: distribution for quality band '${k}', which quality.bands does not define`);
  }
  return cal;
}

function checkDistribution(d: ScoreDistribution, what: string): void {
  if (d.histogram.counts.length !== d.histogram.bins) {
    throw new CalibrationError(`${what}: histogram has ${d.histogram.counts.length} counts for ${d.histogram.bins} bins`);
  }
  const total = d.histogram.counts.reduce((a, b) => a + b, 0);
  if (total !== d.count) throw new CalibrationError(`${what}: histogram counts sum to ${total}, count says ${d.count}`);
  if (d.tail.length > d.count) throw new CalibrationError(`${what}: tail holds ${d.tail.length} scores, more than count ${d.count}`);
  for (let i = 1; i < d.tail.length; i++) {
    if (d.tail[i] > d.tail[i - 1]) throw new CalibrationError(`${what}: tail is not sorted in descending order at index ${i}`);
  }
}

export function readCalibrationFile(file: string): Calibration {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CalibrationError(`cannot read calibration ${file}: ${(err as Error).message}`);
  }
  return parseCalibration(raw, file);
}

/** A calibration is only valid for the embedding model it was measured with. */
export function checkCalibrationModel(cal: Calibration, embedderSha256: string, source = 'file'): void {
  if (cal.model.embedderSha256 !== embedderSha256) {
    throw new CalibrationError(
      `calibration ${source} was measured with embedder ${cal.model.embedderSha256}, the installed embedder is ${embedderSha256}; make its calibration with 'lfr-edge calibrate --images DIR --demographics CSV --out FILE --report report.html'`,
    );
  }
}

// --- distribution maths ---------------------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
/** The smallest double greater than x. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  u64[0] = x > 0 ? u64[0] + 1n : u64[0] - 1n;
  return f64[0];
}

export function binOf(h: Pick<ScoreHistogram, 'min' | 'max' | 'bins'>, score: number): number {
  const i = Math.floor(((score - h.min) / (h.max - h.min)) * h.bins);
  return i < 0 ? 0 : i >= h.bins ? h.bins - 1 : i;
}

export function binEdge(h: Pick<ScoreHistogram, 'min' | 'max' | 'bins'>, i: number): number {
  return h.min + ((h.max - h.min) * i) / h.bins;
}

/** Number of scores in a descending array that are >= s (binary search). */
export function countDescAtOrAbove(desc: ArrayLike<number>, s: number): number {
  let lo = 0;
  let hi = desc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (desc[mid] >= s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Impostor scores >= s: exact when s is above the lowest tail score (or the tail is complete). */
export function countAtOrAbove(d: ScoreDistribution, s: number): { count: number; exact: boolean } {
  const tail = d.tail;
  if (tail.length === d.count || (tail.length > 0 && s > tail[tail.length - 1])) {
    return { count: countDescAtOrAbove(tail, s), exact: true };
  }
  const h = d.histogram;
  const i = binOf(h, s);
  let c = 0;
  for (let j = i; j < h.bins; j++) c += h.counts[j];
  // Bin i holds scores below s too: counting all of it keeps the estimate on the safe side.
  return { count: Math.max(c, tail.length), exact: s === binEdge(h, i) };
}

export function fmrAt(d: ScoreDistribution, s: number): number {
  return d.count === 0 ? 0 : countAtOrAbove(d, s).count / d.count;
}

export interface FmrThreshold {
  /** The lowest score s (match when score >= s) with FMR(s) <= the target. */
  threshold: number;
  /** False matches allowed at the target: floor(target * count). */
  allowed: number;
  /** True when read from the exact tail; false when read from the histogram (bin resolution). */
  exact: boolean;
  /** True when target * count < 1: the data cannot resolve the rate; the threshold is just above the highest impostor score seen. */
  resolutionLimited: boolean;
}

/** The lowest threshold whose false-match rate on this distribution is at most `target`. */
export function thresholdForFmr(d: ScoreDistribution, target: number): FmrThreshold {
  if (!(target > 0)) throw new RangeError(`target false-match rate must be > 0, got ${target}`);
  if (d.count === 0) throw new CalibrationError('cannot choose a threshold from an empty impostor distribution');
  const allowed = Math.floor(target * d.count + 1e-9);
  const resolutionLimited = target * d.count < 1;
  if (allowed >= d.count) return { threshold: -1, allowed, exact: true, resolutionLimited };
  if (allowed < d.tail.length) {
    return { threshold: nextUp(d.tail[allowed]), allowed, exact: true, resolutionLimited };
  }
  if (d.tail.length === d.count) return { threshold: -1, allowed, exact: true, resolutionLimited };
  // From the histogram: the lowest bin edge with at most `allowed` scores at or above it.
  const h = d.histogram;
  let above = 0;
  let i = h.bins;
  while (i > 0 && above + h.counts[i - 1] <= allowed) {
    above += h.counts[i - 1];
    i--;
  }
  return { threshold: binEdge(h, i), allowed, exact: false, resolutionLimited };
}

// --- the operating threshold ----------------------------------------------------------------

/** Per-comparison FMR so that a non-watchlist face passes against N subjects with probability `rate`. */
export function perComparisonFmr(falseAlertRate: number, watchlistSize: number): number {
  return -Math.expm1(Math.log1p(-falseAlertRate) / watchlistSize);
}

export interface ThresholdRequest {
  /** Target probability that a face not on the watchlist raises an alert. */
  falseAlertRate: number;
  watchlistSize: number;
  /** A group (or band) takes part only if count * perComparisonFmr >= this (default 10). */
  minGroupEvents?: number;
  /** The quality band of the face (or of a template's best frame): its impostors must hold the rate too. */
  band?: string;
  /** A track template's fused score (calibrated on fused templates) rather than a single frame's. */
  fused?: boolean;
}

export interface ThresholdDecision {
  threshold: number;
  perComparisonFmr: number;
  /**
   * What set the threshold: 'overall', a group key (e.g. "race=african"), 'band=<name>',
   * 'fused' or 'fused band=<name>'.
   */
  decidingGroup?: string;
  /** Groups with enough impostor pairs to be measured at this rate. */
  groupsConsidered: string[];
  /** Groups with too few impostor pairs to be measured at this rate (they cannot decide). */
  groupsTooSmall: string[];
  /** True when even the overall distribution is too small for the rate (threshold just above its highest impostor score). */
  resolutionLimited: boolean;
  /** The band asked for, when the calibration defines it. */
  band?: string;
  /**
   * How the band's (or the fused) distribution took part: 'measured' (enough events at this rate),
   * 'too-small' (too few: its highest impostor scores still count, the threshold is at least just above
   * the ones allowed), 'none' (the calibration has no such data: the overall threshold).
   */
  bandData?: 'measured' | 'too-small' | 'none';
}

/**
 * The lowest score s at which the impostor FMR is at most the per-comparison rate for the overall
 * distribution AND every group with enough events: the worst measured group decides, not the average.
 * With a band (and/or fused), s is also at least that band's (fused) threshold: the rate holds for
 * faces of that quality too. A band or fused distribution with too few impostors for the rate still
 * raises the threshold to just above its allowed top scores (never lowers it).
 */
export function thresholdFor(cal: Calibration, req: ThresholdRequest): ThresholdDecision {
  const { falseAlertRate, watchlistSize } = req;
  if (!(falseAlertRate > 0 && falseAlertRate < 1)) {
    throw new RangeError(`falseAlertRate must be between 0 and 1 (exclusive), got ${falseAlertRate}`);
  }
  if (!Number.isInteger(watchlistSize) || watchlistSize < 1) {
    throw new RangeError(`watchlistSize must be a positive integer, got ${watchlistSize}`);
  }
  const minEvents = req.minGroupEvents ?? DEFAULT_MIN_GROUP_EVENTS;
  const p = perComparisonFmr(falseAlertRate, watchlistSize);
  const overall = thresholdForFmr(cal.impostor, p);
  let threshold = overall.threshold;
  let decidingGroup = 'overall';
  const groupsConsidered: string[] = [];
  const groupsTooSmall: string[] = [];
  for (const key of Object.keys(cal.groups ?? {}).sort()) {
    const g = cal.groups![key];
    if (g.count * p < minEvents) {
      groupsTooSmall.push(key);
      continue;
    }
    groupsConsidered.push(key);
    const t = thresholdForFmr(g, p).threshold;
    if (t > threshold) {
      threshold = t;
      decidingGroup = key;
    }
  }
  const out: ThresholdDecision = { threshold, perComparisonFmr: p, decidingGroup, groupsConsidered, groupsTooSmall, resolutionLimited: overall.resolutionLimited };
  if (req.band === undefined && !req.fused) return out;
  const known = req.band !== undefined && (cal.quality?.bands ?? []).some((b) => b.name === req.band);
  if (known) out.band = req.band;
  // The distribution that speaks for this band: fused templates of the band, else fused overall
  // (fused), or the band's single faces.
  let dist: ScoreDistribution | undefined;
  let label = '';
  if (req.fused) {
    const byBand = known ? cal.fused?.bands?.[req.band!] : undefined;
    if (byBand && byBand.count * p >= minEvents) [dist, label] = [byBand, `fused band=${req.band}`];
    else if (cal.fused) [dist, label] = [cal.fused.impostor, 'fused'];
  } else if (known) {
    const d = cal.quality?.impostor[req.band!];
    if (d) [dist, label] = [d, `band=${req.band}`];
  }
  if (!dist || dist.count === 0) {
    out.bandData = 'none';
    return out;
  }
  out.bandData = dist.count * p >= minEvents ? 'measured' : 'too-small';
  const t = thresholdForFmr(dist, p).threshold;
  if (t > out.threshold) {
    out.threshold = t;
    out.decidingGroup = label;
  }
  return out;
}

/** The first band whose ranges hold this quality (undefined: none does, or no bands). */
export function bandOf(bands: readonly QualityBand[] | undefined, q: { interOcularPx: number; sharpness: number }): string | undefined {
  const inRange = (r: readonly [number, number | null], x: number) => x >= r[0] && (r[1] === null || x < r[1]);
  return bands?.find((b) => inRange(b.interOcularPx, q.interOcularPx) && inRange(b.sharpness, q.sharpness))?.name;
}

/** Thresholds for every band, single frames and fused templates: what a session computes once at start. */
export interface ThresholdTable {
  /** The threshold with no band (a face outside every band, or a calibration without bands). */
  base: ThresholdDecision;
  /** Fused templates with no band. */
  fused: ThresholdDecision;
  bands: { name: string; single: ThresholdDecision; fused: ThresholdDecision }[];
  /** The band definitions, to classify faces. */
  bandDefs: QualityBand[];
}

export function thresholdTable(cal: Calibration, req: Omit<ThresholdRequest, 'band' | 'fused'>): ThresholdTable {
  const bandDefs = cal.quality?.bands ?? [];
  return {
    base: thresholdFor(cal, req),
    fused: thresholdFor(cal, { ...req, fused: true }),
    bands: bandDefs.map((b) => ({ name: b.name, single: thresholdFor(cal, { ...req, band: b.name }), fused: thresholdFor(cal, { ...req, band: b.name, fused: true }) })),
    bandDefs,
  };
}
