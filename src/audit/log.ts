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
import { isBiometricNamed } from '../biometric-fields';
import { canonicalJson } from '../canonical-json';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export const GENESIS_HASH = '0'.repeat(64);
const RESERVED = new Set(['v', 'seq', 'at', 'prev', 'hash']);
const TYPE_PATTERN = /^[a-z][a-z0-9.-]{0,63}$/;

export type AuditValue = string | number | boolean | null | AuditValue[] | { [k: string]: AuditValue };

export interface AuditEvent {
  /** What happened, e.g. 'session.start', 'bundle.refused', 'alert'. */
  type: string;
  [field: string]: unknown;
}

export interface AuditEntry {
  v: 1;
  seq: number;
  at: string;
  type: string;
  prev: string;
  hash: string;
  [field: string]: unknown;
}

/** The event cannot go into the audit log (biometric data, reserved field, bad value). */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** JSON with object keys sorted at every level: the bytes an entry's hash is computed over. */
export { canonicalJson };

export function entryHash(entryWithoutHash: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(entryWithoutHash), 'utf8').digest('hex');
}

/** Refuse anything that is not plain JSON data, and anything biometric, naming the field. */
function checkValue(value: unknown, at: string): void {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    throw new AuditError(`audit field ${at} holds binary data (${value.constructor.name}); the audit log takes ids only, never biometrics`);
  }
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AuditError(`audit field ${at} is ${value}; only finite numbers`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, `${at}[${i}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      if (isBiometricNamed(k, v)) throw new AuditError(`audit field ${at}.${k} is biometric; the audit log takes ids only`);
      checkValue(v, `${at}.${k}`);
    }
    return;
  }
  throw new AuditError(`audit field ${at} is a ${value instanceof Object ? value.constructor.name : typeof value}; only plain JSON data`);
}

/** Build the next entry (pure): checks the event, links it to `prev`, hashes it. */
export function makeEntry(event: AuditEvent, now: Date, seq: number, prev: string): AuditEntry {
  if (typeof event.type !== 'string' || !TYPE_PATTERN.test(event.type)) {
    throw new AuditError(`audit event type '${String(event.type)}' must be lowercase letters, digits, "." or "-"`);
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k === 'type' || v === undefined) continue;
    if (RESERVED.has(k)) throw new AuditError(`audit field '${k}' is reserved for the chain`);
    if (isBiometricNamed(k, v)) throw new AuditError(`audit field '${k}' is biometric; the audit log takes ids only`);
    checkValue(v, k);
    fields[k] = v;
  }
  const body = { v: 1 as const, seq, at: now.toISOString(), type: event.type, ...fields, prev };
  return { ...body, hash: entryHash(body) };
}

export interface AuditVerification {
  ok: boolean;
  /** Entries that verified (all of them when ok; those before the first broken line otherwise). */
  entries: number;
  /** Line numbers count from 1 in `file` (the segment holding the broken line). */
  firstBroken?: { line: number; reason: string; file?: string };
  /** Hash of the last good entry (GENESIS_HASH for an empty log). */
  head: string;
  /** Seq of the last good entry (0 for an empty log). */
  headSeq: number;
  /** The segment files verified, in order (absent for a text check). */
  segments?: string[];
  /** Segments that end with an incomplete line which the next segment accounts for (not a break). */
  tornTails?: { file: string; line: number }[];
  /** seq -> hash of every verified entry (only with `collectHashes`). */
  hashes?: Map<number, string>;
}

export interface ChainStart {
  seq: number;
  prev: string;
}

/**
 * Check the chain of an audit log's text; lines are numbered from 1. `start`: where the chain
 * stands before this text (the previous segment's last entry); default: the genesis.
 */
export function verifyAuditText(text: string, start: ChainStart = { seq: 0, prev: GENESIS_HASH }, hashes?: Map<number, string>): AuditVerification {
  if (text === '') return { ok: true, entries: 0, head: start.prev, headSeq: start.seq };
  const lines = text.split('\n');
  const torn = lines[lines.length - 1] !== '';
  if (!torn) lines.pop();
  let prev = start.prev;
  let seq = start.seq;
  const broken = (i: number, reason: string, entries: number): AuditVerification => ({
    ok: false,
    entries,
    firstBroken: { line: i + 1, reason },
    head: prev,
    headSeq: seq,
  });
  for (let i = 0; i < lines.length; i++) {
    if (torn && i === lines.length - 1) return broken(i, TORN_REASON, i);
    let entry: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(lines[i]);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return broken(i, 'not a JSON object', i);
      entry = parsed as Record<string, unknown>;
    } catch (err) {
      return broken(i, `not JSON: ${(err as Error).message}`, i);
    }
    const { hash, ...body } = entry;
    if (entry.v !== 1) return broken(i, `unknown entry version ${JSON.stringify(entry.v)}`, i);
    if (entry.seq !== seq + 1) return broken(i, `seq is ${JSON.stringify(entry.seq)}, expected ${seq + 1} (an entry was removed, inserted or reordered)`, i);
    if (entry.prev !== prev) return broken(i, `prev does not match the hash of the entry before it (an entry before was removed or altered)`, i);
    if (typeof hash !== 'string' || entryHash(body) !== hash) return broken(i, 'hash does not match the entry (the entry was altered)', i);
    prev = hash;
    seq += 1;
    hashes?.set(seq, hash);
  }
  return { ok: true, entries: lines.length, head: prev, headSeq: seq };
}

const TORN_REASON = 'the last line is incomplete (no newline: a write was cut off)';

/** Segment n of the log whose first segment is `first` (n = 1: `first` itself; audit.log -> audit.2.log). */
export function segmentPath(first: string, n: number): string {
  if (n <= 1) return first;
  const ext = path.extname(first);
  return `${first.slice(0, first.length - ext.length)}.${n}${ext}`;
}

/** The segment files that exist, in order (stops at the first missing number). */
export function segmentFiles(first: string): string[] {
  const out: string[] = [];
  for (let n = 1; existsSync(segmentPath(first, n)); n++) out.push(segmentPath(first, n));
  return out;
}

/** Numbers of the segment files beside `first` (2, 3, ...), whether or not they follow on. */
function laterSegmentNumbers(first: string): number[] {
  const ext = path.extname(first);
  const stem = path.basename(first, ext);
  const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)${ext.replace('.', '\\.')}$`);
  let names: string[];
  try {
    names = readdirSync(path.dirname(first));
  } catch {
    return [];
  }
  return names.map((n) => re.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).filter((n) => n >= 2);
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditError(code === 'ENOENT' ? `audit log ${file} does not exist` : `cannot read audit log ${file}: ${(err as Error).message}`);
  }
}

