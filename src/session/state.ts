/**
 * The deployment session's pure core: states and transitions, the expiry rule, the counters and
 * the DeploymentRecord. Data in, data out; time is passed in; no I/O.
 *
 *   idle --start--> active --end(command | expiry | sigterm)--> ended
 *                   active --(crash, found at next start)-----> aborted
 *   ended | aborted --start--> active   (a new session, a new bundle)
 */
import type { WipeResult } from '../watchlist/store';
import type { SessionCalibrationFacts } from './calibration-policy';

export type SessionState = 'idle' | 'active' | 'ended' | 'aborted';
export type EndReason = 'command' | 'expiry' | 'sigterm';
export type Verdict = 'confirmed' | 'false-alert';

export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    readonly code: 'session-active' | 'no-session' | 'unknown-alert' | 'store-failed' | 'threshold-failed' | 'bad-bundle' | 'calibration-refused',
    message: string,
  ) {
    super(message);
  }
}

/**
 * How the session's alerts are decided (recognition.decision): on single frames ('min-frames',
 * 'mean-best': `threshold`) or on each track's fused template ('template': `fusedThreshold`,
 * computed from the calibration's fused-template impostors for the same rate and watchlist size).
 */
export interface DecisionFacts {
  rule: 'min-frames' | 'mean-best' | 'template';
  /** True when alerts are decided on fused track templates. */
  fused: boolean;
  fusedThreshold?: number;
  /** What set the fused threshold: 'fused' (fused-template impostors) or the single-face distribution when it was higher. */
  fusedDecidingGroup?: string;
  /** Rule 'template': K and the weighting of the template. */
  templateFrames?: number;
  weighting?: 'uniform' | 'quality';
}

export interface SessionInfo {
  id?: string;
  state: SessionState;
  bundleId?: string;
  startedAt?: string;
  expiresAt?: string;
  /** Distinct subjects (a subject with several photos counts once). */
  watchlistSize: number;
  threshold?: number;
  /** The false-alert rate the threshold was calibrated for (per non-watchlist face). */
  targetFalseAlertRate: number;
  /** The demographic group whose impostor scores set the threshold, when one did. */
  decidingGroup?: string;
  /** The calibration behind the threshold: per group, the FMR at it with its interval. */
  calibration?: SessionCalibrationFacts;
  decision?: DecisionFacts;
}

export interface DeploymentRecord {
  v: 1;
  sessionId: string;
  unitId: string;
  bundleId: string;
  startedAt: string;
  endedAt: string;
  endedBy: EndReason | 'aborted';
  watchlistSize: number;
  threshold: number;
  targetFalseAlertRate: number;
  decidingGroup?: string;
  /** The calibration behind the threshold: per group, the FMR at it with its interval. */
  calibration?: SessionCalibrationFacts;
  /** How the alerts were decided: single frames or fused track templates (and the fused threshold). */
  decision?: DecisionFacts;
  facesProcessed: number;
  tracks: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  unadjudicated: number;
  /**
   * Alerts of this session that could not be stored durably in the outbox (the disk was full):
   * published at once if the broker was up, held in memory otherwise. Absent when 0.
   */
  alertsAtRisk?: number;
  /** Aborted sessions only: the last time the running unit wrote its counts (its last sign of life). */
  lastAliveAt?: string;
  /** Aborted sessions only: when the next start found the session aborted. */
  abortFoundAt?: string;
  /** The audit log's last entry when the record was made: `lfr-edge audit verify --record` checks the log against it. */
  auditHead?: { seq: number; hash: string };
  wipe: WipeResult;
}

/** The counts kept durably while a session runs (in the crash marker): numbers only, no ids, no biometrics. */
export interface DurableCounts {
  facesProcessed: number;
  tracks: number;
  alerts: number;
  confirmed: number;
  falseAlerts: number;
  alertsAtRisk: number;
}

/** The facts fixed when a session starts (all non-biometric; also the crash marker's content). */
export interface SessionFacts {
  sessionId: string;
  unitId: string;
  bundleId: string;
  startedAt: string;
  expiresAt: string;
  watchlistSize: number;
  threshold: number;
  targetFalseAlertRate: number;
  decidingGroup?: string;
  calibration?: SessionCalibrationFacts;
  decision?: DecisionFacts;
}

export interface SessionCounters {
  facesProcessed: number;
  tracks: number;
  /** alert id -> verdict (undefined until adjudicated) */
  alerts: Map<string, Verdict | undefined>;
  /** alert ids that could not be stored durably (see DeploymentRecord.alertsAtRisk) */
  atRisk: Set<string>;
}

export function newCounters(): SessionCounters {
  return { facesProcessed: 0, tracks: 0, alerts: new Map(), atRisk: new Set() };
}

/** The counters as numbers (what the marker keeps). */
export function durableCounts(c: SessionCounters): DurableCounts {
  let confirmed = 0, falseAlerts = 0;
  for (const v of c.alerts.values()) {
    if (v === 'confirmed') confirmed++;
    else if (v === 'false-alert') falseAlerts++;
  }
  return { facesProcessed: c.facesProcessed, tracks: c.tracks, alerts: c.alerts.size, confirmed, falseAlerts, alertsAtRisk: c.atRisk.size };
}

