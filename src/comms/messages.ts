/**
 * Every MQTT payload, declared once. All are JSON objects with `v` (the payload version). The topic
 * each travels on is in topics.ts; docs/mqtt-api.md and docs/asyncapi.yaml describe them for the
 * central side.
 */

/** `status` (QoS 1, retained). `offline` is also the Last Will. */
import type { DecisionFacts, DeploymentRecord } from '../session/state';
import type { SessionCalibrationFacts } from '../session/calibration-policy';
import type { SealedCrop } from './crop-seal';
export interface StatusMessage {
  v: 1;
  state: 'online' | 'offline';
  unitId: string;
  version: string;
  /** When the unit said it (for the Last Will: when the connection was opened). */
  at: string;
  /** Set when the unit went offline cleanly (stop), absent for the Last Will. */
  reason?: 'shutdown';
}

export type SessionState = 'idle' | 'active' | 'ended' | 'aborted';

/** `session` (QoS 1, retained). */
export interface SessionMessage {
  v: 1;
  unitId: string;
  sessionId: string | null;
  state: SessionState;
  startedAt?: string;
  expiresAt?: string;
  watchlistSize?: number;
  threshold?: number;
  targetFalseAlertRate?: number;
  decidingGroup?: string;
  /** The calibration behind the threshold: per group, the FMR at the threshold with its 95% interval. */
  calibration?: SessionCalibrationFacts;
  /** How alerts are decided: single frames (`threshold`) or fused track templates (`fusedThreshold`). */
  decision?: DecisionFacts;
  at: string;
}

/** The quality of the alert's best face (src/vision/quality.ts measures). */
export interface FaceQualityInfo {
  /** Distance between the eye centres, source pixels. */
  interOcularPx: number;
  /** Variance of the Laplacian on the aligned 112x112 grey crop. */
  sharpness: number;
  yawDeg: number;
  pitchDeg: number;
  detScore: number;
}

/** `alert` (QoS 1, through the outbox). `alertId` is the dedup key. */
export interface AlertMessage {
  v: 1;
  alertId: string;
  unitId: string;
  sessionId: string;
  subjectRef: string;
  category: string;
  /** The single frame's score, or (fused) the track template's. */
  score: number;
  /** The threshold the score was held to: the quality band's (see `band`), else the session's; fused: the session's decision.fusedThreshold. */
  threshold: number;
  /** The decision rule, and whether it decided on the track's fused template (the quality-weighted mean of its best frames). */
  rule?: 'min-frames' | 'mean-best' | 'template';
  fused?: boolean;
  /** Fused: embeddings in the template that decided. */
  templateFrames?: number;
  /** The quality band of the face whose threshold that is (session calibration.bands); null: no band (absent from units older than bands). */
  band?: string | null;
  trackId: number | string;
  /** Frames whose best match was this subject above threshold (fused: the template's frames). */
  evidenceFrames: number;
  firstSeen: string;
  lastSeen: string;
  quality: FaceQualityInfo;
  /**
   * The face with a margin (JPEG at the camera's resolution), sealed to the central X25519 key
   * (src/comms/crop-seal.ts, alert id as associated data): only when crops are on (a central key
   * is provisioned). Sealed again at rest in the outbox.
   */
  crop?: { format: 'jpeg'; sealed: SealedCrop; width?: number; height?: number };
  /** Set when the outbox was full and removed the crop (see outbox.ts policy). */
  cropDropped?: true;
  at: string;
}

/** The deployment record and its wipe result: declared once, by the session (src/session/state.ts). */
export type { DeploymentRecord } from '../session/state';
export type { WipeResult } from '../watchlist/store';

export interface RecordSignature {
  alg: 'Ed25519';
  /** publicKeyFingerprint of the unit's Ed25519 key. */
  keyFingerprint: string;
  /** base64 Ed25519 signature over canonicalJson(record without `signature`). */
  sig: string;
}

/** `record` (QoS 1, through the outbox): the deployment record signed by the unit. */
export type RecordMessage = DeploymentRecord & { signature: RecordSignature };

