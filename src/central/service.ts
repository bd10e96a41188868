/**
 * The core of `central serve`: one MQTT connection (MQTT 5, mutual TLS, reconnecting), retained
 * unit state by plain subscription, events (alert, record, cmd-result) by the shared subscription
 * `$share/<group>/...` so several instances each handle an event once; everything goes to the
 * store. Adjudications and session commands are signed with the authority key (the shared
 * command-envelope code) and audited with the officer's name; retention deletes crops as
 * docs/central.md states, each deletion audited.
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { AuditLog } from '../audit/log';
import { signCommand } from '../comms/command-envelope';
import { openCrop } from '../comms/crop-seal';
import type { AlertMessage, CommandResultMessage, RecordMessage, SessionMessage, Verdict } from '../comms/messages';
import { verifyRecord } from '../comms/record-signature';
import { commandTopic, parseTopic, TOPIC_ROOT } from '../comms/topics';
import type { Logger } from '../log';
import { loadPrivateKey, loadPublicKey, publicKeyFingerprint } from '../watchlist/keys';
import type { CentralConfig } from './config';
import type { AlertRow, CentralStore, SignatureStatus } from './store';

export const STATE_KINDS = ['status', 'health', 'session'] as const;
export const EVENT_KINDS = ['alert', 'record', 'cmd-result'] as const;

/** The subscriptions: retained state plainly, events shared by the group (MQTT 5) or plainly (3.1.1). */
export function serveSubscriptions(protocol: '5' | '3.1.1', group: string): string[] {
  const state = STATE_KINDS.map((k) => `${TOPIC_ROOT}/+/${k}`);
  const events = EVENT_KINDS.map((k) => (protocol === '5' ? `$share/${group}/${TOPIC_ROOT}/+/${k}` : `${TOPIC_ROOT}/+/${k}`));
  return [...state, ...events];
}

export class CentralServiceError extends Error {
  override name = 'CentralServiceError';
}

export interface HandledCounts {
  alerts: number;
  duplicateAlerts: number;
  records: number;
  cmdResults: number;
  state: number;
  malformed: number;
}

type Waiter = (r: CommandResultMessage) => void;

