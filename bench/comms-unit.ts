/**
 * The unit side of `bench/comms-faults.ts flood`, in its own process so its RSS is its own: a
 * UnitLink and a CommandProcessor (the real command path) answering every command, with a session
 * target that only counts. argv[2]: JSON {config, unitId, stateDir, keyFile, authorityPubFile, limits}.
 * Prints `connected`, then one JSON line {rss, heap} every 200 ms.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandProcessor, type SessionCommandTarget } from '../src/comms/commands';
import { MqttConfigSchema } from '../src/comms/config';
import { UnitLink } from '../src/comms/link';
import { openCommsDatabase } from '../src/comms/outbox';
import { SeenCommands } from '../src/comms/seen-commands';
import { createLogger } from '../src/log';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { config: unknown; unitId: string; stateDir: string; keyFile: string; authorityPubFile: string };
  const config = MqttConfigSchema.parse(a.config);
  const logger = createLogger({ level: 'error', write: (l) => process.stderr.write(l + '\n') });
  const link = new UnitLink({ config, unitId: a.unitId, version: 'bench', unitEd25519Private: createPrivateKey(readFileSync(a.keyFile)), stateDir: a.stateDir, logger });
  await link.start();
  const db = openCommsDatabase(path.join(a.stateDir, config.outbox.file));
  const target: SessionCommandTarget = {
    startSession: () => ({ sessionId: 'bench' }),
    endSession: () => ({ sessionId: 'bench' }),
    adjudicate: () => undefined,
  };
  const processor = new CommandProcessor({
    unitId: a.unitId, version: 'bench', authorityPublic: createPublicKey(readFileSync(a.authorityPubFile)), seen: new SeenCommands(db), target,
    audit: { append: () => undefined }, reply: (r) => link.publishCommandResult(r), limits: config.commands, logger,
  });
  link.onCommand(processor.onCommand);
  if (await link.waitConnected(30_000)) process.stdout.write('connected\n');
  setInterval(() => {
    const m = process.memoryUsage();
    process.stdout.write(JSON.stringify({ rss: m.rss, heap: m.heapUsed }) + '\n');
  }, 200);
}

main().catch((err: Error) => {
  process.stderr.write(`comms-unit: ${err.stack}\n`);
  process.exit(1);
});
