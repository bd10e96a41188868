/**
 * Messages the outbox could not store (the state disk is full): held in memory, bounded, and
 * published by the link when it is connected; each leaves memory on its PUBACK. Counted, so that
 * health and the record can say how many were at risk and how many were lost.
 */
import type { Logger } from '../log';
import type { OutboxKind } from './messages';

/** Messages held in memory at most while the outbox cannot be written; beyond, the oldest alerts go (counted). */
export const MAX_UNSTORED = 1000;

/** A message the outbox could not store: `held` in memory (published when connected). */
export type UnstoredListener = (kind: OutboxKind, msgId: string) => void;

export interface Unstored {
  kind: OutboxKind;
  msgId: string;
  payload: Buffer;
  inflight: boolean;
}

export class UnstoredMessages {
  private readonly held: Unstored[] = [];
  private readonly listeners: UnstoredListener[] = [];
  private atRisk = 0;
  private lost = 0;

  constructor(private readonly log: Logger) {}

  onUnstored(listener: UnstoredListener): void {
    this.listeners.push(listener);
  }

  /** Hold one message (the oldest non-record, not in flight, goes when MAX_UNSTORED are held). */
  hold(kind: OutboxKind, msgId: string, payload: object): void {
    this.atRisk += 1;
    if (this.held.length >= MAX_UNSTORED) {
      const i = this.held.findIndex((u) => !u.inflight && u.kind !== 'record');
      if (i >= 0) {
        const [gone] = this.held.splice(i, 1);
        this.lost += 1;
        this.log.error(`unstored ${gone.kind} dropped: more than ${MAX_UNSTORED} held in memory`, { kind: gone.kind, msgId: gone.msgId });
      }
    }
    this.held.push({ kind, msgId, payload: Buffer.from(JSON.stringify(payload), 'utf8'), inflight: false });
    for (const l of this.listeners) {
      try {
        l(kind, msgId);
      } catch (err) {
        this.log.error('unstored listener failed', { error: err as Error });
      }
    }
  }

  /** The held messages not in flight, marked in flight (the caller publishes them). */
  takeUnsent(): Unstored[] {
    const out = this.held.filter((u) => !u.inflight);
    for (const u of out) u.inflight = true;
    return out;
  }

  /** The broker acknowledged `u`: it leaves memory. */
  acknowledged(u: Unstored): void {
    u.inflight = false;
    const i = this.held.indexOf(u);
    if (i >= 0) this.held.splice(i, 1);
  }

  /** Not acknowledged (error or connection lost): sent again on the next pump. */
  unsent(u: Unstored): void {
    u.inflight = false;
  }

  /** The connection is gone: everything held is sent again after reconnect. */
  connectionLost(): void {
    for (const u of this.held) u.inflight = false;
  }

  get size(): number {
    return this.held.length;
  }

  kinds(): OutboxKind[] {
    return [...new Set(this.held.map((u) => u.kind))];
  }

  /** `atRisk` in total since start, `held` in memory now (not yet acknowledged), `lost` (more than MAX_UNSTORED were held). */
  stats(): { atRisk: number; held: number; lost: number } {
    return { atRisk: this.atRisk, held: this.held.length, lost: this.lost };
  }
}
