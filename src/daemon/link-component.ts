import type { KeyObject } from 'node:crypto';
import { UnitLink } from '../comms/link';
import type { Config } from '../config';
import type { Logger } from '../log';
import type { Component } from './lifecycle';

/** The outbox + the one broker connection (UnitLink). */
export class LinkComponent implements Component {
  readonly name = 'mqtt';
  readonly remedy = 'set mqtt.url and the TLS files in the config (scripts/provision does), then check with lfr-edge selftest';
  link: UnitLink | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly version: string,
    private readonly unitEd25519Private: () => KeyObject,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (!this.cfg.mqtt.url) throw new Error('mqtt.url is not set: alerts, health and commands need a broker');
    const link = new UnitLink({
      config: this.cfg.mqtt,
      unitId: this.cfg.unit.id,
      version: this.version,
      unitEd25519Private: this.unitEd25519Private(),
      stateDir: this.cfg.paths.stateDir,
      logger: this.logger,
    });
    await link.start();
    this.link = link;
  }

  async stop(): Promise<void> {
    await this.link?.stop();
    this.link = undefined;
  }

  /** Wait (bounded) until the outbox is empty: everything acknowledged by the broker. */
  async flush(timeoutMs: number): Promise<boolean> {
    const link = this.link;
    if (!link) return false;
    const until = Date.now() + timeoutMs;
    while (link.outboxDepth() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return link.outboxDepth() === 0;
  }
}
