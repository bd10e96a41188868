/**
 * `lfr-edge central serve` and `central user add` as commands: the account made on the command
 * line signs in to the console served by `central serve` (on the in-process broker, MQTT 3.1.1),
 * a reset clears the lock-out, serve stops cleanly; and their user errors.
 */
import { Readable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { serve, user } from '../../src/commands/central';
import { startConsole, type RunningConsole } from '../../src/central/serve';
import { parseCentralConfig } from '../../src/central/config';
import { startInProcessBroker } from '../../src/demo/broker';
import { createMemoryLogger } from '../../src/log';
import { generateAuthorityKeys } from '../../src/watchlist/keys';
import { runCli } from '../helpers/cli';
import { WebClient } from '../helpers/console';
import { freePort } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env: {} } };
}
const stdin = (s: string) => Readable.from([Buffer.from(s)]);

t.test('user add, then serve: the account signs in; a reset clears the lock-out; Ctrl-C stops serve', async (t) => {
  const broker = await startInProcessBroker();
  t.teardown(() => broker.close());
  const dir = tempDir('lfr-central-cli-');
  generateAuthorityKeys(path.join(dir, 'keys'));
  const cfgFile = path.join(dir, 'central.json');
  writeFileSync(cfgFile, JSON.stringify({ mqtt: { url: broker.url, protocol: '3.1.1' }, authorityKeyFile: 'keys/authority-ed25519.key', web: { port: 0, maxFailedLogins: 2 } }));

  let r = capture();
  t.equal(await user(['add', '--config', cfgFile, '--name', 'pc-ward', '--role', 'officer'], r.io), 0, r.err.join(''));
  const printed = /^user pc-ward \(officer\) saved; password (\S+)\n$/.exec(r.out.join(''));
  t.ok(printed, `a generated password, printed once: ${r.out.join('')}`);
  r = capture();
  t.equal(await user(['add', '--config', cfgFile, '--name', 'sgt-khan', '--role', 'supervisor', '--password-stdin'], r.io, stdin('sgt-khan-password-1234\n')), 0, r.err.join(''));
  t.equal(r.out.join(''), 'user sgt-khan (supervisor) saved\n', 'a password from stdin is not printed');

  let stop!: () => void;
  let c!: RunningConsole;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const sr = capture();
  const running = serve(['--config', cfgFile], sr.io, { stop: new Promise<void>((res) => (stop = res)), onReady: (x) => { c = x; onReady(); } });
  await Promise.race([ready, running.then((code) => { throw new Error(`serve ended (${code}) before it was ready: ${sr.err.join('')}`); })]);
  t.match(sr.out.join(''), /"msg":"console ready".*"store":"sqlite"/, 'serve logs where the console is');
  t.match(c.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const officer = new WebClient(c.url);
  t.match((await officer.signIn('pc-ward', printed![1])).body, { user: 'pc-ward', role: 'officer' }, 'the printed password signs in');
  const sup = new WebClient(c.url);
  t.match((await sup.signIn('sgt-khan', 'sgt-khan-password-1234')).body, { role: 'supervisor' });
  const bad = new WebClient(c.url);
  await bad.signIn('pc-ward', 'wrong-password-1');
  await bad.signIn('pc-ward', 'wrong-password-2');
  t.equal((await bad.signIn('pc-ward', printed![1])).status, 423, 'locked after 2 failures');
  r = capture();
  t.equal(await user(['add', '--config', cfgFile, '--name', 'pc-ward', '--role', 'officer', '--password-stdin'], r.io, stdin('a-new-password-5678')), 0);
  t.equal((await bad.signIn('pc-ward', 'a-new-password-5678')).status, 200, 'a reset sets the new password and clears the lock-out');
  t.equal((await bad.signIn('pc-ward', printed![1])).status, 401, 'the old password no longer works');
  stop();
  t.equal(await running, 0, 'serve exits 0 when stopped');
  await t.rejects(fetch(c.url), 'and the page is gone');
});

t.test('user add and serve: user errors', async (t) => {
  const dir = tempDir('lfr-central-cli-');
  generateAuthorityKeys(path.join(dir, 'keys'));
  const cfgFile = path.join(dir, 'central.json');
  writeFileSync(cfgFile, JSON.stringify({ mqtt: { url: 'mqtt://127.0.0.1:1' }, authorityKeyFile: 'keys/authority-ed25519.key' }));
  const cases: [string[], number, RegExp][] = [
    [['central', 'user', 'add', '--config', cfgFile, '--name', 'pc ward', '--role', 'officer'], 2, /--name 'pc ward': 1-64 letters, digits or \. _ @ -/],
    [['central', 'user', 'add', '--config', cfgFile, '--name', 'pc-1', '--role', 'admin'], 2, /--role must be one of officer, supervisor, auditor, not 'admin'/],
    [['central', 'user', 'add', '--config', cfgFile, '--role', 'officer'], 2, /--name/],
    [['central', 'user', 'remove', '--config', cfgFile], 2, /central user add --config FILE --name NAME --role officer\|supervisor\|auditor/],
    [['central', 'user', 'add', '--config', path.join(dir, 'nope.json'), '--name', 'pc-1', '--role', 'officer'], 1, /cannot read the central configuration .*nope\.json/],
    [['central', 'serve'], 2, /--config/],
    [['central', 'serve', '--config', path.join(dir, 'nope.json')], 1, /cannot read the central configuration .*nope\.json/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(args);
    t.equal(r.code, code, `${args.slice(1).join(' ')}: exit ${code}`);
    t.match(r.stderr, message);
  }
  const r = capture();
  await t.rejects(user(['add', '--config', cfgFile, '--name', 'pc-1', '--role', 'officer', '--password-stdin'], r.io, stdin('short\n')), /the password must have at least 12 characters/);
  writeFileSync(path.join(dir, 'loose.json'), JSON.stringify({ mqtt: { url: 'mqtt://127.0.0.1:1' }, authorityKeyFile: 'keys/none.key' }));
  const loose = await runCli(['central', 'serve', '--config', path.join(dir, 'loose.json')]);
  t.equal(loose.code, 1);
  t.match(loose.stderr, /authorityKeyFile: .*none\.key/, 'a missing authority key is named by its config key');
});

t.test('no broker there: serve stops naming the connection error, not only the timeout', async (t) => {
  const dir = tempDir('lfr-central-cli-');
  generateAuthorityKeys(path.join(dir, 'keys'));
  const port = await freePort();
  const cfg = parseCentralConfig({ mqtt: { url: `mqtt://127.0.0.1:${port}`, protocol: '3.1.1', reconnectS: 0.5 }, authorityKeyFile: 'keys/authority-ed25519.key', store: { kind: 'sqlite', file: 'c.sqlite' }, web: { port: 0 } }, 'test', dir);
  await t.rejects(startConsole(cfg, createMemoryLogger('error'), { connectTimeoutS: 2 }), new RegExp(`cannot connect to mqtt://127\\.0\\.0\\.1:${port} within 2 s: connect ECONNREFUSED 127\\.0\\.0\\.1:${port} \\(broker down, or the certificate refused\\?\\)`));
});
