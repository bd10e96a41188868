/**
 * DeploymentSession: the watchlist's whole life on the unit. It starts from a verified bundle
 * (verifyAndOpenBundle), keeps the watchlist sealed in the runtime-directory store and in the
 * matcher's in-memory matrix, counts what happened, and on end (command, expiry, SIGTERM) zeroes
 * the matrix and the key, wipes the store and returns the DeploymentRecord.
 *
 * A refused bundle changes nothing: verification and every check come before any state changes,
 * so a running session keeps its watchlist and an idle unit stays idle.
 *
 * Time is always passed in (the wall time as `now`, the monotonic clock as a dependency that
 * tests replace). Nothing here installs signal handlers: the daemon calls `end('sigterm', now)`
 * from its SIGTERM handler and `checkExpiry(now)` on a timer. The maximum duration holds on the
 * monotonic clock as well as on the wall clock: stepping the wall clock back does not lengthen a
 * session, stepping it forward can only end it sooner.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../log';
import { Matcher } from '../recognition/matcher';
import { BundleRefusedError, verifyAndOpenBundle, zeroSubjects, type OpenedBundle } from '../watchlist/bundle';
import { UsedBundleIds } from '../watchlist/bundle-ledger';
import type { UnitKeys } from '../watchlist/keys';
import { WatchlistStore, type StoredEntry } from '../watchlist/store';
import { CalibrationRefusedError, type SessionCalibrationFacts } from './calibration-policy';
import type { DecisionConfig } from '../recognition/config';
import type { SessionConfig } from './config';
import type { AuditSink } from './leftovers';
import { removeMarker, writeMarker } from './marker';
import {
  assertTransition, buildRecord, durableCounts, expiryDue, monotonicDeadline, newCounters, SessionError, sessionExpiry,
  type DeploymentRecord, type EndReason, type SessionCounters, type SessionFacts, type SessionInfo, type SessionState, type Verdict,
} from './state';

/** The threshold for a target false-alert rate at a watchlist size (from the calibration: `thresholdFor`). */
export type ThresholdProvider = (req: { falseAlertRate: number; watchlistSize: number; fused?: boolean }) => {
  threshold: number;
  perComparisonFmr?: number;
  decidingGroup?: string;
  /** Per group, the FMR at the threshold (stated in the session message and the record). */
  calibration?: SessionCalibrationFacts;
};

export interface DeploymentSessionDeps {
  config: SessionConfig;
  unitId: string;
  runtimeDir: string;
  stateDir: string;
  /** The used-bundle-ids ledger (replay protection across restarts). */
  usedBundleIds: UsedBundleIds;
  unitKeys: UnitKeys;
  authorityPublic: KeyObject;
  /** sha256 of the embedding model this unit runs. */
  embeddingModelSha256: string;
  maxBundleBytes: number;
  thresholdFor: ThresholdProvider;
  /** recognition.decision: with rule 'template' the session also computes the fused threshold. Default 'min-frames'. */
  decision?: Pick<DecisionConfig, 'rule' | 'template'>;
  audit?: AuditSink;
  logger: Logger;
  /** Monotonic milliseconds (default process.hrtime): the max duration is enforced on it as well. */
  monotonicMs?: () => number;
}

/** Milliseconds on the process's monotonic clock. */
export function hrtimeMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

interface Active {
  facts: SessionFacts;
  store: WatchlistStore;
  matcher: Matcher;
  counters: SessionCounters;
  /** The deadline on the monotonic clock (monotonicDeadline). */
  monoDeadlineMs: number;
  /** When the counts were last written to the marker (ms). */
  savedAt: number;
  /** An alert, verdict or at-risk alert not yet in the marker: written at the next checkpoint. */
  urgent: boolean;
  /** The last marker write failed (logged once until one succeeds). */
  saveFailing: boolean;
}

export class DeploymentSession {
  private state: SessionState = 'idle';
  private active: Active | undefined;
  private last: SessionFacts | undefined;
  private readonly mono: () => number;

  constructor(private readonly deps: DeploymentSessionDeps) {
    this.mono = deps.monotonicMs ?? hrtimeMs;
  }

