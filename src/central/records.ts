/**
 * Deployment records in the form forces publish them: date, place, times and duration, watchlist
 * size, faces processed, alerts, confirmed, false alerts, the false-alert rate seen, and the
 * threshold with the false-alert rate it was set for and the group that decided it (never a raw
 * float such as 0.47461234). One row per deployment for the page, the CSV and the JSON. Pure.
 */
import type { GroupFmr } from '../session/calibration-policy';
import type { RecordRow } from './store';

export interface PublishOptions {
  /** IANA time zone the dates and times are printed in (central config `records.timeZone`). */
  timeZone: string;
}

/** Round to two significant figures: 4347 -> 4300, 1000 -> 1000, 33333 -> 33000. */
function twoSig(n: number): number {
  if (n < 100) return Math.round(n);
  const p = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(n / p) * p;
}

/** A rate as "1 in N" (N to two significant figures, with thousands separators); 0 as "0". */
export function oneIn(rate: number): string {
  if (!Number.isFinite(rate) || rate < 0) return '-';
  if (rate === 0) return '0';
  if (rate >= 1) return 'every one';
  return `1 in ${twoSig(1 / rate).toLocaleString('en-GB')}`;
}

/** The operating threshold as published: three decimals. */
export function thresholdText(t: number): string {
  return Number.isFinite(t) && t > 0 ? t.toFixed(3) : '-';
}

export function durationText(minutes: number): string {
  if (!Number.isFinite(minutes) || minutes < 0) return '-';
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  return h ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
}

function dateIn(iso: string, timeZone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

function timeIn(iso: string, timeZone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

export interface GroupLine {
  group: string;
  impostorPairs: number;
  /** "1 in N comparisons" at the operating threshold. */
  fmr: string;
  /** The 95% interval, low rate to high: "1 in 20,000 to 1 in 7,000". */
  interval: string;
  measured: boolean;
  deciding: boolean;
}

export interface PublishedRecord {
  date: string;
  place: string;
  unit: string;
  session: string;
  start: string;
  end: string;
  timeZone: string;
  duration: string;
  durationMin: number | null;
  endedBy: string;
  watchlistSize: number;
  facesProcessed: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  unadjudicated: number;
  /** False alerts per face processed, as "1 in N faces". */
  falseAlertRateSeen: string;
  /** "0.475" */
  threshold: string;
  /** "1 in 1,000 faces" */
  thresholdFalseAlertRate: string;
  decidingGroup: string;
  /** The whole sentence: "0.475, set for a false-alert rate of 1 in 1,000 faces at a watchlist of 2; deciding group sex=F". */
  thresholdStatement: string;
  groups: GroupLine[];
  wipe: string;
  signature: string;
}

const SIGNATURE_TEXT: Record<string, string> = {
  valid: 'valid (unit key)',
  invalid: 'INVALID: not as the unit signed it',
  'unknown-unit-key': 'not checked: unit key not configured',
};

export function publishRecord(r: RecordRow, o: PublishOptions): PublishedRecord {
  const x = r.record;
  const minutes = Math.round((Date.parse(x.endedAt) - Date.parse(x.startedAt)) / 60_000);
  const threshold = thresholdText(x.threshold);
  const rate = x.targetFalseAlertRate > 0 ? `${oneIn(x.targetFalseAlertRate)} faces` : '-';
  const deciding = x.decidingGroup ?? '';
  const statement = threshold === '-'
    ? 'no threshold (no session ran)'
    : `${threshold}, set for a false-alert rate of ${rate} at a watchlist of ${x.watchlistSize}; ${deciding ? `deciding group ${deciding}` : 'set by all faces together (no group decided)'}`;
  const groups: GroupLine[] = Object.entries(x.calibration?.fmrByGroup ?? {}).map(([group, g]: [string, GroupFmr]) => ({
    group,
    impostorPairs: g.impostorPairs,
    fmr: g.falseMatches === 0 ? `0 in ${g.impostorPairs.toLocaleString('en-GB')} comparisons` : `${oneIn(g.fmr)} comparisons`,
    interval: `${g.interval[0] > 0 ? oneIn(g.interval[0]) : '0'} to ${oneIn(g.interval[1])}`,
    measured: g.measured,
    deciding: group === deciding,
  }));
  return {
    date: dateIn(x.startedAt, o.timeZone),
    place: r.place ?? `unit ${r.unitId} (no place given)`,
    unit: r.unitId,
    session: r.sessionId,
    start: timeIn(x.startedAt, o.timeZone),
    end: timeIn(x.endedAt, o.timeZone),
    timeZone: o.timeZone,
    duration: durationText(minutes),
    durationMin: Number.isFinite(minutes) ? minutes : null,
    endedBy: x.endedBy,
    watchlistSize: x.watchlistSize,
    facesProcessed: x.facesProcessed,
    alerts: x.alerts,
    confirmed: x.confirmed,
    falseAlerts: x.falseAlerts,
    unadjudicated: x.unadjudicated,
    falseAlertRateSeen: x.facesProcessed <= 0 ? '-' : x.falseAlerts === 0 ? `0 in ${x.facesProcessed.toLocaleString('en-GB')} faces` : `${oneIn(x.falseAlerts / x.facesProcessed)} faces`,
    threshold,
    thresholdFalseAlertRate: rate,
    decidingGroup: deciding,
    thresholdStatement: statement,
    groups,
    wipe: x.wipe?.ok ? 'yes' : 'NO',
    signature: SIGNATURE_TEXT[r.signature] ?? r.signature,
  };
}

/** The CSV: one row per deployment, the columns in the order forces publish them. */
export const RECORD_COLUMNS = [
  ['date', 'date'], ['place', 'place'], ['unit', 'unit'], ['session', 'session'], ['start', 'start'], ['end', 'end'], ['time_zone', 'timeZone'],
  ['duration', 'duration'], ['duration_min', 'durationMin'], ['ended_by', 'endedBy'], ['watchlist_size', 'watchlistSize'],
  ['faces_processed', 'facesProcessed'], ['alerts', 'alerts'], ['confirmed', 'confirmed'], ['false_alerts', 'falseAlerts'],
  ['unadjudicated', 'unadjudicated'], ['false_alert_rate_seen', 'falseAlertRateSeen'], ['threshold', 'threshold'],
  ['threshold_false_alert_rate', 'thresholdFalseAlertRate'], ['deciding_group', 'decidingGroup'], ['wipe_ok', 'wipe'], ['signature', 'signature'],
] as const satisfies readonly (readonly [string, keyof PublishedRecord])[];

function cell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // a leading = + - @ is neutralised so a spreadsheet does not run it
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function recordsCsv(rows: RecordRow[], o: PublishOptions): string {
  const head = RECORD_COLUMNS.map(([c]) => c).join(',');
  const lines = rows.map((r) => {
    const p = publishRecord(r, o);
    return RECORD_COLUMNS.map(([, k]) => cell(p[k])).join(',');
  });
  return [head, ...lines].join('\n') + '\n';
}
