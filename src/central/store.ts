/**
 * What `central serve` keeps: units' retained state, sessions, alerts (with their sealed crops and
 * adjudications), deployment records and the console's users. One interface, two implementations
 * (store-sqlite.ts: the embedded default, one instance; store-postgres.ts: several instances on one
 * database), both run against the same test suite (test/central/store.test.ts).
 *
 * Alerts are idempotent by id (MQTT delivery is at-least-once): inserting one twice stores it once.
 * Every change to an alert bumps a store-wide revision number, so that every instance's live feed
 * (SSE) sees changes made by any instance (`alertsChangedSince`).
 */
import type { AlertMessage, CommandResultMessage, RecordMessage, Verdict } from '../comms/messages';

export type UnitStateKind = 'status' | 'health' | 'session';

export interface UnitRow {
  unitId: string;
  status: Record<string, unknown> | null;
  health: Record<string, unknown> | null;
  session: Record<string, unknown> | null;
  updatedAt: string;
}

export interface AlertRow {
  alertId: string;
  unitId: string;
  sessionId: string;
  subjectRef: string;
  category: string;
  score: number;
  threshold: number;
  /** The alert as received, without its crop. */
  message: Omit<AlertMessage, 'crop'>;
  receivedAt: string;
  /** The crop as received (still sealed to the central key); null when none came or it was deleted. */
  sealedCrop: NonNullable<AlertMessage['crop']> | null;
  hadCrop: boolean;
  cropDeletedAt: string | null;
  cropDeletedReason: string | null;
  verdict: Verdict | null;
  note: string | null;
  officer: string | null;
  adjudicatedAt: string | null;
  commandId: string | null;
  /** The unit's cmd-result for the adjudication, when it came. */
  unitResult: CommandResultMessage | null;
  rev: number;
}

export type SignatureStatus = 'valid' | 'invalid' | 'unknown-unit-key';

export interface RecordRow {
  unitId: string;
  sessionId: string;
  record: RecordMessage;
  signature: SignatureStatus;
  receivedAt: string;
  /** Where the unit was deployed, as the supervisor gave it when starting the session from the console. */
  place: string | null;
}

export type Role = 'officer' | 'supervisor' | 'auditor';
export const ROLES: readonly Role[] = ['officer', 'supervisor', 'auditor'];

export interface UserRow {
  name: string;
  role: Role;
  /** scrypt hash (src/central/auth.ts format). */
  passwordHash: string;
  failedLogins: number;
  lockedUntil: string | null;
}

export interface Adjudication {
  verdict: Verdict;
  note: string | null;
  officer: string;
  commandId: string;
  at: string;
}

export interface CentralStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Create the tables if they are missing. */
  init(): Promise<void>;
  close(): Promise<void>;

  putUnitState(unitId: string, kind: UnitStateKind, payload: Record<string, unknown>, at: string): Promise<void>;
  listUnits(): Promise<UnitRow[]>;

  /** Store an alert; false when one with this id is already stored (a redelivery). */
  insertAlert(alert: AlertMessage, receivedAt: string): Promise<boolean>;
  getAlert(alertId: string): Promise<AlertRow | undefined>;
  /** Newest first. */
  listAlerts(limit: number): Promise<AlertRow[]>;
  alertsChangedSince(rev: number, limit: number): Promise<AlertRow[]>;
  /** The officer's verdict, sent as a command: false when the alert is unknown or already adjudicated. */
  adjudicate(alertId: string, a: Adjudication): Promise<boolean>;
  /** The unit's answer to an adjudication command; returns the alert id it belongs to. */
  putCommandResult(result: CommandResultMessage): Promise<string | undefined>;
  /** Remove an alert's crop (retention); false when there was none left. */
  deleteCrop(alertId: string, reason: string, at: string): Promise<boolean>;
  /**
   * Alerts whose crop is due for deletion at `now`: confirmed ones adjudicated more than
   * `confirmedDays` ago, unadjudicated ones whose session ended more than `graceHours` ago.
   */
  cropsDue(now: Date, confirmedDays: number, graceHours: number): Promise<{ alertId: string; reason: string }[]>;

  /** A session's end (from its record or retained state), used by retention. */
  noteSessionEnded(unitId: string, sessionId: string, endedAt: string): Promise<void>;
  /** Store a record once per (unit, session); false when already stored. */
  insertRecord(record: RecordMessage, signature: SignatureStatus, receivedAt: string): Promise<boolean>;
  listRecords(): Promise<RecordRow[]>;
  getRecord(unitId: string, sessionId: string): Promise<RecordRow | undefined>;
  /** The place of a deployment (given when its session was started from the console). */
  putPlace(unitId: string, sessionId: string, place: string, startedBy: string): Promise<void>;

  putUser(u: { name: string; role: Role; passwordHash: string }): Promise<void>;
  getUser(name: string): Promise<UserRow | undefined>;
  /** Count a failed sign-in; lock the account until `lockUntil` when it reaches `maxFailures`. */
  noteLoginFailure(name: string, maxFailures: number, lockUntil: string): Promise<void>;
  clearLoginFailures(name: string): Promise<void>;
}

/** The alert without its crop (what the tables keep readable). */
export function alertWithoutCrop(a: AlertMessage): Omit<AlertMessage, 'crop'> {
  const { crop: _c, ...rest } = a;
  return rest;
}
