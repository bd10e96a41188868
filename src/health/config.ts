import { z } from 'zod';

/** Configuration section `health`: where the sampler reads the machine's state. */
export const HealthConfigSchema = z.strictObject({
  /** Thermal zones: each thermal_zoneN directory holds `type` and `temp` (millidegrees C). */
  thermalDir: z.string().min(1).default('/sys/class/thermal'),
  /** Jetson GPU load in per-mille (0..1000); absent on other machines (gpu: null). */
  gpuLoadFile: z.string().min(1).default('/sys/devices/gpu.0/load'),
  /** Filesystem reported as `disk`; default: paths.stateDir. */
  diskPath: z.string().min(1).optional(),
  /**
   * Health reports `clock.jumped` when the wall clock has moved this many seconds more (or less)
   * than the monotonic clock since start: it was stepped. Commands tolerate mqtt.commands.clockSkewS.
   */
  maxClockDriftS: z.number().positive().default(30),
  /**
   * `disk.low` turns true (and a warning is logged) when the free space falls below either bound,
   * well before the disk is full: the outbox, the audit log and the session counts need room.
   */
  diskLowFreeBytes: z.number().int().min(0).default(256 * 1024 * 1024),
  diskLowFreePercent: z.number().min(0).max(100).default(10),
});
export type HealthConfig = z.infer<typeof HealthConfigSchema>;