/** The record of a session found aborted at start-up, from its marker's facts and last counts. */
export function buildAbortedRecord(facts: SessionFacts, counts: DurableCounts | undefined, lastAliveAt: string | undefined, foundAt: Date, wipe: WipeResult): DeploymentRecord {
  const c = counts ?? { facesProcessed: 0, tracks: 0, alerts: 0, confirmed: 0, falseAlerts: 0, alertsAtRisk: 0 };
  const endedAt = lastAliveAt ?? facts.startedAt;
  return {
    ...recordBase(facts, 'aborted', endedAt),
    facesProcessed: c.facesProcessed,
    tracks: c.tracks,
    alerts: c.alerts,
    confirmed: c.confirmed,
    falseAlerts: c.falseAlerts,
    unadjudicated: Math.max(0, c.alerts - c.confirmed - c.falseAlerts),
    ...(c.alertsAtRisk ? { alertsAtRisk: c.alertsAtRisk } : {}),
    lastAliveAt: endedAt,
    abortFoundAt: foundAt.toISOString(),
    wipe,
  };
}

function recordBase(facts: SessionFacts, endedBy: DeploymentRecord['endedBy'], endedAt: string) {
  return {
    v: 1 as const,
    sessionId: facts.sessionId,
    unitId: facts.unitId,
    bundleId: facts.bundleId,
    startedAt: facts.startedAt,
    endedAt,
    endedBy,
    watchlistSize: facts.watchlistSize,
    threshold: facts.threshold,
    targetFalseAlertRate: facts.targetFalseAlertRate,
    ...(facts.decidingGroup !== undefined ? { decidingGroup: facts.decidingGroup } : {}),
    ...(facts.calibration !== undefined ? { calibration: facts.calibration } : {}),
    ...(facts.decision !== undefined ? { decision: facts.decision } : {}),
  };
}

const STARTABLE: readonly SessionState[] = ['idle', 'ended', 'aborted'];

/** Throws SessionError when the transition is not allowed from `state`. */
export function assertTransition(state: SessionState, to: 'active' | 'ended'): void {
  if (to === 'active' && !STARTABLE.includes(state)) {
    throw new SessionError('session-active', 'a session is already active: end it (end-session) before starting another');
  }
  if (to === 'ended' && state !== 'active') {
    throw new SessionError('no-session', `no session is active (state ${state})`);
  }
}

/** When a session started at `start` ends by itself: the bundle's expiry or start + max duration, whichever is first. */
export function sessionExpiry(start: Date, bundleExpiresAt: string, maxDurationHours: number): Date {
  const byDuration = start.getTime() + maxDurationHours * 3600_000;
  const byBundle = Date.parse(bundleExpiresAt);
  if (Number.isNaN(byBundle)) throw new SessionError('bad-bundle', `bundle expiry '${bundleExpiresAt}' is not a date`);
  return new Date(Math.min(byDuration, byBundle));
}

/**
 * Time on the session's two clocks. `wall` is the system clock (it can be stepped: NTP after a
 * boot without RTC, an operator, a bad GPS); `monoMs` is a monotonic clock in milliseconds
 * (process.hrtime based: never stepped, counts from an arbitrary origin within one process).
 */
export interface SessionClocks {
  wall: Date;
  monoMs: number;
}

/**
 * The session's deadline on the monotonic clock: as long after the monotonic start as the wall
 * expiry is after the wall start. Enforced as well as the wall expiry, so a wall clock stepped
 * back cannot stretch a session past its maximum duration.
 */
export function monotonicDeadline(start: SessionClocks, expiresAt: Date): number {
  return start.monoMs + Math.max(0, expiresAt.getTime() - start.wall.getTime());
}

/**
 * Which clock says the session is over: 'wall' (now at or past expiresAt), 'monotonic' (the
 * monotonic deadline passed: the session ran its full length whatever the wall clock says), or
 * undefined. Without a monotonic deadline only the wall clock counts.
 */
export function expiryDue(facts: Pick<SessionFacts, 'expiresAt'>, now: Date, mono?: { nowMs: number; deadlineMs: number }): 'wall' | 'monotonic' | undefined {
  if (now.getTime() >= Date.parse(facts.expiresAt)) return 'wall';
  if (mono && mono.nowMs >= mono.deadlineMs) return 'monotonic';
  return undefined;
}

export function isExpired(facts: Pick<SessionFacts, 'expiresAt'>, now: Date, mono?: { nowMs: number; deadlineMs: number }): boolean {
  return expiryDue(facts, now, mono) !== undefined;
}

export function buildRecord(facts: SessionFacts, counters: SessionCounters, endedBy: DeploymentRecord['endedBy'], now: Date, wipe: WipeResult): DeploymentRecord {
  let confirmed = 0, falseAlerts = 0, unadjudicated = 0;
  for (const v of counters.alerts.values()) {
    if (v === 'confirmed') confirmed++;
    else if (v === 'false-alert') falseAlerts++;
    else unadjudicated++;
  }
  return {
    ...recordBase(facts, endedBy, now.toISOString()),
    facesProcessed: counters.facesProcessed,
    tracks: counters.tracks,
    alerts: counters.alerts.size,
    confirmed,
    falseAlerts,
    unadjudicated,
    ...(counters.atRisk.size ? { alertsAtRisk: counters.atRisk.size } : {}),
    wipe,
  };
}
