/**
 * ONNX Runtime sessions from configuration: execution providers tried in the configured order,
 * each failure logged with its reason, the provider actually used reported. Provider options are
 * data (PROVIDER_OPTIONS), the Jetson's TensorRT path included (it cannot run on x86 dev machines).
 */
// Telemetry off before the binding loads (must stay the first import: see ort-env.ts).
import './ort-env';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../log';
import { sha256File } from '../models/manifest';
import { resolveFromRoot } from '../paths';
import type { ExecutionProviderName, VisionConfig } from './config';
import { checkEngine, engineRuntime, type EngineRuntime } from './engine-sidecar';

export interface OrtModel {
  session: ort.InferenceSession;
  provider: ExecutionProviderName;
  inputName: string;
  outputNames: readonly string[];
}

export interface ProviderAttempt {
  provider: ExecutionProviderName;
  ok: boolean;
  reason?: string;
}

/** The provider list handed to ORT for each configured first choice (node-level fallback inside ORT). */
export function providerChain(name: ExecutionProviderName, cfg: VisionConfig): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (name) {
    case 'tensorrt':
      // The stock onnxruntime-node binding forwards only the device id to TensorRT; the engine
      // (FP16, built once at provisioning) comes in the EP-context model: see modelFileFor().
      return [{ name: 'tensorrt', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, { name: 'cuda', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'];
    case 'cuda':
      return [{ name: 'cuda', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'];
    case 'cpu':
      return ['cpu'];
  }
}

/**
 * Session options shared by every model. Spinning is off: two spinning threads on two busy cores
 * lose. Denormal floats are flushed to zero (`session.set_denormal_as_zero`): on faces from a
 * street frame (flat backgrounds, dim light) the embedder's activations go denormal and x86 runs
 * them many times slower: measured on a crowd-video frame, 61 ms per embedding without, 9 ms with,
 * the embeddings equal to within cosine 0.99999 (test/vision/denormal.test.ts).
 */
export function sessionOptions(cfg: VisionConfig, provider: ExecutionProviderName, quiet: boolean): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: providerChain(provider, cfg),
    intraOpNumThreads: cfg.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: quiet ? 4 : 2,
    extra: { session: { set_denormal_as_zero: '1', intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * Where the TensorRT EP-context model ("embedded engine") of a model lives, built at provisioning:
 * `<model>.<first 16 hex of its sha256>_ctx.onnx`, so an engine built from another file (a changed
 * or replaced embedder) is never loaded; scripts/build-trt-engines.js and scripts/provision name it
 * the same way.
 */
export function epContextPath(cfg: VisionConfig, modelFile: string, sha256: string): string {
  return path.join(resolveFromRoot(cfg.trtCacheDir), `${path.basename(modelFile).replace(/\.onnx$/, '')}.${sha256.slice(0, 16)}_ctx.onnx`);
}

/** The providers whose engines come as EP-context models built at provisioning. */
export const ENGINE_PROVIDERS: readonly ExecutionProviderName[] = ['tensorrt'];

/** What loading a model with an engine provider found: the engine used, or why the plain model was. */
export interface EngineChoice {
  model: string;
  provider: ExecutionProviderName;
  engine: string;
  used: boolean;
  reason?: string;
}

/**
 * The file to load for a provider: with an engine provider, the EP-context model when its sidecar
 * checks out against this model and this machine (src/vision/engine-sidecar.ts), else the plain
 * model, with the reason.
 */
export function modelFileFor(
  cfg: VisionConfig,
  provider: ExecutionProviderName,
  modelFile: string,
  opts: { engineProviders?: readonly ExecutionProviderName[]; runtime?: () => EngineRuntime; sha256?: () => string } = {},
): { file: string; engine?: EngineChoice } {
  const engineProviders = opts.engineProviders ?? ENGINE_PROVIDERS;
  if (!engineProviders.includes(provider)) return { file: modelFile };
  const sha = (opts.sha256 ?? (() => sha256File(modelFile)))();
  const engine = epContextPath(cfg, modelFile, sha);
  const runtime = (opts.runtime ?? (() => engineRuntime(cfg.trtPrecision, cfg.deviceId)))();
  const check = checkEngine(engine, sha, runtime);
  const model = path.basename(modelFile);
  return check.ok ? { file: engine, engine: { model, provider, engine, used: true } } : { file: modelFile, engine: { model, provider, engine, used: false, reason: check.reason } };
}

export interface CreateOrtModelOptions {
  /** Providers that load EP-context engines (default ENGINE_PROVIDERS); tests name 'cpu' to load a real ONNX file as the "engine". */
  engineProviders?: readonly ExecutionProviderName[];
  /** This machine's TensorRT/ORT versions, precision and device (default: engineRuntime(), read once). */
  runtime?: () => EngineRuntime;
}

/**
 * Create a session, trying the configured providers in order. Throws only when none works.
 * An engine provider whose engine fails its check is not used for this model: the plain model
 * loads on the next configured provider (CUDA starts in seconds where TensorRT would compile its
 * engines at start for minutes), or on the same provider when it is the last; the reason is
 * logged and kept in `engines` and `attempts` (health `providerReason`, selftest).
 */
export async function createOrtModel(
  modelFile: string,
  cfg: VisionConfig,
  logger: Logger,
  providers: readonly ExecutionProviderName[] = cfg.providers,
  opts: CreateOrtModelOptions = {},
): Promise<OrtModel & { attempts: ProviderAttempt[]; engines: EngineChoice[] }> {
  // ORT's own console logging would print every failed provider library load as an error; the
  // reason is logged here instead, once, as a warning with the fallback taken.
  ort.env.logLevel = 'fatal';
  const attempts: ProviderAttempt[] = [];
  const engines: EngineChoice[] = [];
  let runtime: EngineRuntime | undefined;
  const runtimeOnce = () => (runtime ??= (opts.runtime ?? (() => engineRuntime(cfg.trtPrecision, cfg.deviceId)))());
  const model = path.basename(modelFile);
  for (const [i, provider] of providers.entries()) {
    const last = i === providers.length - 1;
    let file = modelFile;
    try {
      const choice = modelFileFor(cfg, provider, modelFile, { engineProviders: opts.engineProviders, runtime: runtimeOnce });
      file = choice.file;
      if (choice.engine) {
        engines.push(choice.engine);
        if (!choice.engine.used) {
          const next = last ? provider : providers[i + 1];
          logger.warn('engine check failed: loading the plain model', { model, provider, reason: choice.engine.reason, loadingWith: next });
          if (!last) {
            attempts.push({ provider, ok: false, reason: `${model}: ${choice.engine.reason}` });
            continue;
          }
        } else {
          logger.info('engine checked: loading the EP-context model', { model, provider, engine: path.basename(choice.engine.engine) });
        }
      }
      const session = await ort.InferenceSession.create(file, sessionOptions(cfg, provider, !last));
      attempts.push({ provider, ok: true });
      logger.info('onnx session ready', { model, provider, file: path.basename(file) });
      return { session, provider, inputName: session.inputNames[0], outputNames: session.outputNames, attempts, engines };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      attempts.push({ provider, ok: false, reason });
      logger.info('execution provider unavailable, falling back', { model, provider, file: path.basename(file), reason });
    }
  }
  throw new Error(
    `no execution provider could load ${modelFile}: ${attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ')}`,
  );
}

export { ort };
