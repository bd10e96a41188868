/**
 * TensorRT EP-context engines are checked at every load against their sidecar (issue 11 item 12).
 * TensorRT cannot run here, so the check runs on real files: a real ONNX model (the landmark
 * model) stands in as the detector's "engine", loaded by the CPU provider named as an engine
 * provider; which file ORT loaded shows in the session's outputs (the landmark model has
 * 'output', the detector 'scores' and 'boxes'). Every mismatch, a missing or corrupt sidecar and
 * a missing engine load the plain model, with the reason logged and reported.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { sha256File } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { compareSidecar, ortVersion, readSidecar, sidecarPath, writeSidecar, type EngineRuntime, type EngineSidecar } from '../../src/vision/engine-sidecar';
import { createOrtModel, epContextPath, modelFileFor } from '../../src/vision/ort';
import { providerReason } from '../../src/vision/provider-reason';
import { VisionWorker } from '../../src/vision/worker-client';
import { verifyModels } from '../../src/models/manifest';

const root = packageRoot();
const modelFile = path.join(root, 'models', 'fr_detect.onnx');
const standIn = path.join(root, 'models', 'fr_landmark.onnx');
const modelSha = sha256File(modelFile);
const runtime: EngineRuntime = { tensorrtVersion: '10.3.0', ortVersion: ortVersion(), precision: 'fp16', device: { name: 'NVIDIA Jetson Orin NX Engineering Reference Developer Kit', index: 0 } };

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-engines-'));
  const vision = loadConfig({ env: { LFR_EDGE__VISION__TRT_CACHE_DIR: dir } }).vision;
  const engine = epContextPath(vision, modelFile, modelSha);
  copyFileSync(standIn, engine);
  const sidecar = writeSidecar(engine, modelFile, modelSha, runtime, new Date('2026-01-01T00:00:00Z'));
  return { dir, vision, engine, sidecar };
}

async function load(vision: ReturnType<typeof setup>['vision'], rt: EngineRuntime = runtime) {
  const logger = createMemoryLogger();
  const m = await createOrtModel(modelFile, vision, logger, ['cpu'], { engineProviders: ['cpu'], runtime: () => rt });
  t.teardown(() => m.session.release());
  return { m, logger, outputs: [...m.session.outputNames] };
}

t.test('a sidecar that matches: the engine is loaded', async (t) => {
  const { dir, vision, engine, sidecar } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.equal(sidecarPath(engine), engine.replace(/_ctx\.onnx$/, '_ctx.json'));
  t.match(sidecar, { v: 1, model: { file: 'fr_detect.onnx', sha256: modelSha }, engine: { file: path.basename(engine), sha256: sha256File(standIn) }, tensorrtVersion: '10.3.0', precision: 'fp16' });
  t.same(readSidecar(sidecarPath(engine)), sidecar, 'what was written reads back');
  const { m, logger, outputs } = await load(vision);
  t.same(outputs, ['output'], 'ORT loaded the engine file (the stand-in), not the plain model');
  t.same(m.engines, [{ model: 'fr_detect.onnx', provider: 'cpu', engine, used: true }]);
  t.ok(logger.lines.some((l) => l.msg === 'engine checked: loading the EP-context model'));
  t.equal(providerReason(['cpu'], m.provider, m.attempts, m.engines), null, 'nothing to report');
});

/** Each sidecar field and each runtime fact that can differ, with the words the reason must carry. */
const mismatches: { what: string; edit?: (s: EngineSidecar) => void; rt?: Partial<EngineRuntime>; reason: RegExp }[] = [
  { what: 'source model sha256', edit: (s) => { s.model.sha256 = 'ab'.repeat(32); }, reason: /built from model sha256 abababababab\.\.\., this model is / },
  { what: 'engine sha256', edit: (s) => { s.engine.sha256 = 'cd'.repeat(32); }, reason: /the engine file's sha256 is .* the sidecar says cdcdcdcdcdcd\.\.\. \(changed after the build\)/ },
  { what: 'TensorRT version', rt: { tensorrtVersion: '10.4.1' }, reason: /built for TensorRT 10\.3\.0, running 10\.4\.1/ },
  { what: 'ORT version', edit: (s) => { s.ortVersion = '1.19.0'; }, reason: new RegExp(`built with ONNX Runtime 1\\.19\\.0, running ${ortVersion().replace(/\./g, '\\.')}`) },
  { what: 'precision', rt: { precision: 'fp32' }, reason: /built fp16, configured fp32 \(vision\.trtPrecision\)/ },
  { what: 'device name', rt: { device: { name: 'NVIDIA Jetson AGX Orin', index: 0 } }, reason: /built on 'NVIDIA Jetson Orin NX .*' device 0, running on 'NVIDIA Jetson AGX Orin' device 0/ },
  { what: 'device index', rt: { device: { name: runtime.device.name, index: 1 } }, reason: /device 0, running on .* device 1/ },
];

for (const mm of mismatches) {
  t.test(`a sidecar whose ${mm.what} does not match: the plain model, with the reason`, async (t) => {
    const { dir, vision, engine, sidecar } = setup();
    t.teardown(() => rmSync(dir, { recursive: true }));
    if (mm.edit) {
      mm.edit(sidecar);
      writeFileSync(sidecarPath(engine), JSON.stringify(sidecar));
    }
    const { m, logger, outputs } = await load(vision, { ...runtime, ...mm.rt });
    t.same(outputs, ['scores', 'boxes'], 'the plain detector was loaded');
    t.equal(m.engines.length, 1);
    t.equal(m.engines[0].used, false);
    t.match(m.engines[0].reason, mm.reason);
    t.match(m.engines[0].reason, new RegExp(`^engine ${path.basename(engine).replace(/\./g, '\\.')} refused: `));
    const warn = logger.lines.find((l) => l.msg === 'engine check failed: loading the plain model');
    t.match(warn, { level: 'warn', model: 'fr_detect.onnx', provider: 'cpu', loadingWith: 'cpu' });
    t.match(String(warn?.reason), mm.reason, 'logged with the reason');
    t.match(providerReason(['cpu'], m.provider, m.attempts, m.engines), mm.reason, 'reported (health providerReason)');
  });
}

t.test('the engine file replaced by another real model: its sha256 no longer matches', async (t) => {
  const { dir, vision, engine } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  copyFileSync(path.join(root, 'models', 'fr_feature.onnx'), engine);
  const { m, outputs } = await load(vision);
  t.same(outputs, ['scores', 'boxes']);
  t.match(m.engines[0].reason, /the engine file's sha256 is .* \(changed after the build\)/);
});

t.test('missing, corrupt or incomplete sidecars and a missing engine: the plain model, with the reason', async (t) => {
  const cases: { what: string; act: (engine: string) => void; reason: RegExp }[] = [
    { what: 'no sidecar', act: (e) => rmSync(sidecarPath(e)), reason: /^no sidecar fr_detect\.[0-9a-f]{16}_ctx\.json \(build the engine with scripts\/build-trt-engines\.js, which writes it\)$/ },
    { what: 'not JSON', act: (e) => writeFileSync(sidecarPath(e), '{"v":1,'), reason: /^the sidecar fr_detect\.[0-9a-f]{16}_ctx\.json is not JSON: / },
    { what: 'a field missing', act: (e) => { const s = JSON.parse(readFileSync(sidecarPath(e), 'utf8')); delete s.tensorrtVersion; writeFileSync(sidecarPath(e), JSON.stringify(s)); }, reason: /is not a valid engine sidecar: tensorrtVersion: / },
    { what: 'a bad sha256', act: (e) => { const s = JSON.parse(readFileSync(sidecarPath(e), 'utf8')); s.model.sha256 = 'xyz'; writeFileSync(sidecarPath(e), JSON.stringify(s)); }, reason: /is not a valid engine sidecar: model\.sha256: a sha256 in lower-case hex/ },
    { what: 'no engine', act: (e) => rmSync(e), reason: /^no engine fr_detect\.[0-9a-f]{16}_ctx\.onnx \(build it with scripts\/build-trt-engines\.js; scripts\/provision does\)$/ },
  ];
  for (const c of cases) {
    const { dir, vision, engine } = setup();
    c.act(engine);
    const { m, outputs } = await load(vision);
    t.same(outputs, ['scores', 'boxes'], `${c.what}: the plain model`);
    t.match(m.engines[0], { used: false, reason: c.reason }, `${c.what}: the reason`);
    rmSync(dir, { recursive: true });
  }
});

t.test('no TensorRT library on the machine: no engine can load', async (t) => {
  const { dir, vision } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  const { m, outputs } = await load(vision, { ...runtime, tensorrtVersion: null });
  t.same(outputs, ['scores', 'boxes']);
  t.match(m.engines[0].reason, /^no TensorRT library \(libnvinfer\) found/);
});

t.test('the TensorRT provider with a refused engine: skipped for the next provider, which loads the plain model', async (t) => {
  const { dir, vision, engine, sidecar } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  sidecar.tensorrtVersion = '8.6.2';
  writeFileSync(sidecarPath(engine), JSON.stringify(sidecar));
  const logger = createMemoryLogger();
  const m = await createOrtModel(modelFile, vision, logger, ['tensorrt', 'cpu'], { runtime: () => runtime });
  t.teardown(() => m.session.release());
  t.equal(m.provider, 'cpu');
  t.same([...m.session.outputNames], ['scores', 'boxes']);
  t.match(m.attempts, [{ provider: 'tensorrt', ok: false, reason: /^fr_detect\.onnx: engine .* refused: built for TensorRT 8\.6\.2, running 10\.3\.0$/ }, { provider: 'cpu', ok: true }]);
  t.match(logger.lines.find((l) => l.msg === 'engine check failed: loading the plain model'), { provider: 'tensorrt', loadingWith: 'cpu' });
  t.match(providerReason(['tensorrt', 'cpu'], m.provider, m.attempts, m.engines), /^tensorrt: fr_detect\.onnx: engine .* refused: built for TensorRT 8\.6\.2, running 10\.3\.0$/);
});

t.test('modelFileFor: keyed to the model sha256; other providers use the plain model', async (t) => {
  const { dir, vision, engine } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.equal(epContextPath(vision, '/m/fr_feature.onnx', '87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581'), path.join(dir, 'fr_feature.87aacdfe57510db2_ctx.onnx'));
  t.same(modelFileFor(vision, 'tensorrt', modelFile, { runtime: () => runtime }).file, engine);
  t.same(modelFileFor(vision, 'cpu', modelFile, { runtime: () => runtime }), { file: modelFile }, 'cpu is not an engine provider by default');
  // a changed model file (another sha256) looks for its own engine and never loads this one
  const other = modelFileFor(vision, 'tensorrt', modelFile, { runtime: () => runtime, sha256: () => 'ff'.repeat(32) });
  t.equal(other.file, modelFile);
  t.match(other.engine?.reason, /^no engine fr_detect\.ffffffffffffffff_ctx\.onnx/);
});

t.test('compareSidecar lists every difference at once', async (t) => {
  const { dir, sidecar } = setup();
  t.teardown(() => rmSync(dir, { recursive: true }));
  t.same(compareSidecar(sidecar, { modelSha256: modelSha, engineSha256: sidecar.engine.sha256, runtime }), []);
  const all = compareSidecar(sidecar, { modelSha256: '00'.repeat(32), engineSha256: '11'.repeat(32), runtime: { tensorrtVersion: '9', ortVersion: '0', precision: 'fp32', device: { name: 'x', index: 2 } } });
  t.equal(all.length, 6);
});

t.test('the vision worker reports the refused engines (health providerReason) and runs on the plain models', async (t) => {
  // the default engine provider on this machine: no TensorRT, so every model's engine is refused
  const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["tensorrt","cpu"]' } });
  const vision = await VisionWorker.start(cfg.vision, verifyModels(cfg.models), createMemoryLogger());
  t.teardown(() => vision.close());
  t.equal(vision.provider, 'cpu');
  t.ok(vision.engines.length >= 1 && vision.engines.every((e) => !e.used && /^no TensorRT library/.test(e.reason ?? '')), 'each engine refused with the reason');
  t.match(providerReason(cfg.vision.providers, vision.provider, vision.attempts, vision.engines), /^tensorrt: [\w.-]+\.onnx: no TensorRT library \(libnvinfer\) found/, 'named by the first model loaded (the live detector)');
});

t.test('build-trt-engines.js --check: each model with the daemon check\'s reason, exit 1', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-engines-'));
  t.teardown(() => rmSync(dir, { recursive: true }));
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-trt-engines.js'), '--check', '--out', dir], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stdout, /^trt: detector ultraface-320: no TensorRT library \(libnvinfer\) found/m);
  t.match(r.stdout, /^trt: embedder faceplugin-512: /m);
});
