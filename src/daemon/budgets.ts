/**
 * Every time bound of the daemon's start and stop, in one place. The lifecycle bounds each
 * component's start and stop with these; `lfr-edge run` exits hard after `hardExitMs`; and
 * test/daemon/budgets.test.ts reads systemd/lfr-edge.service and checks that TimeoutStartSec,
 * TimeoutStopSec and WatchdogSec hold the sums with a margin (checkUnitTimeouts). Raising a
 * budget in the config means raising the unit's timeouts in a drop-in as well.
 *
 * Pure: no clock, no files.
 */
import type { DaemonConfig } from './config';

/** The daemon's components, in start order. */
export const COMPONENTS = ['audit', 'mqtt', 'session', 'camera+vision', 'health'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/**
 * Default start budget per component (seconds). camera+vision is the long one: the vision worker
 * loads every model (on a Jetson: deserialises the TensorRT engines, or loads the plain models on
 * CUDA when an engine fails its check) before the camera starts.
 */
export const DEFAULT_START_BUDGET_S: Readonly<Record<ComponentName, number>> = {
  audit: 5,
  mqtt: 10,
  session: 15,
  'camera+vision': 60,
  health: 5,
};

/**
 * Default stop budget per component (seconds). mqtt: the retained `offline` (2 s) and the
 * connection's end (2 s); camera+vision: the frame in progress, the camera child's exit, the worker.
 */
export const DEFAULT_STOP_BUDGET_S: Readonly<Record<ComponentName, number>> = {
  audit: 3,
  mqtt: 5,
  session: 3,
  'camera+vision': 10,
  health: 3,
};

/**
 * How long a start that was cancelled (a stop arrived, or its budget ran out) gets to end after
 * its AbortSignal fired, before the lifecycle stops it anyway and reports it.
 */
export const CANCEL_GRACE_S = 2;

/** Verifying the models' sha256 before anything starts (synchronous; measured 21-35 ms here for the 4 files, 7.6 MB). */
export const VERIFY_MODELS_S = 10;

/** Ending and wiping the session on SIGTERM (synchronous: the store is closed and its files removed; measured 0.48 s for 10,000 subjects at load ~15). */
export const SESSION_END_S = 5;

/** After the stop's own sum, before the hard exit: logging and the process's own exit. */
export const HARD_EXIT_SLACK_S = 2;

/**
 * The longest the event loop may legitimately be blocked while running (a start-session bundle
 * decrypted and its matcher built, the end-session wipe). WatchdogSec must leave room for two.
 * Measured (DeploymentSession.start, machine at load ~15): 0.4 s for 1,000 subjects, 3.2 s for
 * 10,000 (a 21 MB bundle); a much larger watchlist needs a longer WatchdogSec.
 */
export const EVENT_LOOP_BLOCK_S = 5;

export interface DaemonBudgets {
  startMs: Record<ComponentName, number>;
  stopMs: Record<ComponentName, number>;
  cancelGraceMs: number;
  verifyModelsMs: number;
  readyMs: number;
  sessionEndMs: number;
  flushMs: number;
  /** Start when every component finishes within its budget, then the wait for the first frame. */
  startTotalMs: number;
  /** Start when every component overruns: each one's budget, its cancel grace and its stop. */
  startWorstMs: number;
  /** SIGTERM: end the session, flush the record, a start in progress cancelled, every component stopped. */
  stopTotalMs: number;
  /** `lfr-edge run` exits hard when a graceful stop overruns this. */
  hardExitMs: number;
  eventLoopBlockMs: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** The budgets from the `daemon` config section (its per-component overrides over the defaults). */
export function daemonBudgets(d: DaemonConfig): DaemonBudgets {
  const startMs = {} as Record<ComponentName, number>;
  const stopMs = {} as Record<ComponentName, number>;
  for (const c of COMPONENTS) {
    startMs[c] = (d.startBudgetS[c] ?? DEFAULT_START_BUDGET_S[c]) * 1000;
    stopMs[c] = (d.stopBudgetS[c] ?? DEFAULT_STOP_BUDGET_S[c]) * 1000;
  }
  const cancelGraceMs = CANCEL_GRACE_S * 1000;
  const verifyModelsMs = VERIFY_MODELS_S * 1000;
  const readyMs = d.readyTimeoutS * 1000;
  const sessionEndMs = SESSION_END_S * 1000;
  const flushMs = d.flushTimeoutS * 1000;
  const starts = sum(COMPONENTS.map((c) => startMs[c]));
  const stops = sum(COMPONENTS.map((c) => stopMs[c]));
  const startTotalMs = verifyModelsMs + starts + readyMs;
  const startWorstMs = verifyModelsMs + starts + COMPONENTS.length * cancelGraceMs + stops + readyMs;
  const stopTotalMs = sessionEndMs + flushMs + cancelGraceMs + stops;
  return {
    startMs, stopMs, cancelGraceMs, verifyModelsMs, readyMs, sessionEndMs, flushMs,
    startTotalMs, startWorstMs, stopTotalMs,
    hardExitMs: stopTotalMs + HARD_EXIT_SLACK_S * 1000,
    eventLoopBlockMs: EVENT_LOOP_BLOCK_S * 1000,
  };
}

export interface UnitTimeouts {
  timeoutStartS: number;
  timeoutStopS: number;
  watchdogS: number;
}

/** A systemd time span ("45", "45s", "2min", "1min 30s", "500ms") in seconds. */
export function parseTimespan(text: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, second: 1, seconds: 1, ms: 0.001, msec: 0.001, m: 60, min: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600 };
  if (!/^\s*(?:\d+(?:\.\d+)?\s*[a-z]*\s*)+$/.test(text)) throw new Error(`'${text}' is not a systemd time span`);
  let total = 0;
  for (const m of text.trim().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) {
    const f = units[m[2]];
    if (f === undefined) throw new Error(`'${text}': unknown time unit '${m[2]}'`);
    total += Number(m[1]) * f;
  }
  return total;
}

/** TimeoutStartSec, TimeoutStopSec and WatchdogSec from a unit file's text (each must be set). */
export function parseUnitTimeouts(unitText: string): UnitTimeouts {
  const get = (key: string): number => {
    const lines = unitText.split('\n').filter((l) => l.trim().startsWith(`${key}=`));
    if (!lines.length) throw new Error(`the unit file sets no ${key}`);
    return parseTimespan(lines[lines.length - 1].trim().slice(key.length + 1));
  };
  return { timeoutStartS: get('TimeoutStartSec'), timeoutStopS: get('TimeoutStopSec'), watchdogS: get('WatchdogSec') };
}

/** The margin a unit timeout must leave over the daemon's own bound: 10 %, at least `minS`. */
const margin = (ms: number, minS: number) => Math.max(ms * 0.1, minS * 1000);

/**
 * What in the unit's timeouts does not hold the daemon's budgets; empty when all hold.
 * - TimeoutStartSec: the worst start (every component overrunning) plus the margin (10 s at least),
 *   so the daemon reports its own degraded start before systemd kills it.
 * - TimeoutStopSec: the hard exit plus the margin (5 s at least), so the daemon's record and its
 *   own exit come before systemd's SIGKILL.
 * - WatchdogSec: room for two longest event-loop blocks plus the ping interval (half of it).
 */
export function checkUnitTimeouts(b: DaemonBudgets, u: UnitTimeouts): string[] {
  const out: string[] = [];
  const s = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  const startNeed = b.startWorstMs + margin(b.startWorstMs, 10);
  if (u.timeoutStartS * 1000 < startNeed) out.push(`TimeoutStartSec=${u.timeoutStartS} is less than the worst start ${s(b.startWorstMs)} plus margin (${s(startNeed)})`);
  const stopNeed = b.hardExitMs + margin(b.hardExitMs, 5);
  if (u.timeoutStopS * 1000 < stopNeed) out.push(`TimeoutStopSec=${u.timeoutStopS} is less than the hard exit ${s(b.hardExitMs)} plus margin (${s(stopNeed)})`);
  if (b.stopTotalMs >= b.hardExitMs) out.push(`the hard exit (${s(b.hardExitMs)}) comes before the graceful stop can finish (${s(b.stopTotalMs)})`);
  const wdNeed = 2 * b.eventLoopBlockMs + (u.watchdogS * 1000) / 2;
  if (u.watchdogS * 1000 < wdNeed) out.push(`WatchdogSec=${u.watchdogS} leaves no room for two ${s(b.eventLoopBlockMs)} event-loop blocks beside the ping interval (${s(wdNeed)})`);
  return out;
}
