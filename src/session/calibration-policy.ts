/**
 * The calibration policy: what a calibration must contain before a session may start (the
 * embedder it was measured with, the demographic groups it covers with enough impostor pairs, its
 * age), and what a session states about it: per group, the false-match rate at the session's
 * operating threshold with a 95% interval, so anyone reading a record sees for whom the stated
 * rate was measured.
 *
 * Pure (data in, data out) apart from `loadCalibrationForSession`, the one file adapter.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import {
  CalibrationError, countAtOrAbove, DEFAULT_MIN_GROUP_EVENTS, readCalibrationFile, thresholdTable, type Calibration, type ScoreDistribution,
} from '../recognition/calibration';

const GROUP_KEY = /^[^=,\s]+=[^=,]+(,[^=,\s]+=[^=,]+)*$/;

export const CalibrationPolicySchema = z.strictObject({
  /**
   * Demographic groups the calibration must hold, as its group keys: "sex=F", "race=african",
   * "race=african,sex=F" (attribute=value, the CSV's column names and values). Default none.
   */
  requiredGroups: z.array(z.string().regex(GROUP_KEY, 'a group key is attribute=value[,attribute=value], e.g. "sex=F" or "race=african,sex=F"')).default([]),
  /** Each required group must rest on at least this many impostor pairs. Default 1000. */
  minImpostorPairsPerGroup: z.number().int().min(1).default(1000),
  /** The calibration may be at most this many days old (from its createdAt); null: no limit (default). */
  maxAgeDays: z.number().positive().nullable().default(null),
});
export type CalibrationPolicy = z.infer<typeof CalibrationPolicySchema>;

/** The command that makes a calibration for the installed embedder (named in every refusal). */
export const CALIBRATE_COMMAND = "lfr-edge calibrate --images DIR --demographics CSV --out FILE --report report.html";

export class CalibrationRefusedError extends Error {
  override name = 'CalibrationRefusedError';
  readonly code = 'calibration-refused';
  constructor(readonly reasons: string[]) {
    super(`calibration refused by session.calibrationPolicy: ${reasons.join('; ')}`);
  }
}

export interface PolicyContext {
  /** sha256 of the embedding model this unit runs. */
  embedderSha256: string;
  now: Date;
  /** The calibration file, for messages. */
  file: string;
}

/** Every way `cal` fails the policy (empty: it passes). */
export function calibrationPolicyFailures(cal: Calibration, policy: CalibrationPolicy, ctx: PolicyContext): string[] {
  const out: string[] = [];
  if (cal.model.embedderSha256 !== ctx.embedderSha256) {
    out.push(
      `${ctx.file} was measured with embedder ${cal.model.embedderSha256}, this unit runs embedder ${ctx.embedderSha256} (uncalibrated): make its calibration with '${CALIBRATE_COMMAND.replace('FILE', ctx.file)}'`,
    );
  }
  if (policy.maxAgeDays !== null) {
    const created = Date.parse(cal.createdAt);
    if (Number.isNaN(created)) {
      out.push(`${ctx.file} has no valid createdAt ('${cal.createdAt}'), so its age cannot be checked against maxAgeDays ${policy.maxAgeDays}`);
    } else {
      const days = (ctx.now.getTime() - created) / 86_400_000;
      if (days > policy.maxAgeDays) {
        out.push(`${ctx.file} is ${Math.floor(days)} days old (created ${cal.createdAt}), the policy allows ${policy.maxAgeDays}: recalibrate with '${CALIBRATE_COMMAND.replace('FILE', ctx.file)}'`);
      }
    }
  }
  const have = Object.keys(cal.groups ?? {}).sort();
  for (const g of policy.requiredGroups) {
    const d = cal.groups?.[g];
    if (!d) {
      out.push(`required group '${g}' is not in ${ctx.file} (it has ${have.length ? have.join(', ') : 'no groups: it was made without --demographics'})`);
    } else if (d.count < policy.minImpostorPairsPerGroup) {
      out.push(`required group '${g}' rests on ${d.count} impostor pairs, the policy needs at least ${policy.minImpostorPairsPerGroup}: calibrate on more people of that group`);
    }
  }
  return out;
}

/**
 * Read the calibration a session is about to use and apply the policy; throws
 * CalibrationRefusedError with every reason (a missing file means the embedder is uncalibrated).
 */
