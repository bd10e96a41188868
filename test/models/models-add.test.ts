/**
 * Bring your own embedder, end to end. A second embedder with a different input spec (input
 * 'data', RGB, (x - 127.5) / 127.5, output 'embedding') is built at test set-up from the shipped
 * fr_feature.onnx with Debian's python3-onnx (test/fixtures/make-rgb-embedder.py): prepended nodes
 * turn its input back into the shipped model's BGR (x - 127) / 128, so its embeddings equal the
 * shipped ones exactly when the pipeline honours the new spec, and differ when it does not.
 *
 * `models add` -> the unit refuses a session (uncalibrated) -> `calibrate` -> the session is
 * accepted; a spec or manifest that lies about its model is refused, naming both values.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { loadManifest, sha256File } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import { readCalibrationFile } from '../../src/recognition/calibration';
import { runCli } from '../helpers/cli';
import { needsSharedData, sharedData } from '../helpers/data';
import { mosquittoAvailable, waitFor } from '../helpers/mosquitto';
import { makeBundle, makeSubjects } from '../fixtures/session-kit';
import { startSessionUnit } from '../fixtures/session-unit';

const PY = '/usr/bin/python3';
const noOnnx = spawnSync(PY, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0 ? false : `Debian's python3-onnx is not installed (apt-get install python3-onnx; scripts/install-system-deps does): the second embedder cannot be built`;
const skip = noOnnx || needsSharedData('people').skip;
const ROOT = packageRoot();

/** The RGB spec of the second embedder (what an ArcFace-type export declares). */
const RGB_SPEC = {
  input: { name: 'data', shape: [1, 3, 112, 112], layout: 'NCHW', channels: 'RGB', mean: [127.5, 127.5, 127.5], scale: [1 / 127.5, 1 / 127.5, 1 / 127.5] },
  outputs: { embedding: [1, 512] },
  alignment: {
    method: 'similarity',
    size: [112, 112],
    points: [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
  },
  embedding: { output: 'embedding', dim: 512 },
};

const COLOUR_PHOTOS = [
  sharedData('people', 'barack-obama', 'obama1.jpg'),
  sharedData('people', 'barack-obama', 'obama2.jpg'),
  sharedData('people', 'joe-biden', 'biden1.jpg'),
  sharedData('people', 'lin-manuel-miranda', 'lin-manuel-miranda.png'),
  sharedData('people', 'alex-lacamoire', 'alex-lacamoire.png'),
];

function setup(t: Test, root = t.testdir({})) {
  const modelsDir = path.join(root, 'models');
  mkdirSync(modelsDir);
  const manifestFile = path.join(modelsDir, 'manifest.json');
  copyFileSync(path.join(ROOT, 'models', 'manifest.json'), manifestFile);
  for (const m of Object.values(loadManifest(manifestFile).models)) copyFileSync(path.join(ROOT, 'models', m.file), path.join(modelsDir, m.file));
  mkdirSync(path.join(root, 'in'));
  const rgb = path.join(root, 'in', 'rgb-arcface.onnx');
  const made = spawnSync(PY, [path.join(ROOT, 'test', 'fixtures', 'make-rgb-embedder.py'), path.join(ROOT, 'models', 'fr_feature.onnx'), rgb], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make-rgb-embedder.py failed: ${made.stderr}`);
  const calibrationFile = path.join(root, 'calibration.json');
  const config = (over: Record<string, unknown> = {}) => {
    const file = path.join(root, `config-${Object.keys(over).length ? JSON.stringify(over).replace(/[^a-z0-9]/gi, '') : 'shipped'}.json`);
    writeFileSync(file, JSON.stringify({ models: { dir: modelsDir, manifest: manifestFile, ...over }, vision: { providers: ['cpu'] }, session: { calibrationFile } }));
    return file;
  };
  const add = (args: string[], spec: object = RGB_SPEC, file = rgb) =>
    runCli(['models', 'add', '--config', config(), '--file', file, '--role', 'embedder', '--spec', JSON.stringify(spec), '--licence', 'test licence: built from the MIT fr_feature.onnx', '--source', 'test/fixtures/make-rgb-embedder.py', ...args]);
  return { root, modelsDir, manifestFile, rgb, calibrationFile, config, add };
}

async function embeddings(config: string, files: string[]): Promise<Float32Array[]> {
  const r = await runCli(['embed', '--json', '--config', config, ...files]);
  if (r.code !== 0) throw new Error(`embed failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => Float32Array.from((JSON.parse(l) as { faces: { embedding: number[] }[] }).faces[0].embedding));
}
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0);

