/**
 * ONNX Runtime sessions from configuration: execution providers tried in the configured order,
 * each failure logged with its reason, the provider actually used reported. Provider options are
 * data (PROVIDER_OPTIONS), the Jetson's TensorRT path included (it cannot run on x86 dev machines).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from '../log';
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
      // The stock onnxruntime-node binding forwards only the device id to TensorRT; engine caching
      // and FP16 come from the EP-context model built at provisioning (docs/jetson.md), whose
      // session config entries are set in sessionOptions() below.
      return [{ name: 'tensorrt', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, { name: 'cuda', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'];
    case 'cuda':
      return [{ name: 'cuda', deviceId: cfg.deviceId } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'];
    case 'cpu':
      return ['cpu'];
  }
}

/** Session options shared by every model. Spinning is off: two spinning threads on two busy cores lose. */
export function sessionOptions(cfg: VisionConfig, provider: ExecutionProviderName, modelFile: string, quiet: boolean): ort.InferenceSession.SessionOptions {
  const extra: Record<string, Record<string, unknown>> = {
    session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
  };
  if (provider === 'tensorrt') {
    const cacheDir = resolveFromRoot(cfg.trtCacheDir);
    extra.ep = {
      context_enable: '1',
      context_file_path: path.join(cacheDir, path.basename(modelFile).replace(/\.onnx$/, '_ctx.onnx')),
      context_embed_mode: '1',
    };
  }
  return {
    executionProviders: providerChain(provider, cfg),
    intraOpNumThreads: cfg.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: quiet ? 4 : 2,
    extra,
  };
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
      if (provider === 'tensorrt') mkdirSync(resolveFromRoot(cfg.trtCacheDir), { recursive: true });
      const session = await ort.InferenceSession.create(modelFile, sessionOptions(cfg, provider, modelFile, !last));
      attempts.push({ provider, ok: true });
      logger.info('onnx session ready', { model: path.basename(modelFile), provider });
      return { session, provider, inputName: session.inputNames[0], outputNames: session.outputNames, attempts };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      attempts.push({ provider, ok: false, reason });
      logger.warn('execution provider unavailable, falling back', { model: path.basename(modelFile), provider, reason });
    }
  }
  throw new Error(
    `no execution provider could load ${modelFile}: ${attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ')}`,
  );
}

export { ort };
