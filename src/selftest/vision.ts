/**
 * Models verify against the manifest, load with the configured execution providers and find
 * exactly one face on the committed sample photo; a second result reports the provider in use
 * (a warning when it is not the first configured one: e.g. TensorRT fell back to CPU).
 */
import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../log';
import { verifyModels } from '../models/manifest';
import { packageRoot } from '../paths';
import { FaceAnalyzer } from '../vision/analyzer';
import { decodeImageFile } from '../vision/image';
import type { ProviderAttempt } from '../vision/ort';
import { fail, pass, warn, type CheckResult } from './check';

export function defaultSampleImage(): string {
  return path.join(packageRoot(), 'assets', 'selftest', 'face.jpg');
}

/** Pure: the provider result from the configured order and the attempts made. */
export function evaluateProvider(configured: readonly string[], inUse: string, attempts: readonly ProviderAttempt[]): CheckResult {
  const name = 'vision provider';
  if (inUse === configured[0]) return pass(name, `${inUse} (first configured choice)`);
  const reasons = new Map<string, string>();
  for (const a of attempts) if (!a.ok && a.reason && !reasons.has(a.provider)) reasons.set(a.provider, a.reason);
  const why = [...reasons].map(([p, r]) => `${p}: ${r}`).join('; ');
  return warn(name, `${inUse}, not ${configured[0]} (configured ${configured.join(', ')})${why ? `; ${why}` : ''}; on a Jetson this means onnxruntime-node lacks TensorRT (docs/jetson.md)`);
}

export async function checkVision(cfg: Config, logger: Logger, sampleFile: string): Promise<CheckResult[]> {
  const name = 'models';
  const models = verifyModels(cfg.models);
  const analyzer = await FaceAnalyzer.create(cfg.vision, models, logger);
  try {
    const img = await decodeImageFile(sampleFile);
    const t0 = performance.now();
    const res = await analyzer.analyze(img);
    const ms = (performance.now() - t0).toFixed(0);
    const provider = evaluateProvider(cfg.vision.providers, analyzer.provider, analyzer.attempts);
    if (res.faces.length !== 1) {
      return [fail(name, `found ${res.faces.length} faces on ${sampleFile}, expected exactly 1 (provider ${analyzer.provider}): the models or their preprocessing are broken; reinstall with 'node scripts/install-models.js'`), provider];
    }
    const emb = res.faces[0].embedding;
    const norm = Math.sqrt(emb.reduce((s, v) => s + v * v, 0));
    const dim = analyzer.embedder.dim;
    if (emb.length !== dim || Math.abs(norm - 1) > 1e-3) {
      return [fail(name, `the embedding is ${emb.length}-d with norm ${norm.toFixed(4)}, expected ${dim}-d (embedder ${analyzer.embedder.key}), L2-normalised`), provider];
    }
    return [pass(name, `verified (embedder sha256 ${models.embedderSha256.slice(0, 12)}...); 1 face on ${path.basename(sampleFile)} in ${ms} ms with ${analyzer.provider}`), provider];
  } finally {
    await analyzer.close();
  }
}
