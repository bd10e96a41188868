/**
 * OutboxDelivery: sends the outbox's rows over the link's current connection, in order, with at
 * most `inflightWindow` unacknowledged, and removes each on its PUBACK. When a connection is lost
 * (connectionLost) the unacknowledged rows are sent again from the oldest on the next one
 * (at-least-once; ids dedup). A row acknowledged whose removal failed (the disk is full) is not
 * sent again; its removal is retried at each pump.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../log';
import type { Outbox } from './outbox';
import { unitTopic } from './topics';

export interface DeliveryTarget {
  unitId: string;
  inflightWindow: number;
  log: Logger;
  /** The connected client and the open outbox, or undefined while either is not there. */
  connection: () => { client: MqttClient; outbox: Outbox } | undefined;
  /** The link's connection generation: callbacks of an older one are ignored. */
  generation: () => number;
}

export class OutboxDelivery {
  private readonly inflight = new Set<number>();
  /** Rows acknowledged by the broker whose removal from the outbox failed (retried at each pump). */
  private readonly acknowledged = new Set<number>();
  private cursor = 0;

  constructor(private readonly target: DeliveryTarget) {}

  /** The connection is gone (closed or stopped): what was in flight is sent again on the next one. */
  connectionLost(): void {
    this.inflight.clear();
    this.cursor = 0;
  }

  /** Send what the window allows; called on connect, on each new row and on each PUBACK. */
  pump(): void {
    const live = this.target.connection();
    if (!live) return;
    const { client, outbox } = live;
    const gen = this.target.generation();
    const window = this.target.inflightWindow;
    this.retryRemovals(outbox);
    while (this.inflight.size < window) {
      let rows;
      try {
        rows = outbox.peek(this.cursor, window - this.inflight.size);
      } catch (err) {
        this.target.log.error('cannot read the outbox', { error: err as Error });
        return;
      }
      if (rows.length === 0) return;
      for (const row of rows) {
        this.cursor = row.seq;
        if (this.acknowledged.has(row.seq)) continue; // delivered; only its removal failed
        this.inflight.add(row.seq);
        client.publish(unitTopic(this.target.unitId, row.kind), row.payload, { qos: 1 }, (err) => {
          if (gen !== this.target.generation()) return; // an old connection: its rows are resent on the new one
          this.inflight.delete(row.seq);
          if (err) {
            this.target.log.warn(`${row.kind} not acknowledged; it stays in the outbox and is resent after reconnect`, { msgId: row.msgId, error: err });
            return;
          }
          try {
            outbox.remove(row.seq); // still the open one: stop() moves the generation on first
          } catch (e) {
            // the row stays (the disk is full?): it is not sent again, and its removal is retried at the next pump
            this.acknowledged.add(row.seq);
            this.target.log.error(`cannot remove the acknowledged ${row.kind} from the outbox; retried later`, { msgId: row.msgId, error: e as Error });
          }
          this.pump();
        });
      }
    }
  }

  /** Remove the acknowledged rows whose removal failed before (the disk was full). */
  private retryRemovals(outbox: Outbox): void {
    for (const seq of this.acknowledged) {
      try {
        outbox.remove(seq);
        this.acknowledged.delete(seq);
      } catch {
        return; // still failing: next pump
      }
    }
  }
}
