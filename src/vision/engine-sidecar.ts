/**
 * The check of a TensorRT EP-context model ("engine") before it is loaded. scripts/build-trt-engines.js
 * writes, beside each `<model>.<sha prefix>_ctx.onnx`, a sidecar `<model>.<sha prefix>_ctx.json`
 * with what the engine was built from and for: the source model's sha256, the engine file's own
 * sha256, the TensorRT and ONNX Runtime versions, the precision and the device. Every load checks
 * all of it against the model being loaded and the machine it runs on; any mismatch, a missing or
 * unreadable sidecar, or an engine that is not there gives the reason, and the plain model is loaded
 * instead (src/vision/ort.ts). An engine is opaque machine code tied to its TensorRT version and
 * GPU: loading one built elsewhere fails at best and misbehaves at worst.
 *
 * compareSidecar is pure; the rest reads files and the machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sha256File } from '../models/manifest';

export const ENGINE_PRECISIONS = ['fp16', 'fp32'] as const;
export type EnginePrecision = (typeof ENGINE_PRECISIONS)[number];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in lower-case hex');

export const EngineSidecarSchema = z.strictObject({
  v: z.literal(1),
  /** The plain model the engine was built from. */
  model: z.strictObject({ file: z.string().min(1), sha256 }),
  /** The EP-context model itself (the engine embedded). */
  engine: z.strictObject({ file: z.string().min(1), sha256 }),
  tensorrtVersion: z.string().min(1),
  ortVersion: z.string().min(1),
  precision: z.enum(ENGINE_PRECISIONS),
  /** The GPU: the board's model name (/proc/device-tree/model on a Jetson) and the CUDA device index. */
  device: z.strictObject({ name: z.string().min(1), index: z.number().int().min(0) }),
  builtAt: z.string().min(1),
});
export type EngineSidecar = z.infer<typeof EngineSidecarSchema>;

/** What the machine loading an engine runs: compared with the sidecar field by field. */
export interface EngineRuntime {
  /** null: no TensorRT library found (then no engine can be right). */
  tensorrtVersion: string | null;
  ortVersion: string;
  precision: EnginePrecision;
  device: { name: string; index: number };
}

export type EngineCheck = { ok: true; sidecar: EngineSidecar } | { ok: false; reason: string };

/** `<model>.<sha prefix>_ctx.onnx` -> `<model>.<sha prefix>_ctx.json`. */
export function sidecarPath(engineFile: string): string {
  return engineFile.replace(/\.onnx$/, '') + '.json';
}

/** Pure: every way the sidecar disagrees with the model and the machine; empty when it fits. */
export function compareSidecar(s: EngineSidecar, want: { modelSha256: string; engineSha256: string; runtime: EngineRuntime }): string[] {
  const out: string[] = [];
  const r = want.runtime;
  if (s.model.sha256 !== want.modelSha256) out.push(`built from model sha256 ${s.model.sha256.slice(0, 12)}..., this model is ${want.modelSha256.slice(0, 12)}...`);
  if (s.engine.sha256 !== want.engineSha256) out.push(`the engine file's sha256 is ${want.engineSha256.slice(0, 12)}..., the sidecar says ${s.engine.sha256.slice(0, 12)}... (changed after the build)`);
  if (r.tensorrtVersion === null) out.push(`built for TensorRT ${s.tensorrtVersion}, no TensorRT library (libnvinfer) found here`);
  else if (s.tensorrtVersion !== r.tensorrtVersion) out.push(`built for TensorRT ${s.tensorrtVersion}, running ${r.tensorrtVersion}`);
  if (s.ortVersion !== r.ortVersion) out.push(`built with ONNX Runtime ${s.ortVersion}, running ${r.ortVersion}`);
  if (s.precision !== r.precision) out.push(`built ${s.precision}, configured ${r.precision} (vision.trtPrecision)`);
  if (s.device.name !== r.device.name || s.device.index !== r.device.index) out.push(`built on '${s.device.name}' device ${s.device.index}, running on '${r.device.name}' device ${r.device.index}`);
  return out;
}

