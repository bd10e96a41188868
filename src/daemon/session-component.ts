/**
 * The deployment session on the unit: boot wipe first (a crashed session is reported aborted),
 * then the session controller, the signed-command processor that starts and ends it, the expiry
 * timer, and the session/record messages.
 */
import path from 'node:path';
import { CommandProcessor, type SessionCommandTarget } from '../comms/commands';
import type { SessionMessage } from '../comms/messages';
import { openCommsDatabase } from '../comms/outbox';
import { SeenCommands } from '../comms/seen-commands';
import type { Config } from '../config';
import type { Logger } from '../log';
import { thresholdFor } from '../recognition/calibration';
import { CalibrationRefusedError, loadCalibrationForSession, sessionBandThresholds, sessionCalibrationFacts } from '../session/calibration-policy';
import { wipeLeftovers } from '../session/leftovers';
import { DeploymentSession } from '../session/session';
import type { DeploymentRecord, SessionInfo } from '../session/state';
import { resolveFromRoot } from '../paths';
import { UsedBundleIds, usedBundleIdsPath } from '../watchlist/bundle-ledger';
import { loadPublicKey, type UnitKeys } from '../watchlist/keys';
import type { AuditComponent } from './audit-component';
import type { Component } from './lifecycle';
import type { LinkComponent } from './link-component';

export interface SessionHooks {
  /** A session started: decisions use its threshold from now on. */
  onStart(info: SessionInfo): void;
  /** A session ended (any reason): drop every track's biometric state. */
  onEnd(record: DeploymentRecord): void;
}

