/**
 * The broker is reachable with the configured TLS: one MQTT connection from the config's mqtt
 * section (its CA, client certificate and key), under a client id of its own so that a running
 * daemon's session is not taken over, closed straight after CONNACK.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions } from 'mqtt';
import type { MqttConfig } from '../comms/config';
import { fail, pass, warn, type CheckResult } from './check';

const name = 'broker';

/** Pure: a hint for what to do about a connection error, from its message or code. */
export function brokerHint(message: string): string {
  const m = message.toLowerCase();
  if (m.includes('econnrefused')) return 'nothing listens there: check the host and port in mqtt.url and that the broker runs';
  if (m.includes('enotfound') || m.includes('eai_again')) return 'the host name does not resolve: check mqtt.url and DNS';
  if (m.includes('connack timeout') || m.includes('no answer within')) return 'the broker did not answer the MQTT CONNECT: is this port an MQTT listener, with TLS (mqtts://) where the broker expects it?';
  if (m.includes('etimedout') || m.includes('ehostunreach') || m.includes('enetunreach')) return 'no route or no answer: check the network link, firewall and mqtt.url';
  if (m.includes('self-signed') || m.includes('unable to get local issuer') || m.includes('unable to verify')) return "the broker's certificate is not signed by mqtt.tls.caFile: install the CA that signed it";
  if (m.includes('altnames') || m.includes('hostname')) return "the broker's certificate does not name the host in mqtt.url: use that name, or set mqtt.tls.serverName";
  if (m.includes('certificate has expired') || m.includes('not yet valid')) return "a certificate is outside its validity period: check the unit's clock, then the certificates' dates";
  if (m.includes('unknown ca') || m.includes('certificate required') || m.includes('bad certificate') || m.includes('handshake') || m.includes('socket hang up') || m.includes('econnreset')) return "the broker refused the unit's client certificate: it must be signed by a CA the broker trusts (mqtt.tls.certFile/keyFile)";
  if (m.includes('not authorized') || m.includes('bad user name')) return "the broker refused the unit's identity: register the certificate's CN (the unit id) with the broker";
  return 'check mqtt.url and the TLS files';
}

function readTls(cfg: MqttConfig): Pick<IClientOptions, 'ca' | 'cert' | 'key'> {
  const out: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  for (const [k, file] of [['ca', cfg.tls.caFile], ['cert', cfg.tls.certFile], ['key', cfg.tls.keyFile]] as const) {
    if (!file) continue;
    try {
      out[k] = readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read mqtt.tls.${k}File ${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

function connectOnce(url: string, opts: IClientOptions, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { ...opts, reconnectPeriod: 0, connectTimeout: timeoutMs });
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end(true, () => (err ? reject(err) : resolve()));
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${(timeoutMs / 1000).toFixed(0)} s`)), timeoutMs);
    client.once('connect', () => finish());
    client.once('error', (err) => finish(err));
    client.once('close', () => finish(new Error('the connection closed before the broker accepted it')));
  });
}

export async function checkBroker(cfg: MqttConfig, unitId: string, timeoutMs: number): Promise<CheckResult> {
  if (!cfg.url) {
    return fail(name, 'mqtt.url is not configured: a unit must report to a broker; set it (scripts/provision --broker mqtts://host:8883)');
  }
  let tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'>;
  try {
    tls = readTls(cfg);
  } catch (err) {
    return fail(name, (err as Error).message);
  }
  const opts: IClientOptions = {
    clientId: `${cfg.clientId ?? `lfr-edge-${unitId}`}-selftest-${process.pid}`,
    clean: true,
    username: cfg.username,
    password: cfg.password,
    rejectUnauthorized: cfg.tls.rejectUnauthorized,
    servername: cfg.tls.serverName,
    ...tls,
  };
  const secure = /^(mqtts|wss|ssl|tls):/i.test(cfg.url);
  const t0 = Date.now();
  let version: 5 | 4 = cfg.protocol === '3.1.1' ? 4 : 5;
  try {
    try {
      await connectOnce(cfg.url, { ...opts, protocolVersion: version }, timeoutMs);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (cfg.protocol !== 'auto' || version !== 5 || (code !== 132 && code !== 1)) throw err;
      version = 4;
      await connectOnce(cfg.url, { ...opts, protocolVersion: version }, timeoutMs);
    }
  } catch (err) {
    const message = (err as Error).message;
    return fail(name, `${cfg.url}: ${message}; ${brokerHint(message)}`);
  }
  const detail = `${cfg.url}: connected with ${secure ? (tls.cert ? 'mutual TLS' : 'TLS') : 'no TLS'}, MQTT ${version === 5 ? '5' : '3.1.1'}, in ${Date.now() - t0} ms`;
  return secure ? pass(name, detail) : warn(name, `${detail}: unencrypted, for a bench only; use mqtts:// in the field`);
}
