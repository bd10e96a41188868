/** Unit-side fixtures for comms tests: keys, a config pointing at a test broker, a UnitLink. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MqttConfigSchema, type MqttConfig } from '../../src/comms/config';
import { UnitLink } from '../../src/comms/link';
import { createMemoryLogger } from '../../src/log';
import { MosquittoBroker } from './mosquitto';
import { RecordingSession } from './fake-session';
import { CommandProcessor, type CommandAuditEntry, type CommandRefusalsSummaryEntry, type UnsignedRefusalLimits } from '../../src/comms/commands';
import { openCommsDatabase } from '../../src/comms/outbox';
import { SeenCommands } from '../../src/comms/seen-commands';
import type { Test } from 'tap';

export interface Ed25519Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateFile: string;
  publicFile: string;
}

export function ed25519Pair(dir: string, name: string): Ed25519Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateFile = path.join(dir, `${name}-ed25519.key`);
  const publicFile = path.join(dir, `${name}-ed25519.pub`);
  writeFileSync(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  writeFileSync(publicFile, publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey, publicKey, privateFile, publicFile };
}

export function tempDir(prefix = 'lfr-comms-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function linkConfig(broker: MosquittoBroker, cn: string, over: Record<string, unknown> = {}): MqttConfig {
  const c = broker.clientCert(cn);
  return MqttConfigSchema.parse({
    url: broker.url,
    tls: { caFile: broker.caFile, certFile: c.cert, keyFile: c.key },
    keepaliveS: 5,
    connectTimeoutS: 3,
    reconnectMinS: 0.2,
    reconnectMaxS: 1,
    ...over,
  });
}

export function makeLink(broker: MosquittoBroker, unitId: string, stateDir: string, key: KeyObject, over: Record<string, unknown> = {}) {
  const logger = createMemoryLogger('debug');
  const link = new UnitLink({ config: linkConfig(broker, unitId, over), unitId, version: '0.1.0-test', unitEd25519Private: key, stateDir, logger });
  return { link, logger };
}

/**
 * A unit that takes signed commands over a real broker: a started UnitLink whose commands go
 * through a CommandProcessor to a RecordingSession, with authority and impostor key pairs.
 * Stops itself at the end of the test `t`.
 */
export async function startCommandUnit(
  t: Test,
  unitId: string,
  opts: { maxPayloadBytes?: number; now?: () => Date; link?: Record<string, unknown>; unsignedRefusals?: UnsignedRefusalLimits } = {},
) {
  const broker = await MosquittoBroker.create();
  await broker.start();
  t.teardown(() => broker.destroy());
  const dir = tempDir();
  const unitKeys = ed25519Pair(dir, 'unit');
  const authority = ed25519Pair(dir, 'authority');
  const impostor = ed25519Pair(dir, 'impostor');
  const stateDir = tempDir();
  const { link, logger } = makeLink(broker, unitId, stateDir, unitKeys.privateKey, opts.link);
  await link.start();
  const db = openCommsDatabase(path.join(stateDir, 'outbox.sqlite'));
  const seen = new SeenCommands(db);
  const session = new RecordingSession();
  const audit: (CommandAuditEntry | CommandRefusalsSummaryEntry)[] = [];
  const processor = new CommandProcessor({
    unitId, version: '0.1.0-test', authorityPublic: authority.publicKey, seen, target: session, audit: { append: (e) => audit.push(e) },
    reply: (r) => link.publishCommandResult(r), limits: { maxPayloadBytes: opts.maxPayloadBytes ?? 1 << 20, maxSmallPayloadBytes: 16 * 1024, maxLifetimeS: 3600, clockSkewS: 60 }, logger, now: opts.now,
    unsignedRefusals: opts.unsignedRefusals,
  });
  link.onCommand(processor.onCommand);
  t.teardown(async () => { await link.stop(); db.close(); });
  return { broker, dir, stateDir, unitKeys, authority, impostor, link, logger, seen, session, audit, processor };
}
