/**
 * The vision worker thread: owns a FaceAnalyzer so that inference never blocks the main event loop
 * (MQTT keep-alives, health, commands). Messages: see worker-client.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type LogLevel } from '../log';
import type { VerifiedModels } from '../models/manifest';
import { FaceAnalyzer, type AnalyzeOptions, type DetectorUse } from './analyzer';
import type { VisionConfig } from './config';
import type { EngineChoice, ProviderAttempt } from './ort';
import type { FrameAnalysis, FrameDetections, RgbImage } from './types';
import { postAnalysis } from './worker-reply';

export interface WorkerInit {
  cfg: VisionConfig;
  models: VerifiedModels;
  logLevel: LogLevel;
}
export type WorkerRequest =
  | { kind: 'analyze'; id: number; img: RgbImage; withAligned: boolean; withLandmarks?: boolean; withContext?: AnalyzeOptions['withContext']; embed?: AnalyzeOptions['embed']; detector?: DetectorUse; flipAverage?: AnalyzeOptions['flipAverage'] }
  | { kind: 'detect'; id: number; img: RgbImage; detector?: DetectorUse }
  | { kind: 'analyze-detected'; id: number; indices: number[]; withAligned: boolean; withLandmarks?: boolean; withContext?: AnalyzeOptions['withContext']; embed?: AnalyzeOptions['embed']; flipAverage?: AnalyzeOptions['flipAverage'] }
  | { kind: 'close'; id: number };
export type WorkerResponse =
  | { kind: 'ready'; provider: string; attempts: ProviderAttempt[]; engines: EngineChoice[] }
  | { kind: 'init-error'; message: string }
  | { kind: 'result'; id: number; result: FrameAnalysis }
  | { kind: 'detections'; id: number; result: FrameDetections }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'closed'; id: number }
  | { kind: 'log'; line: string };

if (!parentPort) throw new Error('vision worker started outside a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
// Log lines are forwarded to the main thread's logger (one writer to stdout).
const logger = createLogger({ level: init.logLevel, write: (line) => port.postMessage({ kind: 'log', line } satisfies WorkerResponse) });

FaceAnalyzer.create(init.cfg, init.models, logger).then(
  (analyzer) => {
    port.postMessage({ kind: 'ready', provider: analyzer.provider, attempts: analyzer.attempts, engines: analyzer.engines } satisfies WorkerResponse);
    // Requests run one at a time, in arrival order: the analyzer reuses its input tensors, so two
    // analyses must never interleave (they would overwrite each other's inputs between awaits).
    let queue: Promise<void> = Promise.resolve();
    const handle = async (req: WorkerRequest): Promise<void> => {
      if (req.kind === 'close') {
        try {
          await analyzer.close();
          port.postMessage({ kind: 'closed', id: req.id } satisfies WorkerResponse);
        } catch (err) {
          port.postMessage({ kind: 'error', id: req.id, message: (err as Error).message } satisfies WorkerResponse);
        }
        return;
      }
      try {
        if (req.kind === 'detect') {
          // The worker keeps the frame (the analyzer's current one) until the next detect().
          const result = await analyzer.detect(req.img, { detector: req.detector });
          port.postMessage({ kind: 'detections', id: req.id, result } satisfies WorkerResponse);
          return;
        }
        const opts = { withAligned: req.withAligned, withLandmarks: req.withLandmarks, withContext: req.withContext, embed: req.embed, flipAverage: req.flipAverage };
        const result = req.kind === 'analyze' ? await analyzer.analyze(req.img, { ...opts, detector: req.detector }) : await analyzer.analyzeDetected(req.indices, opts);
        // Cloned, not transferred: a transfer would slow all of this worker's typed-array code (worker-reply.ts).
        postAnalysis(port, { kind: 'result', id: req.id, result } satisfies WorkerResponse);
      } catch (err) {
        port.postMessage({ kind: 'error', id: req.id, message: (err as Error).message } satisfies WorkerResponse);
      }
    };
    port.on('message', (req: WorkerRequest) => {
      queue = queue.then(() => handle(req));
    });
  },
  (err: Error) => port.postMessage({ kind: 'init-error', message: err.message } satisfies WorkerResponse),
);