  /**
   * Start a session from a watchlist bundle. Throws BundleRefusedError (the bundle failed a check)
   * or SessionError (a session is running, the store or threshold failed); either way nothing
   * changed. The refusal is audited with its reason.
   */
  start(bundleBytes: Buffer, now: Date): SessionInfo {
    const d = this.deps;
    const monoStart = this.mono();
    let opened: OpenedBundle;
    try {
      opened = verifyAndOpenBundle(bundleBytes, {
        unitKeys: d.unitKeys,
        authorityPublic: d.authorityPublic,
        now,
        embeddingModelSha256: d.embeddingModelSha256,
        isBundleIdUsed: (id) => d.usedBundleIds.has(id),
        maxBytes: d.maxBundleBytes,
        unitId: d.unitId,
      });
    } catch (err) {
      if (err instanceof BundleRefusedError) this.auditRefusal(err.code, err.message, now);
      throw err;
    }
    const { header, subjects } = opened;
    try {
      assertTransition(this.state, 'active');
      const watchlistSize = subjects.length;
      let decision: ReturnType<ThresholdProvider>;
      let fused: ReturnType<ThresholdProvider> | undefined;
      const rule = d.decision?.rule ?? 'min-frames';
      try {
        decision = d.thresholdFor({ falseAlertRate: d.config.falseAlertRate, watchlistSize });
        if (rule === 'template') fused = d.thresholdFor({ falseAlertRate: d.config.falseAlertRate, watchlistSize, fused: true });
      } catch (err) {
        if (err instanceof CalibrationRefusedError) throw new SessionError('calibration-refused', err.message);
        throw new SessionError('threshold-failed', `cannot choose a threshold for ${watchlistSize} subjects at false-alert rate ${d.config.falseAlertRate}: ${(err as Error).message}`);
      }
      const expiresAt = sessionExpiry(now, header.expiresAt, d.config.maxDurationHours);
      const facts: SessionFacts = {
        sessionId: header.sessionId,
        unitId: d.unitId,
        bundleId: header.bundleId,
        startedAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
        watchlistSize,
        threshold: decision.threshold,
        targetFalseAlertRate: d.config.falseAlertRate,
        ...(decision.decidingGroup !== undefined ? { decidingGroup: decision.decidingGroup } : {}),
        ...(decision.calibration !== undefined ? { calibration: decision.calibration } : {}),
        decision: fused
          ? {
              rule, fused: true, fusedThreshold: fused.threshold,
              ...(fused.decidingGroup !== undefined ? { fusedDecidingGroup: fused.decidingGroup } : {}),
              templateFrames: d.decision!.template.frames, weighting: d.decision!.template.weighting,
            }
          : { rule, fused: false },
      };
      const entries: StoredEntry[] = subjects.flatMap((s) =>
        s.embeddings.map((embedding) => ({
          ref: s.ref,
          category: s.category,
          ...(d.config.namesAllowed && s.name !== undefined ? { name: s.name } : {}),
          embedding,
        })),
      );
      // From here on state changes. The store refuses to start over leftovers, before anything is written.
      let store: WatchlistStore;
      try {
        store = WatchlistStore.create({ runtimeDir: d.runtimeDir, sessionId: facts.sessionId });
      } catch (err) {
        throw new SessionError('store-failed', (err as Error).message);
      }
      let matcher: Matcher;
      try {
        d.usedBundleIds.add(header.bundleId);
        writeMarker(d.stateDir, { v: 1, ...facts, counts: durableCounts(newCounters()), aliveAt: now.toISOString() });
        store.add(entries);
        const stored = store.readAll();
        matcher = new Matcher(stored.map((e) => ({ ref: e.ref, category: e.category, embedding: e.embedding })));
        for (const e of stored) e.embedding.fill(0);
      } catch (err) {
        const wipe = store.wipe(now, (m) => d.logger.error('wipe problem', { problem: m }));
        removeMarker(d.stateDir);
        throw new SessionError('store-failed', `could not set up the session's watchlist store (${(err as Error).message}); wipe ok: ${wipe.ok}`);
      }
      this.active = { facts, store, matcher, counters: newCounters(), monoDeadlineMs: monotonicDeadline({ wall: now, monoMs: monoStart }, expiresAt),
        savedAt: now.getTime(), urgent: false, saveFailing: false };
      this.last = facts;
      this.state = 'active';
      d.audit?.append({ type: 'bundle.accepted', bundleId: header.bundleId, sessionId: header.sessionId, subjects: watchlistSize, rows: entries.length }, now);
      d.audit?.append({
        type: 'session.start', sessionId: facts.sessionId, bundleId: facts.bundleId, expiresAt: facts.expiresAt,
        watchlistSize, threshold: facts.threshold, targetFalseAlertRate: facts.targetFalseAlertRate, decidingGroup: facts.decidingGroup ?? null,
        fmrByGroup: facts.calibration?.fmrByGroup ?? null,
        rule, fusedThreshold: facts.decision?.fusedThreshold ?? null,
      }, now);
      d.logger.info('session started', { sessionId: facts.sessionId, bundleId: facts.bundleId, watchlistSize, rows: entries.length, expiresAt: facts.expiresAt, threshold: facts.threshold });
      return this.info();
    } catch (err) {
      if (err instanceof SessionError) this.auditRefusal(err.code, err.message, now, header.bundleId);
      throw err;
    } finally {
      zeroSubjects(subjects); // the opened bundle's embeddings: in the store and matrix now, or refused
    }
  }

