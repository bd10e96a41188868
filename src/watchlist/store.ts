/**
 * The session's watchlist at rest: one SQLite file (better-sqlite3) in the runtime directory,
 * which is a tmpfs on the unit, each row sealed with AES-256-GCM under a random 32-byte session
 * key that exists only in this process's memory (a Buffer, zeroed by `wipe()`).
 *
 * SQLite settings: `secure_delete=ON` (deleted content is overwritten with zeros in the file),
 * `journal_mode=MEMORY` (the rollback journal never touches the disk, so the only file is the
 * database itself; no -wal/-shm is ever made) and `temp_store=MEMORY`. This matters: SQLite
 * deletes its own -wal/-journal files on close without overwriting them, so a WAL database could
 * not be shredded reliably. The wipe still looks for and shreds -wal, -shm and -journal files, in
 * case another build or tool left one.
 *
 * Row format: sealed = nonce(12) || tag(16) || ciphertext; associated data = "<sessionId>:<row>"
 * so a row cannot be moved to another session or position. Plaintext = u32 LE length of a JSON
 * object {ref, category, name?} || that JSON || the embedding as float32 little-endian.
 * Plaintext buffers are zeroed as soon as they are sealed or decoded.
 *
 * What this cannot promise: Node/OpenSSL copy the key into short-lived cipher contexts that are
 * freed but not zeroed by us; V8 may move or copy typed-array contents during GC. Both die with the
 * process. After a crash the rows on the tmpfs are undecryptable (the key is gone) and the boot
 * wipe removes them (see session/leftovers.ts).
 */
import Database from 'better-sqlite3';
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export const STORE_FILE = 'watchlist.sqlite';
export const STORE_SIDE_SUFFIXES = ['-wal', '-shm', '-journal'] as const;
/** Every file name the store can leave in the runtime directory. */
export const STORE_FILE_PATTERN = /^watchlist\.sqlite(-wal|-shm|-journal)?$/;

const NONCE = 12;
const TAG = 16;
const KEY_BYTES = 32;

/** Environment switch for the test-only key hook; BOTH NODE_ENV=test and this set to "1". */
export const TEST_KEY_HOOK_ENV = 'LFR_EDGE_TEST_EXPOSE_SESSION_KEY';

export interface StoredEntry {
  ref: string;
  category: string;
  name?: string;
  embedding: Float32Array;
}

/** What the wipe did; goes into the DeploymentRecord. */
export interface WipeResult {
  /** True when the key is zeroed and no store file is left. */
  ok: boolean;
  filesRemoved: string[];
  leftovers: string[];
  /** The session key is zero (or, for a leftover wipe, died with the process that held it). */
  keyZeroed: boolean;
  at: string;
}

export class StoreError extends Error {
  override name = 'StoreError';
}

/** Overwrite a file's bytes with zeros and then random bytes (fsync each pass), then unlink it. */
export function shredFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(Math.min(Math.max(size, 1), 1 << 20));
    for (const pass of ['zeros', 'random'] as const) {
      for (let off = 0; off < size; off += chunk.length) {
        const n = Math.min(chunk.length, size - off);
        if (pass === 'zeros') chunk.fill(0);
        else randomFillSync(chunk, 0, n);
        writeSync(fd, chunk, 0, n, off);
      }
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
}

/** Store files currently present in a runtime directory (full paths). */
export function storeFilesIn(runtimeDir: string): string[] {
  if (!existsSync(runtimeDir)) return [];
  return readdirSync(runtimeDir)
    .filter((n) => STORE_FILE_PATTERN.test(n))
    .sort()
    .map((n) => path.join(runtimeDir, n));
}

/**
 * Shred every store file in the runtime directory and check none is left. Used by the session's
 * wipe (after the key is zeroed and the database closed) and by the boot wipe.
 */
export function shredStoreFiles(runtimeDir: string, onProblem: (msg: string) => void): { filesRemoved: string[]; leftovers: string[] } {
  const filesRemoved: string[] = [];
  for (const file of storeFilesIn(runtimeDir)) {
    try {
      shredFile(file);
      filesRemoved.push(file);
    } catch (err) {
      onProblem(`could not shred ${file}: ${(err as Error).message}`);
      try {
        unlinkSync(file); // at least unlink what could not be overwritten
        filesRemoved.push(file);
      } catch (err2) {
        onProblem(`could not unlink ${file}: ${(err2 as Error).message}`);
      }
    }
  }
  return { filesRemoved, leftovers: storeFilesIn(runtimeDir) };
}

export class WatchlistStore {
  private db: Database.Database | undefined;
  private readonly key: Buffer;
  private rows = 0;

  private constructor(
    readonly runtimeDir: string,
    readonly file: string,
    readonly sessionId: string,
    db: Database.Database,
    key: Buffer,
  ) {
    this.db = db;
    this.key = key;
  }

  /**
   * Create the store for a new session. Refuses when a store file is already there (an active
   * session, or leftovers of a crash that `lfr-edge wipe --boot` removes).
   */
  static create(opts: { runtimeDir: string; sessionId: string }): WatchlistStore {
    mkdirSync(opts.runtimeDir, { recursive: true, mode: 0o700 });
    const existing = storeFilesIn(opts.runtimeDir);
    if (existing.length) {
      throw new StoreError(
        `a watchlist store already exists (${existing.join(', ')}): another session is active, or a crashed one left it; ` +
          `end the session or run 'lfr-edge wipe --boot' before starting a new one`,
      );
    }
    const file = path.join(opts.runtimeDir, STORE_FILE);
    closeSync(openSync(file, 'wx', 0o600)); // an empty file is a valid new database; this sets its mode
    const key = Buffer.alloc(KEY_BYTES); // not from the shared pool, so zeroing it zeroes only it
    randomFillSync(key);
    const db = new Database(file);
    try {
      db.pragma('secure_delete = ON');
      db.pragma('journal_mode = MEMORY');
      db.pragma('temp_store = MEMORY');
      db.exec('CREATE TABLE watchlist (row INTEGER PRIMARY KEY, sealed BLOB NOT NULL)');
    } catch (err) {
      db.close();
      key.fill(0);
      throw err;
    }
    return new WatchlistStore(opts.runtimeDir, file, opts.sessionId, db, key);
  }

