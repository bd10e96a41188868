/**
 * Issue 11 item 1: the vision worker dies under a running daemon (in this process, so that the
 * test can end the worker thread; between two requests, never inside an ONNX Runtime run: see
 * VisionWorker.terminateBetweenRequests). Real file camera (the Hamilton clip, looped), real
 * models, a real Mosquitto with mutual TLS and a real signed watchlist.
 *  1. mid-session: health shows vision restarting, then running again (restart counted), frames
 *     failed meanwhile are counted as failed, alerts resume, and every alert raised reaches
 *     central (0 lost).
 *  2. it keeps failing (a model file gone, so every restart fails verification): every frame
 *     fails, the systemd watchdog (a real notify socket) is withheld after daemon.loopStuckS and
 *     health says why; the file restored, vision recovers and the pings resume.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { connectCentral } from '../../src/central/client';
import { sendCommand } from '../../src/central/send';
import { ConfigSchema } from '../../src/config/schema';
import { Daemon } from '../../src/daemon/daemon';
import { createSystemdNotifier } from '../../src/daemon/sd-notify';
import { createMemoryLogger } from '../../src/log';
import { packageRoot } from '../../src/paths';
import { loadPrivateKey } from '../../src/watchlist/keys';
import { needsSharedData, sharedData } from '../helpers/data';
import { collect, mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';
import { cli, lfr, makeUnitKeys, unitBrokerConfig } from '../helpers/daemon-unit';

const root = packageRoot();
// the first reason found, or false (needsSharedData gives false, not undefined, when the data is there)
const skip = mosquittoAvailable() || needsSharedData('video').skip || needsSharedData('people').skip;

interface Health {
  at: string;
  camera: { state: string; fpsIn: number; fpsProcessed: number; fpsFailed: number; framesFailed: number; lastFrameError: string | null } | null;
  components: { name: string; state: string; reason: string | null; restarts: number }[];
  watchdog: { enabled: boolean; withheld: boolean; reason: string | null };
}
const part = (h: Health, name: string) => h.components.find((c) => c.name === name);

async function unit(t: { teardown: (fn: () => unknown) => void }, over: { daemon?: object; models?: object; vision?: object; decision?: object } = {}) {
  const dir = tempDir('lfr-vrestart-');
  const unitKeys = makeUnitKeys(dir);
  const { keys, authority } = unitKeys;
  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.stop());
  const centralCert = broker.clientCert('central');
  const cfg = ConfigSchema.parse({
    ...unitBrokerConfig({ unitId: 'van-9', dir, keys: unitKeys, broker, healthIntervalS: 0.5 }),
    camera: { template: 'file', settings: { location: sharedData('video', 'hamilton-clip.mp4'), realtime: true } },
    vision: { providers: ['cpu'], restartBackoff: { initialSeconds: 1, maxSeconds: 2 }, ...over.vision },
    recognition: { decision: { ...over.decision } },
    daemon: { ...over.daemon },
    models: { ...over.models },
    logging: { level: 'info' },
  });
  const central = await connectCentral({ broker: broker.url, ca: broker.caFile, cert: centralCert.cert, key: centralCert.key });
  t.teardown(() => central.end(true));
  const seen = collect(central);
  const arrived = new Map<string, number>();
  central.on('message', (topic, payload) => {
    if (topic === 'lfr/v1/van-9/alert') arrived.set(JSON.parse(payload.toString()).alertId, Date.now());
  });
  await central.subscribeAsync('lfr/v1/van-9/#', { qos: 1 });
  const of = (kind: string) => seen.filter((m) => m.topic === `lfr/v1/van-9/${kind}`).map((m) => m.json);
  const health = () => of('health') as Health[];
  return { dir, keys, authority, broker, cfg, central, of, health, arrived };
}

t.test('the worker dies mid-session: vision restarting, then running; alerts resume, none lost', { skip, timeout: 300_000 }, async (t) => {
  const u = await unit(t, { decision: { cooldownSeconds: 2 } });
  const photos = path.join(u.dir, 'photos');
  mkdirSync(photos);
  cpSync(sharedData('people', 'lin-manuel-miranda'), path.join(photos, 'lin-manuel-miranda'), { recursive: true });
  const bundle = path.join(u.dir, 'watchlist.lfwl');
  lfr(['watchlist', 'build', '--photos', photos, '--unit-pub', path.join(u.keys, 'unit-x25519.pub'), '--authority-key', path.join(u.authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', 'van-9']);

  const logger = createMemoryLogger('info');
  const daemon = new Daemon({ config: u.cfg, logger, version: '0.1.0-test' });
  t.teardown(() => daemon.stop('shutdown'));
  await daemon.start();
  await waitFor(() => u.health().some((h) => h.camera?.state === 'streaming' && part(h, 'vision')?.state === 'running'), 60_000, 'health: camera streaming, vision running');
  t.match(part(u.health().at(-1)!, 'vision'), { state: 'running', reason: null, restarts: 0 }, 'health carries the vision state');
  t.match(part(u.health().at(-1)!, 'camera'), { state: 'running' }, 'and the camera state');

  const authKey = loadPrivateKey(path.join(u.authority, 'authority-ed25519.key'), ['ed25519']);
  const start = await sendCommand(u.central, { type: 'start-session', unitId: 'van-9', body: { bundle: readFileSync(bundle).toString('base64') } }, authKey, 30);
  t.ok(start.outcome.kind === 'result' && start.outcome.result.accepted, 'session started');
  await waitFor(() => u.of('alert').length > 0, 120_000, 'a first alert');

  const killedAt = Date.now();
  const old = daemon.recognition.vision!.current()!;
  await old.terminateBetweenRequests();
  await waitFor(() => u.health().some((h) => Date.parse(h.at) >= killedAt - 100 && part(h, 'vision')?.state === 'restarting'), 20_000, 'health: vision restarting');
  const restarting = u.health().find((h) => Date.parse(h.at) >= killedAt - 100 && part(h, 'vision')?.state === 'restarting')!;
  t.match(part(restarting, 'vision'), { state: 'restarting', reason: 'vision worker exited unexpectedly (code 1)', restarts: 1 }, 'health: restarting, with the reason and the count');
  await waitFor(() => part(u.health().at(-1)!, 'vision')?.state === 'running' && part(u.health().at(-1)!, 'vision')?.restarts === 1, 60_000, 'health: vision running again');
  const restartMs = daemon.recognition.vision!.state().lastRestartMs!;
  t.ok(restartMs > 0 && restartMs < 30_000, `worker restart took ${restartMs} ms (backoff 1 s + models verified + sessions opened)`);
  t.comment(`vision worker restart: ${restartMs} ms`);
  const backAt = Date.now();
  const alertsBefore = u.of('alert').length;
  await waitFor(() => [...u.arrived.values()].some((at) => at > backAt), 120_000, 'an alert after the restart');
  t.pass(`alerts resumed (${alertsBefore} before the restart, more after)`);

  const afterHealth = u.health().at(-1)!;
  t.ok(afterHealth.camera!.framesFailed > 0, `frames failed while vision was down are counted as failed (${afterHealth.camera!.framesFailed})`);
  t.ok(u.health().some((h) => Date.parse(h.at) >= killedAt && (h.camera?.fpsFailed ?? 0) > 0), 'and health showed them as fpsFailed');
  t.notOk(u.health().some((h) => h.watchdog.withheld), 'a restart within daemon.loopStuckS does not withhold the watchdog');

  const end = await sendCommand(u.central, { type: 'end-session', unitId: 'van-9', body: {} }, authKey, 30);
  t.ok(end.outcome.kind === 'result' && end.outcome.result.accepted, 'session ended');
  await waitFor(() => u.of('record').length > 0, 20_000, 'the record');
  const rec = u.of('record')[0];
  const raised = logger.lines.filter((l) => l.msg === 'alert raised').length;
  await waitFor(() => u.arrived.size >= raised, 20_000, 'every raised alert at central');
  t.equal(rec.alerts, raised, 'the record counts every alert raised');
  t.equal(u.arrived.size, raised, `0 alerts lost: ${raised} raised, ${u.arrived.size} received`);
  t.comment(`alerts raised ${raised}, received ${u.arrived.size}, lost ${raised - u.arrived.size}`);
  t.notOk(logger.lines.some((l) => l.msg === 'alert could not be handed to the outbox'), 'no alert failed to reach the outbox');
});

t.test('the worker keeps failing: every frame fails, the watchdog is withheld and health says why; fixed, it resumes', { skip, timeout: 300_000 }, async (t) => {
  const dir = tempDir('lfr-vmodels-');
  cpSync(path.join(root, 'models'), dir, { recursive: true });
  const u = await unit(t, { daemon: { loopStuckS: 3 }, models: { dir, manifest: path.join(dir, 'manifest.json') } });

  // systemd's notify socket, as in test/daemon/sd-notify.test.ts: python3 records each datagram with its time
  const sock = path.join(u.dir, 'notify');
  const py = spawn('python3', ['-c', `
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(repr((time.time(), s.recv(4096).decode())), flush=True)
`, sock]);
  t.teardown(() => { py.kill(); });
  let out = '';
  py.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('bound') && existsSync(sock), 10_000, 'the notify socket');
  process.env.NOTIFY_SOCKET = sock; // libsystemd reads it from the process environment
  t.teardown(() => { delete process.env.NOTIFY_SOCKET; });
  const pings = () => out.split('\n').filter((l) => l.includes("'WATCHDOG=1'")).map((l) => Number(/^\(([0-9.]+),/.exec(l)![1]) * 1000);

  const logger = createMemoryLogger('info');
  const daemon = new Daemon({ config: u.cfg, logger, version: '0.1.0-test', notifier: createSystemdNotifier({ NOTIFY_SOCKET: sock, WATCHDOG_USEC: '2000000' }) });
  t.teardown(() => daemon.stop('shutdown'));
  await daemon.start();
  await waitFor(() => pings().length >= 2, 20_000, 'watchdog pings');
  t.ok(out.includes('READY=1'), 'READY sent');
  t.match(u.health().at(-1)!.watchdog, { enabled: true, withheld: false, reason: null });

  const detector = path.join(dir, 'fr_detect.onnx');
  renameSync(detector, `${detector}.away`);
  await daemon.recognition.vision!.current()!.terminateBetweenRequests();
  await waitFor(() => u.health().some((h) => h.watchdog.withheld), 30_000, 'health: watchdog withheld');
  const withheldAt = Date.now();
  const h = u.health().find((x) => x.watchdog.withheld)!;
  t.match(h.watchdog, { enabled: true, withheld: true, reason: /^every frame failed for [0-9]+ s \([0-9]+ frames\)$/ }, 'health says the watchdog is withheld, and why');
  t.match(part(h, 'vision'), { state: 'failed', reason: /^detector model ultraface-320: .*fr_detect\.onnx is missing/ }, 'vision failed, naming the model file');
  t.equal(h.camera!.fpsProcessed, 0, 'nothing processed');
  t.ok(h.camera!.fpsFailed > 0, `every frame failed (${h.camera!.fpsFailed} fps failed)`);
  t.match(h.camera!.lastFrameError, /^vision worker failed: detector model ultraface-320/);
  t.ok(logger.lines.some((l) => l.level === 'error' && /^recognition stuck: every frame failed/.test(String(l.msg))), 'logged once as an error');
  // no ping for a good while after it was withheld (pings were every second before)
  await new Promise((r) => setTimeout(r, 4000));
  const lastBefore = Math.max(...pings().filter((p) => p < withheldAt + 4000));
  t.ok(pings().every((p) => p < withheldAt - 500 || p > withheldAt + 4000) && lastBefore < withheldAt, `no WATCHDOG=1 while withheld (last ping ${Math.round(withheldAt - lastBefore)} ms before)`);
  const errorLines = logger.lines.filter((l) => l.level === 'error').length;
  t.ok(errorLines < 40, `the log is not flooded (${errorLines} error lines while every frame failed)`);

  renameSync(`${detector}.away`, detector);
  await waitFor(() => { const x = u.health().at(-1)!; return !x.watchdog.withheld && part(x, 'vision')?.state === 'running'; }, 60_000, 'vision running and the watchdog no longer withheld');
  const fixedAt = Date.now();
  await waitFor(() => pings().some((p) => p > fixedAt), 10_000, 'pings resume');
  t.pass('the watchdog pings resume once frames go through');
});