  /** End the running session: zero the matrix and key, wipe the store, remove the marker. */
  end(reason: EndReason, now: Date): DeploymentRecord {
    assertTransition(this.state, 'ended');
    const a = this.active!;
    const d = this.deps;
    a.matcher.clear();
    const wipe = a.store.wipe(now, (m) => d.logger.error('wipe problem', { sessionId: a.facts.sessionId, problem: m }));
    const record = buildRecord(a.facts, a.counters, reason, now, wipe);
    this.active = undefined;
    this.state = 'ended';
    d.audit?.append({ type: 'wipe', scope: 'session', sessionId: a.facts.sessionId, ok: wipe.ok, keyZeroed: wipe.keyZeroed, filesRemoved: wipe.filesRemoved.length, leftovers: wipe.leftovers.length }, now);
    d.audit?.append({ type: 'session.end', sessionId: a.facts.sessionId, endedBy: reason, alerts: record.alerts, wipeOk: wipe.ok }, now);
    // The marker goes last: if we die before this line, the next start reports the session aborted.
    try {
      removeMarker(d.stateDir);
    } catch (err) {
      d.logger.error('could not remove the session marker; the next start will report this session as aborted', { error: err as Error });
    }
    (wipe.ok ? d.logger.info : d.logger.error)('session ended', { sessionId: a.facts.sessionId, endedBy: reason, wipeOk: wipe.ok, leftovers: wipe.leftovers });
    return record;
  }

  /**
   * End the session (reason 'expiry') if its time is up on the wall clock or on the monotonic
   * clock (a wall clock stepped back does not lengthen it); returns the record when it did.
   */
  checkExpiry(now: Date, monoNowMs: number = this.mono()): DeploymentRecord | undefined {
    const a = this.active;
    if (this.state !== 'active' || !a) return undefined;
    const due = expiryDue(a.facts, now, { nowMs: monoNowMs, deadlineMs: a.monoDeadlineMs });
    if (!due) return undefined;
    if (due === 'monotonic') {
      this.deps.logger.warn('session ran its full length on the monotonic clock: ending it although the wall clock says it has time left (the wall clock was stepped back)', {
        sessionId: a.facts.sessionId, expiresAt: a.facts.expiresAt, wallNow: now.toISOString(),
      });
    }
    return this.end('expiry', now);
  }

  /** An officer's verdict on an alert of the running session (the last verdict counts). */
  adjudicate(alertId: string, verdict: Verdict, now: Date): void {
    const a = this.active;
    if (!a) throw new SessionError('no-session', `cannot adjudicate alert ${alertId}: no session is active`);
    if (!a.counters.alerts.has(alertId)) throw new SessionError('unknown-alert', `alert ${alertId} was not raised in session ${a.facts.sessionId}`);
    a.counters.alerts.set(alertId, verdict);
    a.urgent = true;
    this.deps.audit?.append({ type: 'alert.adjudicated', sessionId: a.facts.sessionId, alertId, verdict }, now);
  }

  /** Counters fed by the pipeline; ignored when no session is active. */
  noteAlert(alertId: string): void {
    if (this.active && !this.active.counters.alerts.has(alertId)) {
      this.active.counters.alerts.set(alertId, undefined);
      this.active.urgent = true;
    }
  }

