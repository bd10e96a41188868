/**
 * ONNX Runtime sessions from configuration: execution providers tried in the configured order,
 * each failure logged with its reason, the provider actually used reported. Provider options are
 * data (PROVIDER_OPTIONS), the Jetson's TensorRT path included (it cannot run on x86 dev machines).
 */
// Telemetry off before the binding loads (must stay the first import: see ort-env.ts).
import './ort-env';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../log';
import { sha256File } from '../models/manifest';
import { resolveFromRoot } from '../paths';
import type { ExecutionProviderName, VisionConfig } from './config';

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

/** Session options shared by every model. Spinning is off: two spinning threads on two busy cores lose. */
export function sessionOptions(cfg: VisionConfig, provider: ExecutionProviderName, quiet: boolean): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: providerChain(provider, cfg),
    intraOpNumThreads: cfg.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: quiet ? 4 : 2,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
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

/**
 * The file to load for a provider: with TensorRT, the EP-context model when provisioning built one
 * (start in seconds), else the plain model (TensorRT then compiles engines at every start: slow).
 */
export function modelFileFor(
  cfg: VisionConfig,
  provider: ExecutionProviderName,
  modelFile: string,
  exists: (f: string) => boolean = existsSync,
  sha256: () => string = () => sha256File(modelFile),
): { file: string; epContext: boolean } {
  if (provider === 'tensorrt') {
    const ctx = epContextPath(cfg, modelFile, sha256());
    if (exists(ctx)) return { file: ctx, epContext: true };
  }
  return { file: modelFile, epContext: false };
}

/** Create a session, trying the configured providers in order. Throws only when none works. */
export async function createOrtModel(
  modelFile: string,
  cfg: VisionConfig,
  logger: Logger,
  providers: readonly ExecutionProviderName[] = cfg.providers,
): Promise<OrtModel & { attempts: ProviderAttempt[] }> {
  // ORT's own console logging would print every failed provider library load as an error; the
  // reason is logged here instead, once, as a warning with the fallback taken.
  ort.env.logLevel = 'fatal';
  const attempts: ProviderAttempt[] = [];
  for (const provider of providers) {
    const last = provider === providers[providers.length - 1];
    try {
      const { file, epContext } = modelFileFor(cfg, provider, modelFile);
      const session = await ort.InferenceSession.create(file, sessionOptions(cfg, provider, !last));
      if (provider === 'tensorrt' && !epContext) {
        logger.warn('no TensorRT EP-context model for this model file (new or changed model?): engines were built at start (slow); build it with scripts/build-trt-engines.js (scripts/provision does)', { model: path.basename(modelFile), expected: epContextPath(cfg, modelFile, sha256File(modelFile)) });
      }
      attempts.push({ provider, ok: true });
      logger.info('onnx session ready', { model: path.basename(modelFile), provider });
      return { session, provider, inputName: session.inputNames[0], outputNames: session.outputNames, attempts };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      attempts.push({ provider, ok: false, reason });
      logger.info('execution provider unavailable, falling back', { model: path.basename(modelFile), provider, reason });
    }
  }
  throw new Error(
    `no execution provider could load ${modelFile}: ${attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ')}`,
  );
}

export { ort };
