/**
 * The durable outbox: alerts, deployment records and command results are written here (SQLite,
 * WAL, synchronous=FULL) before they are published, and removed only when the broker acknowledges
 * them (PUBACK). They keep their order (seq) and carry their own ids (alertId, sessionId,
 * commandId) so the central side can drop the duplicates that at-least-once delivery allows.
 *
 * Rows holding a face crop are sealed (seal.ts).
 *
 * Bounded, with this policy when a bound (maxRows, maxBytes) is passed, applied step by step until
 * both hold again:
 *   1. face crops are removed from the oldest alerts first (the alert itself stays, `cropDropped: true`);
 *   2. the oldest command results are dropped;
 *   3. the oldest alerts are dropped.
 * Deployment records are never dropped. Every drop is counted (dropped()) and logged.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';
import type { OutboxKind } from './messages';
import { seal, unseal } from './seal';

export interface OutboxOptions {
  /** AES-256 key (deriveOutboxKey) for rows holding a face crop. */
  sealKey: Buffer;
  maxRows: number;
  maxBytes: number;
  logger: Logger;
  now?: () => Date;
}

export interface OutboxRow {
  seq: number;
  kind: OutboxKind;
  msgId: string;
  /** The JSON payload as it is published (unsealed). */
  payload: Buffer;
}

export interface OutboxDropped {
  crops: number;
  cmdResults: number;
  alerts: number;
}

interface DbRow {
  seq: number;
  kind: OutboxKind;
  msg_id: string;
  sealed: number;
  has_crop: number;
  bytes: number;
  payload: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('alert', 'record', 'cmd-result')),
  msg_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  sealed INTEGER NOT NULL,
  has_crop INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, seq);
CREATE TABLE IF NOT EXISTS outbox_dropped (what TEXT PRIMARY KEY, n INTEGER NOT NULL);
`;

/** Open the comms SQLite file (outbox + seen command ids), creating its directory. */
export function openCommsDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

export class Outbox {
  private rows = 0;
  private bytes = 0;
  private readonly now: () => Date;
  private readonly log: Logger;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: OutboxOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.logger.child({ component: 'outbox' });
    db.exec(SCHEMA);
    const s = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox').get() as { n: number; b: number };
    this.rows = s.n;
    this.bytes = s.b;
  }

  /** Append a message; durable when this returns. Returns its seq. */
  add(kind: OutboxKind, msgId: string, payload: object): number {
    const json = Buffer.from(JSON.stringify(payload), 'utf8');
    const hasCrop = kind === 'alert' && (payload as { crop?: unknown }).crop !== undefined;
    const stored = hasCrop ? seal(this.opts.sealKey, json, aad(kind, msgId)) : json;
    const insert = this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT INTO outbox (kind, msg_id, created_at, sealed, has_crop, bytes, payload) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(kind, msgId, this.now().toISOString(), hasCrop ? 1 : 0, hasCrop ? 1 : 0, stored.length, stored);
      this.rows += 1;
      this.bytes += stored.length;
      this.enforceBounds(Number(r.lastInsertRowid));
      return Number(r.lastInsertRowid);
    });
    return insert();
  }

  /** Up to `limit` rows with seq > afterSeq, oldest first, unsealed. */
  peek(afterSeq: number, limit: number): OutboxRow[] {
    const rows = this.db.prepare('SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as DbRow[];
    return rows.map((r) => ({ seq: r.seq, kind: r.kind, msgId: r.msg_id, payload: this.open(r) }));
  }

  /** Remove an acknowledged row (no-op when it was already dropped by the bound policy). */
  remove(seq: number): void {
    const r = this.db.prepare('DELETE FROM outbox WHERE seq = ? RETURNING bytes').get(seq) as { bytes: number } | undefined;
    if (r) {
      this.rows -= 1;
      this.bytes -= r.bytes;
    }
  }

  depth(): number {
    return this.rows;
  }

  sizeBytes(): number {
    return this.bytes;
  }

  dropped(): OutboxDropped {
    const out: OutboxDropped = { crops: 0, cmdResults: 0, alerts: 0 };
    for (const r of this.db.prepare('SELECT what, n FROM outbox_dropped').all() as { what: keyof OutboxDropped; n: number }[]) out[r.what] = r.n;
    return out;
  }

  close(): void {
    this.db.close();
  }

  private open(r: DbRow): Buffer {
    return r.sealed ? unseal(this.opts.sealKey, r.payload, aad(r.kind, r.msg_id)) : r.payload;
  }

  private countDrop(what: keyof OutboxDropped, n: number): void {
    this.db.prepare('INSERT INTO outbox_dropped (what, n) VALUES (?, ?) ON CONFLICT(what) DO UPDATE SET n = n + excluded.n').run(what, n);
  }

  private over(): boolean {
    return this.rows > this.opts.maxRows || this.bytes > this.opts.maxBytes;
  }

  private enforceBounds(newest: number): void {
    // 1. face crops of the oldest alerts (only the byte bound is helped by this)
    while (this.bytes > this.opts.maxBytes) {
      const r = this.db.prepare("SELECT * FROM outbox WHERE kind = 'alert' AND has_crop = 1 ORDER BY seq LIMIT 1").get() as DbRow | undefined;
      if (!r) break;
      const alert = JSON.parse(this.open(r).toString('utf8')) as Record<string, unknown>;
      delete alert.crop;
      alert.cropDropped = true;
      const plain = Buffer.from(JSON.stringify(alert), 'utf8');
      this.db.prepare('UPDATE outbox SET sealed = 0, has_crop = 0, bytes = ?, payload = ? WHERE seq = ?').run(plain.length, plain, r.seq);
      this.bytes += plain.length - r.bytes;
      this.countDrop('crops', 1);
      this.log.warn('outbox full: removed the face crop of the oldest alert', { alertId: r.msg_id, seq: r.seq });
    }
    // 2. oldest command results, 3. oldest alerts; never records
    for (const [kind, what] of [['cmd-result', 'cmdResults'], ['alert', 'alerts']] as const) {
      while (this.over()) {
        const r = this.db.prepare('DELETE FROM outbox WHERE seq = (SELECT seq FROM outbox WHERE kind = ? AND seq != ? ORDER BY seq LIMIT 1) RETURNING seq, msg_id, bytes').get(kind, newest) as
          | { seq: number; msg_id: string; bytes: number }
          | undefined;
        if (!r) break;
        this.rows -= 1;
        this.bytes -= r.bytes;
        this.countDrop(what, 1);
        this.log.warn(`outbox full: dropped the oldest ${kind}`, { msgId: r.msg_id, seq: r.seq, maxRows: this.opts.maxRows, maxBytes: this.opts.maxBytes });
      }
    }
    if (this.over()) this.log.warn('outbox over its bound with deployment records only: records are never dropped', { rows: this.rows, bytes: this.bytes });
  }
}

function aad(kind: string, msgId: string): string {
  return `${kind}/${msgId}`;
}
