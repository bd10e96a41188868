/**
 * `lfr-edge central watch|send`: the central side's console tool for the MQTT API
 * (docs/mqtt-api.md). `watch` shows units' status, health, sessions, alerts, records and command
 * results as they arrive, and adjudicates alerts typed on stdin when given the authority key;
 * `send` signs one command, publishes it and waits for its cmd-result.
 */
import { readFileSync } from 'node:fs';
import readline from 'node:readline';
import type { KeyObject } from 'node:crypto';
import { parse, requireOpt, UsageError, UserError, type Command, type CommandIO } from './common';
import { CentralConnectError, connectCentral, type CentralConnectOptions } from '../central/client';
import { formatMessage } from '../central/format';
import { sendCommand } from '../central/send';
import { centralSubscriptions, parseTopic } from '../comms/topics';
import { COMMAND_TYPES } from '../comms/messages';
import { loadPrivateKey } from '../watchlist/keys';
import { ConfigError } from '../config';
import { createLogger } from '../log';
import { hashPassword, newPassword } from '../central/auth';
import { loadCentralConfig } from '../central/config';
import { startConsole, openStore, type RunningConsole } from '../central/serve';
import { CentralServiceError } from '../central/service';
import { ROLES, type Role } from '../central/store';

export const usage = `lfr-edge central watch --broker URL --unit ID|+ [TLS] [--json] [--authority-key FILE]
    show units' status, health, sessions, alerts, records and command results as they arrive.
    With --authority-key, type 'c ALERT_ID' (confirmed) or 'f ALERT_ID' (false alert) + Enter to
    adjudicate an alert shown. Ctrl-C to stop.
lfr-edge central send start-session|end-session|adjudicate|ping --unit ID --broker URL --authority-key FILE [TLS]
    [--bundle FILE] (start-session)  [--alert ID --verdict confirmed|false-alert] (adjudicate)
    [--ttl S] (command validity, default 300)  [--timeout S] (wait for the cmd-result, default 30)
    sign and publish one command and wait for its cmd-result: exit 0 accepted, 1 refused (the reason
    is printed), 3 no answer in time.
lfr-edge central serve --config FILE
    the central service: one MQTT 5 connection (mutual TLS; events by shared subscription, so
    several instances on one PostgreSQL share them), the store, and the officers' web console
    (alerts with their crops beside the watchlist photo, adjudication, units, records, audit).
    See docs/central.md for the configuration.
lfr-edge central user add --config FILE --name NAME --role officer|supervisor|auditor [--password-stdin]
    create a console account (or reset its password); without --password-stdin a password is
    generated and printed once.
TLS: --ca FILE --cert FILE --key FILE (mutual TLS), --username U --password P`;

const TLS_OPTIONS = {
  broker: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  unit: { type: 'string' },
  'authority-key': { type: 'string' },
} as const;

function connectOptions(v: Record<string, unknown>): CentralConnectOptions {
  return {
    broker: requireOpt(v.broker as string | undefined, 'broker'),
    ca: v.ca as string | undefined,
    cert: v.cert as string | undefined,
    key: v.key as string | undefined,
    username: v.username as string | undefined,
    password: v.password as string | undefined,
  };
}

function authorityKey(file: string): KeyObject {
  try {
    return loadPrivateKey(file, ['ed25519']);
  } catch (err) {
    throw new UserError(`--authority-key: ${(err as Error).message}`);
  }
}

async function connect(o: CentralConnectOptions) {
  try {
    return await connectCentral(o);
  } catch (err) {
    if (err instanceof CentralConnectError) throw new UserError(err.message);
    throw err;
  }
}

export interface WatchControl {
  /** Resolve to stop watching (tests); the CLI stops on SIGINT/SIGTERM. */
  stop?: Promise<void>;
  /** Lines typed by the operator (default: stdin when --authority-key is given). */
  input?: NodeJS.ReadableStream;
}

