/**
 * A session in a real child process: ended by SIGTERM, by command (with the forensic scan), and
 * killed with -9 then recovered by the boot wipe.
 */
import t from 'tap';
import type { Test } from 'tap';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AuditLog, verifyAuditFile } from '../../src/audit/log';
import { wipeLeftovers } from '../../src/session/leftovers';
import { markerPath, readMarker } from '../../src/session/marker';
import type { DeploymentRecord, SessionInfo } from '../../src/session/state';
import { STORE_FILE, TEST_KEY_HOOK_ENV } from '../../src/watchlist/store';
import { embeddingNeedles, makeBundle, makeKit, makeSubjects, scanFor } from '../fixtures/session-kit';

const FIXTURE = path.resolve(__dirname, '../fixtures/session-child.ts');
// the TypeScript loader tap runs us with, so the child runs the .ts fixture the same way
const LOADER_ARGS = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');

interface Started { event: 'started'; info: SessionInfo; keyHex?: string }
interface Ended { event: 'ended'; record: DeploymentRecord }

function startChild(t: Test, opts: { exposeKey: boolean; bundleHours?: number }) {
  const kit = makeKit(t.testdir());
  const subjects = makeSubjects(4, 9, 2);
  const now = new Date();
  const bundleFile = path.join(kit.root, 'bundle.lfwl');
  writeFileSync(bundleFile, makeBundle(kit, subjects, { sessionId: 'op-child', createdAt: new Date(now.getTime() - 60_000) }));
  const auditFile = path.join(kit.stateDir, 'audit.jsonl');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHILD_OPTS: JSON.stringify({ runtimeDir: kit.runtimeDir, stateDir: kit.stateDir, keysDir: kit.keysDir, bundleFile, auditFile }),
    NODE_ENV: 'test',
  };
  if (opts.exposeKey) env[TEST_KEY_HOOK_ENV] = '1';
  else delete env[TEST_KEY_HOOK_ENV];
  const child = spawn(process.execPath, [...LOADER_ARGS, FIXTURE], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: unknown[] = [];
  const waiters: ((o: unknown) => void)[] = [];
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      const o = JSON.parse(out.slice(0, i)) as unknown;
      out = out.slice(i + 1);
      const w = waiters.shift();
      if (w) w(o);
      else lines.push(o);
    }
  });
  const next = <T>(): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (lines.length) return resolve(lines.shift() as T);
      // generous: a child under the TypeScript loader took over 20 s to start on a loaded machine
      const timer = setTimeout(() => reject(new Error(`child said nothing in 60 s; stderr:\n${stderr}`)), 60_000);
      waiters.push((o) => (clearTimeout(timer), resolve(o as T)));
    });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { kit, subjects, child: child as ChildProcess, next, exited, auditFile, stderr: () => stderr };
}

t.test('SIGTERM ends the session in the child: record says sigterm, files wiped', async (t) => {
  const c = startChild(t, { exposeKey: false });
  const started = await c.next<Started>();
  t.equal(started.info.state, 'active');
  t.equal(started.keyHex, undefined, 'no key without the test hook env');
  t.ok(existsSync(path.join(c.kit.runtimeDir, STORE_FILE)));
  c.child.kill('SIGTERM');
  const ended = await c.next<Ended>();
  t.match(ended.record, { sessionId: 'op-child', endedBy: 'sigterm', watchlistSize: 4, wipe: { ok: true, keyZeroed: true, leftovers: [] } });
  t.same(await c.exited, { code: 0, signal: null });
  t.notOk(existsSync(path.join(c.kit.runtimeDir, STORE_FILE)));
  t.notOk(existsSync(markerPath(c.kit.stateDir)));
  t.ok(verifyAuditFile(c.auditFile).ok);
});

t.test('forensic: after a session ends, no embedding or key bytes in any file', async (t) => {
  const c = startChild(t, { exposeKey: true });
  const started = await c.next<Started>();
  t.match(started.keyHex, /^[0-9a-f]{64}$/);
  const key = Buffer.from(started.keyHex!, 'hex');
  const embNeedles = embeddingNeedles(c.subjects.flatMap((s) => s.embeddings));
  const dirs = [c.kit.root]; // runtime, state (audit, ledger, marker), keys and the bundle file
  // while it runs: the store exists, and is sealed
  t.ok(existsSync(path.join(c.kit.runtimeDir, STORE_FILE)));
  t.same(scanFor(dirs, embNeedles), [], 'while running: no plaintext embedding on disk');
  t.same(scanFor(dirs, [key]), [], 'while running: the key is on no disk');
  c.child.stdin!.write('end\n');
  const ended = await c.next<Ended>();
  t.equal(ended.record.endedBy, 'command');
  t.ok(ended.record.wipe.ok);
  await c.exited;
  t.same(scanFor(dirs, embNeedles), [], 'after: no 16-byte piece of any enrolled embedding in any file');
  t.same(scanFor(dirs, [key, key.subarray(0, 16), key.subarray(16)]), [], 'after: no trace of the session key');
  // the scan works: a file holding one embedding is found
  const probe = path.join(c.kit.runtimeDir, 'probe.bin');
  writeFileSync(probe, Buffer.from(c.subjects[2].embeddings[1].buffer));
  t.ok(scanFor(dirs, embNeedles).length > 0, 'control: the scanner finds planted embedding bytes');
});

