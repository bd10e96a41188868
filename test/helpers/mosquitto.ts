/**
 * A real Mosquitto for tests: a CA, a server certificate and client certificates made with
 * openssl in a temp dir, a TLS listener on a free port with `require_certificate true` and
 * `use_identity_as_username true`, started as a child process, stopped and restarted on the
 * same port for outage tests.
 *
 * As root, Mosquitto drops to the `mosquitto` user: the temp dir and its files are given to that
 * user (chown) so it can read its certificates.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function mosquittoAvailable(): string | undefined {
  if (!existsSync(MOSQUITTO)) return `${MOSQUITTO} is not installed (apt-get install mosquitto)`;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl is not installed';
  }
  return undefined;
}

export interface ClientCert {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class MosquittoBroker {
  readonly dir: string;
  readonly caFile: string;
  port = 0;
  private child: ChildProcess | undefined;
  private logLines: string[] = [];
  private ca2 = false;

  private constructor(dir: string) {
    this.dir = dir;
    this.caFile = path.join(dir, 'ca.crt');
  }

  /** Make certificates and a config; call start() next. */
  static async create(): Promise<MosquittoBroker> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-mosq-'));
    const b = new MosquittoBroker(dir);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=lfr-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
    writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt'], dir);
    b.port = await freePort();
    b.writeConfig();
    return b;
  }

  /** A client certificate signed by the test CA (CN becomes the MQTT username). */
  clientCert(cn: string): ClientCert {
    const key = path.join(this.dir, `${cn}.key`);
    const cert = path.join(this.dir, `${cn}.crt`);
    if (!existsSync(cert)) {
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${cn}.key`, '-out', `${cn}.csr`], this.dir);
      openssl(['x509', '-req', '-in', `${cn}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${cn}.crt`], this.dir);
      this.fixOwnership();
    }
    return { cert, key };
  }

  /** A client certificate from another CA the broker does not trust. */
  untrustedCert(cn: string): ClientCert {
    if (!this.ca2) {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=rogue-ca', '-keyout', 'rogue-ca.key', '-out', 'rogue-ca.crt'], this.dir);
      this.ca2 = true;
    }
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `rogue-${cn}.key`, '-out', `rogue-${cn}.csr`], this.dir);
    openssl(['x509', '-req', '-in', `rogue-${cn}.csr`, '-CA', 'rogue-ca.crt', '-CAkey', 'rogue-ca.key', '-CAcreateserial', '-days', '2', '-out', `rogue-${cn}.crt`], this.dir);
    return { cert: path.join(this.dir, `rogue-${cn}.crt`), key: path.join(this.dir, `rogue-${cn}.key`) };
  }

  get url(): string {
    return `mqtts://localhost:${this.port}`;
  }

  get log(): string {
    return this.logLines.join('');
  }

  private writeConfig(): void {
    const conf = [
      'per_listener_settings false',
      'allow_anonymous false',
      // persistence lets a persistent (clean: false) central session survive a broker restart
      'persistence true',
      `persistence_location ${this.dir}/`,
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      `listener ${this.port} 127.0.0.1`,
      `cafile ${this.caFile}`,
      `certfile ${path.join(this.dir, 'server.crt')}`,
      `keyfile ${path.join(this.dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'max_inflight_messages 20',
      '',
    ].join('\n');
    writeFileSync(path.join(this.dir, 'mosquitto.conf'), conf);
    this.fixOwnership();
  }

  private fixOwnership(): void {
    if (process.getuid?.() !== 0) return;
    const uid = Number(execFileSync('id', ['-u', 'mosquitto']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'mosquitto']).toString().trim());
    chownSync(this.dir, uid, gid);
    for (const f of readdirSync(this.dir)) chownSync(path.join(this.dir, f), uid, gid);
  }

  /** Start (or restart, on the same port) and wait until the TLS listener answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error('mosquitto is already running');
    const child = spawn(MOSQUITTO, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.logLines.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => this.logLines.push(d.toString()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${this.log}`);
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error(`mosquitto did not listen on ${this.port} within 10 s:\n${this.log}`);
  }

  private answers(): Promise<boolean> {
    const c = this.clientCert('probe');
    return new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: this.port, ca: readFile(this.caFile), cert: readFile(c.cert), key: readFile(c.key), servername: 'localhost' });
      s.once('secureConnect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  /** Stop (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readFile(f: string): Buffer {
  return require('node:fs').readFileSync(f) as Buffer;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A plain MQTT.js client with a certificate from the broker's CA (the "central" side in tests). */
export async function connectClient(broker: MosquittoBroker, cn: string, extra: Record<string, unknown> = {}): Promise<import('mqtt').MqttClient> {
  const mqtt = (await import('mqtt')).default;
  const c = broker.clientCert(cn);
  const client = mqtt.connect(broker.url, {
    protocolVersion: 5,
    ca: readFile(broker.caFile),
    cert: readFile(c.cert),
    key: readFile(c.key),
    reconnectPeriod: 0,
    connectTimeout: 5000,
    clientId: `${cn}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Collect messages on topics into an array (topic, parsed JSON, retain flag). */
export function collect(client: import('mqtt').MqttClient): { topic: string; json: any; retain: boolean }[] {
  const out: { topic: string; json: any; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      json = payload.toString('utf8');
    }
    out.push({ topic, json, retain: packet.retain });
  });
  return out;
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
