/**
 * VisionWorker: the FaceAnalyzer API, run in a worker_thread. Frames are transferred (not copied)
 * when the caller allows it; results come back cloned (an embedding is 2 KB), never transferred:
 * a transfer detaches a buffer in the worker, and that slows all the worker's typed-array code
 * (worker-reply.ts). A transferred frame detaches its buffer here, on this (main) thread.
 */
// The worker inherits ORT_DISABLE_TELEMETRY=1 from this (main) thread: see ort-env.ts.
import './ort-env';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger, LogLevel } from '../log';
import type { VerifiedModels } from '../models/manifest';
import type { AnalyzeOptions, DetectOptions } from './analyzer';
import type { VisionConfig } from './config';
import type { EngineChoice, ProviderAttempt } from './ort';
import type { FrameAnalysis, FrameDetections, RgbImage } from './types';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './worker';

interface Pending {
  resolve: (r: FrameAnalysis | FrameDetections) => void;
  reject: (e: Error) => void;
}

/** Re-emit a worker's JSON log line through the main thread's logger (its sink and level). */
function relayLogLine(logger: Logger, line: string): void {
  const { level, msg, time: _time, ...fields } = JSON.parse(line) as { level: LogLevel; msg: string; time: string };
  logger[level](msg, fields);
}

export interface VisionWorkerOptions {
  logLevel?: LogLevel;
  /** Cancels the start: the worker is terminated (its models half-loaded) and start() rejects with the reason. */
  signal?: AbortSignal;
}

