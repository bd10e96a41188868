/**
 * The audit log: append-only JSON lines, hash-chained. Each entry carries the previous entry's
 * hash (`prev`) and its own (`hash` = sha256 of the canonical JSON of the entry without `hash`),
 * so removing, reordering or editing an entry breaks the chain at that line. Every append is
 * fsync'ed before it returns.
 *
 * Ids only, never biometrics: an event whose fields hold a typed array or an ArrayBuffer (an
 * embedding, a crop, pixels) or are named like one (embedding, crop, image...), at any depth, is
 * refused. The names are the logger's too: one list, src/biometric-fields.ts.
 */
import { isBiometricNamed } from '../biometric-fields';
import { canonicalJson } from '../canonical-json';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
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
  firstBroken?: { line: number; reason: string };
  /** Hash of the last good entry (GENESIS_HASH for an empty log). */
  head: string;
}

/** Check the chain of an audit log's text; lines are numbered from 1. */
export function verifyAuditText(text: string): AuditVerification {
  if (text === '') return { ok: true, entries: 0, head: GENESIS_HASH };
  const lines = text.split('\n');
  const torn = lines[lines.length - 1] !== '';
  if (!torn) lines.pop();
  let prev = GENESIS_HASH;
  const broken = (i: number, reason: string, entries: number): AuditVerification => ({
    ok: false,
    entries,
    firstBroken: { line: i + 1, reason },
    head: prev,
  });
  for (let i = 0; i < lines.length; i++) {
    if (torn && i === lines.length - 1) return broken(i, 'the last line is incomplete (no newline: a write was cut off)', i);
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
    if (entry.seq !== i + 1) return broken(i, `seq is ${JSON.stringify(entry.seq)}, expected ${i + 1} (an entry was removed, inserted or reordered)`, i);
    if (entry.prev !== prev) return broken(i, `prev does not match the hash of the entry before it (an entry before was removed or altered)`, i);
    if (typeof hash !== 'string' || entryHash(body) !== hash) return broken(i, 'hash does not match the entry (the entry was altered)', i);
    prev = hash;
  }
  return { ok: true, entries: lines.length, head: prev };
}

/** Check an audit log file's chain. Throws AuditError if the file cannot be read. */
export function verifyAuditFile(file: string): AuditVerification {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AuditError(code === 'ENOENT' ? `audit log ${file} does not exist` : `cannot read audit log ${file}: ${(err as Error).message}`);
  }
  return verifyAuditText(text);
}

/**
 * The append-only log file. Opening reads the file to continue the chain; if its tail is damaged
 * (a write cut off by power loss), the chain continues from the last good entry after an
 * 'audit.resumed' entry that says so, and `lfr-edge audit verify` reports the damaged line.
 * One writer per file: two AuditLog objects (or processes) appending to the same file would fork
 * the chain; the daemon owns the log and `wipe --boot` runs before it starts.
 */
export class AuditLog {
  private seq: number;
  private prev: string;
  private readonly fd: number;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    const existed = existsSync(file);
    const text = existed ? readFileSync(file, 'utf8') : '';
    this.fd = openSync(file, 'a', 0o640);
    if (!existed) fsyncDir(path.dirname(file));
    const lines = text.split('\n');
    const check = verifyAuditText(text);
    this.prev = check.head;
    this.seq = check.entries;
    if (!check.ok && check.firstBroken) {
      if (!text.endsWith('\n')) this.write('\n');
      // Continue numbering after the whole file so that seq stays unique; the break stays visible.
      this.seq = lines.filter((l) => l !== '').length;
      this.pendingResume = { type: 'audit.resumed', brokenLine: check.firstBroken.line, reason: check.firstBroken.reason };
    }
  }

  private pendingResume: AuditEvent | undefined;

  /** The hash of the last entry written (an anchor worth publishing in the deployment record). */
  get head(): { seq: number; hash: string } {
    return { seq: this.seq, hash: this.prev };
  }

  /** Append one event (fsync'ed before returning). Throws AuditError for biometric or non-JSON fields. */
  append(event: AuditEvent, now: Date): AuditEntry {
    const entry = makeEntry(event, now, this.seq + 1, this.prev); // check before writing anything
    if (this.pendingResume) {
      const resume = makeEntry(this.pendingResume, now, this.seq + 1, this.prev);
      this.writeEntry(resume);
      this.pendingResume = undefined;
      return this.append(event, now);
    }
    this.writeEntry(entry);
    return entry;
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeEntry(entry: AuditEntry): void {
    this.write(JSON.stringify(entry) + '\n');
    this.seq = entry.seq;
    this.prev = entry.hash;
  }

  private write(s: string): void {
    writeSync(this.fd, s);
    fsyncSync(this.fd);
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