export class SessionComponent implements Component {
  readonly name = 'session';
  readonly remedy = 'provision the unit keys and the authority key (scripts/provision), and check models/calibration.json';
  session: DeploymentSession | undefined;
  private processor: CommandProcessor | undefined;
  private seenDb: ReturnType<typeof openCommsDatabase> | undefined;
  private timer: NodeJS.Timeout | undefined;
  lastBootWipe: { ok: boolean; aborted?: string } | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly deps: {
      unitKeys: () => UnitKeys;
      embedderSha256: () => string;
      audit: AuditComponent;
      link: LinkComponent;
      hooks: SessionHooks;
      version: string;
      logger: Logger;
      now: () => Date;
    },
  ) {}

  async start(): Promise<void> {
    const { cfg, deps } = this;
    const log = deps.logger.child({ component: 'session' });
    const now = deps.now();
    // 1. Boot wipe: whatever a crash left in the runtime dir goes, the session it was is reported aborted.
    const boot = wipeLeftovers({ runtimeDir: cfg.paths.runtimeDir, stateDir: cfg.paths.stateDir, unitId: cfg.unit.id, now, audit: deps.audit, logger: log });
    this.lastBootWipe = { ok: boot.wipe.ok, aborted: boot.aborted?.sessionId };
    if (!boot.wipe.ok) throw new Error(`the start-up wipe left files behind: ${boot.wipe.leftovers.join(', ')}`);

    // The calibration is read and checked against session.calibrationPolicy at every start-session
    // (a new one from 'lfr-edge calibrate' counts without a restart); a failing one refuses sessions.
    const calFile = resolveFromRoot(cfg.session.calibrationFile);
    const loadCalibration = () => loadCalibrationForSession(calFile, cfg.session.calibrationPolicy, { embedderSha256: deps.embedderSha256(), now: deps.now() });
    try {
      loadCalibration();
    } catch (err) {
      if (!(err instanceof CalibrationRefusedError)) throw err;
      log.warn('sessions will be refused until the calibration is fixed', { reasons: err.reasons });
    }
    const authorityPublic = loadPublicKey(cfg.mqtt.commands.authorityPublicKeyFile, ['ed25519']);
    const session = new DeploymentSession({
      config: cfg.session,
      unitId: cfg.unit.id,
      runtimeDir: cfg.paths.runtimeDir,
      stateDir: cfg.paths.stateDir,
      usedBundleIds: new UsedBundleIds(usedBundleIdsPath(cfg.paths.stateDir, cfg.watchlist.usedBundleIdsFile)),
      unitKeys: deps.unitKeys(),
      authorityPublic,
      embeddingModelSha256: deps.embedderSha256(),
      maxBundleBytes: cfg.watchlist.maxBundleBytes,
      decision: cfg.recognition.decision,
      thresholdFor: (req) => {
        const cal = loadCalibration();
        const d = thresholdFor(cal, req);
        const bands = sessionBandThresholds(cal, req);
        return { ...d, calibration: { ...sessionCalibrationFacts(cal, d.threshold, d.perComparisonFmr), ...(bands ? { bands } : {}) } };
      },
      audit: deps.audit,
      logger: log,
    });
    this.session = session;
    if (boot.aborted) {
      session.reportAborted(boot.aborted);
      this.publishRecord({ ...boot.aborted, ...this.auditHead() });
    }
    this.publishSession();

    const link = deps.link.link;
    // an alert the outbox could not store (disk full) counts as at risk in the session's record
    link?.onUnstored((kind, msgId) => {
      if (kind === 'alert') session.noteAtRisk(msgId);
    });
    if (link) {
      this.seenDb = openCommsDatabase(path.resolve(cfg.paths.stateDir, cfg.mqtt.outbox.file));
      const target: SessionCommandTarget = {
        startSession: (bundle, at) => {
          const info = session.start(bundle, at);
          deps.hooks.onStart(info);
          this.publishSession();
          return { sessionId: info.id ?? null, watchlistSize: info.watchlistSize, threshold: info.threshold ?? null, expiresAt: info.expiresAt ?? null };
        },
        endSession: (at) => {
          const record = this.endSession('command', at);
          return { sessionId: record.sessionId, wipeOk: record.wipe.ok };
        },
        adjudicate: (alertId, verdict, at) => session.adjudicate(alertId, verdict, at),
      };
      this.processor = new CommandProcessor({
        unitId: cfg.unit.id,
        version: deps.version,
        authorityPublic,
        seen: new SeenCommands(this.seenDb),
        target,
        // The processor's `at` is the entry's time (the chain owns the field), its `type` the command's.
        audit: {
          append: (entry) => {
            if (entry.event === 'command-refusals-summarised') {
              const { at, event: _event, ...e } = entry;
              deps.audit.append({ ...e, type: 'command.refusals-summarised' }, new Date(at));
              return;
            }
            const { at, type, event: _event, ...e } = entry;
            deps.audit.append({ ...e, type: e.accepted ? 'command.accepted' : 'command.refused', commandType: type }, new Date(at));
          },
        },
        reply: (r) => link.publishCommandResult(r),
        limits: cfg.mqtt.commands,
        unsignedRefusals: { perS: cfg.mqtt.commands.unsignedRefusalsPerS, burst: cfg.mqtt.commands.unsignedRefusalsBurst, summaryAfterS: 10 },
        logger: log,
      });
      link.onCommand(this.processor.onCommand);
    } else {
      log.warn('no broker link: sessions cannot be started (they arrive as signed commands)');
    }
    this.timer = setInterval(() => this.checkExpiry(), cfg.daemon.expiryCheckS * 1000);
    this.timer.unref();
  }

  /**
   * End the active session (wipe), hand the record to the outbox. Needs no free space: the wipe
   * only removes, the audit and the outbox hold what they cannot write (and say so).
   */
  endSession(reason: 'command' | 'expiry' | 'sigterm', at: Date): DeploymentRecord {
    const record = this.finishRecord(this.session!.end(reason, at));
    this.deps.hooks.onEnd(record);
    this.publishRecord(record);
    this.publishSession();
    return record;
  }

  /** The audit log's head after the session's last entry: the signed record anchors the log. */
  private auditHead(): Pick<DeploymentRecord, 'auditHead'> {
    const head = this.deps.audit.head();
    return head ? { auditHead: head } : {};
  }

  private finishRecord(record: DeploymentRecord): DeploymentRecord {
    return { ...record, ...this.auditHead() };
  }

  get active(): boolean {
    return this.session?.info().state === 'active';
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.processor?.idle();
    // A session still active here (stop without SIGTERM handling) is ended and wiped all the same.
    if (this.active) this.endSession('sigterm', this.deps.now());
    this.seenDb?.close();
    this.seenDb = undefined;
  }

  private checkExpiry(): void {
    const s = this.session;
    if (!s) return;
    try {
      const now = this.deps.now();
      s.checkpoint(now); // the counts and a sign of life, durably (for a record after kill -9)
      const found = s.checkExpiry(now);
      if (found) {
        const record = this.finishRecord(found);
        this.deps.hooks.onEnd(record);
        this.publishRecord(record);
        this.publishSession();
      }
    } catch (err) {
      this.deps.logger.error('session expiry check failed', { error: err as Error });
    }
  }

  private publishRecord(record: DeploymentRecord): void {
    this.deps.link.link?.publishRecord(record);
  }

  publishSession(): void {
    const link = this.deps.link.link;
    const s = this.session;
    if (!link || !s) return;
    const info = s.info();
    const msg: SessionMessage = {
      v: 1,
      unitId: this.cfg.unit.id,
      sessionId: info.id ?? null,
      state: info.state,
      ...(info.startedAt ? { startedAt: info.startedAt } : {}),
      ...(info.expiresAt ? { expiresAt: info.expiresAt } : {}),
      watchlistSize: info.watchlistSize,
      ...(info.threshold !== undefined ? { threshold: info.threshold } : {}),
      targetFalseAlertRate: info.targetFalseAlertRate,
      ...(info.decidingGroup !== undefined ? { decidingGroup: info.decidingGroup } : {}),
      ...(info.calibration !== undefined ? { calibration: info.calibration } : {}),
      ...(info.decision !== undefined ? { decision: info.decision } : {}),
      at: this.deps.now().toISOString(),
    };
    link.publishSession(msg);
  }
}
