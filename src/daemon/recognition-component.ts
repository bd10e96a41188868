/**
 * Camera -> vision -> tracker -> matcher -> decision, for the daemon's whole life. Faces are
 * tracked and counted with or without a session; alerts exist only while a session is active
 * (its matcher and threshold). Alerts go to the outbox; a face crop only when a central key is
 * provisioned (and crops are not turned off), sealed to that key: otherwise no crop is even made.
 */
import { randomUUID } from 'node:crypto';
import type { CameraHealth, FaceHealth } from '../comms/messages';
import { cameraSourceTimings } from '../camera/config';
import { FrameLoop } from '../camera/frame-loop';
import { renderPipeline } from '../camera/pipeline-template';
import { CameraSource } from '../camera/source';
import type { Config } from '../config';
import type { Logger } from '../log';
import { ModelError, type VerifiedModels } from '../models/manifest';
import { RecognitionChain, trackTemplateConfig, type ChainCounts, type FrameVision } from '../recognition/chain';
import { releaseAlertCrop, type Alert } from '../recognition/decision';
import type { Matcher } from '../recognition/matcher';
import { Tracker } from '../recognition/tracker';
import { encodeJpeg } from '../vision/image';
import { cropsEnabled } from '../comms/config';
import { sealCrop } from '../comms/crop-seal';
import { loadPublicKey } from '../watchlist/keys';
import type { KeyObject } from 'node:crypto';
import type { StageTimes } from '../vision/types';
import { providerReason as providerReason_ } from '../vision/provider-reason';
import { VisionWorker } from '../vision/worker-client';
import { alertMessage } from './alert-message';
import type { AuditComponent } from './audit-component';
import type { Component, ComponentState } from './lifecycle';
import { VisionSupervisor, type VisionState } from './vision-supervisor';
import type { CameraState } from '../camera/source';
import type { LinkComponent } from './link-component';
import type { SessionDecider } from './session-decider';

/** Camera and vision states as lifecycle states (health `components`). */
const CAMERA_STATES: Record<CameraState, ComponentState> = { starting: 'starting', streaming: 'running', stalled: 'restarting', down: 'restarting', ended: 'stopped', stopped: 'stopped' };
const VISION_STATES: Record<VisionState, ComponentState> = { starting: 'starting', running: 'running', restarting: 'restarting', failed: 'failed', stopped: 'stopped' };

/** The manifest's sha256 per model key: a restart must find the same models as the start. */
function modelHashes(m: VerifiedModels): string {
  return Object.entries(m.manifest.models).map(([k, e]) => `${k}=${e.sha256}`).sort().join(',');
}

export interface ActiveSessionView {
  sessionId(): string | undefined;
  matcher(): Matcher | undefined;
  noteAlert(alertId: string): void;
  noteFaces(n: number): void;
  noteTrack(): void;
}

/** Per-stage time sums since the last read (health reports their means). */
class StageMeter {
  private sums: Partial<Record<keyof StageTimes, number>> = {};
  private frames = 0;
  /** `newFrame` false: more stages of the frame last added (analyzeDetected after detect). */
  add(t: StageTimes, newFrame = true): void {
    for (const [k, v] of Object.entries(t) as [keyof StageTimes, number][]) this.sums[k] = (this.sums[k] ?? 0) + v;
    if (newFrame) this.frames++;
  }
  takeMeans(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.frames) for (const [k, v] of Object.entries(this.sums)) out[k] = Math.round((v / this.frames) * 100) / 100;
    this.sums = {};
    this.frames = 0;
    return out;
  }
}

