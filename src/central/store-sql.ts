/**
 * The CentralStore over SQL, shared by the SQLite and PostgreSQL drivers (store-sqlite.ts,
 * store-postgres.ts): one schema and one set of statements, written in the SQL both speak
 * (`?` placeholders, translated for PostgreSQL; JSON kept as text; ON CONFLICT upserts).
 */
import type { AlertMessage, CommandResultMessage, RecordMessage } from '../comms/messages';
import {
  alertWithoutCrop, type Adjudication, type AlertRow, type CentralStore, type RecordRow, type Role, type SignatureStatus,
  type UnitRow, type UnitStateKind, type UserRow,
} from './store';

export interface SqlDriver {
  readonly kind: 'sqlite' | 'postgres';
  /** Run one statement with `?` placeholders; rows for SELECT/RETURNING, the row count changed. */
  run(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[]; changes: number }>;
  /** Run the schema statements, one instance at a time (several may start together). */
  runSchema(statements: string[]): Promise<void>;
  close(): Promise<void>;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS units (unit_id TEXT PRIMARY KEY, status TEXT, health TEXT, session TEXT, updated_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS revs (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)`,
  `INSERT INTO revs (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
  `CREATE TABLE IF NOT EXISTS alerts (
     alert_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, session_id TEXT NOT NULL, subject_ref TEXT NOT NULL,
     category TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, threshold DOUBLE PRECISION NOT NULL,
     message TEXT NOT NULL, received_at TEXT NOT NULL, crop TEXT, had_crop INTEGER NOT NULL,
     crop_deleted_at TEXT, crop_deleted_reason TEXT, verdict TEXT, note TEXT, officer TEXT,
     adjudicated_at TEXT, command_id TEXT, unit_result TEXT, rev BIGINT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS alerts_rev ON alerts (rev)`,
  `CREATE INDEX IF NOT EXISTS alerts_command ON alerts (command_id)`,
  `CREATE TABLE IF NOT EXISTS sessions (unit_id TEXT NOT NULL, session_id TEXT NOT NULL, ended_at TEXT, PRIMARY KEY (unit_id, session_id))`,
  `CREATE TABLE IF NOT EXISTS records (unit_id TEXT NOT NULL, session_id TEXT NOT NULL, record TEXT NOT NULL, signature TEXT NOT NULL,
     received_at TEXT NOT NULL, PRIMARY KEY (unit_id, session_id))`,
  `CREATE TABLE IF NOT EXISTS deployments (unit_id TEXT NOT NULL, session_id TEXT NOT NULL, place TEXT NOT NULL, started_by TEXT NOT NULL,
     PRIMARY KEY (unit_id, session_id))`,
  `CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
     failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT)`,
];

/** Records with the place the supervisor gave when starting the session (none when started otherwise). */
const RECORDS = 'SELECT r.*, d.place FROM records r LEFT JOIN deployments d ON d.unit_id = r.unit_id AND d.session_id = r.session_id';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
const parse = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : null);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function alertRow(r: Record<string, unknown>): AlertRow {
  return {
    alertId: String(r.alert_id),
    unitId: String(r.unit_id),
    sessionId: String(r.session_id),
    subjectRef: String(r.subject_ref),
    category: String(r.category),
    score: Number(r.score),
    threshold: Number(r.threshold),
    message: parse<AlertRow['message']>(r.message)!,
    receivedAt: String(r.received_at),
    sealedCrop: parse<AlertRow['sealedCrop']>(r.crop),
    hadCrop: Number(r.had_crop) === 1,
    cropDeletedAt: str(r.crop_deleted_at),
    cropDeletedReason: str(r.crop_deleted_reason),
    verdict: (str(r.verdict) as AlertRow['verdict']) ?? null,
    note: str(r.note),
    officer: str(r.officer),
    adjudicatedAt: str(r.adjudicated_at),
    commandId: str(r.command_id),
    unitResult: parse<CommandResultMessage>(r.unit_result),
    rev: Number(r.rev),
  };
}

function recordRow(r: Record<string, unknown>): RecordRow {
  return {
    unitId: String(r.unit_id), sessionId: String(r.session_id), record: parse<RecordMessage>(r.record)!, signature: String(r.signature) as SignatureStatus,
    receivedAt: String(r.received_at), place: str(r.place),
  };
}

export class SqlCentralStore implements CentralStore {
  constructor(private readonly db: SqlDriver) {}

