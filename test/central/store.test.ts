/** The central store: the same suite against SQLite and a real PostgreSQL. */
import path from 'node:path';
import t from 'tap';
import { openSqliteStore } from '../../src/central/store-sqlite';
import { openPostgresStore } from '../../src/central/store-postgres';
import type { CentralStore } from '../../src/central/store';
import type { RecordMessage } from '../../src/comms/messages';
import { testAlert } from '../helpers/alerts';
import { freshDatabase, postgresSkip } from '../helpers/postgres';
import { tempDir } from '../helpers/unit';

const record = (sessionId: string): RecordMessage => ({
  v: 1, sessionId, unitId: 'van-1', bundleId: 'b-1', startedAt: '2025-01-01T09:00:00.000Z', endedAt: '2025-01-01T15:00:00.000Z', endedBy: 'command',
  watchlistSize: 2, threshold: 0.42, targetFalseAlertRate: 0.001, facesProcessed: 100, tracks: 10, alerts: 1, confirmed: 1, falseAlerts: 0, unadjudicated: 0,
  wipe: { ok: true, keyZeroed: true, filesRemoved: [], leftovers: [] } as unknown as RecordMessage['wipe'],
  signature: { alg: 'Ed25519', keyFingerprint: 'f', sig: 's' },
} as RecordMessage);

