/**
 * A manifest that lies about its model is refused when the session is created, naming the model,
 * the field and both values: with the real model files and ONNX Runtime sessions.
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import { loadManifest, verifyModels } from '../../src/models/manifest';
import { checkModelIo } from '../../src/models/spec';
import { packageRoot } from '../../src/paths';
import { FaceAnalyzer } from '../../src/vision/analyzer';

const root = packageRoot();
const manifestPath = path.join(root, 'models', 'manifest.json');
const cfg = loadConfig({ env: { LFR_EDGE__VISION__PROVIDERS: '["cpu"]' } });

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A models dir with the real files (links) and a manifest changed by `edit`. */
function lyingManifest(edit: (m: Json) => void): { dir: string; manifest: string; embedder: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-spec-'));
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Json;
  // one link per file: two entries may share a file (yunet-n and yunet-n-lm68)
  for (const file of new Set((Object.values(m.models) as Json[]).map((e) => e.file as string))) symlinkSync(path.join(root, 'models', file), path.join(dir, file));
  edit(m);
  const file = path.join(dir, 'manifest.json');
  writeFileSync(file, JSON.stringify(m));
  return { dir, manifest: file, embedder: 'faceplugin-512' };
}

async function refusedWith(t: Tap.Test, edit: (m: Json) => void, re: RegExp, vision = cfg.vision): Promise<void> {
  const models = verifyModels(lyingManifest(edit));
  await t.rejects(FaceAnalyzer.create(vision, models, createMemoryLogger()), re);
}

t.test('the shipped manifest agrees with every model file', async (t) => {
  const a = await FaceAnalyzer.create({ ...cfg.vision, detector: 'yunet-n', stillDetector: 'ultraface-320' }, verifyModels(cfg.models), createMemoryLogger());
  t.same(a.detectorKeys, { live: 'yunet-n', stills: 'ultraface-320' });
  t.equal(a.embedder.dim, 512);
  await a.close();
});

t.test('a wrong static input shape is refused', async (t) => {
  await refusedWith(t, (m) => { m.models['faceplugin-512'].input.shape = [1, 3, 128, 128]; m.models['faceplugin-512'].alignment.size = [128, 128]; },
    /model faceplugin-512: input\.shape: the manifest says \[1,3,128,128\], the model file has \[1,3,112,112\] \(dimension 2: 128 vs 112\)/);
  await refusedWith(t, (m) => { m.models['ultraface-320'].input.shape = [1, 3, 480, 640]; },
    /model ultraface-320: input\.shape: the manifest says \[1,3,480,640\], the model file has \[1,3,240,320\]/);
});

t.test('a dimension the manifest calls dynamic must be dynamic in the file', async (t) => {
  await refusedWith(t, (m) => { m.models['faceplugin-512'].input.shape = [1, 3, 'h', 'w']; m.models['faceplugin-512'].input.dynamic = { multipleOf: 32, width: 112 }; },
    /model faceplugin-512: input\.shape: .* \(dimension 2: dynamic in the manifest, 112 in the file\)/);
  await refusedWith(t, (m) => { delete m.models['yunet-n'].input.dynamic; },
    /model yunet-n: input\.dynamic: the input's height\/width are dynamic, so the manifest must give input\.dynamic/, { ...cfg.vision, detector: 'yunet-n' });
});

t.test('a wrong input or output name is refused', async (t) => {
  await refusedWith(t, (m) => { m.models['landmarks-68'].input.name = 'data'; },
    /model landmarks-68: input\.name: the manifest says 'data', the model file's inputs are input/);
  await refusedWith(t, (m) => { const e = m.models['faceplugin-512']; e.outputs = { fc1: [1, 512] }; e.embedding.output = 'fc1'; },
    /model faceplugin-512: outputs\.fc1: the manifest names output 'fc1', the model file's outputs are output/);
  await refusedWith(t, (m) => { const d = m.models['yunet-n']; d.outputs.score_8 = d.outputs.cls_8; delete d.outputs.cls_8; },
    /model yunet-n: outputs\.score_8: the manifest names output 'score_8', the model file's outputs are cls_8, /, { ...cfg.vision, detector: 'yunet-n' });
});

t.test('a wrong embedding dimension is refused', async (t) => {
  await refusedWith(t, (m) => { m.models['faceplugin-512'].outputs.output = [1, 256]; m.models['faceplugin-512'].embedding.dim = 256; },
    /model faceplugin-512: outputs\.output: the manifest says \[1,256\], the model file has \[1,512\]/);
  await refusedWith(t, (m) => { m.models['faceplugin-512'].embedding.dim = 128; },
    /model faceplugin-512: embedding\.dim: the manifest says 128, its output 'output' has last dimension 512/);
});

t.test('checkModelIo (pure): specs that cannot work are refused before any frame', async (t) => {
  const m = loadManifest(manifestPath);
  const emb = m.models['faceplugin-512'];
  const ins = [{ name: 'input', shape: [1, 3, 112, 112] }];
  const outs = [{ name: 'output', shape: [1, 512] }];
  t.doesNotThrow(() => checkModelIo('e', emb, ins, outs));
  t.doesNotThrow(() => checkModelIo('e', emb, [{ name: 'input', shape: ['batch', 3, 112, 112] }], [{ name: 'output', shape: ['batch', 512] }]), 'a dynamic batch in the file accepts the static 1');
  t.throws(() => checkModelIo('e', { ...emb, input: { ...emb.input, mean: [127, 127] } }, ins, outs), /model e: input\.mean: 2 values, the BGR input has 3 channel\(s\)/);
  t.throws(() => checkModelIo('e', { ...emb, alignment: { ...emb.alignment, size: [96, 112] } }, ins, outs), /model e: alignment\.size: 96x112, the input shape \[1,3,112,112\] is not \[1,3,112,96\]/);
  t.throws(() => checkModelIo('e', emb, [...ins, { name: 'extra', shape: [1] }], outs), /inputs: the manifest declares one input, the model file has 2 \(input, extra\)/);
  t.throws(() => checkModelIo('e', emb, [{ name: 'input', shape: [1, 3, 112] }], outs), /input\.shape: .* \(rank 4 vs 3\)/);
});
