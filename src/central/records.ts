/** Deployment records in the form forces publish them: one row per deployment. Pure. */
import type { RecordRow } from './store';

export const RECORD_COLUMNS = [
  'date', 'unit', 'session', 'started', 'ended', 'duration_min', 'ended_by', 'watchlist_size', 'faces_processed', 'tracks',
  'alerts', 'confirmed', 'false_alerts', 'unadjudicated', 'threshold', 'false_alert_rate', 'deciding_group', 'wipe_ok', 'signature',
] as const;

export function recordFacts(r: RecordRow): Record<(typeof RECORD_COLUMNS)[number], string | number> {
  const x = r.record;
  const minutes = Math.round((Date.parse(x.endedAt) - Date.parse(x.startedAt)) / 60_000);
  return {
    date: x.startedAt.slice(0, 10), unit: r.unitId, session: r.sessionId, started: x.startedAt, ended: x.endedAt,
    duration_min: Number.isFinite(minutes) ? minutes : '', ended_by: x.endedBy, watchlist_size: x.watchlistSize,
    faces_processed: x.facesProcessed, tracks: x.tracks, alerts: x.alerts, confirmed: x.confirmed, false_alerts: x.falseAlerts,
    unadjudicated: x.unadjudicated, threshold: x.threshold, false_alert_rate: x.targetFalseAlertRate, deciding_group: x.decidingGroup ?? '',
    wipe_ok: x.wipe?.ok ? 'yes' : 'no', signature: r.signature,
  };
}

function cell(v: string | number): string {
  const s = String(v);
  // quote when needed; a leading = + - @ is neutralised so a spreadsheet does not run it
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function recordsCsv(rows: RecordRow[]): string {
  return [RECORD_COLUMNS.join(','), ...rows.map((r) => RECORD_COLUMNS.map((c) => cell(recordFacts(r)[c])).join(','))].join('\n') + '\n';
}
