import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadManifest, ModelError, modelOfKind, verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';

const root = packageRoot();
const manifestPath = path.join(root, 'models', 'manifest.json');
const cfg = (dir: string, manifest = manifestPath) => ({ dir, manifest, embedder: 'faceplugin-512' });

t.test('the installed and committed models match the manifest', async (t) => {
  const v = verifyModels(cfg('models', 'models/manifest.json'));
  const m = loadManifest(manifestPath);
  t.equal(v.embedder, 'faceplugin-512');
  t.equal(v.embedderSha256, m.models['faceplugin-512'].sha256);
  t.match(v.paths['ultraface-320'], /fr_detect\.onnx$/);
  t.match(v.paths['yunet-n'], /yunet_n_dynamic\.onnx$/);
  t.same(Object.keys(v.paths).sort(), Object.keys(m.models).sort(), 'every model in the manifest is verified');
  t.ok(m.models['yunet-n'].committed, 'YuNet is committed in the repository');
});

t.test('the configured embedder must be an embedder of the manifest', async (t) => {
  t.throws(() => verifyModels({ ...cfg('models'), embedder: 'nope' }), /'nope' is not a embedder model in the manifest \(embedder models: faceplugin-512\)/);
  t.throws(() => verifyModels({ ...cfg('models'), embedder: 'yunet-n' }), /'yunet-n' is not a embedder model/);
  t.throws(() => modelOfKind(loadManifest(manifestPath), 'faceplugin-512', 'detector'), /detector models: ultraface-320, yunet-n/);
});

function scratchModels(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  for (const m of Object.values(loadManifest(manifestPath).models)) copyFileSync(path.join(root, 'models', m.file), path.join(dir, m.file));
  return dir;
}

t.test('an altered model stops start-up naming the model, the file and both hashes', async (t) => {
  const dir = scratchModels();
  writeFileSync(path.join(dir, 'fr_feature.onnx'), 'not the model');
  const err = t.throws(() => verifyModels(cfg(dir))) as ModelError;
  t.ok(err instanceof ModelError);
  t.match(err.message, /embedder model faceplugin-512: .*fr_feature\.onnx has been altered: sha256 [0-9a-f]{64}, the manifest expects 87aacdfe.*npm run models:install/);
  writeFileSync(path.join(dir, 'yunet_n_dynamic.onnx'), 'not the model');
  writeFileSync(path.join(dir, 'fr_feature.onnx'), readFileSync(path.join(root, 'models', 'fr_feature.onnx')));
  t.throws(() => verifyModels(cfg(dir)), /detector model yunet-n: .*yunet_n_dynamic\.onnx has been altered: .*restore it with git/);
});

t.test('a missing model stops start-up naming the file and the expected hash', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  t.throws(() => verifyModels(cfg(dir)), /detector model ultraface-320: .*fr_detect\.onnx is missing \(expected sha256 6c0256cc.*npm run models:install/);
});

t.test('a malformed manifest is named, with the field', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  const m = path.join(dir, 'manifest.json');
  writeFileSync(m, JSON.stringify({ v: 2, sources: {}, models: {} }).replace('"v":2', '"v":1'));
  t.throws(() => verifyModels(cfg(dir, m)), /model manifest .*manifest\.json is malformed: v: /);
  const good = JSON.parse(readFileSync(manifestPath, 'utf8'));
  good.models['faceplugin-512'].input.channels = 'CMYK';
  writeFileSync(m, JSON.stringify(good));
  t.throws(() => verifyModels(cfg(dir, m)), /malformed: models\.faceplugin-512\.input\.channels: /);
  const noSrc = JSON.parse(readFileSync(manifestPath, 'utf8'));
  noSrc.models['yunet-n'].source = 'elsewhere';
  writeFileSync(m, JSON.stringify(noSrc));
  t.throws(() => verifyModels(cfg(dir, m)), /yunet-n\.source 'elsewhere' is not in sources/);
  const noLm = JSON.parse(readFileSync(manifestPath, 'utf8'));
  noLm.models['ultraface-320'].fivePoints = 'faceplugin-512';
  writeFileSync(m, JSON.stringify(noLm));
  t.throws(() => verifyModels(cfg(dir, m)), /ultraface-320\.fivePoints 'faceplugin-512' is not a landmarks model/);
});
