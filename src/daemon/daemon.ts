/**
 * The appliance: components started in order (audit, outbox + MQTT, session with its boot wipe,
 * camera + vision, health), stopped in reverse. systemd hears READY when the camera streams,
 * WATCHDOG while the loop is alive, STOPPING on shutdown. On SIGTERM the session is ended and
 * wiped and its record handed to the outbox (and flushed, bounded) before anything stops.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config';
import { HealthReporter } from '../health/reporter';
import { MachineProbe, type HealthInputs } from '../health/sampler';
import type { Logger } from '../log';
import { ModelError, verifyModels, type VerifiedModels } from '../models/manifest';
import type { ComponentHealth, HealthMessage } from '../comms/messages';
import { StuckDetector, type StuckVerdict } from './stuck';
import { loadUnitKeys, type UnitKeys } from '../watchlist/keys';
import { AuditComponent } from './audit-component';
import { daemonBudgets, type DaemonBudgets } from './budgets';
import { Lifecycle, StartCancelledError, type Component, type ComponentStatus } from './lifecycle';
import { LinkComponent } from './link-component';
import { RecognitionComponent } from './recognition-component';
import { createSystemdNotifier, type SystemdNotifier } from './sd-notify';
import { SessionComponent } from './session-component';
import { decisionBasisOf, SessionDecider } from './session-decider';

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  version: string;
  notifier?: SystemdNotifier;
  now?: () => Date;
}

class HealthComponent implements Component {
  readonly name = 'health';
  reporter: HealthReporter | undefined;
  constructor(private readonly make: () => HealthReporter) {}
  async start(signal: AbortSignal = new AbortController().signal): Promise<void> {
    signal.throwIfAborted();
    this.reporter = this.make();
    await this.reporter.start();
    signal.throwIfAborted(); // stop() (which follows) ends the reporter
  }
  async stop(): Promise<void> {
    await this.reporter?.stop();
  }
}

export class Daemon {
  readonly audit: AuditComponent;
  readonly link: LinkComponent;
  readonly session: SessionComponent;
  readonly recognition: RecognitionComponent;
  readonly health: HealthComponent;
  private readonly lifecycle: Lifecycle;
  private readonly notifier: SystemdNotifier;
  private readonly decider: SessionDecider;
  private readonly now: () => Date;
  private models: VerifiedModels | undefined;
  private keys: UnitKeys | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private readonly stuck: StuckDetector;
  private verdict: StuckVerdict = { stuck: false, reason: null, idleMs: 0 };
  private stopping: Promise<void> | undefined;
  /** Fires when stop() is called: a start in progress stops waiting (no READY, no watchdog). */
  private readonly stopRequested = new AbortController();
  private readonly startedAt: Date;
  readonly budgets: DaemonBudgets;

  constructor(private readonly opts: DaemonOptions) {
    const { config: cfg, logger, version } = opts;
    this.now = opts.now ?? (() => new Date());
    this.startedAt = this.now();
    this.notifier = opts.notifier ?? createSystemdNotifier();
    this.decider = new SessionDecider(cfg.recognition.decision);
    this.audit = new AuditComponent(cfg.paths.stateDir, logger.child({ component: 'audit' }));
    this.link = new LinkComponent(cfg, version, () => this.unitKeys().ed25519Private, logger);
    this.session = new SessionComponent(cfg, {
      unitKeys: () => this.unitKeys(),
      embedderSha256: () => this.verified().embedderSha256,
      audit: this.audit,
      link: this.link,
      hooks: {
        onStart: (info) => this.decider.begin(decisionBasisOf(info)),
        onEnd: () => {
          this.recognition.chain?.endAll();
          this.decider.end();
        },
      },
      version,
      logger,
      now: this.now,
    });
    this.stuck = new StuckDetector(cfg.daemon.loopStuckS * 1000);
    this.recognition = new RecognitionComponent(cfg, {
      models: () => this.verified(),
      verifyModels: () => verifyModels(cfg.models),
      report: (name, state, error, restarts) => this.lifecycle.report(name, state, error, restarts),
      decider: this.decider,
      session: {
        sessionId: () => (this.session.active ? this.session.session?.info().id : undefined),
        matcher: () => this.session.session?.matcher(),
        noteAlert: (id) => this.session.session?.noteAlert(id),
        noteFaces: (n) => this.session.session?.noteFaces(n),
        noteTrack: () => this.session.session?.noteTrack(),
      },
      link: this.link,
      audit: this.audit,
      logger: logger.child({ component: 'recognition' }),
      now: this.now,
    });
    this.health = new HealthComponent(() => new HealthReporter({
      identity: { unitId: cfg.unit.id, version, startedAt: this.startedAt },
      probe: new MachineProbe({ ...cfg.health, diskPath: cfg.health.diskPath ?? cfg.paths.stateDir }, logger),
      inputs: () => {
        const r = this.recognition.health();
        const info = this.session.session?.info();
        return {
          ...r,
          outbox: this.outboxHealth(),
          audit: this.auditHealth(),
          session: { state: info?.state ?? 'idle', sessionId: info?.id ?? null },
          mqttReconnects: this.link.link?.reconnectCount() ?? 0,
          components: this.componentHealth(),
          watchdog: this.watchdogHealth(),
        };
      },
      publish: (h) => this.link.link?.publishHealth(h),
      intervalS: cfg.mqtt.healthIntervalS,
      logger,
      now: this.now,
      maxClockDriftS: cfg.health.maxClockDriftS,
    }));
    this.budgets = daemonBudgets(cfg.daemon);
    this.lifecycle = new Lifecycle([this.audit, this.link, this.session, this.recognition, this.health], logger, {
      startMs: this.budgets.startMs,
      stopMs: this.budgets.stopMs,
      cancelGraceMs: this.budgets.cancelGraceMs,
    });
  }

  private outboxHealth(): HealthInputs['outbox'] {
    const link = this.link.link;
    const u = link?.unstoredStats();
    return { depth: link?.outboxDepth() ?? 0, dropped: link?.outboxDropped() ?? 0, deadLetters: link?.outboxDeadLetters() ?? 0, atRisk: u?.atRisk ?? 0, held: u?.held ?? 0 };
  }

  private componentHealth(): ComponentHealth[] {
    return this.lifecycle.statuses().map((c) => ({ name: c.name, state: c.state, reason: c.state === 'running' || c.state === 'stopped' ? null : (c.error ?? null), restarts: c.restarts ?? 0 }));
  }

  private watchdogHealth(): HealthMessage['watchdog'] {
    return { enabled: this.notifier.watchdogMs > 0, withheld: this.verdict.stuck, reason: this.verdict.reason };
  }

  private auditHealth(): HealthInputs['audit'] {
    const a = this.audit.status();
    return a ? { segment: a.segment, held: a.held, lost: a.lost } : null;
  }

  private verified(): VerifiedModels {
    return (this.models ??= verifyModels(this.opts.config.models));
  }

  private unitKeys(): UnitKeys {
    return (this.keys ??= loadUnitKeys(this.opts.config.paths.keysDir));
  }

  /**
   * Start everything; resolves once READY was sent. Throws when models or the audit log fail, and
   * StartCancelledError when stop() came first (then no READY is sent and stop() stops what started).
   */
  async start(): Promise<ComponentStatus[]> {
    const { logger } = this.opts;
    try {
      this.verified(); // a missing or altered model stops start-up here, naming the file and both hashes
    } catch (err) {
      if (err instanceof ModelError) this.notifier.status(`models: ${err.message}`);
      throw err;
    }
    this.notifier.status('starting');
    const statuses = await this.lifecycle.start();
    const failed = statuses.filter((s) => s.state === 'failed');
    const streaming = this.lifecycle.statuses().find((s) => s.name === this.recognition.name)?.state === 'running'
      && (await this.recognition.waitStreaming(this.budgets.readyMs, this.stopRequested.signal));
    if (this.stopRequested.signal.aborted) throw new StartCancelledError('start cancelled: stopping before the camera streamed');
    const status = failed.length
      ? `degraded: ${failed.map((f) => `${f.name} failed (${f.error})`).join('; ')}`
      : streaming ? 'streaming' : `camera not streaming yet (${this.recognition.camera?.stats().lastError ?? 'no frame'})`;
    this.notifier.ready(status);
    logger.info('daemon ready', { status, components: statuses.map((s) => `${s.name}:${s.state}`).join(' ') });
    this.startWatchdog();
    return this.lifecycle.statuses();
  }

  /**
   * Every second (or half WatchdogSec if shorter): is recognition stuck (StuckDetector: the camera
   * streams but no frame went through for daemon.loopStuckS, failed frames not counting)? While it
   * is, the watchdog ping is withheld (systemd restarts the unit) and health says why; otherwise
   * systemd's watchdog is pinged while the event loop runs.
   */
  private startWatchdog(): void {
    const ms = this.notifier.watchdogMs;
    const period = ms ? Math.max(200, Math.min(1000, Math.floor(ms / 2))) : 1000;
    this.watchdogTimer = setInterval(() => {
      const s = this.recognition.loop?.stats();
      const streaming = this.recognition.camera?.state === 'streaming';
      const was = this.verdict.stuck;
      this.verdict = this.stuck.observe({ processed: s?.processed ?? 0, failed: s?.failed ?? 0 }, streaming, performance.now());
      if (this.verdict.stuck && !was) {
        this.opts.logger.error(`recognition stuck: ${this.verdict.reason}; ${ms ? 'withholding the watchdog ping so that systemd restarts the unit' : 'no systemd watchdog to withhold'}`, { lastFrameError: s?.lastError ?? null });
      } else if (!this.verdict.stuck && was) {
        this.opts.logger.info('recognition going again: watchdog pings resume');
      }
      if (!this.verdict.stuck && ms) this.notifier.watchdog();
    }, period);
    this.watchdogTimer.unref();
  }

  /** SIGTERM / shutdown: end + wipe the session, record to the outbox (flushed, bounded), stop all. */
  stop(reason: 'sigterm' | 'shutdown' = 'sigterm'): Promise<void> {
    this.stopping ??= (async () => {
      const { logger } = this.opts;
      this.stopRequested.abort();
      clearInterval(this.watchdogTimer);
      this.notifier.stopping(this.session.active ? 'ending the session (wipe)' : 'stopping');
      if (this.session.active) {
        try {
          const record = this.session.endSession('sigterm', this.now());
          logger.info('session ended on shutdown', { sessionId: record.sessionId, wipeOk: record.wipe.ok, reason });
        } catch (err) {
          logger.error('ending the session on shutdown failed', { error: err as Error });
        }
        const flushed = await this.link.flush(this.budgets.flushMs);
        if (!flushed) logger.warn('the record is not acknowledged yet: it stays in the outbox and is sent at the next start');
      }
      const failures = await this.lifecycle.stop();
      if (failures.length) logger.error('some components did not stop cleanly', { failures });
      logger.info('daemon stopped', { reason });
    })();
    return this.stopping;
  }

  statuses(): ComponentStatus[] {
    return this.lifecycle.statuses();
  }
}
