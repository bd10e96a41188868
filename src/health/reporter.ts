/**
 * HealthReporter: every interval, samples the machine and the inputs and hands the message to
 * `publish` (UnitLink.publishHealth). One lifecycle: start()/stop(). A failed sample is logged and
 * the next interval tries again.
 */
import type { Logger } from '../log';
import type { HealthMessage } from '../comms/messages';
import { buildHealth, type HealthIdentity, type HealthInputs, type MachineProbe } from './sampler';
import { ClockWatch } from './clock';

export interface HealthReporterDeps {
  identity: HealthIdentity;
  probe: Pick<MachineProbe, 'sample'>;
  inputs: () => HealthInputs;
  publish: (h: HealthMessage) => void;
  intervalS: number;
  logger: Logger;
  now?: () => Date;
  /** Monotonic milliseconds (default process.hrtime), to see the wall clock jump. */
  monotonicMs?: () => number;
  /** health.maxClockDriftS (default 30). */
  maxClockDriftS?: number;
}

export class HealthReporter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => Date;
  private readonly clock: ClockWatch;
  private clockWarned = 0;

  constructor(private readonly deps: HealthReporterDeps) {
    this.now = deps.now ?? (() => new Date());
    this.clock = new ClockWatch(this.now, deps.monotonicMs ?? (() => Number(process.hrtime.bigint() / 1_000_000n)), deps.maxClockDriftS ?? 30);
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
        const clock = this.clock.sample();
        if (clock.jumps > this.clockWarned) {
          this.clockWarned = clock.jumps;
          this.deps.logger.warn('the wall clock jumped: it moved differently from the monotonic clock since start (sessions keep their length on the monotonic clock)', { offsetS: clock.offsetS, thresholdS: clock.thresholdS });
        }
        msg = buildHealth(this.deps.identity, this.deps.inputs(), machine, this.now(), clock);
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
