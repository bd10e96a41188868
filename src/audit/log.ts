/**
 * The audit log: append-only JSON lines, hash-chained. Each entry carries the previous entry's
 * hash (`prev`) and its own (`hash` = sha256 of the canonical JSON of the entry without `hash`),
 * so removing, reordering or editing an entry breaks the chain at that line. Every append is
 * fsync'ed before it returns.
 *
 * Segments: the log is a sequence of files, `audit.log`, `audit.2.log`, `audit.3.log`... one chain
 * across all of them. When a write fails or is short (the disk is full), the writer cuts the
 * partial line off if it can, keeps the events in memory (bounded, counted) and, as soon as it can
 * write again, starts the next segment with an 'audit.segment' entry that links to the last entry
 * written (its seq and hash) and says why; then the held events follow, with their own times.
 * A segment that ends with an incomplete line is valid only when the next segment continues from
 * its last complete entry: nothing can be removed unnoticed.
 *
 * Ids only, never biometrics: an event whose fields hold a typed array or an ArrayBuffer (an
 * embedding, a crop, pixels) or are named like one (embedding, crop, image...), at any depth, is
 * refused. The names are the logger's too: one list, src/biometric-fields.ts.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

import { AuditError, GENESIS_HASH, makeEntry, type AuditEntry, type AuditEvent } from './entry';
import { segmentFiles, segmentPath, TORN_REASON, verifyAuditFile, type AuditVerification } from './verify';

// The audit module's public face: the entry and verification parts live in their own files.
export * from './entry';
export * from './verify';

export const MAX_HELD_EVENTS = 10_000;

export interface AuditWriterState {
  /** The segment being written. */
  file: string;
  segment: number;
  /** Events held in memory because they could not be written (at risk until written). */
  held: number;
  /** Events lost because more than MAX_HELD_EVENTS were held. */
  lost: number;
  /** The last write failure, if the writer is not writing now. */
  failing?: string;
}

/**
 * The append-only log. Opening reads every segment to continue the chain. A segment whose tail
 * is cut off (power loss mid-write) is followed by a new segment that says so. A break of any
 * other kind (an entry altered or removed) stays visible: the chain continues from the last good
 * entry after an 'audit.resumed' entry, and `lfr-edge audit verify` reports the broken line.
 * One writer per log: two AuditLog objects (or processes) appending to the same file would fork
 * the chain; the daemon owns the log and `wipe --boot` runs before it starts.
 */
