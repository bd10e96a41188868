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
 *
 * A row that cannot be read back (its seal does not open, its JSON is damaged) is moved to the
 * dead-letter table: its kind, id, times, size and the reason are kept, never its payload (a crop
 * nobody can deliver must not stay). Delivery goes on with the next row; deadLetters() counts them.
 *
 * Delivered rows do not stay readable: `secure_delete` zeroes deleted rows and freed pages, and the
 * WAL (which holds earlier versions of pages) is checkpointed and truncated whenever the outbox
 * becomes empty, every CHECKPOINT_EVERY removals, and on close.
 *
 * The in-memory counters (depth, bytes) follow commits only: a write that fails (e.g. the disk is
 * full) leaves them as the file has them.
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
CREATE TABLE IF NOT EXISTS outbox_dead (
  seq INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  msg_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  dead_at TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  reason TEXT NOT NULL
);
`;

/** Removals between two WAL checkpoints while the outbox is not empty. */
export const CHECKPOINT_EVERY = 64;

/** Open the comms SQLite file (outbox + seen command ids), creating its directory. */
export function openCommsDatabase(file: string): Database.Database {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // deleted rows (delivered alerts, expired command ids) are overwritten with zeros, not left in free pages
  db.pragma('secure_delete = ON');
  return db;
}

export class Outbox {
  private rows = 0;
  private bytes = 0;
  private removals = 0;
  /** Unreadable rows that could not be moved to the dead letters (skipped until restart). */
  private readonly unreadable = new Set<number>();
  private readonly now: () => Date;
  private readonly log: Logger;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: OutboxOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.logger.child({ component: 'outbox' });
    db.exec(SCHEMA);
    this.recount();
  }

  /** Counters from the file (at open, and after a write that did not commit). */
  private recount(): void {
    const s = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox').get() as { n: number; b: number };
    this.rows = s.n;
    this.bytes = s.b;
  }

  /**
   * Append a message; durable when this returns. Returns its seq. Throws when it cannot be written
   * (the disk is full...): then nothing was added and the counters are unchanged.
   */
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
    try {
      return insert();
    } catch (err) {
      this.recount(); // the transaction rolled back: so do the counters
      throw err;
    }
  }

  /**
   * Up to `limit` rows with seq > afterSeq, oldest first, unsealed. A row that cannot be read is
   * moved to the dead letters (and skipped): one bad row never stops delivery.
   */
  peek(afterSeq: number, limit: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    let after = afterSeq;
    while (out.length < limit) {
      const rows = this.db.prepare('SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit - out.length) as DbRow[];
      if (rows.length === 0) break;
      for (const r of rows) {
        after = r.seq;
        if (this.unreadable.has(r.seq)) continue;
        try {
          out.push({ seq: r.seq, kind: r.kind, msgId: r.msg_id, payload: this.open(r, true) });
        } catch (err) {
          this.deadLetter(r, (err as Error).message);
        }
      }
    }
    return out;
  }

  /** Remove an acknowledged row (no-op when it was already dropped by the bound policy). Throws when the file cannot be written. */
  remove(seq: number): void {
    const r = this.db.prepare('SELECT bytes FROM outbox WHERE seq = ?').get(seq) as { bytes: number } | undefined;
    if (r) {
      // run(), not DELETE ... RETURNING with get(): get() stops after the first row and does not
      // report a commit that fails (disk full), leaving the row in place and the counters wrong
      this.db.prepare('DELETE FROM outbox WHERE seq = ?').run(seq);
      this.rows -= 1;
      this.bytes -= r.bytes;
      this.removals += 1;
      if (this.rows === 0 || this.removals >= CHECKPOINT_EVERY) this.checkpoint();
    }
  }

  /** Rows moved to the dead letters (unreadable), including those that could not even be moved. */
  deadLetters(): number {
    const n = (this.db.prepare('SELECT COUNT(*) AS n FROM outbox_dead').get() as { n: number }).n;
    return n + this.unreadable.size;
  }

  /** The dead letters' metadata, oldest first (no payloads: none are kept). */
  deadLetterRows(): { seq: number; kind: string; msgId: string; createdAt: string; deadAt: string; bytes: number; reason: string }[] {
    return (this.db.prepare('SELECT seq, kind, msg_id AS msgId, created_at AS createdAt, dead_at AS deadAt, bytes, reason FROM outbox_dead ORDER BY seq').all() as
      { seq: number; kind: string; msgId: string; createdAt: string; deadAt: string; bytes: number; reason: string }[]);
  }

  /**
   * Copy the WAL into the main file and truncate it to zero bytes, so that earlier versions of
   * pages (delivered rows) do not stay in it. A failure is logged; the next one tries again.
   */
  checkpoint(): void {
    this.removals = 0;
    try {
      const r = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
      if (r[0]?.busy) this.log.warn('outbox WAL checkpoint incomplete: another connection is reading; the next one tries again');
    } catch (err) {
      this.log.warn('outbox WAL checkpoint failed; the next one tries again', { error: err as Error });
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
    this.checkpoint();
    this.db.close();
  }

  /** The payload as published; with `check`, a plain row must also be a JSON object. Throws when unreadable. */
  private open(r: DbRow, check = false): Buffer {
    const payload = r.sealed ? unseal(this.opts.sealKey, r.payload, aad(r.kind, r.msg_id)) : r.payload;
    if (check && !r.sealed) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString('utf8'));
      } catch (err) {
        throw new Error(`payload is not JSON (${(err as Error).message})`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('payload is not a JSON object');
    }
    return payload;
  }

  /** Move an unreadable row to outbox_dead (metadata only). If even that fails, skip it in memory. */
  private deadLetter(r: DbRow, reason: string): void {
    try {
      this.db.transaction(() => {
        this.db.prepare('INSERT OR REPLACE INTO outbox_dead (seq, kind, msg_id, created_at, dead_at, bytes, reason) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(r.seq, r.kind, r.msg_id, (r as DbRow & { created_at: string }).created_at, this.now().toISOString(), r.bytes, reason);
        this.db.prepare('DELETE FROM outbox WHERE seq = ?').run(r.seq);
      })();
      this.rows -= 1;
      this.bytes -= r.bytes;
      this.log.error(`outbox row unreadable: moved to the dead letters, delivery goes on`, { kind: r.kind, msgId: r.msg_id, seq: r.seq, reason });
    } catch (err) {
      this.unreadable.add(r.seq);
      this.log.error('outbox row unreadable and cannot be moved to the dead letters: skipped', { kind: r.kind, msgId: r.msg_id, seq: r.seq, reason, error: err as Error });
    }
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
      let alert: Record<string, unknown>;
      try {
        alert = JSON.parse(this.open(r).toString('utf8')) as Record<string, unknown>;
      } catch (err) {
        this.deadLetter(r, (err as Error).message);
        if (this.unreadable.has(r.seq)) break; // could not be moved: the later steps drop rows instead
        continue;
      }
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
