/** The central side's broker connection (a tool, not the unit: it may subscribe to any unit). */
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';

export interface CentralConnectOptions {
  broker: string;
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
  /** Seconds to wait for the connection. */
  timeoutS?: number;
  /** MQTT 5 (default) or 3.1.1 (4) for brokers that speak only that (e.g. the demo's in-process one). */
  protocolVersion?: 4 | 5;
  /** Reconnect every this many seconds after a lost connection (default: no reconnect). */
  reconnectS?: number;
}

export class CentralConnectError extends Error {
  override name = 'CentralConnectError';
}

function read(file: string | undefined, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CentralConnectError(`cannot read the ${what} file ${file}: ${(err as Error).message}`);
  }
}

export async function connectCentral(o: CentralConnectOptions): Promise<MqttClient> {
  if (!/^(mqtts?|wss?):\/\//.test(o.broker)) throw new CentralConnectError(`--broker '${o.broker}' is not a broker URL (mqtts://host:8883)`);
  if (Boolean(o.cert) !== Boolean(o.key)) throw new CentralConnectError('--cert and --key go together');
  const client = mqtt.connect(o.broker, {
    protocolVersion: o.protocolVersion ?? 5,
    ca: read(o.ca, '--ca'),
    cert: read(o.cert, '--cert'),
    key: read(o.key, '--key'),
    username: o.username,
    password: o.password,
    reconnectPeriod: 0, // the first connection fails fast with a clear error; see below for later ones
    connectTimeout: (o.timeoutS ?? 10) * 1000,
    clientId: `lfr-central-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      client.end(true);
      reject(new CentralConnectError(`cannot connect to ${o.broker}: ${err.message}`));
    };
    const onClose = () => reject(new CentralConnectError(`cannot connect to ${o.broker}: the broker closed the connection (certificate refused?)`));
    client.once('error', onError);
    client.once('close', onClose);
    client.once('connect', () => {
      // these belong to the first connection only: a later error must not end the client
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve();
    });
  });
  if (o.reconnectS) client.options.reconnectPeriod = o.reconnectS * 1000;
  client.on('error', () => undefined); // reported through 'close'/'offline' by the caller
  return client;
}