export class AuditLog {
  private seq: number;
  private prev: string;
  private fd: number | undefined;
  private segment: number;
  /** Bytes of the current segment up to its last complete entry. */
  private goodBytes = 0;
  private readonly held: { event: AuditEvent; at: Date }[] = [];
  private lost = 0;
  /** Why the next segment is started (set when a write failed, or a torn tail was found at open). */
  private newSegmentReason: { reason: string; tornTail: boolean } | undefined;
  private failing: string | undefined;
  private pendingResume: AuditEvent | undefined;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    let files = segmentFiles(file);
    // a segment left empty (its first write failed) is written again
    while (files.length > 1 && statSync(files[files.length - 1]).size === 0) files = files.slice(0, -1);
    this.segment = Math.max(1, files.length);
    const check = files.length ? verifyAuditFile(file) : { ok: true, entries: 0, head: GENESIS_HASH, headSeq: 0 } as AuditVerification;
    this.prev = check.head;
    this.seq = check.headSeq;
    const current = segmentPath(file, this.segment);
    const existed = existsSync(current);
    this.fd = openSync(current, 'a', 0o640);
    if (!existed) fsyncDir(path.dirname(file));
    this.goodBytes = fstatSync(this.fd).size;
    if (!check.ok && check.firstBroken) {
      const lastSegment = (check.firstBroken.file ?? file) === current;
      if (check.firstBroken.reason === TORN_REASON && lastSegment) {
        // a write was cut off (power loss): the next entries go to a new segment that says so
        this.newSegmentReason = { reason: 'the segment before ends with an incomplete line (a write was cut off)', tornTail: true };
      } else {
        const text = readFileSync(current, 'utf8');
        if (!text.endsWith('\n') && text !== '') this.writeRaw('\n');
        // Continue numbering after every line so that seq stays unique; the break stays visible.
        this.seq = files.reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').length, 0);
        this.pendingResume = { type: 'audit.resumed', brokenLine: check.firstBroken.line, reason: check.firstBroken.reason, ...(check.firstBroken.file ? { segmentFile: path.basename(check.firstBroken.file) } : {}) };
      }
    }
  }

  /** The hash of the last entry written (an anchor worth publishing in the deployment record). */
  get head(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.prev };
  }

  /** Whether events are held in memory (not yet on disk), and why. */
  state(): AuditWriterState {
    return {
      file: segmentPath(this.file, this.segment),
      segment: this.segment,
      held: this.held.length,
      lost: this.lost,
      ...(this.failing ? { failing: this.failing } : {}),
    };
  }

  /**
   * Append one event. Returns the entry once it is written and fsync'ed; undefined when it could
   * not be written now (the disk is full): it is held in memory and written, in order, by the next
   * append or retry() that can write. Throws AuditError for biometric or non-JSON fields (nothing
   * is written or held then).
   */
  append(event: AuditEvent, now: Date): AuditEntry | undefined {
    makeEntry(event, now, this.seq + 1, this.prev); // check before writing or holding anything
    if (this.held.length >= MAX_HELD_EVENTS) {
      this.lost += 1;
    } else {
      this.held.push({ event, at: now });
    }
    return this.flush();
  }

  /** Try again to write the held events (e.g. after space was freed). True when none is held. */
  retry(): boolean {
    this.flush();
    return this.held.length === 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Write the held events in order; returns the last one written when all of them were. */
  private flush(): AuditEntry | undefined {
    let last: AuditEntry | undefined;
    while (this.held.length) {
      if (this.newSegmentReason && !this.startSegment(this.held[0].at)) return undefined;
      if (this.pendingResume) {
        if (!this.tryWrite(makeEntry(this.pendingResume, this.held[0].at, this.seq + 1, this.prev))) return undefined;
        this.pendingResume = undefined;
      }
      const { event, at } = this.held[0];
      const entry = makeEntry(event, at, this.seq + 1, this.prev);
      if (!this.tryWrite(entry)) return undefined;
      this.held.shift();
      last = entry;
    }
    return last;
  }

  /** Open the next segment and write its linking entry. False (and nothing changed) when it cannot. */
  private startSegment(at: Date): boolean {
    const next = this.segment + 1;
    const file = segmentPath(this.file, next);
    let fd: number;
    try {
      fd = openSync(file, 'w', 0o640);
    } catch (err) {
      this.failing = `cannot create audit segment ${file}: ${(err as Error).message}`;
      return false;
    }
    const { reason, tornTail } = this.newSegmentReason!;
    const entry = makeEntry({
      type: 'audit.segment',
      segment: next,
      continues: { file: path.basename(segmentPath(this.file, this.segment)), seq: this.seq, hash: this.prev },
      reason,
      tornTail,
      ...(this.lost ? { lostEvents: this.lost } : {}),
      heldEvents: this.held.length,
    }, at, this.seq + 1, this.prev);
    const line = JSON.stringify(entry) + '\n';
    try {
      writeAll(fd, line);
      fsyncSync(fd);
      fsyncDir(path.dirname(file));
    } catch (err) {
      this.failing = `cannot write audit segment ${file}: ${(err as Error).message}`;
      closeSync(fd);
      try { unlinkSync(file); } catch { /* left empty or torn: rewritten next time ('w'), an empty last segment is ignored */ }
      return false;
    }
    if (this.fd !== undefined) {
      try { closeSync(this.fd); } catch { /* the old segment is done */ }
    }
    this.fd = fd;
    this.segment = next;
    this.goodBytes = Buffer.byteLength(line);
    this.seq = entry.seq;
    this.prev = entry.hash;
    this.newSegmentReason = undefined;
    this.failing = undefined;
    this.lost = 0;
    return true;
  }

  /** Write one entry; on a failed or short write, cut the partial line off and plan a new segment. */
  private tryWrite(entry: AuditEntry): boolean {
    const line = JSON.stringify(entry) + '\n';
    if (this.fd === undefined) {
      this.newSegmentReason ??= { reason: 'the segment before was closed after a failed write', tornTail: false };
      return false;
    }
    try {
      writeAll(this.fd, line);
      fsyncSync(this.fd);
    } catch (err) {
      let tornTail = true;
      try {
        ftruncateSync(this.fd, this.goodBytes);
        fsyncSync(this.fd);
        tornTail = false;
      } catch { /* the partial line stays; the next segment accounts for it */ }
      try { closeSync(this.fd); } catch { /* nothing more can be done with it */ }
      this.fd = undefined;
      this.failing = (err as Error).message;
      this.newSegmentReason = { reason: `a write failed: ${(err as Error).message}`, tornTail };
      return false;
    }
    this.goodBytes += Buffer.byteLength(line);
    this.seq = entry.seq;
    this.prev = entry.hash;
    return true;
  }

  private writeRaw(s: string): void {
    writeAll(this.fd!, s);
    fsyncSync(this.fd!);
    this.goodBytes += Buffer.byteLength(s);
  }
}

/** The audit write failed or was short: the message says which and how many bytes went out. */
export class AuditWriteError extends Error {
  override name = 'AuditWriteError';
}

/** writeSync until every byte is written; a short write followed by an error throws. */
function writeAll(fd: number, s: string): void {
  const buf = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < buf.length) {
    let n: number;
    try {
      n = writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new AuditWriteError(off ? `short write (${off} of ${buf.length} bytes), then ${e.code ?? e.message}` : `write failed: ${e.code ?? e.message}`);
    }
    if (n <= 0) throw new AuditWriteError(`short write (${off} of ${buf.length} bytes)`);
    off += n;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
