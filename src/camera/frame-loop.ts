/**
 * The real-time frame loop: take the newest frame from the camera, process it (vision ->
 * tracker -> matcher -> decision), repeat. Frames that arrive while one is being processed are
 * not queued: the camera keeps only the newest and counts the others as dropped. Measures
 * frame-to-decision latency (frame left the appsink -> processFrame resolved).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log';
import type { Frame } from './frame';

export interface FrameProvider {
  next(): Promise<Frame | null>;
}

export interface FrameLoopStats {
  processed: number;
  errors: number;
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
  private errors = 0;
  private firstAt = 0;
  private lastAt = 0;
  private readonly latencies: number[] = [];
  private latencyPos = 0;

  constructor(
    private readonly source: FrameProvider,
    private readonly processFrame: (frame: Frame) => Promise<void>,
    private readonly logger: Logger,
    private readonly opts: { latencyWindow?: number; now?: () => number } = {},
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
      errors: this.errors,
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
        this.errors++;
        this.logger.error('frame processing failed', { error: err as Error, seq: frame.seq });
      }
      const done = this.now();
      if (this.processed === 0) this.firstAt = done;
      this.lastAt = done;
      this.processed++;
      const latency = done - frame.capturedAt;
      if (this.latencies.length < window) this.latencies.push(latency);
      else this.latencies[this.latencyPos++ % window] = latency;
    }
    this.running = false;
  }
}