t.test('models add: copied in, sha256 pinned, spec checked, licence and source recorded, uncalibrated', { skip }, async (t) => {
  const s = setup(t);
  const r = await s.add(['--name', 'rgb-arcface']);
  t.equal(r.code, 0, r.stderr);
  const sha = sha256File(s.rgb);
  t.match(r.stdout, `added embedder rgb-arcface`);
  t.match(r.stdout, `uncalibrated: no calibration for sha256 ${sha}`);
  t.match(r.stdout, /lfr-edge calibrate --images DIR --demographics CSV --out .*calibration\.json/);
  const m = loadManifest(s.manifestFile);
  const e = m.models['rgb-arcface'];
  t.match(e, { kind: 'embedder', file: 'rgb-arcface.onnx', sha256: sha, source: 'rgb-arcface', input: { name: 'data', channels: 'RGB' } });
  t.match(m.sources['rgb-arcface'], { license: 'test licence: built from the MIT fr_feature.onnx', source: 'test/fixtures/make-rgb-embedder.py' });
  t.equal(sha256File(path.join(s.modelsDir, 'rgb-arcface.onnx')), sha, 'the copy in models.dir is pinned');
  t.ok(m.models['faceplugin-512'], 'the shipped embedder stays');

  const v = await runCli(['models', 'verify', '--config', s.config({ embedder: 'rgb-arcface' })]);
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, `embedder in use: rgb-arcface, sha256 ${sha}`);
  t.match(v.stdout, /uncalibrated: no calibration at/);
  const again = await s.add(['--name', 'rgb-arcface']);
  t.equal(again.code, 0);
  t.match(again.stdout, /already in .* nothing to do/);
});

