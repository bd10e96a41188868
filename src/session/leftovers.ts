/**
 * The boot wipe: before the daemon starts (systemd lfr-edge-wipe.service runs `lfr-edge wipe
 * --boot`) and again at daemon start, shred any watchlist store files left in the runtime
 * directory by a crash, kill -9 or power loss. Their rows are already undecryptable (the key died
 * with the process); this removes them.
 *
 * A crash marker in the state directory names the session that was running: it is reported as
 * aborted. `wipe --boot` keeps the marker (adding what it removed) so that the daemon, which owns
 * the outbox, is the one that turns it into the aborted DeploymentRecord and clears it.
 */
import type { AuditEvent } from '../audit/log';
import type { Logger } from '../log';
import { shredStoreFiles, type WipeResult } from '../watchlist/store';
import { readMarker, removeMarker, writeMarker, type SessionMarker } from './marker';
import { buildAbortedRecord, type DeploymentRecord } from './state';

export interface AuditSink {
  append(event: AuditEvent, now: Date): unknown;
}

export interface LeftoverWipeOptions {
  runtimeDir: string;
  stateDir: string;
  unitId: string;
  now: Date;
  /** true for `wipe --boot`: keep the marker for the daemon to report. Default false. */
  keepMarker?: boolean;
  audit?: AuditSink;
  logger?: Logger;
}

export interface LeftoverWipe {
  wipe: WipeResult;
  /** The session found running when the process died, recorded as aborted (absent with keepMarker). */
  aborted?: DeploymentRecord;
  /** A session marker was found (whether or not it is reported here). */
  sessionFound?: { sessionId: string; bundleId: string; startedAt: string };
  problems: string[];
}

function mergeWipes(earlier: WipeResult | undefined, later: WipeResult): WipeResult {
  if (!earlier) return later;
  return {
    ok: later.ok,
    filesRemoved: [...earlier.filesRemoved, ...later.filesRemoved],
    leftovers: later.leftovers,
    keyZeroed: earlier.keyZeroed && later.keyZeroed,
    at: later.at,
  };
}

export function wipeLeftovers(opts: LeftoverWipeOptions): LeftoverWipe {
  const problems: string[] = [];
  const onProblem = (m: string) => {
    problems.push(m);
    opts.logger?.error('boot wipe problem', { problem: m });
  };
  const { filesRemoved, leftovers } = shredStoreFiles(opts.runtimeDir, onProblem);
  // keyZeroed: the key of a leftover store existed only in the memory of a process that is gone.
  const wipe: WipeResult = { ok: leftovers.length === 0, filesRemoved, leftovers, keyZeroed: true, at: opts.now.toISOString() };

  let marker: SessionMarker | undefined;
  try {
    marker = readMarker(opts.stateDir);
  } catch (err) {
    onProblem(`${(err as Error).message}; the aborted session cannot be named`);
    marker = {
      v: 1, sessionId: 'unknown', unitId: opts.unitId, bundleId: 'unknown', startedAt: opts.now.toISOString(),
      expiresAt: opts.now.toISOString(), watchlistSize: 0, threshold: 0, targetFalseAlertRate: 0,
    };
  }

  const result: LeftoverWipe = { wipe, problems };
  if (marker) result.sessionFound = { sessionId: marker.sessionId, bundleId: marker.bundleId, startedAt: marker.startedAt };
  if (filesRemoved.length || leftovers.length) {
    opts.audit?.append({ type: 'wipe', scope: 'leftovers', sessionId: marker?.sessionId ?? null, ok: wipe.ok, filesRemoved: filesRemoved.length, leftovers: leftovers.length }, opts.now);
  }
  if (marker && opts.keepMarker) {
    writeMarker(opts.stateDir, { ...marker, bootWipe: mergeWipes(marker.bootWipe, wipe) });
  } else if (marker) {
    const combined = mergeWipes(marker.bootWipe, wipe);
    const { v: _v, bootWipe: _b, counts, aliveAt, ...facts } = marker;
    // The counts and the time of the last sign of life are those the running unit last wrote.
    result.aborted = buildAbortedRecord({ ...facts, unitId: facts.unitId ?? opts.unitId }, counts, aliveAt, opts.now, combined);
    result.wipe = combined;
    opts.audit?.append({
      type: 'session.abort', sessionId: marker.sessionId, bundleId: marker.bundleId, startedAt: marker.startedAt,
      lastAliveAt: result.aborted.lastAliveAt ?? null, alerts: result.aborted.alerts, wipeOk: combined.ok,
    }, opts.now);
    removeMarker(opts.stateDir);
  }
  if (filesRemoved.length || marker) {
    opts.logger?.warn('removed leftovers of a session that did not end cleanly', {
      sessionId: marker?.sessionId, files: filesRemoved.length, leftovers: leftovers.length,
    });
  }
  return result;
}
