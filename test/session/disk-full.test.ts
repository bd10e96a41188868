/**
 * A unit whose state directory is on a 2 MiB tmpfs that fills up, with the broker up (real
 * Mosquitto, the daemon's real audit, link and session components): end-session is answered and
 * the watchlist wiped; alerts are delivered; ping and start-session are answered; once space is
 * freed the outbox counts are right and the audit chain verifies across its segments; health said
 * the disk was low before it was full.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { verifyAuditFile } from '../../src/audit/log';
import { verifyRecord } from '../../src/comms/record-signature';
import { HealthConfigSchema } from '../../src/health/config';
import { MachineProbe } from '../../src/health/sampler';
import { markerPath } from '../../src/session/marker';
import { STORE_FILE } from '../../src/watchlist/store';
import { testAlert } from '../helpers/alerts';
import { mosquittoAvailable, waitFor } from '../helpers/mosquitto';
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs';
import { startSessionUnit } from '../fixtures/session-unit';

const skip = mosquittoAvailable() ?? tmpfsUnavailable();

t.test('state disk full: the session ends and wipes, alerts and answers still go out, counts and audit recover', { skip, timeout: 90_000 }, async (t) => {
  const disk = mountTmpfs(t, 2 * 1024 * 1024);
  const stateDir = path.join(disk.dir, 'state');
  const u = await startSessionUnit(t, { unitId: 'van-full', stateDir });
  t.ok(await u.link.link!.waitConnected(5000));
  const probe = new MachineProbe({ ...HealthConfigSchema.parse({ thermalDir: '/nonexistent', gpuLoadFile: '/nonexistent', diskLowFreeBytes: 512 * 1024, diskLowFreePercent: 0 }), diskPath: stateDir }, u.logger);
  t.equal((await probe.sample()).disk!.low, false, 'health: plenty of room at first');

  const start = await u.send('start-session', { bundle: u.bundleB64(4) });
  t.match(start, { accepted: true });
  const sessionId = start.result.sessionId as string;
  const raise = (n: number, tag: string) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      // what the recognition component does for an alert
      const alertId = randomUUID();
      u.session.session!.noteAlert(alertId);
      u.link.link!.publishAlert({ ...testAlert('van-full', alertId, i), sessionId, subjectRef: `case-${tag}-${i}` });
      u.audit.append({ type: 'alert', alertId, sessionId, subjectRef: `case-${tag}-${i}`, score: 0.6, threshold: 0.5 }, new Date());
      ids.push(alertId);
    }
    return ids;
  };
  const before = raise(10, 'a');

  disk.fill(300 * 1024);
  t.equal((await probe.sample()).disk!.low, true, 'health: low, before the disk is full');
  const filled = disk.fill();
  t.ok(filled > 0, `disk filled (${filled} more bytes)`);
  t.equal((await probe.sample()).disk!.freeBytes, 0, 'the state disk is full');

  // the broker is up: every alert goes out, stored or not
  const during = raise(200, 'b');
  const alertIds = () => new Set(u.of('alert').map((a) => a.alertId));
  await waitFor(() => [...before, ...during].every((id) => alertIds().has(id)), 20_000, 'all 210 alerts at the central side');
  const unstored = u.link.link!.unstoredStats();
  t.ok(unstored.atRisk > 0, `${unstored.atRisk} alerts could not be stored: published at once, counted at risk`);

  // commands are answered
  t.match(await u.send('ping'), { accepted: true, result: { pong: true } }, 'ping answered while full');
  t.match(await u.send('start-session', { bundle: u.bundleB64(2) }), { accepted: false, reason: 'failed', code: 'session-active' }, 'start-session answered while full');
  const end = await u.send('end-session');
  t.match(end, { accepted: true, result: { sessionId, wipeOk: true } }, 'end-session answered and executed while full');
  t.equal(u.session.session!.info().state, 'ended');
  t.equal(u.session.session!.matcher(), undefined, 'the matcher is gone');
  t.notOk(existsSync(path.join(u.kit.runtimeDir, STORE_FILE)), 'the watchlist store is wiped');
  t.notOk(existsSync(markerPath(stateDir)), 'the crash marker is gone');
  await waitFor(() => u.of('record').length > 0, 10_000, 'the record');
  const rec = u.of('record')[0];
  t.ok(verifyRecord(rec, u.kit.unitKeys.ed25519Public), 'the record is signed');
  t.match(rec, { sessionId, endedBy: 'command', alerts: 210, wipe: { ok: true } });
  t.equal(rec.alertsAtRisk, u.session.session!.info().state === 'ended' ? unstored.atRisk : -1, 'the record counts the alerts at risk');
  const again = await u.send('start-session', { bundle: u.bundleB64(2) });
  t.equal(again.accepted, false, 'a new session cannot start on a full disk ...');
  t.match(again, { reason: 'failed', code: 'store-failed' }, '... and says why');
  t.notOk(existsSync(markerPath(stateDir)) || existsSync(path.join(u.kit.runtimeDir, STORE_FILE)), 'the refused start left nothing');
  const answered = u.of('cmd-result').length;
  t.equal(answered, 5, 'every command got its cmd-result');
  t.ok(u.audit.status()!.held > 0, `audit events held in memory: ${u.audit.status()!.held}`);

  // space again
  disk.free();
  t.equal((await probe.sample()).disk!.low, false, 'health: no longer low');
  await waitFor(() => u.audit.status()!.held === 0, 10_000, 'the held audit events written');
  t.match(await u.send('ping'), { accepted: true });
  await waitFor(() => u.link.link!.outboxDepth() === 0, 10_000, 'the outbox drained').catch((e: Error) => {
    const l = u.link.link as unknown as { cursor: number; inflight: Set<number>; acknowledged: Set<number>; outbox: { peek(a: number, n: number): { seq: number; kind: string }[] } };
    throw new Error(`${e.message}: depth ${u.link.link!.outboxDepth()} cursor ${l.cursor} inflight ${[...l.inflight]} ack ${[...l.acknowledged]} rows ${JSON.stringify(l.outbox.peek(0, 5).map((r) => [r.seq, r.kind]))}; ${JSON.stringify(u.logger.lines.filter((l) => /not ack|outbox/.test(String(l.msg)) && !/held in memory/.test(String(l.msg))).slice(0, 4))}`);
  });
  const db = new Database(path.join(stateDir, 'outbox.sqlite'), { readonly: true });
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  db.close();
  t.equal(rows, 0, 'no row left in the file');
  t.equal(u.link.link!.outboxDepth(), rows, 'the depth follows the file: no phantom rows');
  t.equal(u.link.link!.unstoredStats().held, 0, 'nothing held in memory');

  await u.stop();
  const v = verifyAuditFile(u.auditFile);
  t.ok(v.ok, `the audit chain verifies: ${JSON.stringify(v.firstBroken)}`);
  t.ok(v.segments!.length >= 2, `across ${v.segments!.length} segments (${readdirSync(stateDir).filter((f) => f.startsWith('audit')).join(', ')})`);
  const auditAlerts = v.entries;
  t.ok(auditAlerts >= 210, `every alert is in the audit (${auditAlerts} entries)`);
  t.comment(`figures: 210 alerts (200 with the disk full), ${unstored.atRisk} not storable and published at once, all delivered; 6 commands answered; audit in ${v.segments!.length} segments, ${v.entries} entries, chain intact`);
});
