/**
 * Configuration section `mqtt`: the unit's one broker connection, its outbox and its command
 * policy. Validated once at start-up (src/config/schema.ts composes it) and passed in.
 */
import { z } from 'zod';

export const MqttTlsConfigSchema = z.strictObject({
  /** CA certificate(s) that signed the broker's certificate (PEM file). */
  caFile: z.string().min(1).optional(),
  /** The unit's client certificate (PEM) for mutual TLS. */
  certFile: z.string().min(1).optional(),
  /** The client certificate's private key (PEM). */
  keyFile: z.string().min(1).optional(),
  /** Verify the broker's certificate and host name. Turn off only on a bench. */
  rejectUnauthorized: z.boolean().default(true),
  /** Host name expected in the broker's certificate when it differs from the URL's host. */
  serverName: z.string().min(1).optional(),
});

export const MqttConfigSchema = z.strictObject({
  /** Broker URL: `mqtts://host:8883` (TLS) or `mqtt://host:1883` (bench only). Empty: no link. */
  url: z.string().default(''),
  tls: MqttTlsConfigSchema.prefault({}),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** Client id; default `lfr-edge-<unitId>`. */
  clientId: z.string().min(1).optional(),
  /** `auto`: MQTT 5, falling back to 3.1.1 when the broker refuses 5. */
  protocol: z.enum(['auto', '5', '3.1.1']).default('auto'),
  /** Keep-alive in seconds: how fast a silent dead link is noticed (about 1.5x this). */
  keepaliveS: z.number().int().min(5).max(3600).default(30),
  connectTimeoutS: z.number().positive().max(300).default(15),
  /**
   * Reconnect backoff: first delay, doubled per failed attempt up to the maximum, each drawn in
   * [half, all] of it (jitter). The cap bounds how long after the broker returns the unit is back
   * (and its outbox draining): a few seconds for an alerting system, never more than 30.
   */
  reconnectMinS: z.number().positive().max(30, 'mqtt.reconnectMinS may not exceed 30 s').default(0.5),
  reconnectMaxS: z.number().positive().max(30, 'mqtt.reconnectMaxS may not exceed 30 s: alerts would wait that long after an outage (default 5)').default(5),
  /** Seconds between retained `health` messages. */
  healthIntervalS: z.number().positive().max(3600).default(30),
  /** Messages handed to the client library but not yet acknowledged (PUBACK), at most. */
  inflightWindow: z.number().int().min(1).max(1000).default(10),
  outbox: z
    .strictObject({
      /** SQLite file name, in paths.stateDir unless absolute. */
      file: z.string().min(1).default('outbox.sqlite'),
      /** Row bound. When reached: oldest cmd-results, then oldest alerts are dropped; records never. */
      maxRows: z.number().int().min(10).default(100_000),
      /** Byte bound (payload bytes). When reached: face crops are removed from the oldest alerts first. */
      maxBytes: z.number().int().min(1024).default(256 * 1024 * 1024),
    })
    .prefault({}),
  /**
   * The central service's X25519 public key (PEM, `lfr-edge keys central`): alert face crops are
   * sealed to it (src/comms/crop-seal.ts), so the broker never sees a face.
   */
  centralPublicKeyFile: z.string().min(1).optional(),
  /**
   * Attach a face crop to alerts, sealed to the central key. Unset: on exactly when
   * `centralPublicKeyFile` is set. `true` without a central key is refused (crops never travel in
   * the clear); `false` keeps them off even with one.
   */
  alertCrops: z.boolean().optional(),
  /** The crop sent with an alert: the face with a margin, at the camera's resolution. */
  crop: z
    .strictObject({
      /** Margin added on each side, as a fraction of the face box side (0.5: a box twice as wide). */
      marginFraction: z.number().min(0).max(3).default(0.6),
      /** Longest side in pixels; a larger region is scaled down, a smaller one is never scaled up. */
      maxSidePx: z.number().int().min(64).max(2048).default(360),
      jpegQuality: z.number().int().min(30).max(100).default(85),
      /**
       * A track's best crop is held only for candidates scoring at least `threshold - this`
       * (and only when crops are sent): far below the threshold nothing is kept.
       */
      keepBelowThreshold: z.number().min(0).max(1).default(0.05),
    })
    .prefault({}),
  commands: z
    .strictObject({
      /** The central authority's Ed25519 public key (PEM, SPKI): the trust anchor for commands. */
      authorityPublicKeyFile: z.string().min(1).default('/etc/lfr-edge/keys/authority-ed25519.pub'),
      /**
       * start-session payloads larger than this are refused unread. A start-session carries a
       * bundle in base64 (4/3 larger), so this must exceed watchlist.maxBundleBytes * 4/3 (checked
       * at load). It also sets the MQTT 5 Maximum Packet Size the unit announces when it connects
       * (this plus 64 KiB for the topic and properties): the broker does not send it anything larger.
       */
      maxPayloadBytes: z.number().int().min(1024).max(256 * 1024 * 1024 - 65536, 'mqtt.commands.maxPayloadBytes must leave room under the MQTT packet limit (256 MiB)').default(96 * 1024 * 1024),
      /** Every other command (end-session, adjudicate, ping: a few hundred bytes) larger than this is refused unread. */
      maxSmallPayloadBytes: z.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
      /** A command's expiresAt may be at most this far after its issuedAt. */
      maxLifetimeS: z.number().int().min(1).default(24 * 3600),
      /** Tolerated clock difference between the authority and the unit. */
      clockSkewS: z.number().int().min(0).default(120),
      /**
       * Commands whose signature does not verify (garbage, oversized, forged) are answered and
       * audited one by one up to this rate (a token bucket of unsignedRefusalsBurst); the rest are
       * counted, summed up in one audit entry per 10 s and not answered, so that anyone who can
       * publish on the broker cannot keep the unit busy. Signed commands are never limited.
       */
      unsignedRefusalsPerS: z.number().min(0.1).default(10),
      unsignedRefusalsBurst: z.number().int().min(1).default(100),
    })
    .prefault({}),
});

export type MqttConfig = z.infer<typeof MqttConfigSchema>;

/** Whether alerts carry a (sealed) face crop; throws when crops are asked for without a central key. */
export function cropsEnabled(cfg: Pick<MqttConfig, 'alertCrops' | 'centralPublicKeyFile'>): boolean {
  return cfg.alertCrops ?? cfg.centralPublicKeyFile !== undefined;
}
export type MqttTlsConfig = z.infer<typeof MqttTlsConfigSchema>;
