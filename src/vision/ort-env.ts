/**
 * ONNX Runtime telemetry off, in every process that loads onnxruntime-node. Imported first by
 * src/vision/ort.ts (the one module that loads the binding) and by worker-client.ts (before a
 * vision worker starts).
 *
 * Measured with onnxruntime-node 1.30.0 on linux-x64: the first session of a process queues
 * telemetry events (device, OS, provider, run counts) in
 * `$HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db` (the library carries an upload
 * endpoint). The binding has no API to turn it off (`initOrtOnce(logLevel, Tensor, isMainThread)` is
 * all it takes; the C API's DisableTelemetryEvents is not exposed); the environment variable
 * `ORT_DISABLE_TELEMETRY=1` stops it when the process's real environment holds it as ORT creates
 * its environment. A worker thread's `process.env` is a private copy that native code never sees,
 * so only the main thread can set it: a worker finding it unset refuses to go on (test/vision/telemetry.test.ts).
 * systemd/lfr-edge.service sets it as well.
 */
import { isMainThread } from 'node:worker_threads';

export const ORT_TELEMETRY_ENV = 'ORT_DISABLE_TELEMETRY';

export class OrtTelemetryError extends Error {
  override name = 'OrtTelemetryError';
}

/**
 * Main thread: set ORT_DISABLE_TELEMETRY=1 (the real environment, so native code and threads
 * started later see it). Worker thread: it must already be set (inherited from the main thread);
 * otherwise an OrtTelemetryError saying what to do.
 */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env, mainThread: boolean = isMainThread): void {
  if (env[ORT_TELEMETRY_ENV] === '1') return;
  if (!mainThread) {
    throw new OrtTelemetryError(
      `${ORT_TELEMETRY_ENV} is ${env[ORT_TELEMETRY_ENV] === undefined ? 'unset' : `'${env[ORT_TELEMETRY_ENV]}'`} in this worker thread: ONNX Runtime would record telemetry, and a worker cannot change the process environment. ` +
        `Import src/vision/ort-env in the main thread before starting the worker (worker-client.ts does), or start node with ${ORT_TELEMETRY_ENV}=1`,
    );
  }
  env[ORT_TELEMETRY_ENV] = '1';
}

disableOrtTelemetry();
