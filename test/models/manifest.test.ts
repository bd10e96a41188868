import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadManifest, ModelError, verifyModels } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';

const root = packageRoot();
const manifestPath = path.join(root, 'models', 'manifest.json');

t.test('the installed models match the manifest', async (t) => {
  const v = verifyModels({ dir: 'models', manifest: 'models/manifest.json' });
  t.equal(v.embedderSha256, loadManifest(manifestPath).models.embedder.sha256);
  t.match(v.paths.detector, /fr_detect\.onnx$/);
});

function scratchModels(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  for (const f of ['fr_detect.onnx', 'fr_landmark.onnx', 'fr_feature.onnx']) copyFileSync(path.join(root, 'models', f), path.join(dir, f));
  return dir;
}

t.test('an altered model stops start-up naming the file and both hashes', async (t) => {
  const dir = scratchModels();
  writeFileSync(path.join(dir, 'fr_feature.onnx'), 'not the model');
  const err = t.throws(() => verifyModels({ dir, manifest: manifestPath })) as ModelError;
  t.ok(err instanceof ModelError);
  t.match(err.message, /embedder model .*fr_feature\.onnx has been altered: sha256 [0-9a-f]{64}, the manifest expects 87aacdfe/);
});

t.test('a missing model stops start-up naming the file and the expected hash', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  t.throws(() => verifyModels({ dir, manifest: manifestPath }), /detector model .*fr_detect\.onnx is missing \(expected sha256 6c0256cc.*npm run models:install/);
});

t.test('a malformed manifest is named', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-models-'));
  const m = path.join(dir, 'manifest.json');
  writeFileSync(m, JSON.stringify({ v: 1, models: {} }));
  t.throws(() => verifyModels({ dir, manifest: m }), /model manifest .*manifest\.json is malformed/);
});
