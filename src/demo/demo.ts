/**
 * The demo on embedded defaults: everything a deployment does, on one machine, with nothing set
 * up. An in-process broker, throwaway unit and authority keys, a watchlist bundle built from the
 * bundled photos, the daemon with a bundled video as its camera (real-time), the central console
 * view showing status, health and alerts, then end-session: the record and the wipe.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { connectCentral } from '../central/client';
import { formatMessage } from '../central/format';
import { sendCommand } from '../central/send';
import { main } from '../cli';
import type { CommandIO } from '../commands/common';
import { UserError } from '../commands/common';
import type { RecordMessage } from '../comms/messages';
import { parseConfig, type Config } from '../config';
import { Daemon } from '../daemon/daemon';
import { createLogger } from '../log';
import { packageRoot, packageVersion } from '../paths';
import { loadPrivateKey } from '../watchlist/keys';
import { startInProcessBroker } from './broker';

export interface DemoOptions {
  /** Camera: a video file, an rtsp:// URL or a /dev/videoN device (default: the bundled clip). */
  source?: string;
  /** How long the session runs before end-session. */
  seconds: number;
  keep: boolean;
  io: CommandIO;
}

export const UNIT = 'demo-unit';

/** The camera template and settings for --source. */
export function cameraFor(source: string | undefined): Config['camera']['settings'] & { template?: string } {
  const clip = path.join(packageRoot(), 'assets', 'demo', 'hamilton-clip.mp4');
  if (!source) return { template: 'file', location: clip, realtime: true };
  if (/^rtsp:\/\//.test(source)) return { template: 'rtsp', url: source };
  if (/^\/dev\/video\d+$/.test(source)) return { template: 'usb-v4l2', device: source };
  return { template: 'file', location: path.resolve(source), realtime: true };
}

export async function cli(args: string[], io: CommandIO): Promise<string> {
  let out = '';
  let err = '';
  const code = await main(args, { ...io, stdout: (s) => (out += s), stderr: (s) => (err += s) });
  if (code !== 0) throw new UserError(`lfr-edge ${args.slice(0, 2).join(' ')} failed: ${err.trim()}`);
  return out;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { io } = opts;
  const say = (s: string) => io.stdout(s + '\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-demo-'));
  const keys = path.join(dir, 'keys');
  const authority = path.join(dir, 'authority');
  let daemon: Daemon | undefined;
  let central: MqttClient | undefined;
  const broker = await startInProcessBroker();
  try {
    say(`lfr-edge demo (v${packageVersion()}): working in ${dir}`);
    say(`[1/6] broker: in-process MQTT broker on ${broker.url}`);
    await cli(['keys', 'init', '--dir', keys], io);
    await cli(['keys', 'authority', '--dir', authority], io);
    say(`[2/6] keys: throwaway unit identity (X25519 + Ed25519) and central authority key in ${dir}`);
    const bundle = path.join(dir, 'watchlist.lfwl');
    await cli(['watchlist', 'build', '--photos', path.join(packageRoot(), 'assets', 'demo', 'watchlist'), '--unit-pub', path.join(keys, 'unit-x25519.pub'),
      '--authority-key', path.join(authority, 'authority-ed25519.key'), '--out', bundle, '--unit-id', UNIT, '--category', 'demo', '--expires-in', '1h'], io);
    say(`[3/6] watchlist: encrypted, signed bundle for ${UNIT} from the bundled photos (lin-manuel-miranda, barack-obama)`);

    const { template, ...settings } = cameraFor(opts.source);
    const config = parseConfig({
      unit: { id: UNIT },
      paths: { runtimeDir: path.join(dir, 'run'), stateDir: path.join(dir, 'state'), keysDir: keys },
      mqtt: { url: broker.url, healthIntervalS: 5, commands: { authorityPublicKeyFile: path.join(authority, 'authority-ed25519.pub') } },
      camera: { template, settings },
      logging: { level: 'info' },
    }, 'demo');
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
    const logFile = path.join(dir, 'daemon.log');
    const logLines: string[] = [];
    daemon = new Daemon({ config, version: packageVersion(), logger: createLogger({ level: 'info', write: (l) => logLines.push(l) }) });

    central = await connectCentral({ broker: broker.url, protocolVersion: 4 });
    central.on('message', (topic, payload, packet) => {
      let json: unknown;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        return;
      }
      const line = formatMessage(topic, json, packet.retain);
      if (line) say(`  central | ${line}`);
    });
    await central.subscribeAsync(`lfr/v1/${UNIT}/#`, { qos: 1 });

    await daemon.start();
    say(`[4/6] unit: daemon running, camera ${template} (${String(settings.location ?? settings.url ?? settings.device)}), provider ${daemon.recognition.vision?.provider ?? '-'}; logs in ${logFile}`);

    const authorityKey = loadPrivateKey(path.join(authority, 'authority-ed25519.key'), ['ed25519']);
    const start = await sendCommand(central, { type: 'start-session', unitId: UNIT, body: { bundle: (await readFile(bundle)).toString('base64') } }, authorityKey, 30);
    if (start.outcome.kind !== 'result' || !start.outcome.result.accepted) throw new UserError(`start-session was not accepted: ${JSON.stringify(start.outcome)}`);
    say(`[5/6] session started by a signed command; watching for ${opts.seconds} s (alerts need several good frames of one track)`);
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));

    const records: RecordMessage[] = [];
    central.on('message', (topic, payload) => {
      if (topic.endsWith('/record')) records.push(JSON.parse(payload.toString('utf8')) as RecordMessage);
    });
    const end = await sendCommand(central, { type: 'end-session', unitId: UNIT, body: {} }, authorityKey, 30);
    if (end.outcome.kind !== 'result' || !end.outcome.result.accepted) throw new UserError(`end-session was not accepted: ${JSON.stringify(end.outcome)}`);
    const until = Date.now() + 10_000;
    while (records.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const rec = records[0];
    if (!rec) throw new UserError('the deployment record did not arrive');
    say(`[6/6] session ended: ${rec.alerts} alert(s), ${rec.facesProcessed} faces processed, ${rec.tracks} tracks; wipe ${rec.wipe.ok ? 'ok' : 'FAILED'} (key zeroed: ${rec.wipe.keyZeroed}, files removed: ${rec.wipe.filesRemoved.length}, leftovers: ${rec.wipe.leftovers.length})`);
    writeFileSync(logFile, logLines.join('\n') + '\n');
    return rec.wipe.ok ? 0 : 1;
  } finally {
    await daemon?.stop('shutdown');
    await central?.endAsync().catch(() => undefined);
    await broker.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir} (config.json, daemon.log, audit log in state/)`);
  }
}
