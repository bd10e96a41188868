import { z } from 'zod';
import { COMPONENTS } from './budgets';

/** Per-component seconds; a component left out keeps its default from src/daemon/budgets.ts. */
const perComponent = (max: number) => z.strictObject(Object.fromEntries(COMPONENTS.map((c) => [c, z.number().positive().max(max).optional()])) as Record<(typeof COMPONENTS)[number], z.ZodOptional<z.ZodNumber>>).prefault({});

/**
 * Configuration section `daemon`: the appliance's own timing. The start and stop bounds add up
 * (src/daemon/budgets.ts); systemd/lfr-edge.service's timeouts are checked against the defaults
 * by a test: raise a budget here and raise TimeoutStartSec / TimeoutStopSec in a drop-in too.
 */
export const DaemonConfigSchema = z.strictObject({
  /** How long to wait for the camera's first frame before telling systemd READY anyway (with the reason). */
  readyTimeoutS: z.number().positive().max(600).default(20),
  /** Bounded time for each component's start (its AbortSignal fires when it runs out), by component name. */
  startBudgetS: perComponent(600),
  /** Bounded time for each component's stop, by component name. */
  stopBudgetS: perComponent(120),
  /** On SIGTERM: how long to wait for the broker to acknowledge the record before stopping (it stays in the outbox otherwise). */
  flushTimeoutS: z.number().min(0).max(60).default(8),
  /** Watchdog: the frame loop counts as stuck when the camera streams but no frame was processed for this long. */
  loopStuckS: z.number().positive().max(600).default(20),
  /** How often the session's expiry is checked. */
  expiryCheckS: z.number().positive().max(60).default(1),
});
export type DaemonConfig = z.infer<typeof DaemonConfigSchema>;
