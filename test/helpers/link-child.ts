/**
 * A unit process for tests that must kill -9 the process holding the broker connection.
 * argv[2]: JSON {config: MqttConfig, unitId, stateDir, keyFile, alerts: number, alertPrefix}.
 * Prints `started`, then `connected` when connected, then `queued <n>` once its alerts are in the
 * outbox; then waits to be killed.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLogger } from '../../src/log';
import { UnitLink } from '../../src/comms/link';
import { MqttConfigSchema } from '../../src/comms/config';
import { testAlert } from './alerts';

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as { config: unknown; unitId: string; stateDir: string; keyFile: string; alerts: number; alertPrefix: string };
  const link = new UnitLink({
    config: MqttConfigSchema.parse(args.config),
    unitId: args.unitId,
    version: 'test',
    unitEd25519Private: createPrivateKey(readFileSync(args.keyFile)),
    stateDir: args.stateDir,
    logger: createLogger({ level: 'error', write: (l) => process.stderr.write(l + '\n') }),
  });
  await link.start();
  process.stdout.write('started\n');
  link.waitConnected(60_000).then((ok) => ok && process.stdout.write('connected\n'));
  for (let i = 0; i < args.alerts; i++) link.publishAlert(testAlert(args.unitId, `${args.alertPrefix}-${i}`, i));
  process.stdout.write(`queued ${args.alerts}\n`);
  setInterval(() => undefined, 1000);
}

main().catch((err: Error) => {
  process.stderr.write(`link-child: ${err.stack}\n`);
  process.exit(1);
});