/** Read and validate a sidecar; throws naming the file and what is wrong. */
export function readSidecar(file: string): EngineSidecar {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no sidecar ${path.basename(file)} (build the engine with scripts/build-trt-engines.js, which writes it)` : `cannot read the sidecar ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`the sidecar ${path.basename(file)} is not JSON: ${(err as Error).message}`);
  }
  const parsed = EngineSidecarSchema.safeParse(json);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`the sidecar ${path.basename(file)} is not a valid engine sidecar: ${what}`);
  }
  return parsed.data;
}

/** Check the engine for a model before loading it: its file, its sidecar, and all the sidecar says. */
export function checkEngine(engineFile: string, modelSha256: string, runtime: EngineRuntime): EngineCheck {
  if (runtime.tensorrtVersion === null) return { ok: false, reason: 'no TensorRT library (libnvinfer) found by the dynamic linker: no engine can load' };
  if (!existsSync(engineFile)) return { ok: false, reason: `no engine ${path.basename(engineFile)} (build it with scripts/build-trt-engines.js; scripts/provision does)` };
  let sidecar: EngineSidecar;
  try {
    sidecar = readSidecar(sidecarPath(engineFile));
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const problems = compareSidecar(sidecar, { modelSha256, engineSha256: sha256File(engineFile), runtime });
  return problems.length ? { ok: false, reason: `engine ${path.basename(engineFile)} refused: ${problems.join('; ')}` } : { ok: true, sidecar };
}

/** The TensorRT version of the libnvinfer the dynamic linker finds (ldconfig's cache, then LD_LIBRARY_PATH), or null. */
export function findTensorRtVersion(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)) {
    try {
      for (const f of readdirSync(dir)) if (/^libnvinfer\.so(\.\d+)*$/.test(f)) candidates.push(path.join(dir, f));
    } catch { /* a listed directory that does not exist: nothing there */ }
  }
  try {
    const out = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const m of out.matchAll(/^\s*libnvinfer\.so[^\s]*\s.*=>\s*(\S+)$/gm)) candidates.push(m[1]);
  } catch { /* no ldconfig: only LD_LIBRARY_PATH counts */ }
  for (const c of candidates) {
    try {
      const m = path.basename(realpathSync(c)).match(/^libnvinfer\.so\.(\d+(?:\.\d+)*)$/);
      if (m) return m[1];
    } catch { /* a dangling link: try the next */ }
  }
  return null;
}

/** The board's name: /proc/device-tree/model on a Jetson (NUL-terminated), else the CPU model. */
export function deviceName(): string {
  try {
    return readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim();
  } catch {
    const cpu = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'));
    return cpu ? cpu[1].trim() : 'unknown';
  }
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

/** The onnxruntime-node version installed (its package.json: the one require() loads). */
export function ortVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
}

/** This machine, for a precision and CUDA device index. */
export function engineRuntime(precision: EnginePrecision, deviceIndex: number): EngineRuntime {
  return { tensorrtVersion: findTensorRtVersion(), ortVersion: ortVersion(), precision, device: { name: deviceName(), index: deviceIndex } };
}

/** Write the sidecar of a freshly built engine (scripts/build-trt-engines.js). */
export function writeSidecar(engineFile: string, modelFile: string, modelSha256: string, runtime: EngineRuntime, now: Date): EngineSidecar {
  if (!runtime.tensorrtVersion) throw new Error('cannot write an engine sidecar: no TensorRT library (libnvinfer) found, so its version is unknown');
  const sidecar: EngineSidecar = {
    v: 1,
    model: { file: path.basename(modelFile), sha256: modelSha256 },
    engine: { file: path.basename(engineFile), sha256: sha256File(engineFile) },
    tensorrtVersion: runtime.tensorrtVersion,
    ortVersion: runtime.ortVersion,
    precision: runtime.precision,
    device: runtime.device,
    builtAt: now.toISOString(),
  };
  writeFileSync(sidecarPath(engineFile), JSON.stringify(sidecar, null, 2) + '\n');
  return sidecar;
}
