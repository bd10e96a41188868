import t from 'tap';
import type { Test } from 'tap';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { wipeCommand } from '../../src/commands/wipe';
import { UsageError, type CommandIO } from '../../src/commands/common';
import { wipeLeftovers } from '../../src/session/leftovers';
import { markerPath, readMarker, writeMarker } from '../../src/session/marker';
import { STORE_FILE } from '../../src/watchlist/store';

const NOW = new Date('2030-01-01T12:00:00Z');
const FACTS = {
  v: 1 as const, sessionId: 'op-3', unitId: 'unit-1', bundleId: 'b-1234567890', startedAt: '2030-01-01T08:00:00.000Z',
  expiresAt: '2030-01-01T14:00:00.000Z', watchlistSize: 7, threshold: 0.41, targetFalseAlertRate: 1e-3, decidingGroup: 'race=black',
};

function dirs(t: Test) {
  const root = t.testdir();
  const runtimeDir = path.join(root, 'run');
  const stateDir = path.join(root, 'state');
  mkdirSync(runtimeDir, { recursive: true });
  return { root, runtimeDir, stateDir };
}

function memoryIO(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [], err: string[] = [];
  const io: CommandIO = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env };
  return { io, out, err };
}

t.test('nothing to wipe: ok, no record', async (t) => {
  const d = dirs(t);
  const r = wipeLeftovers({ ...d, unitId: 'u', now: NOW });
  t.same(r.wipe, { ok: true, filesRemoved: [], leftovers: [], keyZeroed: true, at: NOW.toISOString() });
  t.equal(r.aborted, undefined);
  t.same(r.problems, []);
});

t.test('store files without a marker are removed; a marker without files is still reported aborted', async (t) => {
  const d = dirs(t);
  writeFileSync(path.join(d.runtimeDir, STORE_FILE), 'sealed rows');
  writeFileSync(path.join(d.runtimeDir, STORE_FILE + '-journal'), 'journal');
  const r = wipeLeftovers({ ...d, unitId: 'u', now: NOW });
  t.equal(r.wipe.filesRemoved.length, 2);
  t.equal(r.aborted, undefined);

  writeMarker(d.stateDir, FACTS);
  const r2 = wipeLeftovers({ ...d, unitId: 'u', now: NOW });
  t.match(r2.aborted, { sessionId: 'op-3', endedBy: 'aborted', watchlistSize: 7, threshold: 0.41, decidingGroup: 'race=black', facesProcessed: 0, alerts: 0 });
  t.notOk(existsSync(markerPath(d.stateDir)));
});

t.test('a corrupt marker: the abort is still recorded, and the problem named', async (t) => {
  const d = dirs(t);
  mkdirSync(d.stateDir, { recursive: true });
  writeFileSync(markerPath(d.stateDir), '{"v":1,"sess');
  const r = wipeLeftovers({ ...d, unitId: 'unit-9', now: NOW });
  t.match(r.problems[0], /session marker .*session-active\.json is not valid JSON.*the aborted session cannot be named/);
  t.match(r.aborted, { sessionId: 'unknown', unitId: 'unit-9', endedBy: 'aborted' });
  t.notOk(existsSync(markerPath(d.stateDir)));
});

t.test('lfr-edge wipe --boot: removes files, keeps the marker (with what it removed) for the daemon', async (t) => {
  const d = dirs(t);
  writeFileSync(path.join(d.runtimeDir, STORE_FILE), 'sealed rows');
  writeMarker(d.stateDir, FACTS);
  const env = { LFR_EDGE__PATHS__RUNTIME_DIR: d.runtimeDir, LFR_EDGE__PATHS__STATE_DIR: d.stateDir };
  const m = memoryIO(env);
  t.equal(await wipeCommand(['--boot'], m.io), 0);
  t.match(m.out.join(''), /removed 1 file\(s\) from .*run; session op-3 \(bundle b-1234567890\) did not end cleanly and will be reported aborted by the daemon/);
  t.notOk(existsSync(path.join(d.runtimeDir, STORE_FILE)));
  const kept = readMarker(d.stateDir)!;
  t.equal(kept.bootWipe!.filesRemoved.length, 1);

  const daemon = wipeLeftovers({ ...d, unitId: 'unit-1', now: NOW });
  t.same(daemon.aborted!.wipe.filesRemoved, [path.join(d.runtimeDir, STORE_FILE)], 'the record includes what the boot unit removed');
  t.ok(daemon.aborted!.wipe.ok);

  const again = memoryIO(env);
  t.equal(await wipeCommand(['--boot'], again.io), 0);
  t.match(again.out.join(''), /^wipe: removed 0 file\(s\) from \S+\n$/);
});

t.test('lfr-edge wipe: usage errors and a file it cannot remove', async (t) => {
  await t.rejects(wipeCommand([], memoryIO().io), new UsageError('wipe needs --boot (the only mode: remove leftovers before the daemon starts)'));
  await t.rejects(wipeCommand(['--boot', 'now'], memoryIO().io), UsageError);
  const d = dirs(t);
  // a directory where a store file would be: it can be neither overwritten nor unlinked (even by root)
  mkdirSync(path.join(d.runtimeDir, STORE_FILE + '-wal'));
  writeFileSync(path.join(d.runtimeDir, STORE_FILE), 'x');
  const m = memoryIO({ LFR_EDGE__PATHS__RUNTIME_DIR: d.runtimeDir, LFR_EDGE__PATHS__STATE_DIR: d.stateDir });
  t.equal(await wipeCommand(['--boot'], m.io), 1);
  t.match(m.err.join(''), /could not shred .*watchlist\.sqlite-wal/);
  t.match(m.err.join(''), /NOT removed: .*watchlist\.sqlite-wal; check the permissions of/);
  t.notOk(existsSync(path.join(d.runtimeDir, STORE_FILE)), 'the other file was still removed');
});
