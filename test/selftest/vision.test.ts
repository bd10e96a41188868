/** Models on the committed sample: exactly one face, the provider in use reported. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { parseConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { checkVision, defaultSampleImage, evaluateProvider } from '../../src/selftest/vision';

const cpuConfig = (over: Record<string, unknown> = {}) => parseConfig({ vision: { providers: ['cpu'] }, ...over });

t.test('provider: the first choice passes; a fallback is a warning with the reasons', async (t) => {
  t.same(evaluateProvider(['cpu'], 'cpu', [{ provider: 'cpu', ok: true }]), { name: 'vision provider', ok: true, detail: 'cpu (first configured choice)' });
  const r = evaluateProvider(['tensorrt', 'cuda', 'cpu'], 'cpu', [
    { provider: 'tensorrt', ok: false, reason: 'Failed to load libonnxruntime_providers_tensorrt.so' },
    { provider: 'cuda', ok: false, reason: 'no CUDA' },
    { provider: 'cpu', ok: true },
    { provider: 'tensorrt', ok: false, reason: 'repeated for the next model' },
  ]);
  t.same([r.ok, r.warn], [true, true]);
  t.equal(r.detail, 'cpu, not tensorrt (configured tensorrt, cuda, cpu); tensorrt: Failed to load libonnxruntime_providers_tensorrt.so; cuda: no CUDA; on a Jetson this means onnxruntime-node lacks TensorRT (docs/jetson.md)');
});

t.test('the sample photo: one face with the CPU provider', async (t) => {
  const [models, provider] = await checkVision(cpuConfig(), createMemoryLogger('error'), defaultSampleImage());
  t.equal(models.ok, true, models.detail);
  t.match(models.detail, /^verified \(embedder sha256 [0-9a-f]{12}\.\.\.\); 1 face on face\.jpg in \d+ ms with cpu$/);
  t.same([provider.ok, provider.warn, provider.detail], [true, undefined, 'cpu (first configured choice)']);
});

t.test('an image without a face fails saying how many were found', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-selftest-v-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const blank = path.join(dir, 'blank.jpg');
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toFile(blank);
  const [models] = await checkVision(cpuConfig(), createMemoryLogger('error'), blank);
  t.equal(models.ok, false);
  t.match(models.detail, /^found 0 faces on .*blank\.jpg, expected exactly 1 \(provider cpu\)/);
});

t.test('a model that does not match the manifest is refused before anything runs', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-selftest-m-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await t.rejects(checkVision(cpuConfig({ models: { dir } }), createMemoryLogger('error'), defaultSampleImage()), /detector model .*fr_detect\.onnx is missing/);
});
