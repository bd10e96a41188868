/**
 * UnitLink: the unit's one broker connection (MQTT.js). The only publisher on the unit.
 *
 * - `mqtts://` with client certificates and/or username/password, MQTT 5 with a fall-back to
 *   3.1.1 when the broker refuses 5 (protocol 'auto').
 * - Retained `status` `online` on every connect; the Last Will is a retained `offline`.
 * - Reconnects with exponential backoff and jitter (mqtt.reconnectMinS..reconnectMaxS, a cap of a
 *   few seconds: reconnectDelayMs). Each
 *   attempt is a fresh client: nothing is queued inside the library; the durable outbox is the
 *   only queue.
 * - Alerts, records and command results go through the outbox (outbox.ts): written first, then
 *   delivered by OutboxDelivery (outbox-delivery.ts): in order, at most `inflightWindow`
 *   unacknowledged, removed on PUBACK, resent from the oldest after a reconnect.
 * - `session` (retained, QoS 1) and `health` (retained, QoS 0) are state, not events: the latest
 *   value is kept in memory and (re)published on every connect.
 * - Publishing never throws into callers: failures are logged and the message waits in the outbox
 *   (events) or is replaced by the next value (state).
 * - A message the outbox cannot store (the disk is full) is not lost for that: it is held in memory
 *   (bounded) and published at once when connected, else on the next connect. It is "at risk"
 *   (a restart before its PUBACK loses it): counted (atRisk()) and reported to onUnstored listeners.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log';
import { cropsEnabled, type MqttConfig } from './config';
import type {
  AlertMessage, CommandResultMessage, DeploymentRecord, HealthMessage, OutboxKind, RecordMessage, SessionMessage, StatusMessage,
} from './messages';
import { openCommsDatabase, Outbox } from './outbox';
import { OutboxDelivery } from './outbox-delivery';
import { signRecord } from './record-signature';
import { deriveOutboxKey } from './seal';
import { commandSubscription, parseTopic, unitTopic } from './topics';
import { UnstoredMessages, type UnstoredListener } from './unstored';
import { maximumPacketSize, reconnectDelayMs, redactUrl, withoutCrop, withTimeout } from './link-policy';

export { maximumPacketSize, reconnectDelayMs } from './link-policy';

export interface UnitLinkDeps {
  config: MqttConfig;
  unitId: string;
  version: string;
  /** Signs deployment records and derives the outbox sealing key. */
  unitEd25519Private: KeyObject;
  /** paths.stateDir: the outbox file lives here unless mqtt.outbox.file is absolute. */
  stateDir: string;
  logger: Logger;
  now?: () => Date;
  /** Uniform [0, 1) for the reconnect jitter (tests pass a fixed one). */
  random?: () => number;
}

export type CommandListener = (type: string, payload: Buffer) => void;
export { MAX_UNSTORED, type UnstoredListener } from './unstored';

export class LinkConfigError extends Error {
  override name = 'LinkConfigError';
}

