/**
 * The vision worker, supervised like the camera: when the worker thread crashes or exits, the
 * requests in flight fail (their frames are counted as failed by the frame loop, never as
 * processed), frames that arrive while it is down fail at once with the reason, and a new worker
 * is started after a capped exponential backoff. Every (re)start goes through `startWorker`, which
 * verifies the model files against the manifest again (sha256) and opens fresh ONNX Runtime
 * sessions, checked against their manifest entries. A restart that fails is retried with the
 * next backoff; a model that fails verification puts vision in state 'failed' (with the reason
 * naming the file and both hashes) and is retried at the cap, so a restored file recovers.
 *
 * The supervisor never terminates a worker itself while it runs a request (see
 * VisionWorker.terminateBetweenRequests): a worker that hangs inside a run is left to the
 * watchdog (no frame processed for daemon.loopStuckS: systemd restarts the unit).
 */
import { ModelError } from '../models/manifest';
import type { Logger } from '../log';
import { backoffDelay } from '../camera/rolling';
import type { FrameVision } from '../recognition/chain';
import type { AnalyzeOptions, DetectOptions } from '../vision/analyzer';
import type { FrameAnalysis, FrameDetections, RgbImage } from '../vision/types';
import type { VisionWorker } from '../vision/worker-client';

export type VisionState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

export interface VisionStatus {
  state: VisionState;
  /** Why it is restarting or failed (the worker's exit, the restart's error); null when running. */
  reason: string | null;
  /** Restarts since start (each new worker after a failure). */
  restarts: number;
  provider: string | null;
  /** How long the last successful restart took, from the failure to the new worker ready (ms). */
  lastRestartMs: number | null;
}

/** A frame asked of vision while it is not running. */
export class VisionUnavailableError extends Error {
  override name = 'VisionUnavailableError';
}

export interface VisionSupervisorOptions {
  /** Verify the models and start a worker (used for the first start and every restart). */
  startWorker: (attempt: { restart: boolean; signal: AbortSignal }) => Promise<VisionWorker>;
  backoff: { initialMs: number; maxMs: number; factor: number };
  logger: Logger;
  /** Every state change (the daemon publishes it in health through Lifecycle.report). */
  onStatus?: (s: VisionStatus) => void;
  now?: () => number;
}

export class VisionSupervisor implements FrameVision {
  private worker: VisionWorker | undefined;
  private gen = 0;
  private detectGen = -1;
  private attempt = 0;
  private status: VisionStatus = { state: 'stopped', reason: null, restarts: 0, provider: null, lastRestartMs: null };
  private failedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private stopped = false;
  /** Cancels a restart in progress when the supervisor stops. */
  private readonly abort = new AbortController();
  /** The last worker installed (its provider, attempts and engines stay readable while restarting). */
  private last: VisionWorker | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: VisionSupervisorOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  /** The first worker; throws when it cannot start or `signal` fires (the component then fails to start). */
  async start(signal: AbortSignal = this.abort.signal): Promise<void> {
    this.set({ state: 'starting', reason: null });
    const w = await this.opts.startWorker({ restart: false, signal });
    if (this.stopped) {
      await w.close();
      return;
    }
    this.install(w);
  }

  get provider(): string | null {
    return this.status.provider;
  }

  /** The worker now running (fault drills, tests); undefined while restarting. */
  current(): VisionWorker | undefined {
    return this.worker;
  }

  /** The last worker that ran (provider, attempts, engines for health), also while restarting. */
  latest(): VisionWorker | undefined {
    return this.last;
  }

  state(): VisionStatus {
    return { ...this.status };
  }

  detect(img: RgbImage, opts: DetectOptions = {}): Promise<FrameDetections> {
    const w = this.ready();
    if (!w) return this.unavailable();
    const gen = this.gen;
    this.detectGen = gen;
    return w.detect(img, opts).then((r) => {
      if (gen === this.gen && this.attempt > 0) this.attempt = 0; // the restarted worker works: backoff starts over
      return r;
    });
  }

  analyzeDetected(indices: number[], opts: Omit<AnalyzeOptions, 'detector'> = {}): Promise<FrameAnalysis> {
    const w = this.ready();
    if (!w) return this.unavailable();
    // The new worker has not seen this frame: its detections died with the old one.
    if (this.detectGen !== this.gen) return Promise.reject(new VisionUnavailableError("vision worker restarted since this frame's detection"));
    return w.analyzeDetected(indices, opts);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('vision supervisor stopped'));
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.restarting;
    const w = this.worker;
    this.worker = undefined;
    await w?.close();
    this.set({ state: 'stopped', reason: null });
  }

  private ready(): VisionWorker | undefined {
    return this.status.state === 'running' && this.worker && !this.worker.failed ? this.worker : undefined;
  }

  private unavailable<T>(): Promise<T> {
    const s = this.status;
    return Promise.reject(new VisionUnavailableError(`vision worker ${s.state}${s.reason ? `: ${s.reason}` : ''}`));
  }

  private install(w: VisionWorker, extra: Partial<VisionStatus> = {}): void {
    this.worker = w;
    this.last = w;
    this.gen++;
    const gen = this.gen;
    w.onFailure((err) => this.onWorkerFailure(gen, err));
    this.set({ state: 'running', reason: null, provider: w.provider, ...extra });
  }

  private onWorkerFailure(gen: number, err: Error): void {
    if (this.stopped || gen !== this.gen) return;
    this.worker = undefined;
    this.failedAt = this.now();
    this.set({ state: 'restarting', reason: err.message, restarts: this.status.restarts + 1 });
    this.schedule(err.message);
  }

  private schedule(why: string): void {
    if (this.stopped) return;
    const delayMs = backoffDelay(this.attempt++, this.opts.backoff);
    this.opts.logger.warn('vision worker restart', { reason: why, retryInMs: delayMs, attempt: this.attempt, restarts: this.status.restarts });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.restarting = this.restart().finally(() => (this.restarting = undefined));
    }, delayMs);
  }

  private async restart(): Promise<void> {
    let w: VisionWorker;
    try {
      w = await this.opts.startWorker({ restart: true, signal: this.abort.signal });
    } catch (err) {
      if (this.stopped) return;
      const e = err as Error;
      const models = e instanceof ModelError;
      this.opts.logger.error(models ? 'vision cannot restart: a model failed verification' : 'vision worker restart failed', { error: e.message, attempt: this.attempt });
      this.set({ state: models ? 'failed' : 'restarting', reason: e.message });
      this.schedule(e.message);
      return;
    }
    if (this.stopped) {
      await w.close();
      return;
    }
    const tookMs = this.now() - this.failedAt;
    this.install(w, { lastRestartMs: tookMs });
    this.opts.logger.info('vision worker restarted', { restartMs: tookMs, restarts: this.status.restarts, provider: w.provider });
  }

  private set(p: Partial<VisionStatus>): void {
    this.status = { ...this.status, ...p };
    this.opts.onStatus?.(this.state());
  }
}
