/**
 * scripts/provision into a scratch root (--root): idempotent re-runs, updates that say what
 * changed, keys made once with the right modes, a config that validates, and clear failures for
 * bad arguments. A real Mosquitto answers the self-test's broker check.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { packageRoot } from '../../src/paths';
import { generateAuthorityKeys, generateCentralKeys } from '../../src/watchlist/keys';
import { runCli } from '../helpers/cli';
import { freePort, MosquittoBroker, mosquittoAvailable } from '../helpers/mosquitto';

const SCRIPT = path.join(packageRoot(), 'scripts', 'provision');

function provision(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LFR_EDGE__')));
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The status word of each step line: {step: 'ok' | 'changed' | 'skipped' | 'FAILED'}. */
function steps(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of stdout.split('\n')) {
    const m = /^([a-z][a-z ]+?) {2,}(ok|changed|skipped|FAILED)\b/.exec(l);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const mode = (f: string) => (statSync(f).mode & 0o777).toString(8);

t.test('provisioning a scratch root', { skip: mosquittoAvailable() }, async (t) => {
  const broker = await MosquittoBroker.create();
  t.teardown(() => broker.destroy());
  await broker.start();
  const work = mkdtempSync(path.join(os.tmpdir(), 'lfr-provision-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  generateAuthorityKeys(path.join(work, 'authority'));
  const cert = broker.clientCert('van-07');
  const root = path.join(work, 'root');
  const base = [
    '--root', root, '--unit-id', 'van-07', '--broker', broker.url, '--ca', broker.caFile, '--cert', cert.cert, '--key', cert.key,
    '--authority-key', path.join(work, 'authority', 'authority-ed25519.pub'),
    '--camera', 'test', '--camera-setting', 'width=160', '--camera-setting', 'height=120', '--camera-setting', 'pattern=ball',
  ];
  const etc = path.join(root, 'etc', 'lfr-edge');
  const configFile = path.join(etc, 'config.json');
  const keyFiles = ['unit-x25519.key', 'unit-x25519.pub', 'unit-ed25519.key', 'unit-ed25519.pub'].map((f) => path.join(etc, 'keys', f));

  const first = provision(base);
  t.equal(first.code, 0, first.stdout + first.stderr);

  t.test('the first run does every step and passes the self-test', async (t) => {
    t.same(steps(first.stdout), {
      arguments: 'ok', user: 'skipped', directories: 'changed', 'unit keys': 'changed', credentials: 'changed',
      config: 'changed', models: 'changed', 'tensorrt engines': 'skipped', 'systemd units': 'changed',
      'systemd enable': 'skipped', selftest: 'ok',
    });
    t.match(first.stdout, /^user +skipped \(scratch root .*: files stay owned by uid \d+\)$/m);
    t.match(first.stdout, /^tensorrt engines +skipped \(not a Jetson: no .*etc\/nv_tegra_release; --jetson forces it\)$/m);
    t.match(first.stdout, /^ +broker +ok +mqtts:\/\/localhost:\d+: connected with mutual TLS/m, 'the self-test reached the broker');
    t.match(first.stdout, /^ +camera +ok +template test: 160x120 frame/m);
  });

  t.test('keys are made with the right modes; the public keys are printed for registration', async (t) => {
    t.same(keyFiles.map(mode), ['600', '644', '600', '644']);
    t.equal(mode(path.join(etc, 'keys')), '700');
    t.equal(mode(path.join(etc, 'tls', 'client.key')), '600');
    t.equal(mode(path.join(etc, 'tls', 'ca.crt')), '640');
    t.equal(mode(path.join(etc, 'keys', 'authority-ed25519.pub')), '640');
    t.equal(mode(path.join(root, 'var', 'lib', 'lfr-edge')), '700');
    t.equal(mode(configFile), '640');
    for (const f of ['unit-x25519.pub', 'unit-ed25519.pub']) {
      const pem = readFileSync(path.join(etc, 'keys', f), 'utf8').trimEnd();
      t.ok(first.stdout.includes(pem), `${f} printed`);
      t.match(first.stdout, new RegExp(`^${f.replace('.', '\\.')} \\(fingerprint [0-9a-f]{32}\\):$`, 'm'));
    }
  });

  t.test('the config written validates and points at the scratch root', async (t) => {
    const v = await runCli(['config', 'validate', configFile]);
    t.equal(v.code, 0, v.stderr);
    const cfg = JSON.parse(readFileSync(configFile, 'utf8'));
    t.equal(cfg.unit.id, 'van-07');
    t.equal(cfg.mqtt.url, broker.url);
    t.equal(cfg.mqtt.tls.keyFile, path.join(etc, 'tls', 'client.key'));
    t.equal(cfg.paths.stateDir, path.join(root, 'var', 'lib', 'lfr-edge'));
    t.same(cfg.camera, { template: 'test', settings: { width: 160, height: 120, pattern: 'ball' } }, 'settings typed from the template');
    t.ok(existsSync(path.join(root, 'opt', 'lfr-edge', 'models', 'fr_feature.onnx')), 'models installed into the install dir');
    const unit = readFileSync(path.join(root, 'etc', 'systemd', 'system', 'lfr-edge.service'), 'utf8');
    t.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${root}/opt/lfr-edge/dist/src/cli\\.js run --config ${configFile}$`, 'm'));
    const units = ['lfr-edge-wipe.service', 'lfr-edge.service'].map((u) => path.join(root, 'etc', 'systemd', 'system', u));
    const verify = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8' });
    if (verify.error) t.comment(`systemd-analyze not available: ${verify.error.message}`);
    else t.equal(verify.status, 0, `the installed units verify: ${verify.stderr}`);
  });

  t.test('a second run with the same arguments changes nothing', async (t) => {
    const before = keyFiles.map((f) => [readFileSync(f, 'utf8'), statSync(f).mtimeMs]);
    const configBefore = statSync(configFile).mtimeMs;
    const again = provision(base);
    t.equal(again.code, 0, again.stdout + again.stderr);
    const s = steps(again.stdout);
    t.same(Object.entries(s).filter(([, v]) => v === 'changed'), [], 'no step changed anything');
    t.same(s.directories, 'ok');
    t.same(s.config, 'ok');
    t.same(keyFiles.map((f) => [readFileSync(f, 'utf8'), statSync(f).mtimeMs]), before, 'keys made once');
    t.equal(statSync(configFile).mtimeMs, configBefore, 'config not rewritten');
  });

  t.test('a changed argument is updated and said; hand edits to the config are kept', async (t) => {
    const cfg = JSON.parse(readFileSync(configFile, 'utf8'));
    cfg.logging = { level: 'debug' };
    writeFileSync(configFile, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o640 });
    const args = base.map((a) => (a === 'pattern=ball' ? 'pattern=snow' : a));
    const r = provision([...args, '--no-selftest']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(r.stdout, /^config +changed \(camera\.settings\.pattern: "ball" -> "snow"\)$/m);
    t.equal(steps(r.stdout)['unit keys'], 'ok');
    t.equal(steps(r.stdout).selftest, 'skipped');
    const now = JSON.parse(readFileSync(configFile, 'utf8'));
    t.equal(now.camera.settings.pattern, 'snow');
    t.same(now.logging, { level: 'debug' }, 'hand edit kept');
  });

  t.test('a loosened key mode is put back', async (t) => {
    const { chmodSync } = await import('node:fs');
    chmodSync(keyFiles[0], 0o644);
    const r = provision([...base, '--no-selftest']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^unit keys +changed \(unit-x25519\.key: mode 644 -> 600\)$/m);
    t.equal(mode(keyFiles[0]), '600');
  });

  t.test('a self-test failure (no broker there): exit 1, the keys are still printed', async (t) => {
    const port = await freePort();
    const args = base.map((a) => (a === broker.url ? `mqtts://localhost:${port}` : a));
    const r = provision([...args, '--root', path.join(work, 'root2')]);
    t.equal(r.code, 1);
    t.match(r.stdout, /^selftest +FAILED: fix what it says/m);
    t.match(r.stdout, /^ +broker +FAIL +mqtts:\/\/localhost:\d+: connect ECONNREFUSED/m);
    t.match(r.stdout, /unit-ed25519\.pub \(fingerprint [0-9a-f]{32}\):\n-----BEGIN PUBLIC KEY-----/);
    t.match(r.stdout, /provision: done, but the self-test FAILED/);
  });

  t.test('--central-key: the central X25519 key installed, mqtt.centralPublicKeyFile set (crops on), idempotent', async (t) => {
    generateCentralKeys(path.join(work, 'central'));
    generateCentralKeys(path.join(work, 'central2'));
    const installed = path.join(etc, 'keys', 'central-x25519.pub');
    const withKey = (dir: string) => [...base, '--central-key', path.join(work, dir, 'central-x25519.pub')];
    const r = provision(withKey('central'));
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(r.stdout, /^credentials +changed \(wrote central-x25519\.pub\)$/m);
    t.match(r.stdout, new RegExp(`^config +changed \\(mqtt\\.centralPublicKeyFile: \\(unset\\) -> "${installed.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\)$`, 'm'));
    t.equal(readFileSync(installed, 'utf8'), readFileSync(path.join(work, 'central', 'central-x25519.pub'), 'utf8'));
    t.equal(mode(installed), '640');
    t.equal(JSON.parse(readFileSync(configFile, 'utf8')).mqtt.centralPublicKeyFile, installed);
    t.match(r.stdout, /^ +central key +ok +.*central-x25519\.pub: X25519 [0-9a-f]{32}; alert face crops are sealed to it$/m, 'the self-test loads it');
    const v = await runCli(['config', 'show', configFile]);
    t.equal(v.code, 0, v.stderr);

    const again = provision([...withKey('central'), '--no-selftest']);
    t.equal(again.code, 0, again.stderr);
    t.same(Object.entries(steps(again.stdout)).filter(([, s]) => s === 'changed'), [], 'the same key again changes nothing');
    const without = provision([...base, '--no-selftest']);
    t.equal(without.code, 0, without.stderr);
    t.same(Object.entries(steps(without.stdout)).filter(([, s]) => s === 'changed'), [], 'a run without --central-key keeps the key provisioned before');
    t.equal(JSON.parse(readFileSync(configFile, 'utf8')).mqtt.centralPublicKeyFile, installed);

    const other = provision([...withKey('central2'), '--no-selftest']);
    t.equal(other.code, 0, other.stderr);
    t.match(other.stdout, /^credentials +changed \(updated central-x25519\.pub\)$/m, 'a new central key replaces the old one, said');
    t.equal(steps(other.stdout).config, 'ok', 'the config already points at it');
    t.equal(readFileSync(installed, 'utf8'), readFileSync(path.join(work, 'central2', 'central-x25519.pub'), 'utf8'));
  });

  t.test('bad arguments fail with clear messages before touching anything', async (t) => {
    const fresh = path.join(work, 'untouched');
    const withArg = (name: string, value: string) => {
      const i = base.indexOf(name);
      const args = [...base];
      args[i + 1] = value;
      args[args.indexOf('--root') + 1] = fresh;
      return provision(args);
    };
    const cases: [string, ReturnType<typeof provision>, RegExp][] = [
      ['missing CA file', withArg('--ca', path.join(work, 'nope.crt')), /^provision: FAILED: CA file \(--ca\) .*nope\.crt: no such file$/m],
      ['bad unit id', withArg('--unit-id', 'van 07/x'), /^provision: FAILED: bad unit id 'van 07\/x': use 1-64 letters, digits, '-' or '_'/m],
      ['unknown camera template', withArg('--camera', 'webcam'), /^provision: FAILED: unknown camera template 'webcam' \(known: file, jetson-csi, jetson-rtsp, rtsp, test, usb-v4l2\)$/m],
      ['unknown camera setting', withArg('--camera-setting', 'device=/dev/video0'), /^provision: FAILED: camera template 'test' has no setting 'device' \(known: pattern, width, height, fps, numBuffers\)$/m],
      ['plain-text broker', withArg('--broker', 'mqtt://central:1883'), /^provision: FAILED: bad broker URL 'mqtt:\/\/central:1883': a unit connects with TLS, give mqtts:\/\/host:port/m],
      ['key of another certificate', withArg('--key', broker.clientCert('other').key), /^provision: FAILED: client key .*other\.key does not belong to the certificate/m],
      ['authority private key', withArg('--authority-key', path.join(work, 'authority', 'authority-ed25519.key')), /^provision: FAILED: authority public key \(--authority-key\) .*: it holds a PRIVATE key: give the \.pub file/m],
      ['central private key', provision([...base.map((a) => (a === root ? fresh : a)), '--central-key', path.join(work, 'central', 'central-x25519.key')]), /^provision: FAILED: central public key \(--central-key\) .*central-x25519\.key: it holds a PRIVATE key: give central-x25519\.pub/m],
      ['central key of the wrong kind', provision([...base.map((a) => (a === root ? fresh : a)), '--central-key', path.join(work, 'authority', 'authority-ed25519.pub')]), /^provision: FAILED: central public key \(--central-key\) .*authority-ed25519\.pub: it is a ed25519 key, not X25519 \(make it with 'lfr-edge keys central'\)$/m],
      ['missing central key', provision([...base.map((a) => (a === root ? fresh : a)), '--central-key', path.join(work, 'nope.pub')]), /^provision: FAILED: central public key \(--central-key\) .*nope\.pub: no such file$/m],
    ];
    for (const [what, r, message] of cases) {
      t.equal(r.code, 1, `${what}: exit 1`);
      t.match(r.stderr, message, what);
    }
    t.notOk(existsSync(fresh), 'nothing was created');
    t.match(cases[0][1].stdout, /^arguments +FAILED \(see below\)$/m);
  });

  t.test('a value the template refuses is caught by config validation', async (t) => {
    const r = provision([...base.map((a) => (a === 'width=160' ? 'width=huge' : a)), '--root', path.join(work, 'root3')]);
    t.equal(r.code, 1);
    t.match(r.stderr, /^provision: FAILED: the config would be invalid:\n +invalid configuration:\n +.*etc\/lfr-edge\/config\.json: camera\.settings: pipeline 'test': variable 'width' must be an integer 16\.\.7680, got "huge"/m);
    t.notOk(existsSync(path.join(work, 'root3')), 'nothing was created');
  });

  t.test('missing options: usage, exit 2', async (t) => {
    const r = provision(['--root', path.join(work, 'x'), '--unit-id', 'u1']);
    t.equal(r.code, 2);
    t.match(r.stderr, /^provision: missing --broker, --ca, --cert, --key, --authority-key, --camera\n\nusage: scripts\/provision/);
    const unknown = provision(['--frobnicate']);
    t.equal(unknown.code, 2);
    t.match(unknown.stderr, /Unknown option '--frobnicate'/);
  });

  t.test('part of an identity present: refused, naming what is missing', async (t) => {
    const root4 = path.join(work, 'root4');
    mkdirSync(path.join(root4, 'etc', 'lfr-edge', 'keys'), { recursive: true });
    writeFileSync(path.join(root4, 'etc', 'lfr-edge', 'keys', 'unit-x25519.key'), 'x', { mode: 0o600 });
    const r = provision([...base, '--root', root4, '--no-selftest']);
    t.equal(r.code, 1);
    t.match(r.stderr, /holds only part of an identity \(missing unit-x25519\.pub, unit-ed25519\.key, unit-ed25519\.pub\): restore the missing files, or move all of unit-x25519\.key away/);
  });

  t.test('on a Jetson (marker file) the TensorRT build runs, and its failure here is clear', async (t) => {
    const root5 = path.join(work, 'root5');
    mkdirSync(path.join(root5, 'etc'), { recursive: true });
    writeFileSync(path.join(root5, 'etc', 'nv_tegra_release'), '# R36 (release), REVISION: 4.3\n');
    const r = provision([...base, '--root', root5, '--no-selftest']);
    t.equal(r.code, 1);
    t.match(r.stdout, /^tensorrt engines +building/m);
    t.match(r.stdout, /^tensorrt engines +FAILED \(see below\)$/m, 'the failing step has its line');
    t.match(r.stderr, /^provision: FAILED: building the TensorRT EP-context models failed:\n[\s\S]*trt: detector ultraface-320: cannot build the TensorRT engine/m);
    t.match(r.stderr, /onnxruntime-node built with --use_tensorrt on the Jetson \(docs\/jetson\.md\)/);
  });
});
