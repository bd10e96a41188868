/**
 * `lfr-edge demo --console` (`npm start -- --console`): the embedded-defaults demo with the
 * officers' console attached. The in-process broker, throwaway keys (the unit's, the authority's
 * and the central crop key, so alerts carry sealed crops), a bundle from the bundled photos, the
 * daemon on the bundled clip, and `central serve` on a loopback port with a throwaway officer
 * account; the session is started through the console's own connection. It prints one line
 * `console: http://127.0.0.1:PORT/ user NAME password PASSWORD` and stays up until Ctrl-C, which
 * ends the session (its signed record goes to the console) and stops everything.
 *
 * The in-process broker (aedes) speaks MQTT 3.1.1 only, so central serve runs with
 * mqtt.protocol '3.1.1': plain subscriptions instead of MQTT 5 shared ones, one instance, which
 * is all a demo needs (docs/central.md).
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hashPassword, newPassword } from '../central/auth';
import { parseCentralConfig } from '../central/config';
import { startConsole, type RunningConsole } from '../central/serve';
import type { CommandIO } from '../commands/common';
import { UserError } from '../commands/common';
import { parseConfig } from '../config';
import { Daemon } from '../daemon/daemon';
import { createLogger } from '../log';
import { packageRoot, packageVersion } from '../paths';
import { startInProcessBroker } from './broker';
import { cameraFor, cli, UNIT } from './demo';

export interface ConsoleDemoOptions {
  source?: string;
  /** The console's port on 127.0.0.1 (0: a free one). */
  port: number;
  keep: boolean;
  io: CommandIO;
  /** Resolves to stop (tests); the CLI stops on SIGINT/SIGTERM. */
  stop?: Promise<void>;
}

export const DEMO_OFFICER = 'demo-officer';
const PLACE = 'demo: the bundled clip';

export async function runConsoleDemo(opts: ConsoleDemoOptions): Promise<number> {
  const { io } = opts;
  const say = (s: string) => io.stdout(s + '\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-demo-console-'));
  const keys = path.join(dir, 'keys');
  const authority = path.join(dir, 'authority');
  const centralKeys = path.join(dir, 'central');
  const log = (file: string) => createLogger({ level: 'info', write: (l) => appendFileSync(path.join(dir, file), l + '\n') });
  let daemon: Daemon | undefined;
  let central: RunningConsole | undefined;
  const broker = await startInProcessBroker();
  try {
    say(`lfr-edge demo --console (v${packageVersion()}): working in ${dir}`);
    say(`[1/5] broker: in-process MQTT broker (aedes, MQTT 3.1.1 only) on ${broker.url}`);
    await cli(['keys', 'init', '--dir', keys], io);
    await cli(['keys', 'authority', '--dir', authority], io);
    await cli(['keys', 'central', '--dir', centralKeys], io);
    say(`[2/5] keys: throwaway unit identity, central authority key and central crop key (alert crops are sealed to it) in ${dir}`);
    const bundle = path.join(dir, 'watchlist.lfwl');
    const photos = path.join(packageRoot(), 'assets', 'demo', 'watchlist');
    await cli(['watchlist', 'build', '--photos', photos, '--unit-pub', path.join(keys, 'unit-x25519.pub'),
      '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', UNIT, '--category', 'demo', '--expires-in', '6h'], io);
    say(`[3/5] watchlist: encrypted, signed bundle for ${UNIT} from the bundled photos (lin-manuel-miranda, barack-obama)`);

    const cfg = parseCentralConfig({
      instance: 'demo-central',
      // aedes has no MQTT 5: plain subscriptions, a single instance (docs/central.md)
      mqtt: { url: broker.url, protocol: '3.1.1', reconnectS: 1 },
      store: { kind: 'sqlite', file: 'central.sqlite' },
      authorityKeyFile: path.join(authority, 'authority-ed25519.key'),
      centralKeyFile: path.join(centralKeys, 'central-x25519.key'),
      units: { [UNIT]: { ed25519PublicKeyFile: path.join(keys, 'unit-ed25519.pub') } },
      photosDir: photos,
      auditFile: 'central-audit.jsonl',
      web: { host: '127.0.0.1', port: opts.port },
      commandTimeoutS: 60,
    }, 'demo console', dir);
    central = await startConsole(cfg, log('central.log'));
    const password = newPassword();
    await central.store.putUser({ name: DEMO_OFFICER, role: 'officer', passwordHash: hashPassword(password) });
    say(`[4/5] central serve: store ${path.join(dir, 'central.sqlite')}, MQTT 3.1.1 with plain subscriptions (the in-process broker has no MQTT 5; a real deployment uses MQTT 5 shared subscriptions), logs in ${path.join(dir, 'central.log')}`);

    const { template, ...settings } = cameraFor(opts.source);
    const config = parseConfig({
      unit: { id: UNIT },
      paths: { runtimeDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state'), keysDir: keys },
      mqtt: {
        url: broker.url, healthIntervalS: 5, centralPublicKeyFile: path.join(centralKeys, 'central-x25519.pub'),
        commands: { authorityPublicKeyFile: path.join(authority, 'authority-ed25519.pub') },
      },
      camera: { template, settings },
      logging: { level: 'info' },
    }, 'demo');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
    daemon = new Daemon({ config, version: packageVersion(), logger: log('daemon.log') });
    await daemon.start();
    const started = await central.service.sessionCommand(UNIT, 'start-session', { bundle: (await readFile(bundle)).toString('base64') }, 'demo', PLACE);
    if (!started?.accepted) throw new UserError(`start-session was not accepted: ${JSON.stringify(started ?? 'no answer')}`);
    say(`[5/5] unit: daemon running, camera ${template} (${String(settings.location ?? settings.url ?? settings.device)}), session started through the console; logs in ${path.join(dir, 'daemon.log')}`);
    say(`console: ${central.url} user ${DEMO_OFFICER} password ${password}`);
    say('Open it in a browser: alerts appear with their crops beside the watchlist photo. Ctrl-C ends the session (its record goes to the console) and stops.');

    await (opts.stop ??
      new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      }));

    const ended = await central.service.sessionCommand(UNIT, 'end-session', {}, 'demo');
    if (!ended?.accepted) throw new UserError(`end-session was not accepted: ${JSON.stringify(ended ?? 'no answer')}`);
    const sessionId = String(started.result?.sessionId);
    let rec = await central.store.getRecord(UNIT, sessionId);
    for (const until = Date.now() + 10_000; !rec && Date.now() < until; rec = await central.store.getRecord(UNIT, sessionId)) await new Promise((r) => setTimeout(r, 100));
    if (!rec) throw new UserError('the deployment record did not reach the console');
    const x = rec.record;
    say(`session ended: ${x.alerts} alert(s) (${x.confirmed} confirmed, ${x.falseAlerts} false), ${x.facesProcessed} faces processed; record in the console, signature ${rec.signature}; wipe ${x.wipe.ok ? 'ok' : 'FAILED'}`);
    return x.wipe.ok && rec.signature === 'valid' ? 0 : 1;
  } finally {
    await daemon?.stop('shutdown');
    await central?.close();
    await broker.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir} (config.json, daemon.log, central.log, central.sqlite, audit logs)`);
  }
}
