/** Pure, and without ONNX Runtime: the main thread reports the worker's provider choice with it. */
import type { EngineChoice, ProviderAttempt } from './ort';

/**
 * Pure: why inference does not run as configured, for health and logs; null when it does (the
 * first configured provider in use, every engine it needs loaded). Each provider ahead of the one
 * in use with its first reason, then every engine refused for the provider in use.
 */
export function providerReason(configured: readonly string[], inUse: string, attempts: readonly ProviderAttempt[], engines: readonly EngineChoice[]): string | null {
  const parts: string[] = [];
  for (const p of configured.slice(0, Math.max(0, configured.indexOf(inUse)))) {
    const a = attempts.find((x) => x.provider === p && !x.ok && x.reason);
    parts.push(`${p}: ${a?.reason ?? 'not tried'}`);
  }
  for (const e of engines) if (e.provider === inUse && !e.used) parts.push(`${e.provider} (plain model ${e.model}): ${e.reason}`);
  return parts.length ? parts.join('; ') : null;
}