export function loadCalibrationForSession(file: string, policy: CalibrationPolicy, ctx: Omit<PolicyContext, 'file'>): Calibration {
  if (!existsSync(file)) {
    throw new CalibrationRefusedError([`no calibration at ${file}: embedder ${ctx.embedderSha256} is uncalibrated; make one with '${CALIBRATE_COMMAND.replace('FILE', file)}'`]);
  }
  let cal: Calibration;
  try {
    cal = readCalibrationFile(file);
  } catch (err) {
    if (err instanceof CalibrationError) throw new CalibrationRefusedError([err.message]);
    throw err;
  }
  const reasons = calibrationPolicyFailures(cal, policy, { ...ctx, file });
  if (reasons.length) throw new CalibrationRefusedError(reasons);
  return cal;
}

// --- what the session states --------------------------------------------------------------

export interface GroupFmr {
  impostorPairs: number;
  /** Impostor pairs at or above the threshold (from the tail when exact, else the histogram, counted on the safe side). */
  falseMatches: number;
  fmr: number;
  /** 95% Wilson interval over impostor pairs (pairs treated as independent: narrower than the calibrate report's people-resampled one). */
  interval: [number, number];
  /** True when the group has enough impostor pairs to be measured at the session's per-comparison rate (it took part in choosing the threshold). */
  measured: boolean;
}

export interface SessionCalibrationFacts {
  createdAt: string;
  /** What the calibration was measured on (its `source`: data set name, demographics file, counts). */
  source: Record<string, unknown>;
  interval: 'wilson-95-pairs';
  /** 'overall' and every group of the calibration. */
  fmrByGroup: Record<string, GroupFmr>;
  /**
   * Per quality band of the calibration (absent: it has none, every face gets the session's
   * threshold): the band's ranges, the threshold a face in it must reach, what decided it, and the
   * FMR of the band's impostor faces at it.
   */
  bands?: SessionBandThreshold[];
}

export interface SessionBandThreshold {
  name: string;
  interOcularPx: [number, number | null];
  sharpness: [number, number | null];
  threshold: number;
  /** 'overall', a group key or 'band=<name>' (see ThresholdDecision.decidingGroup). */
  decidingGroup: string;
  /** 'measured': enough band impostors at this rate; 'too-small': too few (its top scores still count); 'none': no band data. */
  bandData: 'measured' | 'too-small' | 'none';
  fmr: GroupFmr | null;
}

/** The threshold of every quality band of the calibration for this session's rate and watchlist size. */
export function sessionBandThresholds(cal: Calibration, req: { falseAlertRate: number; watchlistSize: number }, minEvents = DEFAULT_MIN_GROUP_EVENTS): SessionBandThreshold[] | undefined {
  if (!cal.quality) return undefined;
  const table = thresholdTable(cal, { ...req, minGroupEvents: minEvents });
  return table.bands.map(({ name, single }) => {
    const def = table.bandDefs.find((b) => b.name === name)!;
    const d = cal.quality!.impostor[name];
    return {
      name,
      interOcularPx: def.interOcularPx,
      sharpness: def.sharpness,
      threshold: single.threshold,
      decidingGroup: single.decidingGroup ?? 'overall',
      bandData: single.bandData ?? 'none',
      fmr: d ? groupFmr(d, single.threshold, single.perComparisonFmr, minEvents) : null,
    };
  });
}

/** Two-sided 95% Wilson score interval for k events in n trials. */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

function groupFmr(d: ScoreDistribution, threshold: number, perComparisonFmr: number, minEvents: number): GroupFmr {
  const k = d.count === 0 ? 0 : countAtOrAbove(d, threshold).count;
  return { impostorPairs: d.count, falseMatches: k, fmr: d.count ? k / d.count : 0, interval: wilsonInterval(k, d.count), measured: d.count * perComparisonFmr >= minEvents };
}

/** Per group (and overall), the FMR at the operating threshold with its interval. */
export function sessionCalibrationFacts(cal: Calibration, threshold: number, perComparisonFmr: number, minEvents = DEFAULT_MIN_GROUP_EVENTS): SessionCalibrationFacts {
  const fmrByGroup: Record<string, GroupFmr> = { overall: groupFmr(cal.impostor, threshold, perComparisonFmr, minEvents) };
  for (const key of Object.keys(cal.groups ?? {}).sort()) fmrByGroup[key] = groupFmr(cal.groups![key], threshold, perComparisonFmr, minEvents);
  return { createdAt: cal.createdAt, source: cal.source, interval: 'wilson-95-pairs', fmrByGroup };
}
