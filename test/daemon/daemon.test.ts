/**
 * The daemon as systemd runs it: a child process (`lfr-edge run`) against a real Mosquitto with
 * mutual TLS and a file camera. Health and status appear; a session started over MQTT with a
 * real signed bundle yields alerts; an officer adjudicates one; `central send end-session` gives
 * the signed record (right counts, successful wipe, nothing left in the runtime directory); a
 * second session is ended by SIGTERM, which wipes it and sends its record before the exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { connectCentral } from '../../src/central/client';
import { sendCommand } from '../../src/central/send';
import { verifyRecord } from '../../src/comms/record-signature';
import { packageRoot } from '../../src/paths';
import { loadPrivateKey, loadPublicKey } from '../../src/watchlist/keys';
import { needsSharedData, sharedData } from '../helpers/data';
import { collect, mosquittoAvailable, MosquittoBroker, waitFor } from '../helpers/mosquitto';
import { tempDir } from '../helpers/unit';
import { cli, lfr, makeUnitKeys, unitBrokerConfig } from '../helpers/daemon-unit';
import { biometricsInLog } from '../helpers/log-guard';

const root = packageRoot();
const node = process.execPath;

const skip = mosquittoAvailable() ?? needsSharedData('video').skip;

t.test('daemon: health, a full session over MQTT (alerts, adjudication, end-session record), SIGTERM record and wipe', { skip, timeout: 240_000 }, async (t) => {
  const dir = tempDir('lfr-daemon-');
  const unitKeys = makeUnitKeys(dir);
  const { keys, authority } = unitKeys;
  const photos = path.join(dir, 'photos');
  spawnSync('mkdir', ['-p', photos]);
  for (const who of ['lin-manuel-miranda', 'barack-obama']) spawnSync('cp', ['-r', sharedData('people', who), photos]);
  const bundle = path.join(dir, 'watchlist.lfwl');
  lfr(['watchlist', 'build', '--photos', photos, '--unit-pub', path.join(keys, 'unit-x25519.pub'), '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', 'van-1', '--category', 'wanted']);

  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.stop());
  const centralCert = broker.clientCert('central');
  const config = {
    ...unitBrokerConfig({ unitId: 'van-1', dir, keys: unitKeys, broker }),
    camera: { template: 'file', settings: { location: sharedData('video', 'hamilton-clip.mp4'), realtime: true } },
    vision: { providers: ['cpu'] },
    logging: { level: 'info' },
  };
  const cfgFile = path.join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify(config));
  lfr(['config', 'validate', cfgFile]);

  const central = await connectCentral({ broker: broker.url, ca: broker.caFile, cert: centralCert.cert, key: centralCert.key });
  t.teardown(() => central.end(true));
  const seen = collect(central);
  await central.subscribeAsync('lfr/v1/van-1/#', { qos: 1 });

  const child = spawn(node, [cli, 'run', '--config', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const of = (kind: string) => seen.filter((m) => m.topic === `lfr/v1/van-1/${kind}`).map((m) => m.json);
  await waitFor(() => of('status').some((s) => s.state === 'online'), 30_000, 'status online');
  await waitFor(() => of('health').some((h) => h.camera?.state === 'streaming'), 40_000, 'health with the camera streaming');
  const h = of('health').at(-1);
  t.equal(h.provider, 'cpu', 'health reports the provider in use');
  t.equal(h.session.state, 'idle');
  t.ok(h.memory.processRssBytes > 0 && h.cpu.cores > 0, 'machine figures present');
  const faces = of('health').map((m) => m.faces).filter(Boolean);
  t.ok(faces.length > 0 && faces.every((f: { detected: number; embedded: number; notEmbedded: number; notEmbeddedBy: Record<string, number> }) =>
    f.notEmbedded === f.detected - f.embedded && f.notEmbedded === f.notEmbeddedBy.budget + f.notEmbeddedBy.rate + f.notEmbeddedBy.quality),
  'health counts the faces not embedded, by reason');
  // the first messages after streaming may precede the first face on a loaded machine: wait for one
  await waitFor(() => of('health').some((m) => (m.faces?.detected ?? 0) > 0), 60_000, 'a health message with faces detected on the clip');
  t.pass('faces detected on the clip');
  t.ok(of('session').some((s) => s.state === 'idle'), 'session state published');

  const authKey = loadPrivateKey(path.join(authority, 'authority-ed25519.key'), ['ed25519']);
  const start = await sendCommand(central, { type: 'start-session', unitId: 'van-1', body: { bundle: readFileSync(bundle).toString('base64') } }, authKey, 30);
  t.equal(start.outcome.kind, 'result');
  if (start.outcome.kind !== 'result') return;
  t.equal(start.outcome.result.accepted, true, `start-session accepted: ${JSON.stringify(start.outcome.result)}`);
  await waitFor(() => of('session').some((s) => s.state === 'active'), 10_000, 'session active');
  const active = of('session').find((s) => s.state === 'active');
  t.equal(active.watchlistSize, 2);
  t.ok(active.threshold > 0.3 && active.threshold < 0.7, `threshold ${active.threshold} from the calibration`);

  // The file camera loops the clip (EOS restarts it): Lin-Manuel Miranda is on stage in it.
  await waitFor(() => of('alert').length > 0, 90_000, 'an alert');
  const alert = of('alert')[0];
  t.match(alert, { v: 1, unitId: 'van-1', sessionId: active.sessionId, category: 'wanted' });
  t.ok(['lin-manuel-miranda', 'barack-obama'].includes(alert.subjectRef), `alert for ${alert.subjectRef}`);
  t.ok(alert.score >= alert.threshold && alert.evidenceFrames >= 3, 'track-level evidence above the threshold');
  // The shipped calibration has quality bands: the session lists them, the alert names its band and that band's threshold.
  const bands = (active.calibration?.bands ?? []) as { name: string; threshold: number }[];
  t.ok(bands.length > 0, `the session states the quality bands (${bands.map((b) => b.name).join(', ')})`);
  const band = bands.find((b) => b.name === alert.band);
  t.ok(band, `the alert names a band of the session (${alert.band}, ${alert.quality.interOcularPx} px)`);
  t.ok(band && Math.abs(alert.threshold - band.threshold) < 1e-4, `the alert's threshold ${alert.threshold} is its band's (${band?.threshold})`);
  t.notOk('crop' in alert, 'no crop unless mqtt.alertCrops');

  const adj = await sendCommand(central, { type: 'adjudicate', unitId: 'van-1', body: { alertId: alert.alertId, verdict: 'confirmed' } }, authKey, 15);
  t.ok(adj.outcome.kind === 'result' && adj.outcome.result.accepted, 'adjudication accepted');

  // end-session through the central CLI, as an operator would: the record with the right counts.
  const end = spawnSync(node, [cli, 'central', 'send', 'end-session', '--unit', 'van-1', '--authority-key', path.join(authority, 'authority-ed25519.key'),
    '--broker', broker.url, '--ca', broker.caFile, '--cert', centralCert.cert, '--key', centralCert.key, '--timeout', '20'], { encoding: 'utf8' });
  t.equal(end.status, 0, `central send end-session: ${end.stdout}${end.stderr}`);
  await waitFor(() => of('record').length > 0, 10_000, 'the deployment record');
  const rec = of('record')[0];
  const alertsSent = new Set(of('alert').map((a) => a.alertId)).size;
  t.equal(rec.endedBy, 'command');
  t.equal(rec.sessionId, active.sessionId);
  t.equal(rec.alerts, alertsSent, 'record counts every alert');
  t.equal(rec.confirmed, 1);
  t.equal(rec.falseAlerts, 0);
  t.equal(rec.unadjudicated, alertsSent - 1);
  t.equal(rec.watchlistSize, 2);
  t.equal(rec.threshold, active.threshold, 'record states the threshold used');
  t.equal(rec.targetFalseAlertRate, 1e-3, 'and the rate it was calibrated for');
  t.ok(rec.facesProcessed >= rec.alerts && rec.tracks > 0, 'faces and tracks counted');
  t.equal(rec.wipe.ok, true, 'wipe ok');
  t.ok(verifyRecord(rec, loadPublicKey(path.join(keys, 'unit-ed25519.pub'), ['ed25519'])), 'record signed by the unit');
  t.same(readdirSync(config.paths.runtimeDir), [], 'nothing left in the runtime directory after end-session');

  // A second session, ended by SIGTERM: the daemon wipes it and sends its record before exiting.
  const bundle2 = path.join(dir, 'watchlist2.lfwl');
  lfr(['watchlist', 'build', '--photos', photos, '--unit-pub', path.join(keys, 'unit-x25519.pub'), '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle2, '--unit-id', 'van-1']);
  const start2 = await sendCommand(central, { type: 'start-session', unitId: 'van-1', body: { bundle: readFileSync(bundle2).toString('base64') } }, authKey, 30);
  t.ok(start2.outcome.kind === 'result' && start2.outcome.result.accepted, 'second session accepted');
  await waitFor(() => of('session').filter((s) => s.state === 'active').length >= 2, 10_000, 'second session active');
  child.kill('SIGTERM');
  const code = await exited;
  t.equal(code, 0, 'clean exit on SIGTERM');
  await waitFor(() => of('record').length > 1, 10_000, 'the second record');
  const rec2 = of('record')[1];
  t.equal(rec2.endedBy, 'sigterm');
  t.equal(rec2.wipe.ok, true, 'SIGTERM wiped the session');
  await waitFor(() => of('status').some((s) => s.state === 'offline'), 5_000, 'status offline');
  t.same(readdirSync(config.paths.runtimeDir), [], 'nothing left in the runtime directory');
  const log = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  t.ok(log.some((l) => l.msg === 'daemon ready'), 'READY logged');
  t.same(biometricsInLog(out), [], 'nothing biometric in the logs (the guard is proved able to fail in test/log.test.ts)');
});