export class RecognitionComponent implements Component {
  readonly name = 'camera+vision';
  readonly remedy = 'check the camera settings (lfr-edge selftest) and the models (lfr-edge models verify)';
  vision: VisionSupervisor | undefined;
  camera: CameraSource | undefined;
  loop: FrameLoop | undefined;
  chain: RecognitionChain | undefined;
  private loopDone: Promise<void> | undefined;
  private readonly stages = new StageMeter();
  private lastRates = { at: 0, framesIn: 0, processed: 0, failed: 0, dropped: 0 };
  private lastFaces: Pick<ChainCounts, 'facesDetected' | 'facesEmbedded' | 'facesNotEmbedded' | 'notEmbedded'> = {
    facesDetected: 0, facesEmbedded: 0, facesNotEmbedded: 0, notEmbedded: { budget: 0, rate: 0, quality: 0 },
  };
  private pendingAlerts = new Set<Promise<void>>();
  /** The central X25519 key alert crops are sealed to; undefined: crops are off and none is made. */
  private centralKey: KeyObject | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly deps: {
      models: () => VerifiedModels;
      /** Verify the model files again (at every vision worker restart). */
      verifyModels: () => VerifiedModels;
      /** Run-time state of a part ('camera', 'vision'): Lifecycle.report. */
      report: (name: string, state: ComponentState, error?: string, restarts?: number) => void;
      decider: SessionDecider;
      session: ActiveSessionView;
      link: LinkComponent;
      audit: AuditComponent;
      logger: Logger;
      now: () => Date;
    },
  ) {}

  async start(signal: AbortSignal = new AbortController().signal): Promise<void> {
    const { cfg, deps } = this;
    const log = deps.logger;
    signal.throwIfAborted();
    if (cropsEnabled(cfg.mqtt)) {
      // the schema refuses alertCrops without a key file; here the file itself must load
      this.centralKey = loadPublicKey(cfg.mqtt.centralPublicKeyFile!, ['x25519']);
      log.info('alert crops on, sealed to the central key', { centralPublicKeyFile: cfg.mqtt.centralPublicKeyFile });
    }
    const first = deps.models();
    const vision = new VisionSupervisor({
      startWorker: async ({ restart, signal: sig }) => {
        // a restart verifies every model file again (sha256) and opens fresh, checked sessions
        const models = restart ? deps.verifyModels() : first;
        if (restart && modelHashes(models) !== modelHashes(first)) {
          throw new ModelError(`the model manifest changed since start (${modelHashes(first)} -> ${modelHashes(models)}): restart the unit to use new models (sessions and calibrations are keyed to them)`);
        }
        return VisionWorker.start(cfg.vision, models, log, { logLevel: cfg.logging.level as never, signal: sig });
      },
      backoff: { initialMs: cfg.vision.restartBackoff.initialSeconds * 1000, maxMs: cfg.vision.restartBackoff.maxSeconds * 1000, factor: cfg.vision.restartBackoff.factor },
      logger: log.child({ component: 'vision-supervisor' }),
      onStatus: (st) => deps.report('vision', VISION_STATES[st.state], st.reason ?? undefined, st.restarts),
    });
    this.vision = vision;
    await vision.start(signal);
    // cancelled while the worker became ready: stop() (which always follows) closes it; no camera
    signal.throwIfAborted();
    const w = vision.latest()!;
    const reason = providerReason_(cfg.vision.providers, w.provider, w.attempts, w.engines);
    if (reason) {
      log.warn('inference does not run as configured', { provider: w.provider, preferred: cfg.vision.providers[0], reason, remedy: 'on a Jetson: check the TensorRT build of onnxruntime-node and rebuild the engines (docs/jetson.md)' });
    }
    const metered: FrameVision = {
      detect: async (img, opts) => {
        const res = await vision.detect(img, opts);
        this.stages.add(res.times);
        deps.session.noteFaces(res.faces.length);
        return res;
      },
      analyzeDetected: async (indices, opts) => {
        const res = await vision.analyzeDetected(indices, opts);
        this.stages.add(res.times, false);
        return res;
      },
    };
    const tracker = new Tracker(cfg.recognition.tracker);
    this.chain = new RecognitionChain({
      vision: metered,
      tracker,
      decider: deps.decider,
      scheduler: cfg.recognition.scheduler,
      matcher: () => deps.session.matcher(),
      threshold: () => deps.decider.threshold,
      onAlert: (alert) => this.sendAlert(alert),
      crops: this.centralKey ? { context: { marginFraction: cfg.mqtt.crop.marginFraction, maxSidePx: cfg.mqtt.crop.maxSidePx } } : 'none',
      template: trackTemplateConfig(cfg.recognition.decision),
    });
    let tracksSeen = 0;
    const chain = this.chain;
    // The unit's camera never "ends": EOS (a camera reboot, or a file used as the camera) restarts it.
    const camera = new CameraSource({ pipeline: renderPipeline(cfg.camera.template, cfg.camera.settings), logger: log, restartOnEos: true, ...cameraSourceTimings(cfg.camera) });
    this.camera = camera;
    camera.on('state', (st: CameraState) => {
      const c = camera.stats();
      deps.report('camera', CAMERA_STATES[st], st === 'streaming' ? undefined : c.lastError, c.reconnects);
    });
    this.loop = new FrameLoop(this.camera, async (frame) => {
      await chain.processFrame(frame);
      const started = chain.counts.tracksStarted - chain.counts.tracksMerged; // a merged fragment is not a person
      for (; tracksSeen < started; tracksSeen++) deps.session.noteTrack();
    }, log);
    this.camera.start();
    this.loopDone = this.loop.start();
  }

  /** Resolves when the camera delivers its first frame, or false after `timeoutMs` or when `signal` fires. */
  async waitStreaming(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !signal?.aborted) {
      if (this.camera?.state === 'streaming' && (this.loop?.stats().processed ?? 0) > 0) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.loop?.stop().catch(() => undefined); // ends after the frame in progress
    await this.camera?.stop();
    await this.loopDone;
    this.chain?.endAll();
    await Promise.all(this.pendingAlerts);
    await this.vision?.stop();
    this.vision = undefined;
  }

  /** Faces detected, embedded and not embedded (by reason) since the last call. */
  private facesSinceLast(): FaceHealth | null {
    const c = this.chain?.counts;
    if (!c) return null;
    const l = this.lastFaces;
    const out: FaceHealth = {
      detected: c.facesDetected - l.facesDetected,
      embedded: c.facesEmbedded - l.facesEmbedded,
      notEmbedded: c.facesNotEmbedded - l.facesNotEmbedded,
      notEmbeddedBy: { budget: c.notEmbedded.budget - l.notEmbedded.budget, rate: c.notEmbedded.rate - l.notEmbedded.rate, quality: c.notEmbedded.quality - l.notEmbedded.quality },
    };
    this.lastFaces = c;
    return out;
  }

  /** Health inputs: camera state and rates since the last call, per-stage means, loop latency, faces not embedded. */
  health(): { camera: CameraHealth | null; latencyMs: Record<string, number>; provider: string | null; providerReason: string | null; faces: FaceHealth | null } {
    const cam = this.camera?.stats();
    const loop = this.loop?.stats();
    const latencyMs = { ...this.stages.takeMeans(), ...(loop ? { frameToDecisionP50: Math.round(loop.latencyMs.p50), frameToDecisionP95: Math.round(loop.latencyMs.p95) } : {}) };
    const faces = this.facesSinceLast();
    const v = this.vision?.latest();
    const providerReason = v ? providerReason_(this.cfg.vision.providers, v.provider, v.attempts, v.engines) : null;
    if (!cam || !loop) return { camera: null, latencyMs, provider: v?.provider ?? null, providerReason, faces };
    const now = Date.now();
    const secs = this.lastRates.at ? (now - this.lastRates.at) / 1000 : 0;
    const rate = (v: number, last: number) => (secs > 0 ? Math.round(((v - last) / secs) * 10) / 10 : 0);
    const camera: CameraHealth = {
      state: cam.state,
      fpsIn: rate(cam.framesIn, this.lastRates.framesIn),
      fpsProcessed: rate(loop.processed, this.lastRates.processed),
      fpsFailed: rate(loop.failed, this.lastRates.failed),
      framesFailed: loop.failed,
      lastFrameError: loop.lastError,
      fpsDropped: rate(cam.framesDropped, this.lastRates.dropped),
      reconnectsLastHour: cam.reconnectsLastHour,
      stallsLastHour: cam.stallsLastHour,
      reason: cam.state === 'streaming' ? null : (cam.lastError ?? (cam.state === 'starting' ? 'starting: no frame yet' : null)),
    };
    this.lastRates = { at: now, framesIn: cam.framesIn, processed: loop.processed, failed: loop.failed, dropped: cam.framesDropped };
    return { camera, latencyMs, provider: v?.provider ?? null, providerReason, faces };
  }

  private sendAlert(alert: Alert): void {
    const { deps, cfg } = this;
    const sessionId = deps.session.sessionId();
    if (!sessionId) {
      releaseAlertCrop(alert);
      return;
    }
    const alertId = randomUUID();
    deps.session.noteAlert(alertId);
    const at = deps.now();
    const p = (async () => {
      try {
        const cropJpeg = this.centralKey && alert.crop ? await encodeJpeg(alert.crop, cfg.mqtt.crop.jpegQuality) : undefined;
        const sealedCrop = cropJpeg && this.centralKey ? sealCrop(cropJpeg, this.centralKey, alertId) : undefined;
        cropJpeg?.fill(0);
        const msg = alertMessage(alert, { alertId, unitId: cfg.unit.id, sessionId, at, sealedCrop });
        deps.link.link?.publishAlert(msg);
        deps.audit.append({ type: 'alert', alertId, sessionId, subjectRef: alert.subject.ref, score: msg.score, threshold: msg.threshold }, at);
        deps.logger.info('alert raised', { alertId, sessionId, subjectRef: alert.subject.ref, score: msg.score, threshold: msg.threshold, trackId: alert.trackId, evidenceFrames: alert.framesOfEvidence });
      } catch (err) {
        deps.logger.error('alert could not be handed to the outbox', { alertId, error: err as Error });
      } finally {
        releaseAlertCrop(alert);
      }
    })();
    this.pendingAlerts.add(p);
    void p.finally(() => this.pendingAlerts.delete(p));
  }
}