  get size(): number {
    return this.rows;
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  /** Seal and insert entries, one row each (a subject with three photos is three rows). */
  add(entries: StoredEntry[]): void {
    const db = this.open();
    const insert = db.prepare('INSERT INTO watchlist (row, sealed) VALUES (?, ?)');
    db.transaction(() => {
      for (const e of entries) {
        const row = this.rows;
        insert.run(row, this.seal(row, e));
        this.rows++;
      }
    })();
  }

  /** Decrypt every row, in order. Throws when a row fails authentication (tampered or wrong key). */
  readAll(): StoredEntry[] {
    const db = this.open();
    const rows = db.prepare('SELECT row, sealed FROM watchlist ORDER BY row').all() as { row: number; sealed: Buffer }[];
    return rows.map((r) => this.unseal(r.row, r.sealed));
  }

  /**
   * Zero the key, delete the rows (secure_delete zeroes their pages), close, shred and unlink the
   * database and any -wal/-shm/-journal file, then check nothing is left. Never throws: every
   * problem is reported to `onProblem` and shows in the result.
   */
  wipe(now: Date, onProblem: (msg: string) => void = () => undefined): WipeResult {
    this.key.fill(0);
    const keyZeroed = this.key.every((b) => b === 0);
    if (this.db) {
      try {
        this.db.exec('DELETE FROM watchlist');
      } catch (err) {
        onProblem(`could not delete the watchlist rows: ${(err as Error).message}`);
      }
      try {
        this.db.close();
      } catch (err) {
        onProblem(`could not close the watchlist database: ${(err as Error).message}`);
      }
      this.db = undefined;
    }
    this.rows = 0;
    const { filesRemoved, leftovers } = shredStoreFiles(this.runtimeDir, onProblem);
    return { ok: keyZeroed && leftovers.length === 0, filesRemoved, leftovers, keyZeroed, at: now.toISOString() };
  }

  /**
   * TEST HOOK ONLY: the session key in hex, so the forensic test can search the disk for it.
   * Works only when the environment has BOTH `NODE_ENV=test` and `LFR_EDGE_TEST_EXPOSE_SESSION_KEY=1`;
   * otherwise it throws. Production code never calls it, and the systemd unit sets neither.
   */
  sessionKeyHexForTest(env: NodeJS.ProcessEnv = process.env): string {
    if (env.NODE_ENV !== 'test' || env[TEST_KEY_HOOK_ENV] !== '1') {
      throw new StoreError(`the session key is never exposed (test hook needs NODE_ENV=test and ${TEST_KEY_HOOK_ENV}=1)`);
    }
    return this.key.toString('hex');
  }

  private open(): Database.Database {
    if (!this.db) throw new StoreError('the watchlist store has been wiped');
    return this.db;
  }

  private aad(row: number): Buffer {
    return Buffer.from(`${this.sessionId}:${row}`, 'utf8');
  }

  private seal(row: number, e: StoredEntry): Buffer {
    const meta = Buffer.from(JSON.stringify({ ref: e.ref, category: e.category, ...(e.name !== undefined ? { name: e.name } : {}) }), 'utf8');
    const emb = e.embedding;
    const pt = Buffer.alloc(4 + meta.length + emb.byteLength);
    pt.writeUInt32LE(meta.length, 0);
    meta.copy(pt, 4);
    Buffer.from(emb.buffer, emb.byteOffset, emb.byteLength).copy(pt, 4 + meta.length); // float32 LE on LE hosts
    const nonce = Buffer.alloc(NONCE);
    randomFillSync(nonce);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(this.aad(row));
    const ct = Buffer.concat([c.update(pt), c.final()]);
    pt.fill(0);
    return Buffer.concat([nonce, c.getAuthTag(), ct]);
  }

  private unseal(row: number, sealed: Buffer): StoredEntry {
    if (sealed.length < NONCE + TAG + 4) throw new StoreError(`watchlist row ${row} is too short to be a sealed row`);
    const d = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE));
    d.setAAD(this.aad(row));
    d.setAuthTag(sealed.subarray(NONCE, NONCE + TAG));
    const pt = d.update(sealed.subarray(NONCE + TAG)); // GCM: all plaintext comes from update()
    try {
      d.final(); // checks the tag
    } catch (err) {
      pt.fill(0);
      throw new StoreError(`watchlist row ${row} failed authentication (tampered, or sealed under another key): ${(err as Error).message}`);
    }
    try {
      const metaLen = pt.readUInt32LE(0);
      const meta = JSON.parse(pt.subarray(4, 4 + metaLen).toString('utf8')) as { ref: string; category: string; name?: string };
      const embBytes = pt.subarray(4 + metaLen);
      const embedding = new Float32Array(embBytes.length / 4);
      Buffer.from(embedding.buffer).set(embBytes);
      return { ...meta, embedding };
    } finally {
      pt.fill(0);
    }
  }
}
