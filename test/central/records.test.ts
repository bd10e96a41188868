/** Deployment records in published form: pure formatting (src/central/records.ts). */
import t from 'tap';
import { durationText, oneIn, publishRecord, recordsCsv, thresholdText } from '../../src/central/records';
import type { RecordRow } from '../../src/central/store';
import type { RecordMessage } from '../../src/comms/messages';

const row = (over: Partial<RecordMessage> = {}, place: string | null = null): RecordRow => ({
  unitId: 'van-1', sessionId: 's-1', signature: 'valid', receivedAt: '2025-01-01T15:00:00.000Z', place,
  record: {
    v: 1, sessionId: 's-1', unitId: 'van-1', bundleId: 'b', startedAt: '2025-12-31T23:30:00.000Z', endedAt: '2026-01-01T05:15:00.000Z', endedBy: 'max-duration',
    watchlistSize: 1500, threshold: 0.5123456, targetFalseAlertRate: 0.0001, facesProcessed: 48_213, tracks: 9000, alerts: 4, confirmed: 3, falseAlerts: 1, unadjudicated: 0,
    wipe: { ok: true }, signature: { alg: 'Ed25519', keyFingerprint: 'f', sig: 's' }, ...over,
  } as unknown as RecordMessage,
});

t.test('rates as "1 in N" to two significant figures, thresholds to three decimals, durations in h and min', async (t) => {
  t.equal(oneIn(0.001), '1 in 1,000');
  t.equal(oneIn(1 / 48_213), '1 in 48,000');
  t.equal(oneIn(2.3e-4), '1 in 4,300');
  t.equal(oneIn(1 / 7), '1 in 7');
  t.equal(oneIn(0), '0');
  t.equal(oneIn(1), 'every one');
  t.equal(oneIn(Number.NaN), '-');
  t.equal(thresholdText(0.47461234), '0.475');
  t.equal(thresholdText(0.4), '0.400');
  t.equal(thresholdText(0), '-', 'an aborted record without a session threshold');
  t.equal(durationText(330), '5 h 30 min');
  t.equal(durationText(345), '5 h 45 min');
  t.equal(durationText(42), '42 min');
  t.equal(durationText(Number.NaN), '-');
});

t.test('a record in published form: local date across midnight, no group, no place', async (t) => {
  const p = publishRecord(row(), { timeZone: 'Europe/London' });
  t.match(p, {
    date: '2025-12-31', start: '23:30', end: '05:15', duration: '5 h 45 min', place: 'unit van-1 (no place given)', endedBy: 'max-duration',
    falseAlertRateSeen: '1 in 48,000 faces', threshold: '0.512', thresholdFalseAlertRate: '1 in 10,000 faces',
    thresholdStatement: '0.512, set for a false-alert rate of 1 in 10,000 faces at a watchlist of 1500; set by all faces together (no group decided)',
    groups: [], wipe: 'yes',
  });
  t.equal(publishRecord(row(), { timeZone: 'Asia/Tokyo' }).date, '2026-01-01', 'the date is the local one');
  const none = publishRecord(row({ falseAlerts: 0, decidingGroup: 'sex=F', calibration: { fmrByGroup: {
    'sex=F': { impostorPairs: 809_383, falseMatches: 103, fmr: 103 / 809_383, interval: [1.04e-4, 1.54e-4], measured: true },
    'race=eastasian': { impostorPairs: 470, falseMatches: 0, fmr: 0, interval: [0, 0.0081], measured: false },
  } } as never }), { timeZone: 'UTC' });
  t.equal(none.falseAlertRateSeen, '0 in 48,213 faces', 'no false alert: said with the number of faces');
  t.same(none.groups, [
    { group: 'sex=F', impostorPairs: 809_383, fmr: '1 in 7,900 comparisons', interval: '1 in 9,600 to 1 in 6,500', measured: true, deciding: true },
    { group: 'race=eastasian', impostorPairs: 470, fmr: '0 in 470 comparisons', interval: '0 to 1 in 120', measured: false, deciding: false },
  ]);
  const aborted = publishRecord(row({ threshold: 0, targetFalseAlertRate: 0, facesProcessed: 0, endedBy: 'aborted', wipe: { ok: false } as never }), { timeZone: 'UTC' });
  t.match(aborted, { threshold: '-', thresholdStatement: 'no threshold (no session ran)', falseAlertRateSeen: '-', wipe: 'NO' });
});

t.test('CSV: quoted where needed, a place that would run in a spreadsheet is neutralised', async (t) => {
  const csv = recordsCsv([row({}, '=HYPERLINK("http://x")')], { timeZone: 'UTC' });
  const [head, line] = csv.trim().split('\n');
  t.match(head, /^date,place,unit,session,start,end,time_zone,duration,duration_min,/);
  t.match(line, /^2025-12-31,"'=HYPERLINK\(""http:\/\/x""\)",van-1,s-1,23:30,05:15,UTC,5 h 45 min,345,max-duration,1500,48213,4,3,1,0,"1 in 48,000 faces",0\.512,"1 in 10,000 faces",,yes,valid \(unit key\)$/);
});
