/**
 * `lfr-edge demo --console`: the demo with the officers' console attached, as a newcomer runs it
 * (a child process, as `npm start -- --console` does): one console line, sign in over HTTP, the
 * demo's alert with its crop, Ctrl-C (SIGINT) ends the session and exits cleanly. And central
 * serve against a broker without MQTT 5 configured for 5: a clear error.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { startConsole } from '../../src/central/serve';
import { parseCentralConfig } from '../../src/central/config';
import { startInProcessBroker } from '../../src/demo/broker';
import { createMemoryLogger } from '../../src/log';
import { packageRoot } from '../../src/paths';
import { generateAuthorityKeys } from '../../src/watchlist/keys';
import { runCli } from '../helpers/cli';
import { WebClient } from '../helpers/console';
import { tempDir } from '../helpers/unit';

const CLI = path.join(packageRoot(), 'dist', 'src', 'cli.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('demo --console: one console line, sign in, the demo alert with its crop, Ctrl-C exits cleanly', { timeout: 180_000 }, async (t) => {
  // as a newcomer runs it: no environment overrides (the default providers fall back to the CPU, said
  // in the logs, not on the terminal)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LFR_EDGE__')));
  const child = spawn(process.execPath, [CLI, 'demo', '--console'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const LINE = /^console: (http:\/\/127\.0\.0\.1:(\d+)\/) user (\S+) password (\S+)$/m;
  for (const until = Date.now() + 120_000; !LINE.test(out);) {
    if (child.exitCode !== null) throw new Error(`demo --console exited ${child.exitCode}:\n${out}\n${err}`);
    if (Date.now() > until) throw new Error(`no console line within 120 s:\n${out}\n${err}`);
    await sleep(100);
  }
  const [, url, , user, password] = LINE.exec(out)!;
  t.match(out, /\[1\/5\] broker: in-process MQTT broker \(aedes, MQTT 3\.1\.1 only\)/);
  t.match(out, /\[4\/5\] central serve: .*MQTT 3\.1\.1 with plain subscriptions/, 'says how it works without MQTT 5');
  const workDir = /working in (\S+)/.exec(out)![1];

  const web = new WebClient(url);
  t.equal((await web.signIn(user, 'wrong-password-123')).status, 401, 'the console is a real sign-in');
  const r = await web.signIn(user, password);
  t.equal(r.status, 200, `signed in with the printed account (${r.status})`);
  t.equal(r.body.role, 'officer', 'a throwaway officer account');

  let alert: any;
  for (const until = Date.now() + 90_000; !alert;) {
    if (Date.now() > until) throw new Error(`no alert with a crop in the console within 90 s:\n${out}\n${err}`);
    alert = ((await web.req('GET', '/api/alerts')).body as any[]).find((a) => a.crop && !a.cropProblem);
    if (!alert) await sleep(500);
  }
  t.equal(alert.subjectRef, 'lin-manuel-miranda', 'the person on stage in the demo clip');
  t.equal(alert.unitId, 'demo-unit');
  t.equal(alert.photo, '/api/photos/lin-manuel-miranda', 'beside the enrolment photo');
  const crop = await web.req('GET', `/api/alerts/${encodeURIComponent(alert.alertId)}/crop`);
  t.equal(crop.status, 200);
  t.equal(crop.headers.get('content-type'), 'image/jpeg');
  t.same([...crop.body.subarray(0, 2)], [0xff, 0xd8], 'a JPEG, opened with the central key');
  t.equal((await web.req('GET', alert.photo)).status, 200);
  const adj = await web.req('POST', `/api/alerts/${encodeURIComponent(alert.alertId)}/adjudicate`, { verdict: 'confirmed' });
  t.equal(adj.status, 200, `the officer confirms it (${JSON.stringify(adj.body.error ?? adj.body.verdict)})`);

  child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
  t.equal(code, 0, 'clean exit after Ctrl-C');
  if (code !== 0) t.comment(`${out}\n${err}`);
  t.equal(out.split('\n').filter((l) => l.startsWith('console:')).length, 1, 'exactly one console line');
  t.match(out, /session ended: [1-9]\d* alert\(s\) \([1-9]\d* confirmed, \d+ false\), \d+ faces processed; record in the console, signature valid; wipe ok/);
  t.notOk(existsSync(workDir), 'the working directory is removed');
  await t.rejects(fetch(url), 'the console is gone');
  t.equal(err, '', 'nothing on stderr (the provider fallback of watchlist build used to print a JSON warning there)');
});

t.test('demo usage errors', async (t) => {
  let r = await runCli(['demo', '--console', '--seconds', '5']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--console runs until Ctrl-C: --seconds does not apply/);
  r = await runCli(['demo', '--port', '8080']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--port goes with --console/);
  r = await runCli(['demo', '--console', '--port', 'x']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--port must be a port number 0-65535, got x/);
});

t.test('central serve set for MQTT 5 on a broker without it: a clear error, not a timeout', async (t) => {
  const broker = await startInProcessBroker();
  t.teardown(() => broker.close());
  const dir = tempDir('lfr-mqtt5-');
  generateAuthorityKeys(dir);
  const cfg = parseCentralConfig({ mqtt: { url: broker.url }, authorityKeyFile: 'authority-ed25519.key', store: { kind: 'sqlite', file: 'c.sqlite' }, auditFile: 'a.jsonl', web: { port: 0 } }, 'test', dir);
  const started = Date.now();
  await t.rejects(startConsole(cfg, createMemoryLogger('warn'), { connectTimeoutS: 20 }), /refused MQTT 5 \(CONNACK code \d+\): this broker speaks only MQTT 3\.1\.1, which has no shared subscriptions; set mqtt\.protocol "3\.1\.1"/);
  t.ok(Date.now() - started < 10_000, 'at once');
});