  /** An alert of this session that could not be stored durably (the outbox could not be written). */
  noteAtRisk(alertId: string): void {
    if (this.active && !this.active.counters.atRisk.has(alertId)) {
      this.active.counters.atRisk.add(alertId);
      this.active.urgent = true;
    }
  }

  /**
   * Keep the counts durably (in the crash marker: numbers only) so that a session killed with -9
   * or a power cut is reported with true counts and the time of its last sign of life. Writes when
   * an alert or verdict is not yet saved, or every `heartbeatS`. Called on the daemon's timer. A
   * failed write (disk full) is logged once and tried again; it never affects the session.
   */
  checkpoint(now: Date): void {
    const a = this.active;
    if (!a) return;
    if (!a.urgent && now.getTime() - a.savedAt < this.deps.config.heartbeatS * 1000) return;
    try {
      writeMarker(this.deps.stateDir, { v: 1, ...a.facts, counts: durableCounts(a.counters), aliveAt: now.toISOString() });
      a.savedAt = now.getTime();
      a.urgent = false;
      if (a.saveFailing) this.deps.logger.info('session counts saved again', { sessionId: a.facts.sessionId });
      a.saveFailing = false;
    } catch (err) {
      if (!a.saveFailing) this.deps.logger.error('cannot save the session counts to the marker; trying again', { sessionId: a.facts.sessionId, error: err as Error });
      a.saveFailing = true;
      a.savedAt = now.getTime(); // try again at the next heartbeat, or the next alert
    }
  }

  noteFaces(n: number): void {
    if (this.active && Number.isFinite(n) && n > 0) this.active.counters.facesProcessed += n;
  }

  noteTrack(): void {
    if (this.active) this.active.counters.tracks++;
  }

  info(): SessionInfo {
    const f = this.active?.facts ?? this.last;
    const base: SessionInfo = { state: this.state, watchlistSize: 0, targetFalseAlertRate: this.deps.config.falseAlertRate };
    if (!f) return base;
    return {
      id: f.sessionId,
      state: this.state,
      bundleId: f.bundleId,
      startedAt: f.startedAt,
      expiresAt: f.expiresAt,
      watchlistSize: f.watchlistSize,
      threshold: f.threshold,
      targetFalseAlertRate: f.targetFalseAlertRate,
      ...(f.decidingGroup !== undefined ? { decidingGroup: f.decidingGroup } : {}),
      ...(f.calibration !== undefined ? { calibration: f.calibration } : {}),
      ...(f.decision !== undefined ? { decision: f.decision } : {}),
    };
  }

  /**
   * Show a session that the boot wipe found aborted (wipeLeftovers().aborted) as this unit's last
   * session, so the session topic says 'aborted' until a new one starts. Only while idle.
   */
  reportAborted(record: DeploymentRecord): void {
    if (this.state !== 'idle') throw new SessionError('session-active', `cannot report session ${record.sessionId} aborted: state is ${this.state}`);
    const { sessionId, unitId, bundleId, startedAt, watchlistSize, threshold, targetFalseAlertRate, decidingGroup } = record;
    this.last = { sessionId, unitId, bundleId, startedAt, expiresAt: record.endedAt, watchlistSize, threshold, targetFalseAlertRate, ...(decidingGroup !== undefined ? { decidingGroup } : {}) };
    this.state = 'aborted';
  }

  /** The active watchlist's matcher, undefined when no session is active. */
  matcher(): Matcher | undefined {
    return this.active?.matcher;
  }

  /**
   * TEST HOOK ONLY: the running session's key in hex (see WatchlistStore.sessionKeyHexForTest:
   * needs NODE_ENV=test and LFR_EDGE_TEST_EXPOSE_SESSION_KEY=1, otherwise throws).
   */
  sessionKeyHexForTest(env: NodeJS.ProcessEnv = process.env): string {
    if (!this.active) throw new SessionError('no-session', 'no session is active');
    return this.active.store.sessionKeyHexForTest(env);
  }

  private auditRefusal(code: string, reason: string, now: Date, bundleId?: string): void {
    this.deps.audit?.append({ type: 'bundle.refused', code, reason, bundleId: bundleId ?? null }, now);
    this.deps.logger.warn('watchlist bundle refused', { code, reason });
  }
}
