/** Clock, disk and runtime-dir checks: pure cores with made-up facts, adapters on real directories. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  checkDisk, checkRuntimeDir, evaluateClock, evaluateDisk, evaluateRuntimeDir, mountOf, parseMounts, probeClock,
} from '../../src/selftest/system';

const made: string[] = [];
t.teardown(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-selftest-'));
  made.push(dir);
  return dir;
}

t.test('clock: a year before 2025 fails with what to do', async (t) => {
  const r = evaluateClock({ now: new Date('2019-01-01T00:00:00Z'), wallDeltaMs: 100, monoDeltaMs: 100 });
  t.equal(r.ok, false);
  t.match(r.detail, /the clock says 2019-01-01T00:00:00\.000Z: set the time \(NTP: 'timedatectl set-ntp true'/);
});

t.test('clock: a wall clock stepped during the probe fails; agreement passes', async (t) => {
  const stepped = evaluateClock({ now: new Date('2026-03-01T00:00:00Z'), wallDeltaMs: 5100, monoDeltaMs: 100 });
  t.equal(stepped.ok, false);
  t.match(stepped.detail, /wall clock moved 5100 ms while 100 ms passed/);
  t.equal(evaluateClock({ now: new Date('2026-03-01T00:00:00Z'), wallDeltaMs: 0, monoDeltaMs: 0 }).ok, false, 'a monotonic clock that did not move');
  const good = evaluateClock({ now: new Date('2026-03-01T00:00:00Z'), wallDeltaMs: 101, monoDeltaMs: 100 });
  t.equal(good.ok, true);
  t.equal(good.detail, '2026-03-01T00:00:00.000Z (wall and monotonic clocks agree)');
});

t.test('clock: the probe on this machine passes', async (t) => {
  const f = await probeClock(20);
  t.ok(f.monoDeltaMs >= 15, `monotonic delta ${f.monoDeltaMs}`);
  t.equal(evaluateClock(f).ok, true);
});

t.test('disk: below the minimum fails naming both sizes', async (t) => {
  const r = evaluateDisk('/var/lib/lfr-edge', 0.5 * 1024 ** 3, 1024 ** 3);
  t.equal(r.ok, false);
  t.match(r.detail, /\/var\/lib\/lfr-edge: 0\.5 GiB free, below the 1\.0 GiB minimum/);
  t.equal(evaluateDisk('/x', 2 * 1024 ** 3, 1024 ** 3).ok, true);
});

t.test('disk: a real directory; a missing state dir fails with what makes it', async (t) => {
  const dir = tempDir();
  t.equal(checkDisk(dir, 1).ok, true);
  const huge = checkDisk(dir, Number.MAX_SAFE_INTEGER);
  t.equal(huge.ok, false, 'an impossible minimum fails');
  const missing = checkDisk(path.join(dir, 'nope'), 1);
  t.equal(missing.ok, false);
  t.match(missing.detail, /state directory .*nope does not exist: scripts\/provision creates it/);
});

const MOUNTS = [
  '/dev/vda / ext4 rw,relatime 0 0',
  'tmpfs /run tmpfs rw,nosuid,nodev,mode=755 0 0',
  'tmpfs /run/user/1000 tmpfs rw 0 0',
  '/dev/sdb1 /media/my\\040disk vfat rw 0 0',
  '',
].join('\n');

t.test('mounts: parsed with escapes; the longest prefix wins, not a mere string prefix', async (t) => {
  const mounts = parseMounts(MOUNTS);
  t.equal(mounts.length, 4);
  t.equal(mounts[3].mountPoint, '/media/my disk');
  t.equal(mountOf('/run/lfr-edge', mounts)?.mountPoint, '/run');
  t.equal(mountOf('/run', mounts)?.mountPoint, '/run');
  t.equal(mountOf('/running/x', mounts)?.mountPoint, '/', '/running is not under /run');
  t.equal(mountOf('/run/user/1000/x', mounts)?.mountPoint, '/run/user/1000');
});

t.test('runtime dir: tmpfs passes, a disk is a warning (not a failure)', async (t) => {
  const mounts = parseMounts(MOUNTS);
  const tmpfs = evaluateRuntimeDir('/run/lfr-edge', mountOf('/run/lfr-edge', mounts));
  t.same([tmpfs.ok, tmpfs.warn], [true, undefined]);
  t.equal(tmpfs.detail, '/run/lfr-edge is on tmpfs (/run)');
  const disk = evaluateRuntimeDir('/var/lfr', mountOf('/var/lfr', mounts));
  t.same([disk.ok, disk.warn], [true, true]);
  t.match(disk.detail, /\/var\/lfr is on ext4 \(\/\), not tmpfs: the session store would survive a power loss on disk/);
});

t.test('runtime dir: a dir that does not exist yet is judged by its nearest existing parent', async (t) => {
  const dir = tempDir();
  const mountsFile = path.join(dir, 'mounts');
  writeFileSync(mountsFile, `/dev/vda / ext4 rw 0 0\ntmpfs ${dir} tmpfs rw 0 0\n`);
  const r = checkRuntimeDir(path.join(dir, 'run', 'lfr-edge'), mountsFile);
  t.same([r.ok, r.warn], [true, undefined], r.detail);
  const unreadable = checkRuntimeDir('/run/lfr-edge', path.join(dir, 'no-such-mounts'));
  t.same([unreadable.ok, unreadable.warn], [true, true]);
  t.match(unreadable.detail, /cannot read .*no-such-mounts/);
});