t.test('kill -9 mid-session, then start: rows unreadable and removed, session recorded aborted', async (t) => {
  const c = startChild(t, { exposeKey: false });
  const started = await c.next<Started>();
  c.child.kill('SIGKILL');
  t.same(await c.exited, { code: null, signal: 'SIGKILL' });
  const dbFile = path.join(c.kit.runtimeDir, STORE_FILE);
  t.ok(existsSync(dbFile), 'the killed process left its store behind');
  t.equal(readMarker(c.kit.stateDir)!.sessionId, 'op-child', 'and its marker');

  // the leftover rows: present, sealed, nothing readable in them
  const db = new Database(dbFile, { readonly: true });
  const rows = db.prepare('SELECT sealed FROM watchlist').all() as { sealed: Buffer }[];
  db.close();
  t.equal(rows.length, 8, 'one sealed row per photo');
  const needles = embeddingNeedles(c.subjects.flatMap((s) => s.embeddings));
  t.notOk(rows.some((r) => needles.some((n) => r.sealed.includes(n)) || r.sealed.includes(Buffer.from('case-9-'))), 'no embedding or ref in the clear');
  t.same(scanFor([c.kit.root], needles), [], 'nor anywhere on disk');

  // boot: `lfr-edge wipe --boot` (keeps the marker), then the daemon's start-up wipe (reports)
  const boot = wipeLeftovers({ runtimeDir: c.kit.runtimeDir, stateDir: c.kit.stateDir, unitId: 'unit-1', now: new Date(), keepMarker: true });
  t.same(boot.wipe.filesRemoved, [dbFile]);
  t.equal(boot.aborted, undefined, 'the boot unit leaves the report to the daemon');
  t.equal(boot.sessionFound!.sessionId, 'op-child');
  t.notOk(existsSync(dbFile), 'rows removed');
  const audit = new AuditLog(c.auditFile);
  const now = new Date();
  const daemon = wipeLeftovers({ runtimeDir: c.kit.runtimeDir, stateDir: c.kit.stateDir, unitId: 'unit-1', now, audit });
  audit.close();
  t.match(daemon.aborted, {
    v: 1, sessionId: 'op-child', bundleId: started.info.bundleId, endedBy: 'aborted', startedAt: started.info.startedAt, abortFoundAt: now.toISOString(),
    watchlistSize: 4, threshold: 0.5, wipe: { ok: true, filesRemoved: [dbFile], leftovers: [] },
  });
  t.notOk(existsSync(markerPath(c.kit.stateDir)), 'marker consumed');
  const types = readFileSync(c.auditFile, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
  t.same(types.slice(-1), ['session.abort']);
  t.ok(verifyAuditFile(c.auditFile).ok);
  t.same(wipeLeftovers({ runtimeDir: c.kit.runtimeDir, stateDir: c.kit.stateDir, unitId: 'unit-1', now }).aborted, undefined, 'a second start finds nothing');
});

t.test('kill -9 after alerts: the aborted record has the counts and the time of the last sign of life', async (t) => {
  const c = startChild(t, { exposeKey: false });
  const started = await c.next<Started>();
  c.child.stdin!.write('alert a-1\nalert a-2\nalert a-3\nfaces 57\ntrack\ntrack\ntrack\nverdict a-2 confirmed\nverdict a-3 false-alert\n');
  // durable means on disk: wait until the running child's marker holds the counts
  const deadline = Date.now() + 10_000;
  while (readMarker(c.kit.stateDir)?.counts?.falseAlerts !== 1) {
    if (Date.now() > deadline) throw new Error(`the counts never reached the marker: ${JSON.stringify(readMarker(c.kit.stateDir))}; ${c.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 450)); // a couple more heartbeats
  const killedAt = new Date();
  c.child.kill('SIGKILL');
  t.same(await c.exited, { code: null, signal: 'SIGKILL' });
  const marker = readMarker(c.kit.stateDir)!;
  t.same(Object.keys(marker.counts!).sort(), ['alerts', 'alertsAtRisk', 'confirmed', 'facesProcessed', 'falseAlerts', 'tracks'], 'counts only: no ids, nothing biometric');
  t.notOk(JSON.stringify(marker).includes('a-1'), 'no alert id in the marker');

  await new Promise((r) => setTimeout(r, 300));
  const foundAt = new Date();
  const audit = new AuditLog(c.auditFile);
  const boot = wipeLeftovers({ runtimeDir: c.kit.runtimeDir, stateDir: c.kit.stateDir, unitId: 'unit-1', now: foundAt, audit });
  audit.close();
  const rec = boot.aborted!;
  t.match(rec, { sessionId: 'op-child', endedBy: 'aborted', startedAt: started.info.startedAt, alerts: 3, confirmed: 1, falseAlerts: 1, unadjudicated: 1, facesProcessed: 57, tracks: 3, abortFoundAt: foundAt.toISOString() });
  t.equal(rec.endedAt, rec.lastAliveAt, 'the session ended at its last sign of life');
  const alive = Date.parse(rec.lastAliveAt!);
  t.ok(alive <= killedAt.getTime() && alive > killedAt.getTime() - 1500, `last sign of life ${rec.lastAliveAt} within a heartbeat (1 s) before the kill ${killedAt.toISOString()}`);
  t.ok(Date.parse(rec.endedAt) < foundAt.getTime(), 'not the restart time');
  const last = JSON.parse(readFileSync(c.auditFile, 'utf8').trim().split('\n').at(-1)!) as Record<string, unknown>;
  t.match(last, { type: 'session.abort', alerts: 3, lastAliveAt: rec.lastAliveAt });
});
