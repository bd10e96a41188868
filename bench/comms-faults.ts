/**
 * Comms fault figures (not timed tests), against a real Mosquitto with mutual TLS:
 *
 *   node dist/bench/comms-faults.js flood [N=1000]   N bad and oversized commands while a ping
 *       every 250 ms measures the round trip; the unit's RSS sampled every 200 ms (its own process)
 *   node dist/bench/comms-faults.js outage [S=60]    broker down S seconds while alerts are raised
 *       every 100 ms; reconnect time and outbox drain time after the broker returns
 *
 * Run heavy: `flock /work/wt/heavy.lock node dist/bench/comms-faults.js flood`.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeCommand, signCommand } from '../src/comms/command-envelope';
import { MqttConfigSchema } from '../src/comms/config';
import { maximumPacketSize, UnitLink } from '../src/comms/link';
import { commandTopic, unitTopic } from '../src/comms/topics';
import { createLogger } from '../src/log';
import { connectClient, MosquittoBroker, sleep, waitFor } from '../test/helpers/mosquitto';
import { testAlert } from '../test/helpers/alerts';

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));

function keys(dir: string, name: string) {
  const k = generateKeyPairSync('ed25519');
  const priv = path.join(dir, `${name}.key`);
  const pub = path.join(dir, `${name}.pub`);
  writeFileSync(priv, k.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(pub, k.publicKey.export({ format: 'pem', type: 'spki' }));
  return { ...k, priv, pub };
}

function unitConfig(broker: MosquittoBroker, cn: string, over: Record<string, unknown> = {}) {
  const c = broker.clientCert(cn);
  return { url: broker.url, tls: { caFile: broker.caFile, certFile: c.cert, keyFile: c.key }, keepaliveS: 10, ...over };
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const MiB = 1024 * 1024;

async function flood(n: number): Promise<void> {
  const broker = await MosquittoBroker.create();
  await broker.start();
  const dir = tmp('lfr-flood-');
  const unitId = 'van-flood';
  const unitKey = keys(dir, 'unit');
  const authority = keys(dir, 'authority');
  const impostor = keys(dir, 'impostor');
  // A 1 MiB start-session limit keeps the bench's traffic small; the ratios hold for 96 MiB.
  const commands = { authorityPublicKeyFile: authority.pub, maxPayloadBytes: 1 * MiB, maxSmallPayloadBytes: 16 * 1024 };
  const config = unitConfig(broker, unitId, { commands });
  const packetLimit = maximumPacketSize(MqttConfigSchema.parse(config));
  const child = spawn(process.execPath, [path.join(__dirname, 'comms-unit.js'), JSON.stringify({ config, unitId, stateDir: tmp('lfr-flood-state-'), keyFile: unitKey.priv, authorityPubFile: authority.pub })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rss: number[] = [];
  let connected = false;
  let phase: 'before' | 'flood' | 'after' = 'before';
  const rssBy: Record<string, number[]> = { before: [], flood: [], after: [] };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'connected') connected = true;
      else if (line.startsWith('{')) {
        const r = (JSON.parse(line) as { rss: number }).rss;
        rss.push(r);
        rssBy[phase].push(r);
      }
    }
  });
  try {
    await waitFor(() => connected, 30_000, 'the unit to connect');
    const central = await connectClient(broker, 'central');
    const results: { commandId: string | null; reason?: string; accepted: boolean }[] = [];
    const pingSent = new Map<string, { at: number; phase: string }>();
    const rtt: Record<string, number[]> = { before: [], flood: [], after: [] };
    const lost: Record<string, number> = { before: 0, flood: 0, after: 0 };
    central.on('message', (topic, payload) => {
      if (topic !== unitTopic(unitId, 'cmd-result')) return;
      const r = JSON.parse(payload.toString()) as { commandId: string | null; reason?: string; accepted: boolean; type: string };
      results.push(r);
      const sent = r.commandId ? pingSent.get(r.commandId) : undefined;
      if (sent !== undefined && r.accepted) {
        rtt[sent.phase].push(performance.now() - sent.at);
        pingSent.delete(r.commandId!);
      }
    });
    await central.subscribeAsync(unitTopic(unitId, 'cmd-result'), { qos: 1 });
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        const cmd = signCommand({ type: 'ping', unitId, body: {}, now: new Date() }, authority.privateKey);
        const p = phase;
        pingSent.set(cmd.commandId, { at: performance.now(), phase: p });
        setTimeout(() => { if (pingSent.delete(cmd.commandId)) lost[p]++; }, 15_000);
        await central.publishAsync(commandTopic(unitId, 'ping'), encodeCommand(cmd), { qos: 1 });
        await sleep(250);
      }
    })();
    await sleep(3000);

    // The flood: a fixed mix, shuffled with a fixed seed.
    const kinds: { kind: string; topic: string; make: () => Buffer }[] = [];
    const overPacket = Buffer.alloc(packetLimit + 256 * 1024, 0x41);
    const forged = encodeCommand(signCommand({ type: 'start-session', unitId, body: { bundle: 'A'.repeat(900 * 1024) }, now: new Date() }, impostor.privateKey));
    const overSmall = Buffer.alloc(128 * 1024, 0x7b);
    const v1 = Buffer.from(JSON.stringify({ v: 1, type: 'end-session', unitId, commandId: 'v1-00000001', issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), body: {}, sig: 'AAAA' }));
    const counts = { overPacket: Math.round(n * 0.1), overCommandLimit: Math.round(n * 0.3), forgedStartSession: Math.round(n * 0.1) };
    const garbageN = n - counts.overPacket - counts.overCommandLimit - counts.forgedStartSession;
    for (let i = 0; i < counts.overPacket; i++) kinds.push({ kind: 'over the packet limit', topic: 'start-session', make: () => overPacket });
    for (let i = 0; i < counts.overCommandLimit; i++) kinds.push({ kind: 'over its command limit', topic: ['ping', 'end-session', 'adjudicate'][i % 3], make: () => overSmall });
    for (let i = 0; i < counts.forgedStartSession; i++) kinds.push({ kind: 'start-session signed by another key', topic: 'start-session', make: () => forged });
    for (let i = 0; i < garbageN; i++) kinds.push({ kind: 'garbage', topic: ['ping', 'end-session', 'adjudicate', 'start-session'][i % 4], make: () => (i % 3 === 0 ? v1 : randomBytes(64 + (i % 2000))) });
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    const before = results.length;
    phase = 'flood';
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; i < kinds.length; i += 4) await central.publishAsync(commandTopic(unitId, kinds[i].topic), kinds[i].make(), { qos: 1 });
    }));
    const sentMs = performance.now() - t0;
    const expectAnswers = n - counts.overPacket;
    const badAnswers = () => results.slice(before).filter((r) => !r.accepted).length;
    // Unsigned refusals are answered up to mqtt.commands.unsignedRefusalsPerS/Burst; the rest are
    // summed up in the audit, not answered: the flood is over when answers stop coming (3 s quiet).
    let lastCount = -1;
    let lastChange = performance.now();
    await waitFor(() => {
      const c = badAnswers();
      if (c !== lastCount) { lastCount = c; lastChange = performance.now(); }
      return c >= expectAnswers || performance.now() - lastChange > 3000;
    }, 120_000, `answers to the bad commands`).catch((e: Error) => console.log(`! ${e.message}`));
    const answeredMs = Math.min(performance.now(), lastChange) - t0;
    phase = 'after';
    await sleep(3000);
    pinging = false;
    await pinger;
    await sleep(500);
    const reasons: Record<string, number> = {};
    for (const r of results.slice(before)) if (!r.accepted) reasons[r.reason ?? '?'] = (reasons[r.reason ?? '?'] ?? 0) + 1;
    const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length} pings)`;
    console.log(`flood: ${n} bad commands (${counts.overPacket} over the ${(packetLimit / MiB).toFixed(2)} MiB packet limit, ${counts.overCommandLimit} of 128 KiB on small commands over their 16 KiB limit, ${counts.forgedStartSession} forged 0.9 MiB start-sessions, ${garbageN} garbage/v1/unsigned) sent in ${(sentMs / 1000).toFixed(1)} s; ${badAnswers()} refusals answered one by one in ${(answeredMs / 1000).toFixed(1)} s (${expectAnswers} deliverable; the rest over the unsigned-refusal rate are summed up in the audit)`);
    console.log(`refusals by reason: ${JSON.stringify(reasons)}`);
    console.log(`ping round trip: before ${fmt(rtt.before)}; during the flood ${fmt(rtt.flood)}; after ${fmt(rtt.after)}; unanswered pings ${JSON.stringify(lost)}`);
    const m = (xs: number[]) => (Math.max(...xs) / MiB).toFixed(0);
    console.log(`unit RSS: before max ${m(rssBy.before)} MiB; during the flood max ${m(rssBy.flood)} MiB; after max ${m(rssBy.after)} MiB (${rss.length} samples)`);
    console.log(`load: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    central.end(true);
  } finally {
    child.kill('SIGKILL');
    await broker.destroy();
  }
}

async function outage(seconds: number): Promise<void> {
  const broker = await MosquittoBroker.create();
  await broker.start();
  const unitId = 'van-outage';
  const dir = tmp('lfr-outage-');
  const unitKey = keys(dir, 'unit');
  const config = MqttConfigSchema.parse(unitConfig(broker, unitId));
  const link = new UnitLink({ config, unitId, version: 'bench', unitEd25519Private: unitKey.privateKey, stateDir: tmp('lfr-outage-state-'), logger: createLogger({ level: 'error' }) });
  await link.start();
  try {
    await link.waitConnected(10_000);
    const central = await connectClient(broker, 'central', { clean: false, clientId: 'central-bench-outage', properties: { sessionExpiryInterval: 3600 } });
    await central.subscribeAsync(unitTopic(unitId, 'alert'), { qos: 1 });
    central.end(true);
    const t0 = performance.now();
    await broker.stop();
    let n = 0;
    while (performance.now() - t0 < seconds * 1000) {
      link.publishAlert(testAlert(unitId, `o-${n}`, n));
      n++;
      await sleep(100);
    }
    const depth = link.outboxDepth();
    await broker.start();
    const back = performance.now();
    const central2 = await connectClient(broker, 'central', { clean: false, clientId: 'central-bench-outage', properties: { sessionExpiryInterval: 3600 } });
    const got = new Set<string>();
    let lastAt = 0;
    central2.on('message', (_t, p) => { got.add((JSON.parse(p.toString()) as { alertId: string }).alertId); lastAt = performance.now(); });
    await link.waitConnected(120_000);
    const reconnectMs = performance.now() - back;
    await waitFor(() => link.outboxDepth() === 0, 120_000, 'the outbox to drain');
    const drainedMs = performance.now() - back;
    await waitFor(() => got.size >= n, 30_000, 'every alert at central').catch((e: Error) => console.log(`! ${e.message}`));
    console.log(`outage ${seconds} s, ${n} alerts raised (${depth} in the outbox when the broker returned), reconnect policy ${config.reconnectMinS}..${config.reconnectMaxS} s: reconnected ${(reconnectMs / 1000).toFixed(1)} s after the broker returned, outbox drained ${(drainedMs / 1000).toFixed(1)} s after, last alert at central ${((lastAt - back) / 1000).toFixed(1)} s after (${got.size}/${n} distinct alerts); alerts reached central at most ${((lastAt - t0) / 1000).toFixed(1)} s after the outage began`);
    console.log(`load: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    central2.end(true);
  } finally {
    await link.stop();
    await broker.destroy();
  }
}

async function main(): Promise<void> {
  const [what, arg] = process.argv.slice(2);
  if (what === 'flood') await flood(Number(arg ?? 1000));
  else if (what === 'outage') await outage(Number(arg ?? 60));
  else {
    console.error('usage: node dist/bench/comms-faults.js flood [N] | outage [SECONDS]');
    process.exit(2);
  }
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(err);
  process.exit(1);
});