export async function watch(argv: string[], io: CommandIO, control: WatchControl = {}): Promise<number> {
  const { values } = parse(argv, { ...TLS_OPTIONS, json: { type: 'boolean' } }, false);
  const unit = requireOpt(values.unit, 'unit');
  const key = values['authority-key'] ? authorityKey(values['authority-key']) : undefined;
  const opts = connectOptions(values);
  const client = await connect({ ...opts, reconnectS: WATCH_RECONNECT_S });
  // A lost broker is said, and the watch reconnects (it used to end silently with exit 0).
  let down = false;
  let stopping = false;
  client.on('close', () => {
    if (stopping || down) return;
    down = true;
    io.stderr(`connection to ${opts.broker} lost: reconnecting every ${WATCH_RECONNECT_S} s (Ctrl-C to stop)\n`);
  });
  client.on('connect', () => {
    if (!down) return;
    down = false;
    io.stderr(`reconnected to ${opts.broker}\n`);
    client.subscribe(centralSubscriptions(unit), { qos: 1 });
  });
  const alertUnits = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      io.stderr(`not JSON on ${topic} (${payload.length} bytes)\n`);
      return;
    }
    const t = parseTopic(topic);
    if (t?.kind === 'alert') alertUnits.set(String((json as { alertId?: unknown }).alertId), t.unitId);
    if (values.json) io.stdout(JSON.stringify({ topic, unitId: t?.unitId, kind: t?.kind, retained: packet.retain, payload: json }) + '\n');
    else {
      const line = formatMessage(topic, json, packet.retain);
      if (line) io.stdout(line + '\n');
    }
  });
  try {
    await client.subscribeAsync(centralSubscriptions(unit), { qos: 1 });
  } catch (err) {
    client.end(true);
    throw new UserError(`cannot subscribe to ${unit === '+' ? 'all units' : `unit ${unit}`}: ${(err as Error).message}`);
  }
  let rl: readline.Interface | undefined;
  if (key) {
    rl = readline.createInterface({ input: control.input ?? process.stdin, terminal: false });
    rl.on('line', (line) => {
      const m = /^\s*([cf])\s+(\S+)\s*$/.exec(line);
      if (!m) {
        if (line.trim()) io.stderr(`type 'c ALERT_ID' (confirmed) or 'f ALERT_ID' (false alert)\n`);
        return;
      }
      const alertId = m[2];
      const target = alertUnits.get(alertId) ?? (unit !== '+' ? unit : undefined);
      if (!target) {
        io.stderr(`alert ${alertId} has not been seen here: cannot tell which unit it belongs to (use central send adjudicate --unit)\n`);
        return;
      }
      const verdict = m[1] === 'c' ? 'confirmed' : 'false-alert';
      sendCommand(client, { type: 'adjudicate', unitId: target, body: { alertId, verdict } }, key, 30).then(
        ({ outcome }) => {
          if (outcome.kind === 'timeout') io.stderr(`adjudicate ${alertId}: no cmd-result from ${target} within 30 s\n`);
        },
        (err: Error) => io.stderr(`adjudicate ${alertId}: ${err.message}\n`),
      );
    });
  }
  await (control.stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }));
  stopping = true;
  rl?.close();
  await client.endAsync(true);
  return 0;
}

const WATCH_RECONNECT_S = 2;

