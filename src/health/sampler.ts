/**
 * The health sampler: what the unit reports on `health` every mqtt.healthIntervalS.
 *
 * Only cheap calls on the main thread. Measured on the 2-core dev machine (src/health/si-cost.ts,
 * figures in docs/mqtt-api.md): systeminformation `mem()` ~1 ms and `currentLoad()` 0.1 ms after
 * its first call (which waits 0.5 s, asynchronously) are used; `fsSize()` (spawns `df`),
 * `cpuTemperature()` and `graphics()` (shell out, the latter up to 0.2 s on a Jetson) are not:
 * disk comes from `fs.statfs`, temperatures from the thermal zones in sysfs and the Jetson GPU
 * load from its sysfs file, read directly (paths configurable for tests and other boards).
 *
 * Pipeline figures (camera, latencies, provider), the outbox and the session are fed in by their
 * owners through HealthInputs; buildHealth() is the pure core that assembles the message.
 */
import { readdir, readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log';
import type { CameraHealth, ComponentHealth, FaceHealth, HealthMessage, OutboxHealth, SessionState } from '../comms/messages';
import type { HealthConfig } from './config';

export interface HealthInputs {
  camera: CameraHealth | null;
  latencyMs: Record<string, number>;
  provider: string | null;
  /** Why the provider in use is not the first configured, or an engine was refused (src/vision/ort.ts providerReason). */
  providerReason?: string | null;
  /** Faces since the previous message (RecognitionComponent.health). */
  faces?: FaceHealth | null;
  outbox: OutboxHealth;
  audit: HealthMessage['audit'];
  session: { state: SessionState; sessionId: string | null };
  mqttReconnects: number;
  /** Component and part states (Lifecycle.statuses); [] when not fed. */
  components?: ComponentHealth[];
  /** The watchdog decision (Daemon); absent: not fed (reported as not enabled, not withheld). */
  watchdog?: HealthMessage['watchdog'];
}

/** Pure: is the free space below either bound (bytes, percent of the total)? */
export function diskLow(totalBytes: number, freeBytes: number, bounds: { diskLowFreeBytes: number; diskLowFreePercent: number }): boolean {
  return freeBytes < bounds.diskLowFreeBytes || (totalBytes > 0 && (100 * freeBytes) / totalBytes < bounds.diskLowFreePercent);
}

export interface MachineSample {
  cpu: HealthMessage['cpu'];
  memory: HealthMessage['memory'];
  disk: HealthMessage['disk'];
  temperaturesC: Record<string, number>;
  gpu: HealthMessage['gpu'];
}

export interface HealthIdentity {
  unitId: string;
  version: string;
  startedAt: Date;
}

/** Pure: inputs + machine sample + time -> the health message. */
export function buildHealth(id: HealthIdentity, inputs: HealthInputs, machine: MachineSample, now: Date, clock: HealthMessage['clock'] = null): HealthMessage {
  return {
    v: 1,
    unitId: id.unitId,
    version: id.version,
    at: now.toISOString(),
    uptimeS: Math.max(0, Math.round((now.getTime() - id.startedAt.getTime()) / 1000)),
    camera: inputs.camera,
    latencyMs: inputs.latencyMs,
    provider: inputs.provider,
    providerReason: inputs.providerReason ?? null,
    faces: inputs.faces ?? null,
    ...machine,
    outbox: inputs.outbox,
    audit: inputs.audit,
    session: inputs.session,
    mqtt: { reconnects: inputs.mqttReconnects },
    components: inputs.components ?? [],
    watchdog: inputs.watchdog ?? { enabled: false, withheld: false, reason: null },
    clock,
  };
}

/** Reads the machine's state with the cheap calls only. */
export class MachineProbe {
  private readonly log: Logger;
  private warned = new Set<string>();
  private wasLow = false;

  constructor(
    private readonly cfg: HealthConfig & { diskPath: string },
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'health' });
  }

  async sample(): Promise<MachineSample> {
    const si = await import('systeminformation');
    const [load, mem, disk, temperaturesC, gpu] = await Promise.all([
      si.currentLoad().catch((e: Error) => this.once('currentLoad', e, null)),
      si.mem().catch((e: Error) => this.once('mem', e, null)),
      this.disk(),
      this.temperatures(),
      this.gpu(),
    ]);
    const [l1, l5] = os.loadavg();
    const total = mem?.total ?? os.totalmem();
    const available = mem?.available ?? os.freemem();
    return {
      cpu: { load1: round(l1, 2), load5: round(l5, 2), cores: os.cpus().length, usagePercent: load ? round(load.currentLoad, 1) : null },
      memory: { totalBytes: total, availableBytes: available, usedPercent: round(100 * (1 - available / total), 1), processRssBytes: process.memoryUsage.rss() },
      disk,
      temperaturesC,
      gpu,
    };
  }

  private once<T>(what: string, err: Error, fallback: T): T {
    if (!this.warned.has(what)) {
      this.warned.add(what);
      this.log.warn(`health: cannot read ${what}; reported as null`, { error: err });
    }
    return fallback;
  }

  private async disk(): Promise<HealthMessage['disk']> {
    try {
      const s = await statfs(this.cfg.diskPath);
      const total = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      const low = diskLow(total, free, this.cfg);
      if (low !== this.wasLow) {
        if (low) this.log.warn('disk space low: the outbox, audit log and session counts need room', { path: this.cfg.diskPath, freeBytes: free, totalBytes: total, diskLowFreeBytes: this.cfg.diskLowFreeBytes, diskLowFreePercent: this.cfg.diskLowFreePercent });
        else this.log.info('disk space no longer low', { path: this.cfg.diskPath, freeBytes: free });
        this.wasLow = low;
      }
      return { path: this.cfg.diskPath, totalBytes: total, freeBytes: free, usedPercent: total ? round(100 * (1 - free / total), 1) : 0, low };
    } catch (err) {
      return this.once(`disk ${this.cfg.diskPath}`, err as Error, null);
    }
  }

  /** Each thermal_zoneN: name from its `type` file, value from `temp` (millidegrees C). */
  private async temperatures(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    let zones: string[];
    try {
      zones = (await readdir(this.cfg.thermalDir)).filter((z) => z.startsWith('thermal_zone')).sort();
    } catch (err) {
      return this.once(`thermal zones in ${this.cfg.thermalDir}`, err as Error, out);
    }
    for (const z of zones) {
      try {
        const milli = Number((await readFile(path.join(this.cfg.thermalDir, z, 'temp'), 'utf8')).trim());
        const type = (await readFile(path.join(this.cfg.thermalDir, z, 'type'), 'utf8').catch(() => z)).trim() || z;
        if (Number.isFinite(milli)) out[out[type] === undefined ? type : `${type}-${z}`] = round(milli / 1000, 1);
      } catch (err) {
        this.once(`temperature ${z}`, err as Error, undefined);
      }
    }
    return out;
  }

  /** Jetson: per-mille load in a sysfs file; null (not an error) where there is none. */
  private async gpu(): Promise<HealthMessage['gpu']> {
    let text: string;
    try {
      text = await readFile(this.cfg.gpuLoadFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return this.once(`GPU load ${this.cfg.gpuLoadFile}`, err as Error, null);
    }
    const perMille = Number(text.trim());
    return Number.isFinite(perMille) ? { loadPercent: round(perMille / 10, 1) } : null;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
