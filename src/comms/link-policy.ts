/** The link's pure parts: the packet limit it announces, the reconnect policy, and small helpers. */
import type { AlertMessage } from './messages';
import type { MqttConfig } from './config';

/** The MQTT 5 Maximum Packet Size the unit announces: the largest command (start-session) plus room for topic and properties. */
export function maximumPacketSize(cfg: Pick<MqttConfig, 'commands'>): number {
  return Math.min(268_435_455, cfg.commands.maxPayloadBytes + 64 * 1024);
}

/**
 * The reconnect policy (pure): the delay before attempt `attempt` (0 = the first after a loss),
 * `reconnectMinS * 2^attempt` capped at `reconnectMaxS`, with jitter: a uniform draw in
 * [half, all] of it, so units that lost the same broker do not all come back in the same
 * instant, and never more than the cap. An alerting unit's cap is a few seconds (default 5): with
 * the old 60 s cap alerts reached central ~52 s after the broker returned.
 */
export function reconnectDelayMs(attempt: number, cfg: Pick<MqttConfig, 'reconnectMinS' | 'reconnectMaxS'>, random: () => number = Math.random): number {
  const cap = cfg.reconnectMaxS * 1000;
  const base = Math.min(cap, cfg.reconnectMinS * 1000 * 2 ** Math.min(Math.max(0, attempt), 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.min(cap, base * (0.5 + r * 0.5));
}

export function withoutCrop(a: AlertMessage): AlertMessage {
  if (a.crop === undefined) return a;
  const { crop: _c, ...rest } = a;
  return rest;
}

export function redactUrl(u: string): string {
  return u.replace(/\/\/[^@/]*@/, '//***@');
}

export function withTimeout<T>(p: Promise<T>, ms: number, fallback?: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const t = setTimeout(() => resolve(fallback as T), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
