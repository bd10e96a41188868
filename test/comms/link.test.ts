import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { collect, connectClient, mosquittoAvailable, MosquittoBroker, sleep, waitFor } from '../helpers/mosquitto';
import { ed25519Pair, linkConfig, makeLink, tempDir } from '../helpers/unit';
import { testAlert } from '../helpers/alerts';
import { verifyRecord } from '../../src/comms/record-signature';
import type { DeploymentRecord, HealthMessage } from '../../src/comms/messages';
import { MqttConfigSchema } from '../../src/comms/config';
import { reconnectDelayMs, UnitLink } from '../../src/comms/link';
import { createMemoryLogger } from '../../src/log';

const skip = mosquittoAvailable();
/** Outage length for the broker-down test: the 30 s (LFR_OUTAGE_S=6 for a quicker local run). */
const OUTAGE_S = Number(process.env.LFR_OUTAGE_S ?? 30);

function health(unitId: string): HealthMessage {
  return {
    v: 1, unitId, version: '0.1.0-test', at: new Date().toISOString(), uptimeS: 1, camera: null, latencyMs: {}, provider: 'cpu', providerReason: null,
    cpu: { load1: 0.1, load5: 0.1, cores: 2, usagePercent: null }, memory: { totalBytes: 1, availableBytes: 1, usedPercent: 0, processRssBytes: 1 },
    disk: null, temperaturesC: {}, gpu: null, outbox: { depth: 0, dropped: 0 }, session: { state: 'idle', sessionId: null }, mqtt: { reconnects: 0 }, clock: null,
  };
}

function record(unitId: string): DeploymentRecord {
  return {
    v: 1, sessionId: 'sess-9', unitId, bundleId: 'b-1', startedAt: '2025-01-01T10:00:00.000Z', endedAt: '2025-01-01T11:00:00.000Z', endedBy: 'command',
    watchlistSize: 12, threshold: 0.41, targetFalseAlertRate: 0.001, facesProcessed: 420, tracks: 37, alerts: 2, confirmed: 1, falseAlerts: 1, unadjudicated: 0,
    wipe: { ok: true, filesRemoved: ['/run/lfr-edge/session.sqlite'], leftovers: [], keyZeroed: true, at: '2025-01-01T11:00:00.100Z' },
  };
}