  get kind() {
    return this.db.kind;
  }

  async init(): Promise<void> {
    await this.db.runSchema(SCHEMA);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async nextRev(): Promise<number> {
    const { rows } = await this.db.run('UPDATE revs SET n = n + 1 WHERE id = 1 RETURNING n');
    return Number(rows[0].n);
  }

  async putUnitState(unitId: string, kind: UnitStateKind, payload: Record<string, unknown>, at: string): Promise<void> {
    // kind is one of three literal column names (typed), never user input
    await this.db.run(
      `INSERT INTO units (unit_id, ${kind}, updated_at) VALUES (?, ?, ?) ON CONFLICT (unit_id) DO UPDATE SET ${kind} = excluded.${kind}, updated_at = excluded.updated_at`,
      [unitId, JSON.stringify(payload), at],
    );
  }

  async listUnits(): Promise<UnitRow[]> {
    const { rows } = await this.db.run('SELECT * FROM units ORDER BY unit_id');
    return rows.map((r) => ({
      unitId: String(r.unit_id),
      status: parse(r.status),
      health: parse(r.health),
      session: parse(r.session),
      updatedAt: String(r.updated_at),
    }));
  }

  async insertAlert(a: AlertMessage, receivedAt: string): Promise<boolean> {
    const exists = await this.db.run('SELECT 1 FROM alerts WHERE alert_id = ?', [a.alertId]);
    if (exists.rows.length) return false;
    const rev = await this.nextRev();
    const r = await this.db.run(
      `INSERT INTO alerts (alert_id, unit_id, session_id, subject_ref, category, score, threshold, message, received_at, crop, had_crop, rev)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
      [a.alertId, a.unitId, a.sessionId, a.subjectRef, a.category, a.score, a.threshold, JSON.stringify(alertWithoutCrop(a)), receivedAt, json(a.crop), a.crop ? 1 : 0, rev],
    );
    return r.changes === 1;
  }

  async getAlert(alertId: string): Promise<AlertRow | undefined> {
    const { rows } = await this.db.run('SELECT * FROM alerts WHERE alert_id = ?', [alertId]);
    return rows[0] ? alertRow(rows[0]) : undefined;
  }

  async listAlerts(limit: number): Promise<AlertRow[]> {
    const { rows } = await this.db.run('SELECT * FROM alerts ORDER BY received_at DESC, rev DESC LIMIT ?', [limit]);
    return rows.map(alertRow);
  }

  async alertsChangedSince(rev: number, limit: number): Promise<AlertRow[]> {
    const { rows } = await this.db.run('SELECT * FROM alerts WHERE rev > ? ORDER BY rev LIMIT ?', [rev, limit]);
    return rows.map(alertRow);
  }

  async adjudicate(alertId: string, a: Adjudication): Promise<boolean> {
    const rev = await this.nextRev();
    const r = await this.db.run(
      'UPDATE alerts SET verdict = ?, note = ?, officer = ?, command_id = ?, adjudicated_at = ?, unit_result = NULL, rev = ? WHERE alert_id = ? AND verdict IS NULL',
      [a.verdict, a.note, a.officer, a.commandId, a.at, rev, alertId],
    );
    return r.changes === 1;
  }

  async putCommandResult(result: CommandResultMessage): Promise<string | undefined> {
    if (!result.commandId) return undefined;
    const { rows } = await this.db.run('SELECT alert_id FROM alerts WHERE command_id = ?', [result.commandId]);
    if (!rows[0]) return undefined;
    const rev = await this.nextRev();
    await this.db.run('UPDATE alerts SET unit_result = ?, rev = ? WHERE command_id = ?', [JSON.stringify(result), rev, result.commandId]);
    return String(rows[0].alert_id);
  }

  async deleteCrop(alertId: string, reason: string, at: string): Promise<boolean> {
    const rev = await this.nextRev();
    const r = await this.db.run('UPDATE alerts SET crop = NULL, crop_deleted_at = ?, crop_deleted_reason = ?, rev = ? WHERE alert_id = ? AND crop IS NOT NULL', [at, reason, rev, alertId]);
    return r.changes === 1;
  }

  async cropsDue(now: Date, confirmedDays: number, graceHours: number): Promise<{ alertId: string; reason: string }[]> {
    const confirmedBefore = new Date(now.getTime() - confirmedDays * 86400_000).toISOString();
    const endedBefore = new Date(now.getTime() - graceHours * 3600_000).toISOString();
    const a = await this.db.run("SELECT alert_id FROM alerts WHERE crop IS NOT NULL AND verdict = 'confirmed' AND adjudicated_at < ?", [confirmedBefore]);
    const b = await this.db.run(
      `SELECT a.alert_id FROM alerts a JOIN sessions s ON s.unit_id = a.unit_id AND s.session_id = a.session_id
       WHERE a.crop IS NOT NULL AND a.verdict IS NULL AND s.ended_at IS NOT NULL AND s.ended_at < ?`,
      [endedBefore],
    );
    return [
      ...a.rows.map((r) => ({ alertId: String(r.alert_id), reason: `confirmed more than ${confirmedDays} days ago` })),
      ...b.rows.map((r) => ({ alertId: String(r.alert_id), reason: `not adjudicated ${graceHours} h after its session ended` })),
    ];
  }

  async noteSessionEnded(unitId: string, sessionId: string, endedAt: string): Promise<void> {
    await this.db.run(
      'INSERT INTO sessions (unit_id, session_id, ended_at) VALUES (?, ?, ?) ON CONFLICT (unit_id, session_id) DO UPDATE SET ended_at = excluded.ended_at',
      [unitId, sessionId, endedAt],
    );
  }

  async insertRecord(record: RecordMessage, signature: SignatureStatus, receivedAt: string): Promise<boolean> {
    const r = await this.db.run(
      'INSERT INTO records (unit_id, session_id, record, signature, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (unit_id, session_id) DO NOTHING',
      [record.unitId, record.sessionId, JSON.stringify(record), signature, receivedAt],
    );
    return r.changes === 1;
  }

  async listRecords(): Promise<RecordRow[]> {
    const { rows } = await this.db.run(`${RECORDS} ORDER BY r.received_at DESC`);
    return rows.map(recordRow);
  }

  async getRecord(unitId: string, sessionId: string): Promise<RecordRow | undefined> {
    const { rows } = await this.db.run(`${RECORDS} WHERE r.unit_id = ? AND r.session_id = ?`, [unitId, sessionId]);
    return rows[0] ? recordRow(rows[0]) : undefined;
  }

  async putPlace(unitId: string, sessionId: string, place: string, startedBy: string): Promise<void> {
    await this.db.run(
      'INSERT INTO deployments (unit_id, session_id, place, started_by) VALUES (?, ?, ?, ?) ON CONFLICT (unit_id, session_id) DO UPDATE SET place = excluded.place, started_by = excluded.started_by',
      [unitId, sessionId, place, startedBy],
    );
  }

  async putUser(u: { name: string; role: Role; passwordHash: string }): Promise<void> {
    await this.db.run(
      `INSERT INTO users (name, role, password_hash, failed_logins, locked_until) VALUES (?, ?, ?, 0, NULL)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, failed_logins = 0, locked_until = NULL`,
      [u.name, u.role, u.passwordHash],
    );
  }

  async getUser(name: string): Promise<UserRow | undefined> {
    const { rows } = await this.db.run('SELECT * FROM users WHERE name = ?', [name]);
    const r = rows[0];
    if (!r) return undefined;
    return { name: String(r.name), role: String(r.role) as Role, passwordHash: String(r.password_hash), failedLogins: Number(r.failed_logins), lockedUntil: str(r.locked_until) };
  }

  async noteLoginFailure(name: string, maxFailures: number, lockUntil: string): Promise<void> {
    await this.db.run(
      'UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END WHERE name = ?',
      [maxFailures, lockUntil, name],
    );
  }

  async clearLoginFailures(name: string): Promise<void> {
    await this.db.run('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?', [name]);
  }
}