export class CentralService {
  private client: MqttClient | undefined;
  readonly counts: HandledCounts = { alerts: 0, duplicateAlerts: 0, records: 0, cmdResults: 0, state: 0, malformed: 0 };
  private readonly authority: KeyObject;
  private readonly centralKey: KeyObject | undefined;
  private readonly unitKeys = new Map<string, KeyObject>();
  private readonly audit: AuditLog;
  private readonly waiters = new Map<string, Waiter>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private work: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    readonly cfg: CentralConfig,
    readonly store: CentralStore,
    logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.log = logger.child({ component: 'central', instance: cfg.instance });
    const key = (what: string, f: () => KeyObject) => {
      try {
        return f();
      } catch (err) {
        throw new CentralServiceError(`${what}: ${(err as Error).message}`);
      }
    };
    this.authority = key('authorityKeyFile', () => loadPrivateKey(cfg.authorityKeyFile, ['ed25519']));
    this.centralKey = cfg.centralKeyFile ? key('centralKeyFile', () => loadPrivateKey(cfg.centralKeyFile!, ['x25519'])) : undefined;
    for (const [unitId, u] of Object.entries(cfg.units)) this.unitKeys.set(unitId, key(`units.${unitId}.ed25519PublicKeyFile`, () => loadPublicKey(u.ed25519PublicKeyFile, ['ed25519'])));
    this.audit = new AuditLog(cfg.auditFile);
  }

  get centralKeyFingerprint(): string | undefined {
    return this.centralKey ? publicKeyFingerprint(this.centralKey) : undefined;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  auditEvent(type: string, fields: Record<string, unknown>): void {
    // the event's type and instance come last: a field named 'type' must not rename the event
    this.audit.append({ ...fields, type, instance: this.cfg.instance }, this.now());
  }

  auditFile(): string {
    return this.audit.file;
  }

  /** Connect (waits for the first connection, up to `timeoutS`) and start the retention sweep. */
  async start(timeoutS = 15): Promise<void> {
    const m = this.cfg.mqtt;
    const read = (f: string | undefined, what: string) => {
      if (!f) return undefined;
      try {
        return readFileSync(f);
      } catch (err) {
        throw new CentralServiceError(`cannot read mqtt.tls.${what} ${f}: ${(err as Error).message}`);
      }
    };
    const client = mqtt.connect(m.url, {
      protocolVersion: m.protocol === '5' ? 5 : 4,
      ca: read(m.tls.caFile, 'caFile'),
      cert: read(m.tls.certFile, 'certFile'),
      key: read(m.tls.keyFile, 'keyFile'),
      rejectUnauthorized: m.tls.rejectUnauthorized,
      keepalive: m.keepaliveS,
      reconnectPeriod: m.reconnectS * 1000,
      connectTimeout: 10_000,
      clean: true,
      clientId: `lfr-central-${this.cfg.instance}-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.work = this.work.then(() => this.handle(topic, payload, packet.retain)).catch((err: Error) => this.log.error('message handling failed', { topic, error: err }));
    });
    client.on('connect', () => {
      this.connected = true;
      this.log.info('mqtt connected', { url: m.url, protocol: m.protocol });
      client.subscribe(serveSubscriptions(m.protocol, m.shareGroup), { qos: 1 }, (err, granted) => {
        if (err) this.log.error('cannot subscribe', { error: err });
        const refused = (granted ?? []).filter((g) => g.qos === 128);
        if (refused.length) this.log.error('subscriptions refused by the broker', { topics: refused.map((g) => g.topic) });
      });
    });
    client.on('close', () => {
      if (this.connected) this.log.warn('mqtt connection lost: reconnecting', { everyS: m.reconnectS });
      this.connected = false;
    });
    client.on('error', (err) => this.log.warn('mqtt error', { error: err }));
    await new Promise<void>((resolve, reject) => {
      let lastError: string | undefined;
      const t = setTimeout(() => reject(new CentralServiceError(`cannot connect to ${m.url} within ${timeoutS} s: ${lastError ?? 'no answer'} (broker down, or the certificate refused?)`)), timeoutS * 1000);
      // a broker without MQTT 5 answers CONNACK 'unacceptable protocol version' (1 in 3.1.1, 132 in 5)
      const onError = (err: Error & { code?: number | string }) => {
        lastError = err.message;
        if (m.protocol !== '5' || (err.code !== 1 && err.code !== 132)) return;
        clearTimeout(t);
        reject(new CentralServiceError(`${m.url} refused MQTT 5 (CONNACK code ${err.code}): this broker speaks only MQTT 3.1.1, which has no shared subscriptions; set mqtt.protocol "3.1.1" and run a single instance, or use an MQTT 5 broker such as Mosquitto 2 (docs/central.md)`));
      };
      client.on('error', onError);
      client.once('connect', () => {
        clearTimeout(t);
        client.removeListener('error', onError);
        resolve();
      });
    }).catch((err) => {
      client.end(true);
      throw err;
    });
    this.sweepTimer = setInterval(() => void this.sweep().catch((err: Error) => this.log.error('retention sweep failed', { error: err })), this.cfg.retention.sweepIntervalS * 1000);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.client?.endAsync().catch(() => undefined);
    await this.work;
  }

  /** Wait until every message received so far is handled (tests). */
  idle(): Promise<unknown> {
    return this.work;
  }

  async handle(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const t = parseTopic(topic);
    if (!t || t.kind === 'cmd') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
    } catch (err) {
      this.counts.malformed++;
      this.log.warn('message is not a JSON object: ignored', { topic, bytes: payload.length, error: err as Error });
      return;
    }
    const at = this.now().toISOString();
    switch (t.kind) {
      case 'status':
      case 'health':
      case 'session':
        this.counts.state++;
        await this.store.putUnitState(t.unitId, t.kind, msg, at);
        if (t.kind === 'session') {
          const s = msg as unknown as SessionMessage;
          if ((s.state === 'ended' || s.state === 'aborted') && s.sessionId) await this.store.noteSessionEnded(t.unitId, s.sessionId, s.at ?? at);
        }
        return;
      case 'alert': {
        const a = msg as unknown as AlertMessage;
        if (typeof a.alertId !== 'string' || a.unitId !== t.unitId || typeof a.subjectRef !== 'string' || typeof a.score !== 'number') {
          this.counts.malformed++;
          this.log.warn('alert without the required fields, or from another unit than its topic: ignored', { topic });
          return;
        }
        if (await this.store.insertAlert(a, at)) {
          this.counts.alerts++;
          this.log.info('alert stored', { alertId: a.alertId, unitId: a.unitId, subjectRef: a.subjectRef, crop: a.crop ? 'sealed' : 'none' });
        } else this.counts.duplicateAlerts++;
        return;
      }
      case 'record': {
        const r = msg as unknown as RecordMessage;
        const key = this.unitKeys.get(t.unitId);
        const signature: SignatureStatus = !key ? 'unknown-unit-key' : r.unitId === t.unitId && verifyRecord(r, key) ? 'valid' : 'invalid';
        if (signature !== 'valid') this.log.warn('deployment record signature is not valid', { unitId: t.unitId, sessionId: r.sessionId, signature });
        if (typeof r.sessionId !== 'string') {
          this.counts.malformed++;
          return;
        }
        if (await this.store.insertRecord(r, signature, at)) this.counts.records++;
        if (typeof r.endedAt === 'string') await this.store.noteSessionEnded(t.unitId, r.sessionId, r.endedAt);
        return;
      }
      case 'cmd-result': {
        const c = msg as unknown as CommandResultMessage;
        this.counts.cmdResults++;
        if (c.commandId) this.waiters.get(c.commandId)?.(c);
        const alertId = await this.store.putCommandResult(c);
        if (alertId) this.log.info('adjudication answered by the unit', { alertId, accepted: c.accepted, reason: c.reason });
        return;
      }
    }
    void retained;
  }

  private publish(unitId: string, type: string, body: object, ttlS = 300) {
    if (!this.client || !this.connected) throw new CentralServiceError('not connected to the broker: try again in a moment');
    const envelope = signCommand({ type, unitId, body, now: this.now(), ttlS }, this.authority);
    this.client.publish(commandTopic(unitId, type), JSON.stringify(envelope), { qos: 1 });
    return envelope;
  }

  /** The officer's verdict: stored, audited, sent signed; the unit's cmd-result arrives later. */
  async adjudicate(alertId: string, verdict: Verdict, note: string | null, officer: string): Promise<AlertRow> {
    const row = await this.store.getAlert(alertId);
    if (!row) throw new CentralServiceError(`no alert ${alertId}`);
    if (row.verdict) throw new CentralServiceError(`alert ${alertId} was already adjudicated (${row.verdict} by ${row.officer})`);
    const env = this.publish(row.unitId, 'adjudicate', { alertId, verdict });
    const at = this.now().toISOString();
    if (!(await this.store.adjudicate(alertId, { verdict, note, officer, commandId: env.commandId, at }))) {
      throw new CentralServiceError(`alert ${alertId} was adjudicated by someone else just now`);
    }
    this.auditEvent('alert.adjudicated', { alertId, unitId: row.unitId, verdict, officer, commandId: env.commandId, note: note ?? null });
    if (verdict === 'false-alert' && (await this.store.deleteCrop(alertId, 'judged a false alert', at))) {
      this.auditEvent('crop.deleted', { alertId, unitId: row.unitId, reason: 'judged a false alert', by: officer });
    }
    return (await this.store.getAlert(alertId))!;
  }

  /** start-session / end-session from the page: signed, audited, waits for the unit's answer. */
  async sessionCommand(unitId: string, type: 'start-session' | 'end-session', body: object, officer: string, place?: string): Promise<CommandResultMessage | undefined> {
    const env = this.publish(unitId, type, body);
    this.auditEvent('session.command', { unitId, command: type, officer, commandId: env.commandId, ...(place ? { place } : {}) });
    // cmd-results come by the shared subscription, possibly to another instance: listen plainly too
    this.client!.subscribe(`${TOPIC_ROOT}/${unitId}/cmd-result`, { qos: 1 });
    const result = await new Promise<CommandResultMessage | undefined>((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(env.commandId);
        resolve(undefined);
      }, this.cfg.commandTimeoutS * 1000);
      this.waiters.set(env.commandId, (r) => {
        clearTimeout(t);
        this.waiters.delete(env.commandId);
        resolve(r);
      });
    });
    const sessionId = result?.accepted ? result.result?.sessionId : undefined;
    if (type === 'start-session' && place && typeof sessionId === 'string') await this.store.putPlace(unitId, sessionId, place, officer);
    return result;
  }

  /** The crop's JPEG, opened with the central key; throws saying why it cannot be shown. */
  openCrop(row: AlertRow): Buffer {
    if (!row.sealedCrop) throw new CentralServiceError(row.cropDeletedAt ? `the crop was deleted at ${row.cropDeletedAt} (${row.cropDeletedReason})` : 'the alert came without a crop');
    if (!this.centralKey) throw new CentralServiceError('no centralKeyFile configured: crops cannot be opened here');
    return openCrop(row.sealedCrop.sealed, this.centralKey, row.alertId);
  }

  /** Why a crop cannot be shown (cheap: no decryption), or undefined when it can be tried. */
  cropProblem(row: AlertRow): string | undefined {
    if (!row.sealedCrop) return row.cropDeletedAt ? `deleted ${row.cropDeletedAt.slice(0, 19).replace('T', ' ')} (${row.cropDeletedReason})` : 'no crop sent';
    if (!this.centralKey) return 'no central key configured';
    if (row.sealedCrop.sealed?.keyFingerprint !== this.centralKeyFingerprint) return 'sealed to another key: the unit was provisioned with a different central key';
    return undefined;
  }

  /** Retention: delete the crops that are due, each deletion audited. */
  async sweep(): Promise<number> {
    const now = this.now();
    const due = await this.store.cropsDue(now, this.cfg.retention.confirmedCropDays, this.cfg.retention.unadjudicatedGraceHours);
    let n = 0;
    for (const d of due) {
      if (await this.store.deleteCrop(d.alertId, d.reason, now.toISOString())) {
        n++;
        this.auditEvent('crop.deleted', { alertId: d.alertId, reason: d.reason, by: 'retention' });
      }
    }
    return n;
  }
}