export class UnitLink {
  private client: MqttClient | undefined;
  private generation = 0;
  private outbox: Outbox | undefined;
  private readonly delivery: OutboxDelivery;
  private isConnected = false;
  private stopping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private protocolVersion: 4 | 5;
  private readonly listeners: CommandListener[] = [];
  private readonly unstored: UnstoredMessages;
  private readonly connectWaiters: (() => void)[] = [];
  private lastSession: SessionMessage | undefined;
  private lastHealth: HealthMessage | undefined;
  private reconnects = 0;
  private tls: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {};
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly deps: UnitLinkDeps) {
    this.log = deps.logger.child({ component: 'mqtt' });
    this.unstored = new UnstoredMessages(this.log);
    this.now = deps.now ?? (() => new Date());
    this.random = deps.random ?? Math.random;
    this.protocolVersion = deps.config.protocol === '3.1.1' ? 4 : 5;
    this.delivery = new OutboxDelivery({
      unitId: deps.unitId,
      inflightWindow: deps.config.inflightWindow,
      log: this.log,
      connection: () => (this.client && this.outbox && this.isConnected ? { client: this.client, outbox: this.outbox } : undefined),
      generation: () => this.generation,
    });
  }

  /** Open the outbox and start connecting. Resolves at once: a broker that is down is not an error. */
  async start(): Promise<void> {
    const cfg = this.deps.config;
    if (!/^(mqtts?|wss?):\/\//.test(cfg.url)) {
      throw new LinkConfigError(`mqtt.url '${cfg.url}' is not a broker URL: use mqtts://host:8883 (or mqtt://host:1883 on a bench)`);
    }
    this.tls = {};
    for (const [k, file] of [['ca', cfg.tls.caFile], ['cert', cfg.tls.certFile], ['key', cfg.tls.keyFile]] as const) {
      if (!file) continue;
      try {
        this.tls[k] = readFileSync(file);
      } catch (err) {
        throw new LinkConfigError(`cannot read mqtt.tls.${k}File ${file}: ${(err as Error).message}`);
      }
    }
    if (Boolean(cfg.tls.certFile) !== Boolean(cfg.tls.keyFile)) {
      throw new LinkConfigError('mqtt.tls.certFile and mqtt.tls.keyFile go together: set both for mutual TLS, or neither');
    }
    const file = path.resolve(this.deps.stateDir, cfg.outbox.file);
    this.outbox = new Outbox(openCommsDatabase(file), {
      sealKey: deriveOutboxKey(this.deps.unitEd25519Private),
      maxRows: cfg.outbox.maxRows,
      maxBytes: cfg.outbox.maxBytes,
      logger: this.deps.logger,
      now: this.now,
    });
    this.stopping = false;
    this.log.info('mqtt link starting', { url: redactUrl(cfg.url), outboxDepth: this.outbox.depth() });
    this.connect();
  }

  /** Say `offline` (retained) when connected, close the connection and the outbox. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.generation += 1;
    if (client) {
      if (this.isConnected) {
        const offline: StatusMessage = { v: 1, state: 'offline', unitId: this.deps.unitId, version: this.deps.version, at: this.now().toISOString(), reason: 'shutdown' };
        await withTimeout(
          new Promise<void>((resolve) => client.publish(unitTopic(this.deps.unitId, 'status'), JSON.stringify(offline), { qos: 1, retain: true }, () => resolve())),
          2000,
        );
      }
      await withTimeout(new Promise<void>((resolve) => client.end(false, {}, () => resolve())), 2000);
      client.end(true);
    }
    this.isConnected = false;
    this.delivery.connectionLost();
    if (this.unstored.size) this.log.error('messages the outbox could not store were not acknowledged before stopping: they are lost', { count: this.unstored.size, kinds: this.unstored.kinds() });
    this.outbox?.close();
    this.outbox = undefined;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Resolve when connected (tests, and callers that want to wait before a first publish). */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.isConnected) return Promise.resolve(true);
    return withTimeout(new Promise<boolean>((resolve) => this.connectWaiters.push(() => resolve(true))), timeoutMs, false);
  }

  onCommand(listener: CommandListener): void {
    this.listeners.push(listener);
  }

  /** Called for each message the outbox could not store (see the class comment). */
  onUnstored(listener: UnstoredListener): void {
    this.unstored.onUnstored(listener);
  }

  publishAlert(alert: AlertMessage): void {
    this.enqueue('alert', alert.alertId, cropsEnabled(this.deps.config) ? alert : withoutCrop(alert));
  }

  /** Sign the record with the unit key and queue it. Returns what is published. */
  publishRecord(record: DeploymentRecord): RecordMessage | undefined {
    try {
      const signed = signRecord(record, this.deps.unitEd25519Private);
      this.enqueue('record', record.sessionId, signed);
      return signed;
    } catch (err) {
      this.log.error('cannot sign the deployment record: it is not published', { sessionId: record.sessionId, error: err as Error });
      return undefined;
    }
  }

  publishCommandResult(result: CommandResultMessage): void {
    this.enqueue('cmd-result', result.commandId ?? `unreadable-${this.now().getTime()}`, result);
  }

  publishSession(info: SessionMessage): void {
    this.lastSession = info;
    this.sendState('session', info, 1);
  }

  publishHealth(h: HealthMessage): void {
    this.lastHealth = h;
    this.sendState('health', h, 0);
  }

  outboxDepth(): number {
    return this.outbox?.depth() ?? 0;
  }

  outboxDropped(): number {
    const d = this.outbox?.dropped();
    return d ? d.alerts + d.cmdResults + d.crops : 0;
  }

  /** Outbox rows that could not be read and were set aside (never published). */
  outboxDeadLetters(): number {
    try {
      return this.outbox?.deadLetters() ?? 0;
    } catch {
      return 0;
    }
  }

  /**
   * Messages the outbox could not store since start: `atRisk` in total, `held` in memory now
   * (not yet acknowledged), `lost` (more than MAX_UNSTORED were held).
   */
  unstoredStats(): { atRisk: number; held: number; lost: number } {
    return this.unstored.stats();
  }

  reconnectCount(): number {
    return this.reconnects;
  }

  private enqueue(kind: OutboxKind, msgId: string, payload: object): void {
    if (!this.outbox) {
      this.log.error(`${kind} raised while the link is stopped: it is lost`, { kind, msgId });
      return;
    }
    try {
      this.outbox.add(kind, msgId, payload);
    } catch (err) {
      this.log.error(`cannot write the ${kind} to the outbox: held in memory and published when connected (at risk until acknowledged)`, { kind, msgId, error: err as Error });
      this.unstored.hold(kind, msgId, payload);
      this.pumpUnstored();
      return;
    }
    this.delivery.pump();
  }

  /** Publish the held (unstored) messages; each leaves memory on its PUBACK. */
  private pumpUnstored(): void {
    const client = this.client;
    if (!client || !this.isConnected) return;
    const gen = this.generation;
    for (const u of this.unstored.takeUnsent()) {
      client.publish(unitTopic(this.deps.unitId, u.kind), u.payload, { qos: 1 }, (err) => {
        if (gen !== this.generation) return; // resent on the next connection
        if (err) {
          this.unstored.unsent(u);
          this.log.warn(`unstored ${u.kind} not acknowledged; sent again after reconnect`, { msgId: u.msgId, error: err });
          return;
        }
        this.unstored.acknowledged(u);
      });
    }
  }

  private sendState(kind: 'session' | 'health', payload: object, qos: 0 | 1): void {
    const client = this.client;
    if (!client || !this.isConnected) return; // the latest value is sent on connect
    try {
      client.publish(unitTopic(this.deps.unitId, kind), JSON.stringify(payload), { qos, retain: true }, (err) => {
        if (err) this.log.warn(`${kind} publish failed; the next value or reconnect sends it again`, { error: err });
      });
    } catch (err) {
      this.log.warn(`${kind} publish failed`, { error: err as Error });
    }
  }

  private connect(): void {
    if (this.stopping) return;
    const cfg = this.deps.config;
    const gen = ++this.generation;
    const unitId = this.deps.unitId;
    const will: StatusMessage = { v: 1, state: 'offline', unitId, version: this.deps.version, at: this.now().toISOString() };
    const opts: IClientOptions = {
      protocolVersion: this.protocolVersion,
      clientId: cfg.clientId ?? `lfr-edge-${unitId}`,
      clean: true,
      keepalive: cfg.keepaliveS,
      connectTimeout: cfg.connectTimeoutS * 1000,
      reconnectPeriod: 0,
      queueQoSZero: false,
      username: cfg.username,
      password: cfg.password,
      rejectUnauthorized: cfg.tls.rejectUnauthorized,
      servername: cfg.tls.serverName,
      ...this.tls,
      will: { topic: unitTopic(unitId, 'status'), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
      // MQTT 5: the broker must not send this client a packet larger than a start-session may be.
      ...(this.protocolVersion === 5 ? { properties: { maximumPacketSize: maximumPacketSize(cfg) } } : {}),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(cfg.url, opts);
    } catch (err) {
      this.log.error('cannot create the MQTT client', { error: err as Error });
      this.scheduleReconnect(gen);
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (gen !== this.generation) return;
      this.onConnected(client);
    });
    client.on('message', (topic, payload) => {
      if (gen !== this.generation) return;
      const t = parseTopic(topic);
      if (!t || t.kind !== 'cmd' || t.unitId !== unitId) return;
      for (const l of this.listeners) {
        try {
          l(t.command, payload);
        } catch (err) {
          this.log.error('command listener failed', { command: t.command, error: err as Error });
        }
      }
    });
    client.on('error', (err: Error & { code?: number }) => {
      if (gen !== this.generation) return;
      if (cfg.protocol === 'auto' && this.protocolVersion === 5 && (err.code === 132 || err.code === 1)) {
        this.log.warn('the broker refused MQTT 5: falling back to MQTT 3.1.1 (no Maximum Packet Size is announced; the per-command size limits still apply)');
        this.protocolVersion = 4;
      } else {
        this.log.warn('mqtt connection error', { error: err, code: err.code, attempt: this.attempt });
      }
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      const was = this.isConnected;
      this.isConnected = false;
      this.delivery.connectionLost();
      this.unstored.connectionLost();
      if (was) this.log.warn('mqtt connection lost', { outboxDepth: this.outboxDepth() });
      this.scheduleReconnect(gen);
    });
  }

  private onConnected(client: MqttClient): void {
    const unitId = this.deps.unitId;
    if (this.attempt > 0 || this.reconnects > 0) this.reconnects += 1;
    this.attempt = 0;
    this.isConnected = true;
    this.log.info('mqtt connected', { protocolVersion: this.protocolVersion, outboxDepth: this.outboxDepth() });
    const online: StatusMessage = { v: 1, state: 'online', unitId, version: this.deps.version, at: this.now().toISOString() };
    client.subscribe(commandSubscription(unitId), { qos: 1 }, (err) => {
      if (err) this.log.error('cannot subscribe to commands', { error: err });
    });
    client.publish(unitTopic(unitId, 'status'), JSON.stringify(online), { qos: 1, retain: true }, (err) => {
      if (err) this.log.warn('status publish failed', { error: err });
    });
    if (this.lastSession) this.sendState('session', this.lastSession, 1);
    if (this.lastHealth) this.sendState('health', this.lastHealth, 0);
    this.delivery.pump();
    this.pumpUnstored();
    for (const w of this.connectWaiters.splice(0)) w();
  }

  private scheduleReconnect(gen: number): void {
    if (this.stopping || gen !== this.generation) return;
    const old = this.client;
    this.client = undefined;
    this.generation += 1; // callbacks of the old client are ignored from now on
    old?.end(true);
    const cfg = this.deps.config;
    const delayMs = reconnectDelayMs(this.attempt, cfg, this.random);
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
    this.log.debug('mqtt reconnect scheduled', { delayMs: Math.round(delayMs), attempt: this.attempt });
  }
}
