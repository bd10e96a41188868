/** The broker check against a real Mosquitto with mutual TLS: passing, and each way it fails. */
import path from 'node:path';
import t from 'tap';
import { MqttConfigSchema } from '../../src/comms/config';
import { brokerHint, checkBroker } from '../../src/selftest/broker';
import { freePort, MosquittoBroker, mosquittoAvailable } from '../helpers/mosquitto';

const unavailable = mosquittoAvailable();

t.test('hints: each common failure says what to do', async (t) => {
  t.match(brokerHint('connect ECONNREFUSED 127.0.0.1:1'), /nothing listens there/);
  t.match(brokerHint('getaddrinfo ENOTFOUND nohost'), /does not resolve/);
  t.match(brokerHint('self-signed certificate in certificate chain'), /not signed by mqtt\.tls\.caFile/);
  t.match(brokerHint("Hostname/IP does not match certificate's altnames"), /set mqtt\.tls\.serverName/);
  t.match(brokerHint('certificate has expired'), /clock/);
  t.match(brokerHint('tlsv1 alert unknown ca'), /refused the unit's client certificate/);
});

t.test('not configured: a failure (a unit must report to a broker)', async (t) => {
  const r = await checkBroker(MqttConfigSchema.parse({}), 'u1', 1000);
  t.equal(r.ok, false);
  t.equal(r.detail, 'mqtt.url is not configured: a unit must report to a broker; set it (scripts/provision --broker mqtts://host:8883)');
});

t.test('an unreadable TLS file is named', async (t) => {
  const r = await checkBroker(MqttConfigSchema.parse({ url: 'mqtts://localhost:8883', tls: { caFile: '/nonexistent/ca.crt' } }), 'u1', 1000);
  t.equal(r.ok, false);
  t.match(r.detail, /^cannot read mqtt\.tls\.caFile \/nonexistent\/ca\.crt: ENOENT/);
});

t.test('against a real Mosquitto', { skip: unavailable }, async (t) => {
  const broker = await MosquittoBroker.create();
  t.teardown(() => broker.destroy());
  await broker.start();
  const good = broker.clientCert('unit-s1');
  const cfg = (over: Record<string, unknown> = {}) =>
    MqttConfigSchema.parse({ url: broker.url, tls: { caFile: broker.caFile, certFile: good.cert, keyFile: good.key }, ...over });

  t.test('the configured mutual TLS connects', async (t) => {
    const r = await checkBroker(cfg(), 'unit-s1', 5000);
    t.equal(r.ok, true, r.detail);
    t.match(r.detail, new RegExp(`^${broker.url}: connected with mutual TLS, MQTT 5, in \\d+ ms$`));
  });

  t.test('a client certificate from an unknown CA is refused, with the hint', async (t) => {
    const rogue = broker.untrustedCert('unit-s1');
    const r = await checkBroker(cfg({ tls: { caFile: broker.caFile, certFile: rogue.cert, keyFile: rogue.key } }), 'unit-s1', 5000);
    t.equal(r.ok, false);
    t.match(r.detail, /refused the unit's client certificate/, r.detail);
  });

  t.test("a CA that did not sign the broker's certificate fails, with the hint", async (t) => {
    broker.untrustedCert('other');
    const r = await checkBroker(cfg({ tls: { caFile: path.join(broker.dir, 'rogue-ca.crt'), certFile: good.cert, keyFile: good.key } }), 'unit-s1', 5000);
    t.equal(r.ok, false);
    t.match(r.detail, /not signed by mqtt\.tls\.caFile/, r.detail);
  });

  t.test('nothing listening fails with the URL and the hint', async (t) => {
    const port = await freePort();
    const url = `mqtts://localhost:${port}`;
    const r = await checkBroker(cfg({ url }), 'unit-s1', 5000);
    t.equal(r.ok, false);
    t.match(r.detail, new RegExp(`^${url}: connect ECONNREFUSED .*; nothing listens there`));
  });

  t.test('a stopped broker fails', async (t) => {
    await broker.stop();
    const r = await checkBroker(cfg(), 'unit-s1', 3000);
    t.equal(r.ok, false);
    t.match(r.detail, /ECONNREFUSED/);
  });
});

t.test('a listener that accepts but never answers MQTT fails within the timeout', async (t) => {
  const net = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const t0 = Date.now();
  const r = await checkBroker(MqttConfigSchema.parse({ url: `mqtt://127.0.0.1:${port}` }), 'u1', 800);
  t.equal(r.ok, false);
  t.match(r.detail, /(no answer within 1 s|connack timeout); the broker did not answer the MQTT CONNECT/, r.detail);
  t.ok(Date.now() - t0 < 5000, 'bounded');
});