function spawnChild(args: object): { child: ChildProcess; lines: string[] } {
  const tsImport = process.execArgv.find((a) => a.includes('@tapjs/typescript'));
  const child = spawn(process.execPath, [...(tsImport ? [tsImport] : []), path.join(__dirname, '../helpers/link-child.ts'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  child.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code) => code && lines.push(`exit ${code}: ${err}`));
  return { child, lines };
}

t.test('reconnect policy: exponential, jittered, never above a cap of a few seconds', async (t) => {
  const d = MqttConfigSchema.parse({});
  t.ok(d.reconnectMaxS <= 5, `default cap ${d.reconnectMaxS} s (an alerting unit must be back within seconds of the broker)`);
  for (let attempt = 0; attempt < 40; attempt++) {
    for (const r of [0, 0.5, 0.999, 1]) {
      const ms = reconnectDelayMs(attempt, d, () => r);
      t.ok(ms <= d.reconnectMaxS * 1000 && ms >= (d.reconnectMinS * 1000) / 2, `attempt ${attempt}, jitter ${r}: ${ms} ms`);
    }
  }
  t.equal(reconnectDelayMs(0, { reconnectMinS: 1, reconnectMaxS: 5 }, () => 0), 500, 'half the first delay at the lowest draw');
  t.equal(reconnectDelayMs(2, { reconnectMinS: 1, reconnectMaxS: 5 }, () => 1), 4000, 'doubled per attempt');
  t.equal(reconnectDelayMs(9, { reconnectMinS: 1, reconnectMaxS: 5 }, () => 1), 5000, 'capped');
  t.ok(reconnectDelayMs(9, { reconnectMinS: 1, reconnectMaxS: 5 }, () => 0) >= 2500, 'jitter spreads within [cap/2, cap]');
  t.throws(() => MqttConfigSchema.parse({ reconnectMaxS: 60 }), /reconnectMaxS may not exceed 30 s/, 'a long cap is refused with the reason');
});

t.test('unit link against a real Mosquitto with mutual TLS', { skip }, async (t) => {
  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const keys = ed25519Pair(tempDir(), 'unit');

  t.test('alerts arrive with their fields; status, session and health are retained; records are signed', async (t) => {
    const unitId = 'van-1';
    const central = await connectClient(broker, 'central');
    t.teardown(() => { central.end(true); });
    const got = collect(central);
    await central.subscribeAsync(`lfr/v1/${unitId}/#`, { qos: 1 });
    const { link } = makeLink(broker, unitId, tempDir(), keys.privateKey);
    await link.start();
    t.teardown(() => link.stop());
    t.ok(await link.waitConnected(5000), 'connected');
    link.publishAlert(testAlert(unitId, 'a-1', 1));
    link.publishHealth(health(unitId));
    link.publishSession({ v: 1, unitId, sessionId: 'sess-9', state: 'active', startedAt: '2025-01-01T10:00:00.000Z', watchlistSize: 12, threshold: 0.41, targetFalseAlertRate: 0.001, at: new Date().toISOString() });
    link.publishRecord(record(unitId));
    await waitFor(() => got.some((m) => m.topic.endsWith('/record')), 5000, 'the record');
    const alert = got.find((m) => m.topic === `lfr/v1/${unitId}/alert`);
    t.match(alert?.json, { v: 1, alertId: 'a-1', unitId, sessionId: 'sess-1', subjectRef: 'S-1', category: 'wanted', score: 0.61, threshold: 0.42, trackId: 1, evidenceFrames: 3, quality: { interOcularPx: 62, sharpness: 240, detScore: 0.99 } });
    t.equal(alert?.json.crop, undefined, 'no crop when mqtt.alertCrops is off');
    const rec = got.find((m) => m.topic.endsWith('/record'))!.json;
    t.ok(verifyRecord(rec, keys.publicKey), 'the record verifies against the unit public key');
    t.notOk(verifyRecord({ ...rec, alerts: 3 }, keys.publicKey), 'a changed record does not verify');
    await waitFor(() => link.outboxDepth() === 0, 3000, 'the outbox to empty on PUBACKs');

    // a late subscriber sees the retained ones
    const late = await connectClient(broker, 'central');
    t.teardown(() => { late.end(true); });
    const lateGot = collect(late);
    await late.subscribeAsync(`lfr/v1/${unitId}/#`, { qos: 1 });
    await waitFor(() => lateGot.length >= 3, 3000, 'retained messages');
    const kinds = lateGot.filter((m) => m.retain).map((m) => m.topic.split('/').pop()).sort();
    t.same(kinds, ['health', 'session', 'status']);
    t.match(lateGot.find((m) => m.topic.endsWith('/status'))!.json, { v: 1, state: 'online', unitId, version: '0.1.0-test' });
    t.notOk(lateGot.some((m) => m.topic.endsWith('/alert')), 'alerts are not retained');

    await link.stop();
    await waitFor(() => lateGot.some((m) => m.topic.endsWith('/status') && m.json.state === 'offline'), 3000, 'offline on stop');
    t.match(lateGot.filter((m) => m.topic.endsWith('/status')).pop()!.json, { state: 'offline', reason: 'shutdown' });
  });

  t.test('alert crops are sent when configured', async (t) => {
    const unitId = 'van-crop';
    const central = await connectClient(broker, 'central');
    t.teardown(() => { central.end(true); });
    const got = collect(central);
    await central.subscribeAsync(`lfr/v1/${unitId}/alert`, { qos: 1 });
    const { link } = makeLink(broker, unitId, tempDir(), keys.privateKey, { alertCrops: true });
    await link.start();
    t.teardown(() => link.stop());
    link.publishAlert(testAlert(unitId, 'c-1', 1, true));
    await waitFor(() => got.length === 1, 5000, 'the alert');
    t.equal(Buffer.from(got[0].json.crop.sealed.ct, 'base64').toString(), 'jpeg-bytes-1', 'the (sealed) crop travels as given');
  });

  t.test('the Last Will (retained offline) fires when the process holding the connection is killed -9', async (t) => {
    const unitId = 'van-lwt';
    const { child, lines } = spawnChild({ config: linkConfig(broker, unitId), unitId, stateDir: tempDir(), keyFile: keys.privateFile, alerts: 0, alertPrefix: 'x' });
    t.teardown(() => { child.kill('SIGKILL'); });
    await waitFor(() => lines.includes('connected') || lines.some((l) => l.startsWith('exit')), 20_000, 'the child to connect');
    t.ok(lines.includes('connected'), lines.join('\n'));
    const central = await connectClient(broker, 'central');
    t.teardown(() => { central.end(true); });
    const got = collect(central);
    await central.subscribeAsync(`lfr/v1/${unitId}/status`, { qos: 1 });
    await waitFor(() => got.length > 0, 3000, 'retained online');
    t.equal(got[0].json.state, 'online');
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await waitFor(() => got.some((m) => m.json.state === 'offline'), 10_000, 'the Last Will');
    t.comment(`Last Will arrived ${Date.now() - killedAt} ms after kill -9`);
    const will = got.find((m) => m.json.state === 'offline')!.json;
    t.match(will, { v: 1, state: 'offline', unitId });
    t.equal(will.reason, undefined, 'the will has no shutdown reason');
    const late = await connectClient(broker, 'central');
    t.teardown(() => { late.end(true); });
    const lateGot = collect(late);
    await late.subscribeAsync(`lfr/v1/${unitId}/status`, { qos: 1 });
    await waitFor(() => lateGot.length > 0, 3000, 'retained offline');
    t.match(lateGot[0], { retain: true, json: { state: 'offline' } }, 'offline is retained');
  });

  t.test(`broker stopped for ${OUTAGE_S} s while alerts are raised: every alert arrives, in order`, async (t) => {
    const unitId = 'van-outage';
    // the central side holds a persistent session, kept by the broker across its restart
    const centralOpts = { clean: false, clientId: 'central-outage', properties: { sessionExpiryInterval: 3600 } };
    const central = await connectClient(broker, 'central', centralOpts);
    const got = collect(central);
    await central.subscribeAsync(`lfr/v1/${unitId}/alert`, { qos: 1 });
    // The shipped reconnect policy (schema defaults), with the worst-case jitter (every delay the longest it can be).
    const defaults = MqttConfigSchema.parse({});
    const logger = createMemoryLogger('debug');
    const link = new UnitLink({
      config: linkConfig(broker, unitId, { reconnectMinS: defaults.reconnectMinS, reconnectMaxS: defaults.reconnectMaxS }),
      unitId, version: '0.1.0-test', unitEd25519Private: keys.privateKey, stateDir: tempDir(), logger, random: () => 1,
    });
    const capMs = defaults.reconnectMaxS * 1000;
    await link.start();
    t.teardown(() => link.stop());
    t.ok(await link.waitConnected(5000));
    let n = 0;
    for (; n < 5; n++) link.publishAlert(testAlert(unitId, `o-${n}`, n));
    const t0 = Date.now();
    await broker.stop();
    central.end(true);
    const raiseUntil = t0 + OUTAGE_S * 1000;
    while (Date.now() < raiseUntil) {
      link.publishAlert(testAlert(unitId, `o-${n}`, n));
      n++;
      await sleep(100);
    }
    const depthDuringOutage = link.outboxDepth();
    t.ok(depthDuringOutage > 0, `alerts wait in the outbox (${depthDuringOutage})`);
    t.notOk(link.connected, 'the link knows it is down');
    await broker.start();
    const restartedAt = Date.now();
    const central2 = await connectClient(broker, 'central', centralOpts);
    t.teardown(() => { central2.end(true); });
    const got2 = collect(central2);
    t.ok(await link.waitConnected(capMs + 10_000), 'reconnected');
    const reconnectMs = Date.now() - restartedAt;
    const delays = logger.lines.filter((l) => l.msg === 'mqtt reconnect scheduled').map((l) => l.delayMs as number);
    t.ok(delays.length >= 3, `the link kept trying during the outage (${delays.length} attempts)`);
    t.ok(Math.max(...delays) <= capMs, `no reconnect delay above the ${capMs} ms cap (longest ${Math.max(...delays)} ms)`);
    t.ok(reconnectMs <= capMs + 2000, `reconnected ${reconnectMs} ms after the broker returned: within the cap (${capMs} ms) and the TLS handshake`);
    await waitFor(() => link.outboxDepth() === 0, 10_000, 'the outbox to drain');
    const drainedMs = Date.now() - restartedAt;
    const expected = Array.from({ length: n }, (_, i) => `o-${i}`);
    await waitFor(() => new Set([...got, ...got2].map((m) => m.json.alertId)).size === n, 10_000, `all ${n} alerts at the central side`);
    const ids = [...got, ...got2].map((m) => m.json.alertId as string);
    const firstSeen = ids.filter((id, i) => ids.indexOf(id) === i);
    t.same(firstSeen, expected, 'every alert arrived, in the order raised');
    t.comment(`outage ${OUTAGE_S} s, ${n} alerts raised (${depthDuringOutage} in the outbox at restart); reconnected ${reconnectMs} ms after the broker restart; outbox drained ${drainedMs} ms after; ${ids.length - n} duplicates`);
  });

  t.test('unit killed -9 with alerts in its outbox, then restarted: every alert arrives', async (t) => {
    const unitId = 'van-restart';
    const stateDir = tempDir();
    const centralOpts = { clean: false, clientId: 'central-restart', properties: { sessionExpiryInterval: 3600 } };
    const central = await connectClient(broker, 'central', centralOpts);
    const got = collect(central);
    await central.subscribeAsync(`lfr/v1/${unitId}/alert`, { qos: 1 });
    await broker.stop();
    central.end(true);
    const { child, lines } = spawnChild({ config: linkConfig(broker, unitId), unitId, stateDir, keyFile: keys.privateFile, alerts: 20, alertPrefix: 'r' });
    await waitFor(() => lines.includes('queued 20') || lines.some((l) => l.startsWith('exit')), 20_000, 'the child to queue its alerts');
    t.ok(lines.includes('queued 20'), lines.join('\n'));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await broker.start();
    const central2 = await connectClient(broker, 'central', centralOpts);
    t.teardown(() => { central2.end(true); });
    const got2 = collect(central2);
    const { link } = makeLink(broker, unitId, stateDir, keys.privateKey);
    await link.start();
    t.teardown(() => link.stop());
    t.equal(link.outboxDepth(), 20, 'the restarted unit finds the 20 alerts in its outbox');
    await waitFor(() => new Set([...got, ...got2].map((m) => m.json.alertId)).size === 20, 10_000, 'all 20 alerts');
    const ids = [...got, ...got2].map((m) => m.json.alertId as string);
    t.same(ids.filter((id, i) => ids.indexOf(id) === i), Array.from({ length: 20 }, (_, i) => `r-${i}`), 'in order');
    await waitFor(() => link.outboxDepth() === 0, 5000, 'the outbox to drain');
  });

  t.test('a client without a valid certificate cannot connect', async (t) => {
    const mqtt = (await import('mqtt')).default;
    const { readFileSync } = await import('node:fs');
    const attempt = (opts: object) =>
      new Promise<string>((resolve) => {
        const c = mqtt.connect(broker.url, { ca: readFileSync(broker.caFile), reconnectPeriod: 0, connectTimeout: 3000, ...opts });
        c.once('connect', () => { c.end(true); resolve('connected'); });
        c.once('error', (e) => { c.end(true); resolve(`error: ${e.message}`); });
        c.once('close', () => resolve('closed'));
      });
    t.not(await attempt({}), 'connected', 'no client certificate: refused');
    const rogue = broker.untrustedCert('rogue');
    t.not(await attempt({ cert: readFileSync(rogue.cert), key: readFileSync(rogue.key) }), 'connected', 'certificate from another CA: refused');
    t.not(await attempt({ username: 'van-1', password: 'guess' }), 'connected', 'username/password without a certificate: refused');
    const good = broker.clientCert('central');
    t.equal(await attempt({ cert: readFileSync(good.cert), key: readFileSync(good.key) }), 'connected', 'control: a valid certificate connects');
  });

  t.test('start() refuses unreadable TLS files with the file name', async (t) => {
    const { link } = makeLink(broker, 'van-x', tempDir(), keys.privateKey, { tls: { caFile: '/nonexistent/ca.crt' } });
    await t.rejects(link.start(), /cannot read mqtt\.tls\.caFile \/nonexistent\/ca\.crt/);
    const { link: link2 } = makeLink(broker, 'van-x', tempDir(), keys.privateKey, { url: 'http://x' });
    await t.rejects(link2.start(), /mqtt\.url 'http:\/\/x' is not a broker URL/);
  });

  t.end();
});