function suite(name: string, open: () => Promise<CentralStore>, skip: string | false) {
  t.test(`store (${name})`, { skip }, async (t) => {
    const s = await open();
    t.teardown(() => s.close());
    await s.init();
    await s.init(); // idempotent

    t.test('alerts are stored once by id (at-least-once delivery)', async (t) => {
      const a = testAlert('van-1', 'al-1', 1, true);
      t.equal(await s.insertAlert(a, '2025-01-01T10:00:02.000Z'), true);
      t.equal(await s.insertAlert(a, '2025-01-01T10:00:03.000Z'), false, 'a redelivery is not stored again');
      await s.insertAlert(testAlert('van-1', 'al-2', 2), '2025-01-01T10:00:04.000Z');
      const list = await s.listAlerts(10);
      t.same(list.map((r) => r.alertId), ['al-2', 'al-1'], 'newest first, each once');
      const got = await s.getAlert('al-1');
      t.match(got, { alertId: 'al-1', unitId: 'van-1', subjectRef: 'S-1', score: 0.61, hadCrop: true, verdict: null });
      t.equal(got!.sealedCrop!.sealed.ct, a.crop!.sealed.ct, 'the crop is kept as received (sealed)');
      t.notOk('crop' in got!.message, 'the readable message has no crop');
    });

    t.test('adjudication, the unit result, revisions for the live feed', async (t) => {
      const before = Math.max(...(await s.listAlerts(10)).map((r) => r.rev));
      t.equal(await s.adjudicate('al-1', { verdict: 'confirmed', note: 'seen', officer: 'pc-1', commandId: 'cmd-00000001', at: '2025-01-01T10:01:00.000Z' }), true);
      t.equal(await s.adjudicate('al-1', { verdict: 'false-alert', note: null, officer: 'pc-2', commandId: 'cmd-00000002', at: '2025-01-01T10:01:01.000Z' }), false, 'a second verdict is refused');
      t.equal(await s.adjudicate('al-none', { verdict: 'confirmed', note: null, officer: 'pc-1', commandId: 'cmd-00000003', at: '2025-01-01T10:01:00.000Z' }), false);
      t.equal(await s.putCommandResult({ v: 1, unitId: 'van-1', commandId: 'cmd-00000001', type: 'adjudicate', accepted: true, at: '2025-01-01T10:01:01.000Z' }), 'al-1');
      t.equal(await s.putCommandResult({ v: 1, unitId: 'van-1', commandId: 'other-0001', type: 'ping', accepted: true, at: 'x' }), undefined);
      const changed = await s.alertsChangedSince(before, 10);
      t.same(changed.map((r) => r.alertId), ['al-1'], 'only the changed alert');
      t.match(changed[0], { verdict: 'confirmed', officer: 'pc-1', note: 'seen', unitResult: { accepted: true } });
    });

    t.test('retention: crops due and deleted', async (t) => {
      await s.insertAlert(testAlert('van-1', 'al-3', 3, true), '2025-01-01T10:00:05.000Z');
      await s.noteSessionEnded('van-1', 'sess-1', '2025-01-01T12:00:00.000Z');
      const due = await s.cropsDue(new Date('2025-01-02T13:00:00.000Z'), 30, 24);
      t.same(due.map((d) => d.alertId), ['al-3'], 'the unadjudicated one after the grace; the confirmed one not yet');
      const later = await s.cropsDue(new Date('2025-02-15T00:00:00.000Z'), 30, 24);
      t.same(later.map((d) => d.alertId).sort(), ['al-1', 'al-3'], 'the confirmed one after 30 days');
      t.equal(await s.deleteCrop('al-3', 'test', '2025-01-02T13:00:00.000Z'), true);
      t.equal(await s.deleteCrop('al-3', 'test', '2025-01-02T13:00:00.000Z'), false, 'nothing left to delete');
      t.match(await s.getAlert('al-3'), { sealedCrop: null, hadCrop: true, cropDeletedReason: 'test' });
    });

    t.test('records once per session; units; users and lock-out', async (t) => {
      t.equal(await s.insertRecord(record('sess-1'), 'valid', '2025-01-01T15:00:01.000Z'), true);
      t.equal(await s.insertRecord(record('sess-1'), 'valid', '2025-01-01T15:00:02.000Z'), false);
      await s.insertRecord(record('sess-2'), 'invalid', '2025-01-01T16:00:01.000Z');
      t.same((await s.listRecords()).map((r) => [r.sessionId, r.signature]), [['sess-2', 'invalid'], ['sess-1', 'valid']]);
      t.match(await s.getRecord('van-1', 'sess-1'), { record: { confirmed: 1 }, signature: 'valid', place: null });
      await s.putPlace('van-1', 'sess-1', 'Oxford Circus, north exit', 'sgt-1');
      await s.putPlace('van-1', 'sess-1', 'Oxford Circus, south exit', 'sgt-1');
      t.match(await s.getRecord('van-1', 'sess-1'), { place: 'Oxford Circus, south exit' }, 'the place given when the session started, corrected once');
      t.same((await s.listRecords()).map((r) => r.place), [null, 'Oxford Circus, south exit']);
      await s.putUnitState('van-1', 'status', { state: 'online' }, '2025-01-01T10:00:00.000Z');
      await s.putUnitState('van-1', 'health', { provider: 'cpu' }, '2025-01-01T10:00:01.000Z');
      t.match(await s.listUnits(), [{ unitId: 'van-1', status: { state: 'online' }, health: { provider: 'cpu' }, session: null }]);
      await s.putUser({ name: 'pc-1', role: 'officer', passwordHash: 'h' });
      await s.noteLoginFailure('pc-1', 2, '2099-01-01T00:00:00.000Z');
      t.match(await s.getUser('pc-1'), { failedLogins: 1, lockedUntil: null });
      await s.noteLoginFailure('pc-1', 2, '2099-01-01T00:00:00.000Z');
      t.match(await s.getUser('pc-1'), { failedLogins: 2, lockedUntil: '2099-01-01T00:00:00.000Z' });
      await s.clearLoginFailures('pc-1');
      t.match(await s.getUser('pc-1'), { role: 'officer', failedLogins: 0, lockedUntil: null });
      t.equal(await s.getUser('nobody'), undefined);
    });
  });
}

suite('sqlite', async () => openSqliteStore(path.join(tempDir('lfr-store-'), 'central.sqlite')), false);
const pgSkip = postgresSkip();
suite('postgres', async () => openPostgresStore(await freshDatabase()), pgSkip);
