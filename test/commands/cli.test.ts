import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli';

t.test('top-level usage and unknown commands', async (t) => {
  const none = await runCli([]);
  t.equal(none.code, 2);
  t.match(none.stdout, /usage: lfr-edge <command>/);
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  const bad = await runCli(['frobnicate']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /unknown command 'frobnicate'/);
});

t.test('config validate: ok, and each problem with its key path', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-cli-'));
  const good = path.join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ unit: { id: 'van-3' }, vision: { intraOpThreads: 2 } }));
  const ok = await runCli(['config', 'validate', good]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /good\.json: valid/);
  const badFile = path.join(dir, 'bad.json');
  writeFileSync(badFile, JSON.stringify({ vision: { intraOpThreads: 'two', detThreshold: 3 }, extra: true }));
  const bad = await runCli(['config', 'validate', badFile]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /vision\.intraOpThreads: /);
  t.match(bad.stderr, /vision\.detThreshold: /);
  t.match(bad.stderr, /unknown key 'extra'/);
  const envBad = await runCli(['config', 'validate', good], { LFR_EDGE__VISION__NMS_IOU: '7' });
  t.equal(envBad.code, 1);
  t.match(envBad.stderr, /vision\.nmsIou: /);
  const usage = await runCli(['config', 'validate']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /takes exactly one FILE/);
});

t.test('models verify', async (t) => {
  const r = await runCli(['models', 'verify']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /embedder: .*fr_feature\.onnx ok/);
  const dir = mkdtempSync(path.join(tmpdir(), 'lfr-cli-'));
  const bad = await runCli(['models', 'verify'], { LFR_EDGE__MODELS__DIR: dir });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /detector model .* is missing/);
});
