/**
 * ONNX Runtime telemetry (issue 11 item 4). onnxruntime-node 1.30 queues telemetry events in
 * $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db. Each process here runs with
 * HOME set to an empty temp dir and ORT_DISABLE_TELEMETRY removed from its environment: the bare
 * binding writes the file (so this test can see it), the unit's own entry points do not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { disableOrtTelemetry, ORT_TELEMETRY_ENV, OrtTelemetryError } from '../../src/vision/ort-env';
import { packageRoot } from '../../src/paths';

const root = packageRoot();
const cli = path.join(root, 'dist', 'src', 'cli.js');
const detector = path.join(root, 'models', 'fr_detect.onnx');
const telemetryDir = (home: string) => path.join(home, '.cache', 'Microsoft', 'DeveloperTools', '.onnxruntime');

/** Run node with HOME = a fresh temp dir and no ORT_DISABLE_TELEMETRY; returns that HOME. */
function runWithFreshHome(args: string[]): { home: string; status: number | null; out: string } {
  const home = mkdtempSync(path.join(tmpdir(), 'lfr-ort-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, LFR_EDGE__VISION__PROVIDERS: '["cpu"]' };
  delete env[ORT_TELEMETRY_ENV];
  // ONNX Runtime turns its telemetry off by itself when it sees a CI environment (measured: CI=true
  // alone stops the control run from writing the store), so the control would fail under .ci/run.
  // A unit in the field has no such variable: remove them to test what the field gets.
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION', 'TF_BUILD', 'GITHUB_ACTIONS', 'BUILD_ID', 'BUILD_NUMBER', 'JENKINS_URL', 'GITLAB_CI', 'BUILDKITE', 'TRAVIS', 'CIRCLECI', 'TEAMCITY_VERSION']) delete env[k];
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  return { home, status: r.status, out: `${r.stdout}${r.stderr}` };
}

const runOnce = (requireWhat: string) => `
const ort = require(${JSON.stringify(requireWhat)}).ort ?? require(${JSON.stringify(requireWhat)});
(async () => {
  const s = await ort.InferenceSession.create(${JSON.stringify(detector)}, { executionProviders: ['cpu'] });
  await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * 240 * 320), [1, 3, 240, 320]) });
  await s.release();
  console.log('ran');
})().catch((e) => { console.error(e); process.exit(1); });`;

t.test('control: the bare binding, without the setting, writes the telemetry store', async (t) => {
  const r = runWithFreshHome(['-e', runOnce('onnxruntime-node')]);
  t.equal(r.status, 0, r.out);
  t.ok(existsSync(path.join(telemetryDir(r.home), 'onnxruntime.db')), `onnxruntime.db appears under ${telemetryDir(r.home)} on this build (so its absence below means something)`);
});

t.test("src/vision/ort (main thread: models add, selftest, in-process analyzers): no telemetry store", async (t) => {
  const r = runWithFreshHome(['-e', runOnce(path.join(root, 'dist', 'src', 'vision', 'ort.js'))]);
  t.equal(r.status, 0, r.out);
  t.match(r.out, /ran/);
  t.notOk(existsSync(telemetryDir(r.home)), `nothing under ${telemetryDir(r.home)}: ${existsSync(telemetryDir(r.home)) ? readdirSync(telemetryDir(r.home)).join(', ') : ''}`);
});

t.test('lfr-edge embed (the vision worker thread, as the daemon runs it): no telemetry store', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-ort-img-'));
  const img = path.join(dir, 'frame.png');
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 110, b: 100 } } }).png().toFile(img);
  const r = runWithFreshHome([cli, 'embed', '--json', img]);
  t.equal(r.status, 0, r.out);
  t.equal(JSON.parse(r.out.trim().split('\n').find((l) => l.startsWith('{"file"'))!).faces.length, 0, 'inference ran (no face on a plain image)');
  t.notOk(existsSync(telemetryDir(r.home)), `nothing under ${telemetryDir(r.home)}`);
});

t.test('disableOrtTelemetry: sets it on the main thread; a worker without it is refused, naming the fix', async (t) => {
  const env: NodeJS.ProcessEnv = {};
  disableOrtTelemetry(env, true);
  t.equal(env[ORT_TELEMETRY_ENV], '1');
  t.doesNotThrow(() => disableOrtTelemetry({ [ORT_TELEMETRY_ENV]: '1' }, false), 'a worker that inherited it goes on');
  t.throws(() => disableOrtTelemetry({}, false), new OrtTelemetryError(`${ORT_TELEMETRY_ENV} is unset in this worker thread: ONNX Runtime would record telemetry, and a worker cannot change the process environment. Import src/vision/ort-env in the main thread before starting the worker (worker-client.ts does), or start node with ${ORT_TELEMETRY_ENV}=1`));
  t.throws(() => disableOrtTelemetry({ [ORT_TELEMETRY_ENV]: '0' }, false), /ORT_DISABLE_TELEMETRY is '0' in this worker thread/);
});

t.test('ort-env is the first import of the module that loads the binding, and the unit file sets it', async (t) => {
  const ortSrc = readFileSync(path.join(root, 'src', 'vision', 'ort.ts'), 'utf8');
  const imports = ortSrc.split('\n').filter((l) => l.startsWith('import '));
  t.equal(imports[0], "import './ort-env';", 'first import of src/vision/ort.ts');
  t.match(readFileSync(path.join(root, 'systemd', 'lfr-edge.service'), 'utf8'), /^Environment=ORT_DISABLE_TELEMETRY=1$/m);
});