export const COMMAND_TYPES = ['start-session', 'end-session', 'adjudicate', 'ping'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
export type Verdict = 'confirmed' | 'false-alert';

export interface CommandBodies {
  'start-session': { bundle: string /* base64 of the watchlist bundle */ };
  'end-session': Record<string, never> | { reason?: string };
  adjudicate: { alertId: string; verdict: Verdict };
  ping: Record<string, never> | { note?: string };
}

/** The fields the authority signs (canonical JSON of exactly these). */
export interface CommandFields<T extends string = string, B = unknown> {
  type: T;
  unitId: string;
  commandId: string;
  issuedAt: string;
  expiresAt: string;
  body: B;
}

/**
 * `cmd/<type>` (in, QoS 1): a signed command envelope, v2. On the wire its members come in this
 * order, `{"v":2,"commandId":..,"sig":..,"signed":{..}}`, and `sig` is the authority's Ed25519
 * signature over the exact bytes of the `signed` member (src/comms/command-envelope.ts).
 */
export interface CommandEnvelope<T extends string = string, B = unknown> {
  v: 2;
  commandId: string;
  /** base64 Ed25519 signature by the authority over the raw JSON bytes of `signed`. */
  sig: string;
  signed: CommandFields<T, B>;
}

export const REFUSAL_REASONS = [
  'oversized',
  'malformed',
  'missing-signature',
  'bad-signature',
  'wrong-unit',
  'expired',
  'not-yet-valid',
  'replayed',
  'unknown-type',
  'failed',
] as const;
/** Why a command was refused. `failed`: accepted by the envelope checks, refused by the session. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** `cmd-result` (QoS 1, through the outbox): one per command received. */
export interface CommandResultMessage {
  v: 1;
  unitId: string;
  /** null when the payload could not be read far enough to find it. */
  commandId: string | null;
  type: string | null;
  accepted: boolean;
  reason?: RefusalReason;
  /** For `failed`: the session's own code (e.g. a BundleRefusedError code such as 'expired'). */
  code?: string;
  message?: string;
  /** What the command produced (ping: pong; start-session: session info; end-session: record summary). */
  result?: Record<string, unknown>;
  at: string;
}

export interface CameraHealth {
  state: string;
  fpsIn: number;
  /** Frames processed all the way through (vision, tracker, matcher, decision) per second. */
  fpsProcessed: number;
  /** Frames whose processing failed per second (vision down or restarting, a failed inference): not in fpsProcessed. */
  fpsFailed: number;
  /** Failed frames since start. */
  framesFailed: number;
  /** The last frame failure while frames are failing; null once frames go through again. */
  lastFrameError: string | null;
  fpsDropped: number;
  reconnectsLastHour: number;
  stallsLastHour: number;
  /** Why the camera is not streaming (the last restart's error, e.g. the RTSP server refused the connection); null while it streams. */
  reason: string | null;
}

/**
 * Faces since the previous health message: detected, embedded, and not embedded with the reason
 * (the frame's embedding budget, the per-track rate, the quality gate). Nothing is dropped silently.
 */
export interface FaceHealth {
  detected: number;
  embedded: number;
  notEmbedded: number;
  notEmbeddedBy: { budget: number; rate: number; quality: number };
}

export interface OutboxHealth {
  depth: number;
  dropped: number;
  /** Rows that could not be read back and were set aside (never published). */
  deadLetters: number;
  /** Messages the outbox could not store (disk full) since start; `held`: in memory now, awaiting PUBACK. */
  atRisk: number;
  held: number;
}

export interface ComponentHealth {
  name: string;
  state: 'stopped' | 'starting' | 'running' | 'restarting' | 'failed' | 'stopping';
  /** Why it is restarting or failed; null otherwise. */
  reason: string | null;
  /** Restarts at run time (camera process, vision worker) since the daemon started. */
  restarts: number;
}

/** `health` (QoS 0, retained, every mqtt.healthIntervalS). Fields a unit cannot measure are null. */
export interface HealthMessage {
  v: 1;
  unitId: string;
  version: string;
  at: string;
  uptimeS: number;
  camera: CameraHealth | null;
  /** Per-stage latency in ms (e.g. detect, embed, match), as fed by the pipeline. */
  latencyMs: Record<string, number>;
  provider: string | null;
  /** Why inference does not run as configured (a provider ahead of the one in use failed, an engine was refused: each with its reason); null when it does. */
  providerReason: string | null;
  /** Faces since the previous health message (null while the camera+vision component is not running). */
  faces: FaceHealth | null;
  cpu: { load1: number; load5: number; cores: number; usagePercent: number | null };
  memory: { totalBytes: number; availableBytes: number; usedPercent: number; processRssBytes: number };
  /** `low`: free space below health.diskLowFreeBytes or health.diskLowFreePercent. */
  disk: { path: string; totalBytes: number; freeBytes: number; usedPercent: number; low: boolean } | null;
  temperaturesC: Record<string, number>;
  gpu: { loadPercent: number } | null;
  outbox: OutboxHealth;
  /** The audit writer: events held in memory because they could not be written (disk full), lost beyond the bound. */
  audit: { segment: number; held: number; lost: number } | null;
  session: { state: SessionState; sessionId: string | null };
  mqtt: { reconnects: number };
  /**
   * Each daemon component and each supervised part (camera, vision) with its run-time state:
   * starting, running, restarting (reason, restart count), failed (reason), stopping, stopped.
   */
  components: ComponentHealth[];
  /**
   * The systemd watchdog: `enabled` when the unit asked for one (WatchdogSec); `withheld` while
   * recognition is stuck (the camera streams but no frame went through for daemon.loopStuckS,
   * e.g. every frame fails), with the reason: systemd then restarts the unit. Reported with or
   * without systemd.
   */
  watchdog: { enabled: boolean; withheld: boolean; reason: string | null };
  /** Wall clock against the monotonic clock since start (src/health/clock.ts); null when not measured. */
  clock: { offsetS: number; largestS: number; jumped: boolean; jumps: number; thresholdS: number } | null;
}

/** Every outgoing kind, with its payload type. */
export interface OutgoingPayloads {
  status: StatusMessage;
  health: HealthMessage;
  session: SessionMessage;
  alert: AlertMessage;
  record: RecordMessage;
  'cmd-result': CommandResultMessage;
}
export type OutgoingKind = keyof OutgoingPayloads;
/** The kinds that go through the durable outbox. */
export type OutboxKind = 'alert' | 'record' | 'cmd-result';
