/**
 * The crash marker: a small JSON file in the state directory saying a session is running (its
 * ids, times, watchlist size and threshold; nothing biometric). Written when a session starts,
 * removed when it ends cleanly. If the process dies (kill -9, power loss) the marker survives and
 * the next start records that session as aborted.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { WipeResult } from '../watchlist/store';
import type { DurableCounts, SessionFacts } from './state';

export const MARKER_FILE = 'session-active.json';

export interface SessionMarker extends SessionFacts {
  v: 1;
  /** Set by `lfr-edge wipe --boot`, which removes the files before the daemon records the abort. */
  bootWipe?: WipeResult;
  /** The session's counts as of `aliveAt` (rewritten as the session runs; numbers only). */
  counts?: DurableCounts;
  /** When the running unit last wrote this file: its last sign of life. */
  aliveAt?: string;
}

export function markerPath(stateDir: string): string {
  return path.join(stateDir, MARKER_FILE);
}

/** Write atomically (temp file, fsync, rename, fsync the directory). */
export function writeMarker(stateDir: string, marker: SessionMarker): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  const file = markerPath(stateDir);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o640);
  try {
    writeSync(fd, JSON.stringify(marker) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(stateDir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** The marker, undefined when there is none; throws an Error naming the file when it is unreadable. */
export function readMarker(stateDir: string): SessionMarker | undefined {
  const file = markerPath(stateDir);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`session marker ${file} is not valid JSON (${(err as Error).message})`);
  }
  const m = parsed as Partial<SessionMarker>;
  if (m.v !== 1 || typeof m.sessionId !== 'string' || typeof m.bundleId !== 'string' || typeof m.startedAt !== 'string') {
    throw new Error(`session marker ${file} lacks v:1, sessionId, bundleId or startedAt`);
  }
  return m as SessionMarker;
}

export function removeMarker(stateDir: string): void {
  for (const f of [markerPath(stateDir), `${markerPath(stateDir)}.tmp`]) if (existsSync(f)) unlinkSync(f);
}
