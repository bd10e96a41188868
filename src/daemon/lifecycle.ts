/**
 * One lifecycle for every daemon component: started in order, stopped in reverse, each within its
 * budget (src/daemon/budgets.ts). Each start gets an AbortSignal that fires when its budget runs
 * out or a stop arrives; a start that overran is given a short grace to end and is then stopped,
 * so nothing reported failed keeps running. A stop during start cancels the start in progress,
 * starts nothing more, and stops what started, in reverse. A component that fails to start is
 * reported (with what to do) and the rest still start, unless it is essential; a component that
 * fails or overruns its stop is reported, never swallowed, and the next one still stops.
 */
import type { Logger } from '../log';

export interface Component {
  readonly name: string;
  /**
   * Start; `signal` fires when the start's budget ran out or the daemon is stopping: stop
   * waiting, release what was opened (or leave it for stop(), which always follows) and reject.
   */
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** When start() fails: the daemon cannot run without it (audit, session store). */
  readonly essential?: boolean;
  /** What a field engineer should do when start() fails. */
  readonly remedy?: string;
}

export type ComponentState = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping';

export interface ComponentStatus {
  name: string;
  state: ComponentState;
  error?: string;
  remedy?: string;
  /** Restarts at run time by the component's own supervisor (camera process, vision worker). */
  restarts?: number;
}

export class StartupError extends Error {
  override name = 'StartupError';
}

/** The start was cancelled by a stop: nothing more was started and what started was stopped. */
export class StartCancelledError extends Error {
  override name = 'StartCancelledError';
}

export interface LifecycleBudgets {
  /** Per component name; a name not listed gets `defaultStartMs`. */
  startMs: Readonly<Record<string, number>>;
  stopMs: Readonly<Record<string, number>>;
  /** After a start's signal fired: how long it gets to end before it is stopped anyway. */
  cancelGraceMs: number;
}

const FALLBACK: LifecycleBudgets = { startMs: {}, stopMs: {}, cancelGraceMs: 2000 };
const DEFAULT_START_MS = 30_000;
const DEFAULT_STOP_MS = 10_000;

type Settled = { ok: true } | { ok: false; error: Error };

function settle(p: Promise<void>): Promise<Settled> {
  return p.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }));
}

/** Resolves with the promise's outcome, or 'timeout' after `ms`, or 'aborted' when `signal` fires. */
function race(p: Promise<Settled>, ms: number, signal?: AbortSignal): Promise<Settled | 'timeout' | 'aborted'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done('timeout'), ms);
    const onAbort = () => done('aborted');
    function done(v: Settled | 'timeout' | 'aborted') {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(v);
    }
    if (signal?.aborted) return done('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    void p.then(done);
  });
}

export class Lifecycle {
  private readonly status = new Map<string, ComponentStatus>();
  /** Parts of a component with their own run-time state (camera, vision), in the order first reported. */
  private readonly parts = new Map<string, ComponentStatus>();
  private started: Component[] = [];
  private readonly stopRequested = new AbortController();
  private starting: Promise<unknown> | undefined;
  private readonly budgets: LifecycleBudgets;

  constructor(
    private readonly components: Component[],
    private readonly logger: Logger,
    budgets: Partial<LifecycleBudgets> = {},
  ) {
    this.budgets = { ...FALLBACK, ...budgets };
    for (const c of components) this.status.set(c.name, { name: c.name, state: 'stopped' });
  }

  private startMs(c: Component): number {
    return this.budgets.startMs[c.name] ?? DEFAULT_START_MS;
  }

  private stopMs(c: Component): number {
    return this.budgets.stopMs[c.name] ?? DEFAULT_STOP_MS;
  }

  /**
   * Start every component in order. Throws StartupError when an essential one fails, and
   * StartCancelledError when stop() was called meanwhile (what started is stopped by that stop()).
   */
  start(): Promise<ComponentStatus[]> {
    const run = this.runStart();
    this.starting = run.catch(() => undefined);
    return run;
  }

