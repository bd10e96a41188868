/**
 * Host checks: clock, free disk on the state directory, the runtime directory on tmpfs.
 * Each has a pure core (facts in, result out) and a thin adapter reading the system.
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { fail, pass, warn, type CheckResult } from './check';

export const MIN_CLOCK_YEAR = 2025;

export interface ClockFacts {
  /** Wall clock at the end of the probe. */
  now: Date;
  /** Wall-clock and monotonic time elapsed over the same short probe. */
  wallDeltaMs: number;
  monoDeltaMs: number;
}

/** Pure: a year before MIN_CLOCK_YEAR (no RTC, no NTP yet) or a wall clock stepping during the probe fails. */
export function evaluateClock(f: ClockFacts): CheckResult {
  const name = 'clock';
  const year = f.now.getUTCFullYear();
  if (year < MIN_CLOCK_YEAR) {
    return fail(name, `the clock says ${f.now.toISOString()}: set the time (NTP: 'timedatectl set-ntp true', or 'date -s'); signed commands and TLS certificates are checked against it`);
  }
  if (!(f.monoDeltaMs > 0)) return fail(name, 'the monotonic clock did not advance');
  const skew = Math.abs(f.wallDeltaMs - f.monoDeltaMs);
  if (skew > 1000) {
    return fail(name, `the wall clock moved ${f.wallDeltaMs.toFixed(0)} ms while ${f.monoDeltaMs.toFixed(0)} ms passed: the time is being stepped (NTP catching up?); run the self-test again once it has settled`);
  }
  return pass(name, `${f.now.toISOString()} (wall and monotonic clocks agree)`);
}

export async function probeClock(probeMs = 100): Promise<ClockFacts> {
  const w0 = Date.now();
  const m0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, probeMs));
  const m1 = process.hrtime.bigint();
  const now = new Date();
  return { now, wallDeltaMs: now.getTime() - w0, monoDeltaMs: Number(m1 - m0) / 1e6 };
}

export const DEFAULT_MIN_FREE_BYTES = 1024 ** 3;

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

/** Pure: free bytes against the minimum. */
export function evaluateDisk(dir: string, freeBytes: number, minFreeBytes: number): CheckResult {
  const name = 'disk space';
  if (freeBytes < minFreeBytes) {
    return fail(name, `${dir}: ${gib(freeBytes)} free, below the ${gib(minFreeBytes)} minimum: the outbox and audit log live here; free space (old logs, journal: 'journalctl --vacuum-size=200M')`);
  }
  return pass(name, `${dir}: ${gib(freeBytes)} free (minimum ${gib(minFreeBytes)})`);
}

export function checkDisk(stateDir: string, minFreeBytes: number): CheckResult {
  if (!existsSync(stateDir)) {
    return fail('disk space', `state directory ${stateDir} does not exist: scripts/provision creates it (systemd's StateDirectory= too)`);
  }
  try {
    accessSync(stateDir, constants.W_OK);
  } catch {
    return fail('disk space', `state directory ${stateDir} is not writable by this user: 'chown lfr-edge: ${stateDir}'`);
  }
  const s = statfsSync(stateDir);
  return evaluateDisk(stateDir, Number(s.bavail) * Number(s.bsize), minFreeBytes);
}

export interface Mount {
  mountPoint: string;
  fsType: string;
}

/** Pure: parse /proc/mounts (octal escapes in paths decoded). */
export function parseMounts(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 3)
    .map((f) => ({ mountPoint: unescape(f[1]), fsType: f[2] }));
}

/** Pure: the mount holding a (resolved, absolute) path: the longest mount point that prefixes it; the last one listed wins a tie. */
export function mountOf(dir: string, mounts: Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || dir === mp || dir.startsWith(mp.endsWith('/') ? mp : mp + '/');
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** Pure: tmpfs (or ramfs) is ok; anything else a warning (the session store would reach a disk). */
export function evaluateRuntimeDir(dir: string, mount: Mount | undefined): CheckResult {
  const name = 'runtime dir';
  if (!mount) return warn(name, `${dir}: no mount found for it in /proc/mounts; cannot tell whether it is on tmpfs`);
  if (mount.fsType === 'tmpfs' || mount.fsType === 'ramfs') return pass(name, `${dir} is on ${mount.fsType} (${mount.mountPoint})`);
  return warn(name, `${dir} is on ${mount.fsType} (${mount.mountPoint}), not tmpfs: the session store would survive a power loss on disk; use /run/lfr-edge (systemd's RuntimeDirectory=)`);
}

/** The nearest existing ancestor, resolved (the runtime dir itself exists only while the service runs). */
function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!existsSync(d)) d = path.dirname(d);
  return realpathSync(d);
}

export function checkRuntimeDir(runtimeDir: string, mountsFile = '/proc/mounts'): CheckResult {
  let text: string;
  try {
    text = readFileSync(mountsFile, 'utf8');
  } catch (err) {
    return warn('runtime dir', `cannot read ${mountsFile} (${(err as Error).message}); cannot tell whether ${runtimeDir} is on tmpfs`);
  }
  const resolved = existingAncestor(runtimeDir);
  return evaluateRuntimeDir(runtimeDir, mountOf(resolved, parseMounts(text)));
}