export async function send(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...TLS_OPTIONS, bundle: { type: 'string' }, alert: { type: 'string' }, verdict: { type: 'string' }, timeout: { type: 'string' }, ttl: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  const type = positionals[0];
  if (!type || !(COMMAND_TYPES as readonly string[]).includes(type) || positionals.length !== 1) {
    throw new UsageError(`central send needs one command: ${COMMAND_TYPES.join(', ')}`);
  }
  const unit = requireOpt(values.unit, 'unit');
  if (unit === '+') throw new UsageError('central send goes to one unit: --unit ID, not +');
  const num = (v: string | undefined, name: string, dflt: number) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, not '${v}'`);
    return n;
  };
  const timeoutS = num(values.timeout, 'timeout', 30);
  const ttlS = num(values.ttl, 'ttl', 300);
  let body: object = {};
  if (type === 'start-session') {
    const file = requireOpt(values.bundle, 'bundle');
    try {
      body = { bundle: readFileSync(file).toString('base64') };
    } catch (err) {
      throw new UserError(`cannot read the bundle ${file}: ${(err as Error).message}`);
    }
  } else if (type === 'adjudicate') {
    const verdict = requireOpt(values.verdict, 'verdict');
    if (verdict !== 'confirmed' && verdict !== 'false-alert') throw new UsageError(`--verdict must be confirmed or false-alert, not '${verdict}'`);
    body = { alertId: requireOpt(values.alert, 'alert'), verdict };
  }
  const key = authorityKey(requireOpt(values['authority-key'], 'authority-key'));
  const client = await connect(connectOptions(values));
  try {
    const { envelope, outcome } = await sendCommand(client, { type, unitId: unit, body, ttlS }, key, timeoutS);
    if (outcome.kind === 'timeout') {
      io.stderr(`no cmd-result from unit ${unit} for ${type} ${envelope.commandId} within ${timeoutS} s (is the unit online? 'central watch --unit ${unit}' shows its status)\n`);
      return 3;
    }
    const r = outcome.result;
    if (values.json) io.stdout(JSON.stringify(r) + '\n');
    if (r.accepted) {
      if (!values.json) io.stdout(`${type} ${r.commandId}: accepted by ${unit}${r.result ? `\n${JSON.stringify(r.result, null, 2)}` : ''}\n`);
      return 0;
    }
    io.stderr(`${type} ${r.commandId}: refused by ${unit}: ${r.reason}${r.code ? ` (${r.code})` : ''}: ${r.message ?? ''}\n`);
    return 1;
  } finally {
    await client.endAsync();
  }
}

export interface ServeControl {
  /** Resolve to stop serving (tests); the CLI stops on SIGINT/SIGTERM. */
  stop?: Promise<void>;
  /** Called with the console once it is up (tests). */
  onReady?: (c: RunningConsole) => void;
}

function centralConfig(file: string) {
  try {
    return loadCentralConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
}

export async function serve(argv: string[], io: CommandIO, control: ServeControl = {}): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string' } }, false);
  const cfg = centralConfig(requireOpt(values.config, 'config'));
  const logger = createLogger({ level: 'info', write: (l) => io.stdout(l + '\n') });
  let c: RunningConsole;
  try {
    c = await startConsole(cfg, logger);
  } catch (err) {
    if (err instanceof CentralServiceError) throw new UserError(err.message);
    throw new UserError(`central serve could not start: ${(err as Error).message}`);
  }
  logger.info('console ready', { url: c.url, store: cfg.store.kind, instance: cfg.instance });
  control.onReady?.(c);
  await (control.stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }));
  await c.close();
  return 0;
}

/** `central user add`: create or reset a console account (the password is printed once, or read from stdin). */
export async function user(argv: string[], io: CommandIO, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, true);
  if (positionals[0] !== 'add' || positionals.length !== 1) throw new UsageError('central user add --config FILE --name NAME --role officer|supervisor|auditor [--password-stdin]');
  const name = requireOpt(values.name, 'name');
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new UsageError(`--name '${name}': 1-64 letters, digits or . _ @ -`);
  const role = requireOpt(values.role, 'role');
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not '${role}'`);
  let password: string;
  if (values['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.from(c as Buffer));
    password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (password.length < 12) throw new UserError('the password must have at least 12 characters');
  } else password = newPassword();
  const cfg = centralConfig(requireOpt(values.config, 'config'));
  const store = await openStore(cfg);
  try {
    await store.putUser({ name, role: role as Role, passwordHash: hashPassword(password) });
  } finally {
    await store.close();
  }
  io.stdout(values['password-stdin'] ? `user ${name} (${role}) saved\n` : `user ${name} (${role}) saved; password ${password}\n`);
  return 0;
}

export const centralCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === 'watch') return watch(rest, io);
  if (sub === 'send') return send(rest, io);
  if (sub === 'serve') return serve(rest, io);
  if (sub === 'user') return user(rest, io);
  throw new UsageError(`unknown central subcommand '${sub ?? ''}' (watch, send, serve or user)`);
};
