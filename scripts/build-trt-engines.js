#!/usr/bin/env node
// Jetson only: builds the TensorRT EP-context ("embedded engine") models once, at provisioning,
// so that the daemon starts in seconds instead of compiling engines at every start.
//   node scripts/build-trt-engines.js [--models DIR] [--out DIR] [--fp16|--no-fp16]
// Needs an onnxruntime-node built with TensorRT (docs/jetson.md). On x86 dev machines it stops
// with a clear message: the stock npm binding has no TensorRT provider.
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const modelsDir = path.resolve(opt('--models', path.join(root, 'models')));
const outDir = path.resolve(opt('--out', path.join(root, 'models', 'trt-cache')));
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'));

async function main() {
  // The stock binding passes TensorRT no provider options but the device id; the TensorRT EP
  // still reads its ORT_TENSORRT_* environment variables, which is how FP16 is asked for here.
  if (!args.includes('--no-fp16')) process.env.ORT_TENSORRT_FP16_ENABLE = '1';
  // ONNX Runtime telemetry off before the binding loads (as src/vision/ort-env.ts).
  process.env.ORT_DISABLE_TELEMETRY = '1';
  const ort = require('onnxruntime-node');
  fs.mkdirSync(outDir, { recursive: true });
  for (const [key, m] of Object.entries(manifest.models)) {
    const role = `${m.kind} ${key}`;
    const src = path.join(modelsDir, m.file);
    // Keyed to the model file's sha256 (as src/vision/ort.ts epContextPath): a changed model never loads an old engine.
    const ctx = path.join(outDir, `${m.file.replace(/\.onnx$/, '')}.${m.sha256.slice(0, 16)}_ctx.onnx`);
    const t0 = Date.now();
    try {
      // Creating the session with ep.context_enable=1 makes TensorRT write the EP-context model
      // (engine embedded, context_embed_mode=1) next to the path given.
      const session = await ort.InferenceSession.create(src, {
        executionProviders: [{ name: 'tensorrt', deviceId: 0 }],
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
    console.log(`trt: ${role} -> ${ctx} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}
main();