  private async runStart(): Promise<ComponentStatus[]> {
    const stopping = this.stopRequested.signal;
    for (const c of this.components) {
      if (stopping.aborted) throw new StartCancelledError(`start cancelled: stopping before ${c.name} started`);
      const st = this.status.get(c.name)!;
      st.state = 'starting';
      const ac = new AbortController();
      const budget = this.startMs(c);
      let p: Promise<void>;
      try {
        p = c.start(ac.signal);
      } catch (err) {
        p = Promise.reject(err);
      }
      const outcome = settle(p);
      const first = await race(outcome, budget, stopping);
      if (first !== 'timeout' && first !== 'aborted' && first.ok) {
        st.state = 'running';
        this.started.push(c);
        this.logger.info('component started', { component: c.name });
        continue;
      }
      // Counted as started from here on: its stop() releases whatever it half-opened.
      this.started.push(c);
      if (first === 'timeout' || first === 'aborted') {
        const why = first === 'timeout' ? `did not finish within ${budget} ms` : 'was cancelled: the daemon is stopping';
        ac.abort(new Error(`${c.name} start ${why}`));
        const after = await race(outcome, this.budgets.cancelGraceMs);
        if (after === 'timeout' || after === 'aborted') {
          this.logger.error('component start did not end after its cancel: stopping it anyway', { component: c.name, graceMs: this.budgets.cancelGraceMs });
        }
        if (first === 'aborted') {
          st.state = 'stopping';
          this.logger.warn('component start cancelled', { component: c.name });
          throw new StartCancelledError(`start cancelled: stopping while ${c.name} was starting`);
        }
        this.fail(c, `${c.name} start ${why}`);
        // Nothing reported failed keeps running: a start that overran is stopped now.
        this.started.pop();
        await this.stopOne(c, []);
        st.state = 'failed';
      } else {
        this.fail(c, first.error.message);
      }
      if (c.essential) {
        this.stopRequested.abort();
        await this.stopStarted();
        throw new StartupError(`${c.name} failed to start: ${st.error}${c.remedy ? ` (${c.remedy})` : ''}`);
      }
    }
    return this.statuses();
  }

  private fail(c: Component, error: string): void {
    const st = this.status.get(c.name)!;
    st.state = 'failed';
    st.error = error;
    st.remedy = c.remedy;
    this.logger.error('component failed to start', { component: c.name, error, remedy: c.remedy });
  }

  /**
   * Stop: a start in progress is cancelled first (nothing more starts), then the started
   * components stop in reverse order, each within its budget. Returns the failures.
   */
  async stop(): Promise<string[]> {
    this.stopRequested.abort();
    if (this.starting) {
      const pending = this.starting;
      this.starting = undefined;
      await pending;
    }
    return this.stopStarted();
  }

  private async stopStarted(): Promise<string[]> {
    const failures: string[] = [];
    const toStop = this.started.reverse();
    this.started = [];
    for (const c of toStop) await this.stopOne(c, failures);
    return failures;
  }

  private async stopOne(c: Component, failures: string[]): Promise<void> {
    const st = this.status.get(c.name)!;
    const wasFailed = st.state === 'failed';
    st.state = 'stopping';
    const ms = this.stopMs(c);
    let p: Promise<void>;
    try {
      p = c.stop();
    } catch (err) {
      p = Promise.reject(err);
    }
    const r = await race(settle(p), ms);
    const error = r === 'timeout' || r === 'aborted' ? `${c.name} stop did not finish within ${ms} ms` : r.ok ? undefined : r.error.message;
    if (error === undefined) {
      st.state = wasFailed ? 'failed' : 'stopped';
      this.logger.info('component stopped', { component: c.name });
      return;
    }
    failures.push(`${c.name}: ${error}`);
    st.state = 'failed';
    st.error = error;
    this.logger.error('component failed to stop cleanly', { component: c.name, error });
  }

  statuses(): ComponentStatus[] {
    return [...this.components.map((c) => ({ ...this.status.get(c.name)! })), ...[...this.parts.values()].map((p) => ({ ...p }))];
  }

  /**
   * A run-time state change of a component, or of a part of one that has its own supervisor
   * (e.g. 'camera' and 'vision' inside 'camera+vision'): starting, running, restarting (with the
   * reason and the restart count), failed. Parts appear in statuses() from their first report.
   */
  report(name: string, state: ComponentState, error?: string, restarts?: number): void {
    let st = this.status.get(name) ?? this.parts.get(name);
    if (!st) {
      st = { name, state };
      this.parts.set(name, st);
    }
    st.state = state;
    st.error = error;
    if (restarts !== undefined) st.restarts = restarts;
    this.logger.debug('component state', { component: name, state, ...(error ? { error } : {}), ...(restarts !== undefined ? { restarts } : {}) });
  }
}
