#!/usr/bin/env node
// Jetson only: builds the TensorRT EP-context ("embedded engine") models once, at provisioning,
// so that the daemon starts in seconds instead of compiling engines at every start, and writes
// beside each its sidecar (<model>.<sha prefix>_ctx.json: the source model's sha256, the engine's
// sha256, the TensorRT and ONNX Runtime versions, the precision, the device), which the daemon
// checks at every load (src/vision/engine-sidecar.ts).
//   node scripts/build-trt-engines.js [--models DIR] [--out DIR] [--fp16|--no-fp16] [--device N]
//   node scripts/build-trt-engines.js --check [...]   exit 0 when every engine passes the daemon's check
// Needs an onnxruntime-node built with TensorRT (docs/jetson.md) and the code built (npm run build).
// On x86 dev machines it stops with a clear message: the stock npm binding has no TensorRT provider.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const modelsDir = path.resolve(opt('--models', path.join(root, 'models')));
const outDir = path.resolve(opt('--out', path.join(root, 'models', 'trt-cache')));
const precision = args.includes('--no-fp16') ? 'fp32' : 'fp16';
const device = Number(opt('--device', '0'));
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'));

function sidecarModule() {
  const f = path.join(root, 'dist', 'src', 'vision', 'engine-sidecar.js');
  if (!fs.existsSync(f)) {
    console.error(`trt: ${f} is missing: build the code first (npm run build)`);
    process.exit(1);
  }
  return require(f);
}

/** Keyed to the model file's sha256 (as src/vision/ort.ts epContextPath): a changed model never loads an old engine. */
const enginePath = (m) => path.join(outDir, `${m.file.replace(/\.onnx$/, '')}.${m.sha256.slice(0, 16)}_ctx.onnx`);

function check() {
  const { checkEngine, engineRuntime } = sidecarModule();
  const runtime = engineRuntime(precision, device);
  let bad = 0;
  for (const [key, m] of Object.entries(manifest.models)) {
    const r = checkEngine(enginePath(m), m.sha256, runtime);
    if (r.ok) console.log(`trt: ${m.kind} ${key}: ok (TensorRT ${r.sidecar.tensorrtVersion}, ${r.sidecar.precision}, built ${r.sidecar.builtAt})`);
    else { bad++; console.log(`trt: ${m.kind} ${key}: ${r.reason}`); }
  }
  process.exit(bad ? 1 : 0);
}

async function build() {
  const { engineRuntime, writeSidecar } = sidecarModule();
  const runtime = engineRuntime(precision, device);
  // The stock binding passes TensorRT no provider options but the device id; the TensorRT EP
  // still reads its ORT_TENSORRT_* environment variables, which is how FP16 is asked for here.
  if (precision === 'fp16') process.env.ORT_TENSORRT_FP16_ENABLE = '1';
  const ort = require('onnxruntime-node');
  fs.mkdirSync(outDir, { recursive: true });
  for (const [key, m] of Object.entries(manifest.models)) {
    const role = `${m.kind} ${key}`;
    const src = path.join(modelsDir, m.file);
    const ctx = enginePath(m);
    const t0 = Date.now();
    try {
      // Creating the session with ep.context_enable=1 makes TensorRT write the EP-context model
      // (engine embedded, context_embed_mode=1) next to the path given.
      const session = await ort.InferenceSession.create(src, {
        executionProviders: [{ name: 'tensorrt', deviceId: device }],
        graphOptimizationLevel: 'all',
        extra: { ep: { context_enable: '1', context_file_path: ctx, context_embed_mode: '1' } },
      });
      await session.release();
    } catch (err) {
      console.error(`trt: ${role}: cannot build the TensorRT engine for ${src}: ${err.message.split('\n')[0]}`);
      console.error('trt: this needs onnxruntime-node built with --use_tensorrt on the Jetson (docs/jetson.md)');
      process.exit(1);
    }
    if (!fs.existsSync(ctx)) {
      console.error(`trt: ${role}: TensorRT ran but wrote no EP-context model at ${ctx}`);
      process.exit(1);
    }
    // the manifest's sha256 is the model's (install-models verified the file against it)
    let s;
    try {
      s = writeSidecar(ctx, src, m.sha256, runtime, new Date());
    } catch (err) {
      console.error(`trt: ${role}: ${err.message}`);
      process.exit(1);
    }
    console.log(`trt: ${role} -> ${ctx} (${((Date.now() - t0) / 1000).toFixed(1)} s; TensorRT ${s.tensorrtVersion}, ${s.precision}, '${s.device.name}')`);
  }
}

if (args.includes('--check')) check();
else build();