export class VisionWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing?: Promise<void>;
  private failure?: Error;
  private readonly failureListeners: ((err: Error) => void)[] = [];

  private constructor(
    private readonly worker: Worker,
    readonly provider: string,
    private readonly logger: Logger,
    /** Every provider tried for every model, with the reasons of those that failed. */
    readonly attempts: ProviderAttempt[] = [],
    /** The engine checks (TensorRT EP-context models): used, or refused with the reason. */
    readonly engines: EngineChoice[] = [],
  ) {
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(new Error(`vision worker crashed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closing) this.failAll(new Error(`vision worker exited unexpectedly (code ${code})`));
    });
  }

  static async start(cfg: VisionConfig, models: VerifiedModels, logger: Logger, opts: VisionWorkerOptions = {}): Promise<VisionWorker> {
    const ext = __filename.endsWith('.ts') ? '.ts' : '.js';
    const init: WorkerInit = { cfg, models, logLevel: opts.logLevel ?? 'info' };
    const worker = new Worker(path.join(__dirname, `worker${ext}`), { workerData: init });
    const log = logger.child({ component: 'vision-worker' });
    const signal = opts.signal;
    const ready = await new Promise<Extract<WorkerResponse, { kind: 'ready' }>>((resolve, reject) => {
      const finish = (err: Error | undefined, ready?: Extract<WorkerResponse, { kind: 'ready' }>) => {
        worker.off('message', onMsg);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        // a cancelled or failed start ends its thread before it rejects: nothing is left loading
        if (err) void worker.terminate().finally(() => reject(err));
        else resolve(ready!);
      };
      const onMsg = (msg: WorkerResponse) => {
        if (msg.kind === 'log') relayLogLine(log, msg.line);
        else if (msg.kind === 'ready') finish(undefined, msg);
        else if (msg.kind === 'init-error') finish(new Error(`vision worker failed to start: ${msg.message}`));
      };
      const onError = (err: Error) => finish(new Error(`vision worker failed to start: ${err.message}`));
      const onExit = (code: number) => finish(new Error(`vision worker exited (code ${code}) before it was ready`));
      const onAbort = () => finish(new Error(`vision worker start cancelled: ${signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason)}`));
      worker.on('message', onMsg);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return new VisionWorker(worker, ready.provider, log, ready.attempts, ready.engines);
  }

  /**
   * Analyse a frame. With `transfer: true` the frame's buffer is moved to the worker (the caller
   * must not use it afterwards): no copy per frame.
   */
  analyze(img: RgbImage, opts: AnalyzeOptions & { transfer?: boolean } = {}): Promise<FrameAnalysis> {
    return this.request<FrameAnalysis>(
      (id) => ({ kind: 'analyze', id, img, withAligned: !!opts.withAligned, withLandmarks: opts.withLandmarks, withContext: opts.withContext, embed: opts.embed, detector: opts.detector, flipAverage: opts.flipAverage }),
      opts.transfer ? [img.data.buffer as ArrayBuffer] : [],
    );
  }

  /**
   * The detector stage only (every face, no cap). The worker keeps the frame as its current one
   * until the next detect(): analyzeDetected() works on it. `transfer` as for analyze().
   */
  detect(img: RgbImage, opts: DetectOptions = {}): Promise<FrameDetections> {
    return this.request<FrameDetections>((id) => ({ kind: 'detect', id, img, detector: opts.detector }), opts.transfer ? [img.data.buffer as ArrayBuffer] : []);
  }

  /**
   * Landmarks, alignment, quality and embedding for the faces at `indices` of the last detect(),
   * in the order of `indices`. Requests run in the order they are made, so a detect() made after
   * this call does not change the frame it works on.
   */
  analyzeDetected(indices: number[], opts: Omit<AnalyzeOptions, 'detector'> = {}): Promise<FrameAnalysis> {
    return this.request<FrameAnalysis>((id) => ({ kind: 'analyze-detected', id, indices: [...indices], withAligned: !!opts.withAligned, withLandmarks: opts.withLandmarks, withContext: opts.withContext, embed: opts.embed, flipAverage: opts.flipAverage }), []);
  }

  private request<T extends FrameAnalysis | FrameDetections>(make: (id: number) => WorkerRequest, transfer: ArrayBuffer[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('vision worker is closed'));
    const id = this.nextId++;
    const req = make(id);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      this.worker.postMessage(req, transfer);
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Why the worker failed (crashed or exited unexpectedly); undefined while it is fine. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Called once when the worker crashes or exits without close() (every pending request has been
   * rejected with the same error by then). A supervisor restarts it (src/daemon/vision-supervisor.ts).
   */
  onFailure(listener: (err: Error) => void): void {
    if (this.failure) queueMicrotask(() => listener(this.failure!));
    else this.failureListeners.push(listener);
  }

  /**
   * Fault drill: end the worker thread as a crash would (not through close(), so it counts as an
   * unexpected exit), but only while no request is in flight. Measured: terminating a worker while
   * ONNX Runtime runs a session could abort the whole process (SIGABRT, about 1 in 7): the thread
   * is never terminated inside session.run(). Requests made after this call fail with the exit.
   */
  async terminateBetweenRequests(): Promise<void> {
    if (this.closing || this.failure) return;
    while (this.pending.size > 0) await new Promise((r) => setImmediate(r));
    // no await between the check and terminate(): no request can be posted in between
    await this.worker.terminate();
  }

  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (!this.failure) {
          const id = this.nextId++;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 2000);
            this.worker.on('message', (m: WorkerResponse) => {
              if (m.kind === 'closed' || (m.kind === 'error' && m.id === id)) {
                clearTimeout(timer);
                resolve();
              }
            });
            this.worker.postMessage({ kind: 'close', id } satisfies WorkerRequest);
          });
        }
        await this.worker.terminate();
      })();
    }
    return this.closing;
  }

  private onMessage(msg: WorkerResponse): void {
    switch (msg.kind) {
      case 'log':
        relayLogLine(this.logger, msg.line);
        return;
      case 'result':
      case 'detections': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg.result);
        return;
      }
      case 'error': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.reject(new Error(msg.message));
        return;
      }
      default:
        return;
    }
  }

  private failAll(err: Error): void {
    if (this.failure) return; // 'error' is followed by 'exit': one failure
    this.failure = err;
    this.logger.error('vision worker failed', { error: err.message, requestsFailed: this.pending.size });
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const l of this.failureListeners.splice(0)) l(err);
  }
}
