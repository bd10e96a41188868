import { z } from 'zod';

/** Configuration section `daemon`: the appliance's own timing. */
export const DaemonConfigSchema = z.strictObject({
  /** How long to wait for the camera's first frame before telling systemd READY anyway (with the reason). */
  readyTimeoutS: z.number().positive().max(600).default(20),
  /** Bounded time for each component to start / stop. */
  componentStartTimeoutS: z.number().positive().max(600).default(60),
  componentStopTimeoutS: z.number().positive().max(120).default(10),
  /** On SIGTERM: how long to wait for the broker to acknowledge the record before stopping (it stays in the outbox otherwise). */
  flushTimeoutS: z.number().min(0).max(60).default(8),
  /** Watchdog: the frame loop counts as stuck when the camera streams but no frame was processed for this long. */
  loopStuckS: z.number().positive().max(600).default(20),
  /** How often the session's expiry is checked. */
  expiryCheckS: z.number().positive().max(60).default(1),
});
export type DaemonConfig = z.infer<typeof DaemonConfigSchema>;