t.test('a spec or a manifest that lies about its model is refused, naming both', { skip }, async (t) => {
  const s = setup(t);
  let r = await s.add(['--name', 'liar'], { ...RGB_SPEC, input: { ...RGB_SPEC.input, name: 'input' } });
  t.equal(r.code, 1);
  t.match(r.stderr, /the spec does not match the file: .*input\.name: the manifest says 'input', the model file's inputs are data/);
  r = await s.add(['--name', 'liar'], { ...RGB_SPEC, outputs: { embedding: [1, 256] }, embedding: { output: 'embedding', dim: 256 } });
  t.equal(r.code, 1);
  t.match(r.stderr, /outputs\.embedding: the manifest says \[1,256\], the model file has \[1,512\]/);
  r = await s.add(['--name', 'liar'], { ...RGB_SPEC, input: { ...RGB_SPEC.input, channels: 'RGBA' } });
  t.equal(r.code, 1);
  t.match(r.stderr, /not a valid embedder entry: input\.channels/);
  r = await s.add(['--name', 'liar', '--role', 'camera']);
  t.equal(r.code, 2);
  t.notOk(loadManifest(s.manifestFile).models.liar, 'nothing was added');
  t.notOk(existsSync(path.join(s.modelsDir, 'rgb-arcface.onnx')), 'nothing was copied');

  // A manifest edited by hand to lie: the unit refuses the model at start, naming both.
  t.equal((await s.add(['--name', 'rgb-arcface'])).code, 0);
  const raw = JSON.parse(readFileSync(s.manifestFile, 'utf8'));
  raw.models['rgb-arcface'].input.name = 'input';
  writeFileSync(s.manifestFile, JSON.stringify(raw));
  const e = await runCli(['embed', '--json', '--config', s.config({ embedder: 'rgb-arcface' }), COLOUR_PHOTOS[0]]);
  t.equal(e.code, 1);
  t.match(e.stderr, /rgb-arcface: input\.name: the manifest says 'input', the model file's inputs are data/);
});

t.test('the second embedder works by manifest alone: same embeddings when its spec is honoured, different when not', { skip }, async (t) => {
  const s = setup(t);
  t.equal((await s.add(['--name', 'rgb-arcface'])).code, 0);
  // The same file declared with the shipped model's input spec (BGR, (x-127)/128): what a pipeline ignoring the spec would feed.
  const ignored = path.join(s.root, 'in', 'rgb-as-bgr.onnx');
  copyFileSync(s.rgb, ignored);
  const bgr = { ...RGB_SPEC, input: { ...RGB_SPEC.input, channels: 'BGR', mean: [127, 127, 127], scale: [1 / 128, 1 / 128, 1 / 128] } };
  t.equal((await s.add(['--name', 'rgb-as-bgr'], bgr, ignored)).code, 0);

  const shipped = await embeddings(s.config(), COLOUR_PHOTOS);
  const honoured = await embeddings(s.config({ embedder: 'rgb-arcface' }), COLOUR_PHOTOS);
  const notHonoured = await embeddings(s.config({ embedder: 'rgb-as-bgr' }), COLOUR_PHOTOS);
  COLOUR_PHOTOS.forEach((f, i) => {
    const c = dot(shipped[i], honoured[i]);
    const d = dot(shipped[i], notHonoured[i]);
    t.ok(c >= 0.999, `${path.basename(f)}: cosine ${c.toFixed(5)} with the spec honoured`);
    t.ok(d < 0.97, `${path.basename(f)}: cosine ${d.toFixed(4)} with the spec ignored`);
  });
});

t.test('models add -> session refused (uncalibrated) -> calibrate -> session accepted', { skip: skip || mosquittoAvailable() || needsSharedData('lfw-dev', 'images').skip }, async (t) => {
  // its own folder: startSessionUnit takes this test's testdir
  const own = mkdtempSync(path.join(os.tmpdir(), 'lfr-byo-'));
  t.teardown(() => rmSync(own, { recursive: true, force: true }));
  const s = setup(t, own);
  t.equal((await s.add(['--name', 'rgb-arcface'])).code, 0);
  const newSha = sha256File(s.rgb);
  const oldSha = sha256File(path.join(ROOT, 'models', 'fr_feature.onnx'));
  copyFileSync(path.join(ROOT, 'models', 'calibration.json'), s.calibrationFile); // the shipped calibration: for the old embedder
  const u = await startSessionUnit(t, { unitId: 'van-byo', embedderSha256: newSha, config: { session: { calibrationFile: s.calibrationFile } } });
  t.ok(await u.link.link!.waitConnected(5000));

  const refused = await u.send('start-session', { bundle: u.bundleB64(2) });
  t.same([refused.accepted, refused.code], [false, 'calibration-refused']);
  t.match(refused.message, `measured with embedder ${oldSha}, this unit runs embedder ${newSha} (uncalibrated): make its calibration with 'lfr-edge calibrate`);
  const oldBundle = makeBundle(u.kit, makeSubjects(2, 7), { sessionId: 'op-old', createdAt: new Date(Date.now() - 60_000), embedderSha256: oldSha }).toString('base64');
  const stale = await u.send('start-session', { bundle: oldBundle });
  t.equal(stale.accepted, false);
  t.match(stale.message, `bundle was built with embedding model ${oldSha}, this unit runs ${newSha}`);

  // calibrate with the new embedder on a small labelled subset (5 people per origin, up to 3 images)
  const DATA = sharedData('lfw-dev');
  const images = path.join(s.root, 'faces');
  const rows = readFileSync(path.join(DATA, 'demographics.csv'), 'utf8').trim().split('\n');
  const people = new Map<string, string[]>();
  for (const line of rows.slice(1)) {
    const [img, , race] = line.split(',');
    if (race && ['african', 'caucasian', 'eastasian'].includes(race)) {
      const person = img.split('/')[0];
      if (!people.has(race)) people.set(race, []);
      if (!people.get(race)!.includes(person)) people.get(race)!.push(person);
    }
  }
  const chosen: string[] = [];
  for (const list of people.values()) {
    for (const p of list.sort().slice(0, 5)) {
      mkdirSync(path.join(images, p), { recursive: true });
      for (const f of readdirSync(path.join(DATA, 'images', p)).sort().slice(0, 3)) {
        copyFileSync(path.join(DATA, 'images', p, f), path.join(images, p, f));
        chosen.push(`${p}/${f}`);
      }
    }
  }
  const csv = path.join(s.root, 'faces.csv');
  writeFileSync(csv, [rows[0], ...rows.slice(1).filter((l) => chosen.includes(l.split(',')[0]))].join('\n') + '\n');
  const c = await runCli(['calibrate', '--config', s.config({ embedder: 'rgb-arcface' }), '--images', images, '--demographics', csv, '--out', s.calibrationFile, '--report', path.join(s.root, 'report.html'), '--workers', '1', '--bootstrap', '100']);
  t.equal(c.code, 0, c.stderr);
  t.equal(readCalibrationFile(s.calibrationFile).model.embedderSha256, newSha, 'the calibration is for the new embedder');
  const v = await runCli(['models', 'verify', '--config', s.config({ embedder: 'rgb-arcface' })]);
  t.match(v.stdout, /^calibrated: /m);

  const accepted = await u.send('start-session', { bundle: u.bundleB64(2) });
  t.equal(accepted.accepted, true, JSON.stringify(accepted));
  await waitFor(() => u.of('session').some((m) => m.state === 'active'), 5000, 'session active');
  const msg = u.of('session').find((m) => m.state === 'active');
  t.equal(msg.calibration.source.command, 'calibrate');
  t.ok(msg.calibration.fmrByGroup['race=african'], 'the session states the per-group FMR of the new calibration');
});
