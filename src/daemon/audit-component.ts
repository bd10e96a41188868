import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AuditError, AuditLog, type AuditEvent, type AuditWriterState } from '../audit/log';
import type { Logger } from '../log';
import type { Component } from './lifecycle';

/** How often held audit events (the disk was full) are tried again. */
const RETRY_MS = 2000;

/** The append-only audit log in the state directory; the daemon is its only writer. */
export class AuditComponent implements Component {
  readonly name = 'audit';
  readonly essential = true;
  readonly remedy = 'check that paths.stateDir exists and is writable by the service user';
  private log: AuditLog | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refused = 0;

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {}

  /** The first segment of the log (later ones: audit.2.log, ...; `lfr-edge audit verify` reads them all). */
  get file(): string {
    return path.join(this.stateDir, 'audit.log');
  }

  async start(): Promise<void> {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.log = new AuditLog(this.file);
  }

  async stop(): Promise<void> {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    if (this.log && !this.log.retry()) {
      const s = this.log.state();
      this.logger.error('audit events could not be written before stopping: they are lost', { held: s.held, lost: s.lost, failing: s.failing });
    }
    this.log?.close();
    this.log = undefined;
  }

  /** The last entry written: published in the signed deployment record. */
  head(): { seq: number; hash: string } | undefined {
    return this.log?.head;
  }

  /** For health: events held in memory (not on disk yet), lost, refused. */
  status(): (AuditWriterState & { refused: number }) | undefined {
    return this.log ? { ...this.log.state(), refused: this.refused } : undefined;
  }

  /**
   * Append an event (ids only). Never throws into the caller: an event that cannot be written now
   * (disk full) is held and written when space returns; one refused as biometric is logged.
   */
  append(event: AuditEvent, now: Date): void {
    const log = this.log;
    if (!log) {
      this.logger.error('audit event lost: the audit log is not open', { event: event.type });
      return;
    }
    try {
      if (log.append(event, now) === undefined) this.holding(log);
    } catch (err) {
      if (err instanceof AuditError) this.refused += 1;
      this.logger.error('audit append failed', { event: event.type, error: err as Error });
    }
  }

  private holding(log: AuditLog): void {
    if (this.retryTimer) return;
    const s = log.state();
    this.logger.error('audit log cannot be written: events are held in memory until it can', { held: s.held, failing: s.failing });
    this.retryTimer = setInterval(() => {
      if (log.retry()) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
        this.logger.warn('audit log writable again: held events written in a new segment', { file: log.state().file });
      }
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
