/**
 * HealthReporter: every interval, samples the machine and the inputs and hands the message to
 * `publish` (UnitLink.publishHealth). One lifecycle: start()/stop(). A failed sample is logged and
 * the next interval tries again.
 */
import type { Logger } from '../log';
import type { HealthMessage } from '../comms/messages';
import { buildHealth, type HealthIdentity, type HealthInputs, type MachineProbe } from './sampler';

export interface HealthReporterDeps {
  identity: HealthIdentity;
  probe: Pick<MachineProbe, 'sample'>;
  inputs: () => HealthInputs;
  publish: (h: HealthMessage) => void;
  intervalS: number;
  logger: Logger;
  now?: () => Date;
}

export class HealthReporter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => Date;

  constructor(private readonly deps: HealthReporterDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalS * 1000);
    this.timer.unref();
    await this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Sample and publish once; returns what was published. */
  async tick(): Promise<HealthMessage | undefined> {
    if (this.running) return undefined; // the previous sample is still running: skip this one
    let msg: HealthMessage | undefined;
    this.running = (async () => {
      try {
        const machine = await this.deps.probe.sample();
        msg = buildHealth(this.deps.identity, this.deps.inputs(), machine, this.now());
        this.deps.publish(msg);
      } catch (err) {
        this.deps.logger.warn('health sample failed; the next interval tries again', { error: err as Error });
      }
    })();
    await this.running;
    this.running = undefined;
    return msg;
  }
}
