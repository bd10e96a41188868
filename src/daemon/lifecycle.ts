/**
 * One lifecycle for every daemon component: started in order, stopped in reverse, each with a
 * bounded time. A component that fails to start is reported (with what to do) and the rest still
 * start, unless it is marked essential; a component that fails or overruns its stop is reported,
 * never swallowed, and the next one still stops.
 */
import type { Logger } from '../log';

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** When start() fails: the daemon cannot run without it (audit, session store). */
  readonly essential?: boolean;
  /** What a field engineer should do when start() fails. */
  readonly remedy?: string;
}

export type ComponentState = 'stopped' | 'starting' | 'running' | 'failed' | 'stopping';

export interface ComponentStatus {
  name: string;
  state: ComponentState;
  error?: string;
  remedy?: string;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class Lifecycle {
  private readonly status = new Map<string, ComponentStatus>();
  private started: Component[] = [];

  constructor(
    private readonly components: Component[],
    private readonly logger: Logger,
    private readonly timeouts: { startMs: number; stopMs: number } = { startMs: 30_000, stopMs: 10_000 },
  ) {
    for (const c of components) this.status.set(c.name, { name: c.name, state: 'stopped' });
  }

  /** Start every component in order. Throws StartupError only when an essential one fails. */
  async start(): Promise<ComponentStatus[]> {
    for (const c of this.components) {
      const st = this.status.get(c.name)!;
      st.state = 'starting';
      try {
        await withTimeout(c.start(), this.timeouts.startMs, `${c.name} start`);
        st.state = 'running';
        this.started.push(c);
        this.logger.info('component started', { component: c.name });
      } catch (err) {
        st.state = 'failed';
        st.error = (err as Error).message;
        st.remedy = c.remedy;
        this.logger.error('component failed to start', { component: c.name, error: st.error, remedy: c.remedy });
        // Counted as started so that its stop() releases whatever it half-opened.
        this.started.push(c);
        if (c.essential) {
          await this.stop();
          throw new StartupError(`${c.name} failed to start: ${st.error}${c.remedy ? ` (${c.remedy})` : ''}`);
        }
      }
    }
    return this.statuses();
  }

  /** Stop the started components in reverse order, each bounded in time. Returns the failures. */
  async stop(): Promise<string[]> {
    const failures: string[] = [];
    const toStop = this.started.reverse();
    this.started = [];
    for (const c of toStop) {
      const st = this.status.get(c.name)!;
      const wasFailed = st.state === 'failed';
      st.state = 'stopping';
      try {
        await withTimeout(c.stop(), this.timeouts.stopMs, `${c.name} stop`);
        st.state = wasFailed ? 'failed' : 'stopped';
        this.logger.info('component stopped', { component: c.name });
      } catch (err) {
        const msg = `${c.name}: ${(err as Error).message}`;
        failures.push(msg);
        st.state = 'failed';
        st.error = (err as Error).message;
        this.logger.error('component failed to stop cleanly', { component: c.name, error: (err as Error).message });
      }
    }
    return failures;
  }

  statuses(): ComponentStatus[] {
    return this.components.map((c) => ({ ...this.status.get(c.name)! }));
  }

  /** Mark a running component as failed at run time (e.g. the camera went down for good). */
  report(name: string, state: ComponentState, error?: string): void {
    const st = this.status.get(name);
    if (!st) return;
    st.state = state;
    st.error = error;
  }
}