function firstEntry(text: string): Record<string, unknown> | undefined {
  try {
    const o: unknown = JSON.parse(text.slice(0, text.indexOf('\n') >>> 0));
    return o && typeof o === 'object' ? (o as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Check an audit log's chain across all its segments (`file` is the first one, e.g.
 * stateDir/audit.log). Throws AuditError if the first file cannot be read.
 */
export function verifyAuditFile(file: string, opts: { collectHashes?: boolean } = {}): AuditVerification {
  const texts = [readLog(file)];
  const files = [file];
  for (let n = 2; existsSync(segmentPath(file, n)); n++) {
    files.push(segmentPath(file, n));
    texts.push(readLog(segmentPath(file, n)));
  }
  const found = files.length;
  // an empty last segment: its first write failed (the disk was full); it holds nothing
  if (files.length > 1 && texts[texts.length - 1] === '' && !existsSync(segmentPath(file, files.length + 1))) {
    files.pop();
    texts.pop();
  }
  const hashes = opts.collectHashes ? new Map<number, string>() : undefined;
  const beyond = laterSegmentNumbers(file).filter((n) => n > found);
  if (beyond.length) {
    const missing = segmentPath(file, files.length + 1);
    return { ok: false, entries: 0, head: GENESIS_HASH, headSeq: 0, segments: files,
      firstBroken: { line: 1, file: missing, reason: `segment ${files.length + 1} is missing (${path.basename(missing)}), but segment ${Math.min(...beyond)} exists: a segment was removed` } };
  }
  let state: ChainStart = { seq: 0, prev: GENESIS_HASH };
  let entries = 0;
  const tornTails: { file: string; line: number }[] = [];
  const done = (v: Omit<AuditVerification, 'segments' | 'tornTails' | 'hashes'>): AuditVerification => ({
    ...v, segments: files, ...(tornTails.length ? { tornTails } : {}), ...(hashes ? { hashes } : {}),
  });
  for (let i = 0; i < texts.length; i++) {
    const last = i === texts.length - 1;
    if (i > 0) {
      // a later segment must begin by linking to the last entry of the one before
      const e = firstEntry(texts[i]);
      const link = e?.continues as { seq?: unknown; hash?: unknown } | undefined;
      if (!e || e.type !== 'audit.segment' || !link || link.seq !== state.seq || link.hash !== state.prev) {
        return done({ ok: false, entries, head: state.prev, headSeq: state.seq,
          firstBroken: { line: 1, file: files[i], reason: `segment ${i + 1} does not begin with an audit.segment entry continuing from entry ${state.seq} of the segment before` } });
      }
    }
    const v = verifyAuditText(texts[i], state, hashes);
    entries += v.entries;
    state = { seq: v.headSeq, prev: v.head };
    if (!v.ok) {
      const tornOnly = v.firstBroken!.reason === TORN_REASON;
      if (tornOnly && !last) {
        tornTails.push({ file: files[i], line: v.firstBroken!.line });
        continue; // accounted for if the next segment links to the last complete entry (checked above)
      }
      return done({ ok: false, entries, head: state.prev, headSeq: state.seq, firstBroken: { ...v.firstBroken!, file: files[i] } });
    }
  }
  return done({ ok: true, entries, head: state.prev, headSeq: state.seq });
}

/** How many events the writer holds in memory at most while it cannot write; beyond, they are counted lost. */
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
