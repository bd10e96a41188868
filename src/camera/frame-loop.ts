/**
 * The real-time frame loop: take the newest frame from the camera, process it (vision ->
 * tracker -> matcher -> decision), repeat. Frames that arrive while one is being processed are
 * not queued: the camera keeps only the newest and counts the others as dropped. Measures
 * frame-to-decision latency (frame left the appsink -> processFrame resolved).
 *
 * A frame whose processing throws (vision down or restarting, a failed inference) is counted as
 * failed, never as processed: `processed` and `processedFps` are frames that went all the way
 * through; latency is measured on those only. Failures are logged without flooding: the first of
 * a run at once, then one line per `failureLogIntervalMs` with the count and the last error, and
 * one line when frames go through again.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log';
import type { Frame } from './frame';

export interface FrameProvider {
  next(): Promise<Frame | null>;
}

export interface FrameLoopStats {
  /** Frames processed successfully. */
  processed: number;
  /** Frames whose processing failed (not in `processed`). */
  failed: number;
  /** The last failure's message, until a frame is processed again. */
  lastError: string | null;
  processedFps: number;
  latencyMs: { p50: number; p95: number; max: number };
}

/** Percentile (nearest rank) of a list of numbers; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export class FrameLoop {
  private running = false;
  private loop?: Promise<void>;
  private processed = 0;
  private failed = 0;
  private lastError: string | null = null;
  /** Failures in the current run of failures, and those not logged yet. */
  private failRun = 0;
  private failUnlogged = 0;
  private failLoggedAt = 0;
  private firstAt = 0;
  private lastAt = 0;
  private readonly latencies: number[] = [];
  private latencyPos = 0;

  constructor(
    private readonly source: FrameProvider,
    private readonly processFrame: (frame: Frame) => Promise<void>,
    private readonly logger: Logger,
    private readonly opts: { latencyWindow?: number; now?: () => number; failureLogIntervalMs?: number } = {},
  ) {}

  /** Start; the returned promise resolves when the source ends (or stop() was called). */
  start(): Promise<void> {
    if (this.running) throw new Error('frame loop: already running');
    this.running = true;
    this.loop = this.run();
    return this.loop;
  }

  /** Stop after the frame in progress (the caller stops the source to end a pending next()). */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  stats(): FrameLoopStats {
    const secs = (this.lastAt - this.firstAt) / 1000;
    return {
      processed: this.processed,
      failed: this.failed,
      lastError: this.lastError,
      processedFps: secs > 0 ? (this.processed - 1) / secs : 0,
      latencyMs: { p50: percentile(this.latencies, 50), p95: percentile(this.latencies, 95), max: this.latencies.length ? Math.max(...this.latencies) : 0 },
    };
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.timeOrigin + performance.now();
  }

  private async run(): Promise<void> {
    const window = this.opts.latencyWindow ?? 2000;
    while (this.running) {
      const frame = await this.source.next();
      if (!frame || !this.running) break;
      try {
        await this.processFrame(frame);
      } catch (err) {
        this.onFailure(err as Error, frame.seq);
        continue;
      }
      const done = this.now();
      if (this.failRun > 0) this.onRecovered();
      if (this.processed === 0) this.firstAt = done;
      this.lastAt = done;
      this.processed++;
      const latency = done - frame.capturedAt;
      if (this.latencies.length < window) this.latencies.push(latency);
      else this.latencies[this.latencyPos++ % window] = latency;
    }
    this.running = false;
  }

  private onFailure(err: Error, seq: number): void {
    this.failed++;
    this.failRun++;
    this.lastError = err.message;
    const now = this.now();
    const interval = this.opts.failureLogIntervalMs ?? 5000;
    if (this.failRun === 1) {
      this.logger.error('frame processing failed', { error: err, seq });
      this.failLoggedAt = now;
      this.failUnlogged = 0;
    } else if (now - this.failLoggedAt >= interval) {
      this.logger.error('frames still failing', { failedSinceLastLine: this.failUnlogged + 1, failedInRun: this.failRun, lastError: err.message, seq });
      this.failLoggedAt = now;
      this.failUnlogged = 0;
    } else {
      this.failUnlogged++;
    }
  }

  private onRecovered(): void {
    this.logger.info('frames processed again', { failedInRun: this.failRun });
    this.failRun = 0;
    this.failUnlogged = 0;
    this.lastError = null;
  }
}
