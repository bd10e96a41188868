/** Checking an audit log's chain, within a file and across its linked segments (see log.ts for the format). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { AuditError, entryHash, GENESIS_HASH } from './entry';

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

export const TORN_REASON = 'the last line is incomplete (no newline: a write was cut off)';

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
