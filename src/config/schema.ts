/**
 * The one configuration schema. Every section is owned by the module it configures and composed
 * here; TypeScript types are derived from it (`Config`, and each module's own section type).
 * Unknown keys are refused everywhere (strict objects).
 */
import { z } from 'zod';
import { VisionConfigSchema } from '../vision/config';
import { ModelsConfigSchema } from '../models/config';
import { WatchlistConfigSchema } from '../watchlist/config';
import { LOG_LEVELS } from '../log';
import { DaemonConfigSchema } from '../daemon/config';
import { SessionConfigSchema } from '../session/config';
import { MqttConfigSchema } from '../comms/config';
import { HealthConfigSchema } from '../health/config';
import { CameraConfigSchema } from '../camera/config';
import { RecognitionConfigSchema } from '../recognition/config';

export const UnitConfigSchema = z.strictObject({
  /** Unit id, used in MQTT topics `lfr/v1/<unitId>/`; letters, digits, '-' and '_'. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'unit id: 1-64 letters, digits, "-" or "_"').default('dev-unit'),
});

export const PathsConfigSchema = z.strictObject({
  /** tmpfs directory for the session store (systemd RuntimeDirectory). */
  runtimeDir: z.string().min(1).default('/run/lfr-edge'),
  /** Persistent state: outbox, audit log, used bundle ids (systemd StateDirectory). */
  stateDir: z.string().min(1).default('/var/lib/lfr-edge'),
  /** Unit keys directory (made by `lfr-edge keys init`). */
  keysDir: z.string().min(1).default('/etc/lfr-edge/keys'),
});

export const LoggingConfigSchema = z.strictObject({
  level: z.enum(LOG_LEVELS as unknown as [string, ...string[]]).default('info'),
});

export const ConfigSchema = z.strictObject({
  unit: UnitConfigSchema.prefault({}),
  paths: PathsConfigSchema.prefault({}),
  logging: LoggingConfigSchema.prefault({}),
  models: ModelsConfigSchema.prefault({}),
  vision: VisionConfigSchema.prefault({}),
  session: SessionConfigSchema.prefault({}),
  watchlist: WatchlistConfigSchema.prefault({}),
  mqtt: MqttConfigSchema.prefault({}),
  health: HealthConfigSchema.prefault({}),
  camera: CameraConfigSchema.prefault({}),
  recognition: RecognitionConfigSchema.prefault({}),
  daemon: DaemonConfigSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  // A start-session command carries the bundle in base64: the command limit must leave room for it.
  const needed = Math.ceil((cfg.watchlist.maxBundleBytes * 4) / 3) + 64 * 1024;
  if (cfg.mqtt.commands.maxPayloadBytes < needed) {
    ctx.addIssue({
      code: 'custom',
      path: ['mqtt', 'commands', 'maxPayloadBytes'],
      message: `must be at least ${needed} bytes to carry a bundle of watchlist.maxBundleBytes (${cfg.watchlist.maxBundleBytes}) in base64`,
    });
  }
  if (cfg.mqtt.alertCrops === true && cfg.mqtt.centralPublicKeyFile === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['mqtt', 'alertCrops'],
      message: 'alert crops are only ever sent sealed to the central key: set mqtt.centralPublicKeyFile (lfr-edge keys central) or leave alertCrops unset',
    });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
