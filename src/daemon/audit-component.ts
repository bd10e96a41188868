import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AuditLog, type AuditEvent } from '../audit/log';
import type { Logger } from '../log';
import type { Component } from './lifecycle';

/** The append-only audit log in the state directory; the daemon is its only writer. */
export class AuditComponent implements Component {
  readonly name = 'audit';
  readonly essential = true;
  readonly remedy = 'check that paths.stateDir exists and is writable by the service user';
  private log: AuditLog | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {}

  get file(): string {
    return path.join(this.stateDir, 'audit.log');
  }

  async start(): Promise<void> {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    this.log = new AuditLog(this.file);
  }

  async stop(): Promise<void> {
    this.log?.close();
    this.log = undefined;
  }

  /** Append an event (ids only). A failure is logged, never thrown into the caller. */
  append(event: AuditEvent, now: Date): void {
    if (!this.log) {
      this.logger.error('audit event lost: the audit log is not open', { event: event.type });
      return;
    }
    try {
      this.log.append(event, now);
    } catch (err) {
      this.logger.error('audit append failed', { event: event.type, error: err as Error });
    }
  }
}
