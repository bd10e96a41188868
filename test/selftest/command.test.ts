/** `lfr-edge selftest` end to end: a provisioned-looking unit against a real Mosquitto and camera. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { generateAuthorityKeys, generateUnitKeys } from '../../src/watchlist/keys';
import { runCli } from '../helpers/cli';
import { MosquittoBroker, mosquittoAvailable } from '../helpers/mosquitto';

const CHECKS = ['unit keys', 'authority key', 'central key', 'clock', 'disk space', 'runtime dir', 'models', 'vision provider', 'camera', 'broker'];

t.test('selftest against a real broker', { skip: mosquittoAvailable() }, async (t) => {
  const broker = await MosquittoBroker.create();
  t.teardown(() => broker.destroy());
  await broker.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-selftest-cmd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keysDir = path.join(dir, 'keys');
  generateUnitKeys(keysDir);
  generateAuthorityKeys(path.join(dir, 'authority'));
  mkdirSync(path.join(dir, 'state'));
  const cert = broker.clientCert('unit-st');
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({
    unit: { id: 'unit-st' },
    paths: { keysDir, stateDir: path.join(dir, 'state'), runtimeDir: path.join(dir, 'run') },
    camera: { template: 'test', settings: { width: 160, height: 120, fps: 15 } },
    mqtt: {
      url: broker.url,
      tls: { caFile: broker.caFile, certFile: cert.cert, keyFile: cert.key },
      commands: { authorityPublicKeyFile: path.join(dir, 'authority', 'authority-ed25519.pub') },
    },
  }));

  t.test('--json: every check passes, in order, with the runtime dir warning', async (t) => {
    const r = await runCli(['selftest', '--config', configFile, '--json']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; unitId: string; checks: { name: string; ok: boolean; warn?: boolean; detail: string }[] };
    t.equal(out.ok, true);
    t.equal(out.unitId, 'unit-st');
    t.same(out.checks.map((c) => c.name), CHECKS);
    t.ok(out.checks.every((c) => c.ok && typeof c.detail === 'string' && c.detail.length > 0));
    t.equal(out.checks.find((c) => c.name === 'runtime dir')!.warn, true, `${dir} is not on tmpfs here`);
    t.match(out.checks.find((c) => c.name === 'broker')!.detail, /connected with mutual TLS/);
  });

  t.test('text: a line per check and a summary', async (t) => {
    const r = await runCli(['selftest', '--config', configFile]);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    t.equal(lines.length, CHECKS.length + 1);
    CHECKS.forEach((name, i) => t.match(lines[i], new RegExp(`^${name} +(ok|WARN) +\\S`)));
    t.match(lines.at(-1), /^selftest: all 10 checks passed \(1 warning\)$/);
  });

  t.test('a private key readable by others and a stopped broker: exit 1, each named', async (t) => {
    chmodSync(path.join(keysDir, 'unit-x25519.key'), 0o644);
    await broker.stop();
    const r = await runCli(['selftest', '--config', configFile, '--timeout', '15']);
    chmodSync(path.join(keysDir, 'unit-x25519.key'), 0o600);
    t.equal(r.code, 1);
    t.match(r.stdout, /^unit keys +FAIL +.*unit-x25519\.key has mode 0644: readable by other users; run 'chmod 600 /m);
    t.match(r.stdout, /^broker +FAIL +mqtts:\/\/localhost:\d+: connect ECONNREFUSED/m);
    t.match(r.stdout, /^camera +ok /m, 'the other checks still ran');
    t.match(r.stdout, /selftest: 2 of 10 checks FAILED\n$/);
  });

  t.test('a too-high disk minimum fails the disk check only', async (t) => {
    await broker.start();
    const r = await runCli(['selftest', '--config', configFile, '--json', '--min-free-bytes', String(2 ** 60)]);
    t.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    t.same(out.checks.filter((c) => !c.ok).map((c) => c.name), ['disk space']);
  });
});

t.test('defaults (no config): the broker is not configured, so the self-test fails', async (t) => {
  const r = await runCli(['selftest', '--json', '--timeout', '2'], { LFR_EDGE__CAMERA__SETTINGS: '{"width":64,"height":48}' });
  t.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
  t.match(out.checks.find((c) => c.name === 'broker')!.detail, /^mqtt\.url is not configured/);
});

t.test('usage errors exit 2 with the message', async (t) => {
  const bad = await runCli(['selftest', '--timeout', 'soon']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--timeout must be a positive number, got 'soon'/);
  const extra = await runCli(['selftest', 'now']);
  t.equal(extra.code, 2);
  t.match(extra.stderr, /unexpected argument now/);
  const missing = await runCli(['selftest', '--config', '/nonexistent/config.json']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot read config file \/nonexistent\/config\.json/);
});
