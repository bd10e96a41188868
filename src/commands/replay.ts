/**
 * lfr-edge replay VIDEO --watchlist-photos DIR: the whole live chain on a recorded video (camera
 * file pipeline -> vision -> tracker -> matcher -> decision), with a watchlist made on the fly
 * from DIR/<subject>/*.jpg|png. For development and independent review: no MQTT, no encryption,
 * nothing written but stdout.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { renderPipeline } from '../camera/pipeline-template';
import { CameraSource } from '../camera/source';
import { FrameLoop } from '../camera/frame-loop';
import { createStderrLogger, type Logger } from '../log';
import { verifyModels } from '../models/manifest';
import { resolveFromRoot } from '../paths';
import { checkCalibrationModel, readCalibrationFile, thresholdFor, type Calibration } from '../recognition/calibration';
import { embeddingsPerTrackSummary, RecognitionChain, trackTemplateConfig, type FrameAnalyzer } from '../recognition/chain';
import { parseAlsoShows, parseGroundTruth, scoreAlerts, type AlsoShows, type GroundTruth } from '../recognition/ground-truth';
import { AlertDecider, releaseAlertCrop, type Alert, type DecisionBasis } from '../recognition/decision';
import { sessionBandThresholds } from '../session/calibration-policy';
import { Matcher, type MatcherSubject } from '../recognition/matcher';
import { Tracker } from '../recognition/tracker';
import { isImageName, listPeople } from '../vision/files';
import { decodeImageFile } from '../vision/image';
import { largestFace } from '../vision/select';
import { VisionWorker } from '../vision/worker-client';
import { configFrom, parse, UsageError, UserError, type Command, type CommandIO } from './common';

export const usage = `lfr-edge replay VIDEO --watchlist-photos DIR [--json] [--realtime] [--threshold S | --false-alert-rate R] [--calibration FILE] [--ground-truth FILE [--also-shows FILE]] [--config FILE]
  Runs camera (file pipeline) -> vision -> tracker -> matcher -> decision on VIDEO, with a
  watchlist made from DIR/<subject>/*.jpg|png (the folder name is the subject).
  --json               one JSON object per alert per line, then a summary line
  --realtime           pace the video at its frame rate and drop frames processing cannot keep up
                       with, as a camera would, under the frame time budget
                       (recognition.scheduler.maxFrameMs); default: every frame, as fast as
                       possible, without the time budget (the result does not depend on how busy
                       the machine is; the count budget and the per-track rate still apply)
  --threshold S        use this score threshold instead of the calibration's
  --false-alert-rate R target false-alert rate per non-watchlist face (default: session.falseAlertRate)
  --calibration FILE   calibration file (default: models/calibration.json)
  --ground-truth FILE  JSON {"present": ["subject", ...]} or {"present": {"subject": [[fromSec, toSec], ...]}}
                       (optional "toleranceSec", default 1), or a generator's truth.json (../shared/tools):
                       report true alerts, false alerts, misses
  --also-shows FILE    with a generator's truth.json: photos that also show a second, named person
                       ('Person/Person_0002.jpg Other_Person' a line; docs/lfw-dev-also-shows.txt for
                       lfw-dev); an alert for that person while the photo is in view is true, and is
                       counted apart (trueViaAlsoShown)
  Alerts carry videoTimeSec: the position in the video of the frame that decided them.`;

const r = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

function readAlsoShows(file: string): AlsoShows {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read --also-shows ${file}: ${(err as Error).message}`);
  }
  try {
    return parseAlsoShows(text, file);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

function readGroundTruth(file: string, alsoShows?: AlsoShows): GroundTruth {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`cannot read ground truth ${file}: ${(err as Error).message}`);
  }
  try {
    return parseGroundTruth(raw, file, alsoShows);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/**
 * One row per usable photo (the largest face in it, flip-averaged as `watchlist build` enrols),
 * fused by the matcher into one template per subject; photos without a face are reported and skipped.
 */
export async function buildWatchlist(dir: string, vision: FrameAnalyzer, io: Pick<CommandIO, 'stderr'>): Promise<{ rows: MatcherSubject[]; subjects: string[] }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`--watchlist-photos ${dir} is not a directory (expected DIR/<subject>/*.jpg|png)`);
  const rows: MatcherSubject[] = [];
  const subjects: string[] = [];
  for (const { person, images } of listPeople(dir)) {
    let used = 0;
    for (const file of images.filter(isImageName)) {
      let image;
      try {
        image = await decodeImageFile(file);
      } catch (err) {
        io.stderr(`lfr-edge replay: ${(err as Error).message}; skipped\n`);
        continue;
      }
      const analysis = await vision.analyze(image, { transfer: true, flipAverage: true });
      const face = largestFace(analysis.faces);
      if (!face) {
        io.stderr(`lfr-edge replay: no face found in ${file}; skipped\n`);
        continue;
      }
      rows.push({ ref: person, category: 'watchlist', embedding: face.embedding });
      used++;
    }
    if (used) subjects.push(person);
    else io.stderr(`lfr-edge replay: no usable photo for subject ${person}; not on the watchlist\n`);
  }
  if (rows.length === 0) throw new UserError(`no face found in any photo under ${dir} (expected DIR/<subject>/*.jpg|png)`);
  return { rows, subjects };
}

function alertJson(a: Alert) {
  return {
    type: 'alert', subject: a.subject.ref, score: r(a.score, 4), bestScore: r(a.bestScore, 4), threshold: r(a.threshold, 4), band: a.band ?? null,
    falseAlertRate: a.falseAlertRate, watchlistSize: a.watchlistSize, rule: a.rule, fused: a.fused,
    ...(a.templateFrames !== undefined ? { templateFrames: a.templateFrames } : {}), trackId: a.trackId,
    frames: a.framesOfEvidence, framesSeen: a.framesSeen,
    firstSeen: new Date(a.firstSeen).toISOString(), lastSeen: new Date(a.lastSeen).toISOString(),
    quality: { passed: a.quality.passed, interOcularPx: r(a.quality.interOcularPx, 1), sharpness: r(a.quality.sharpness, 1), yawDeg: r(a.quality.yawDeg, 1), pitchDeg: r(a.quality.pitchDeg, 1) },
    cropBytes: a.crop?.data.length ?? 0,
  };
}

export const replayCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, {
    'watchlist-photos': { type: 'string' }, json: { type: 'boolean' }, realtime: { type: 'boolean' },
    threshold: { type: 'string' }, 'false-alert-rate': { type: 'string' }, calibration: { type: 'string' },
    'ground-truth': { type: 'string' }, 'also-shows': { type: 'string' }, config: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one VIDEO');
  const video = positionals[0];
  const photos = values['watchlist-photos'];
  if (!photos) throw new UsageError('missing required option --watchlist-photos');
  if (!existsSync(video)) throw new UserError(`video ${video} does not exist`);
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold >= -1 && threshold <= 1)) throw new UsageError(`--threshold must be a cosine score between -1 and 1, got ${values.threshold}`);
  const cfg = configFrom(values.config, io);
  const falseAlertRate = values['false-alert-rate'] === undefined ? cfg.session.falseAlertRate : Number(values['false-alert-rate']);
  if (!(falseAlertRate > 0 && falseAlertRate < 1)) throw new UsageError(`--false-alert-rate must be between 0 and 1, got ${values['false-alert-rate']}`);
  if (values['also-shows'] && !values['ground-truth']) throw new UsageError('--also-shows goes with --ground-truth');
  const truth = values['ground-truth'] ? readGroundTruth(values['ground-truth'], values['also-shows'] ? readAlsoShows(values['also-shows']) : undefined) : undefined;
  const rssStart = process.memoryUsage().rss;

  const logger: Logger = createStderrLogger('warn');
  const models = verifyModels(cfg.models);
  let cal: { file: string; data: Calibration } | undefined;
  if (threshold === undefined) {
    const file = resolveFromRoot(values.calibration ?? 'models/calibration.json');
    if (!existsSync(file)) throw new UserError(`no calibration at ${file}: give --threshold, or run 'lfr-edge eval' to make one`);
    try {
      cal = { file, data: readCalibrationFile(file) };
      checkCalibrationModel(cal.data, models.embedderSha256, file);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  const vision = await VisionWorker.start(cfg.vision, models, logger, { logLevel: 'warn' });
  let camera: CameraSource | undefined;
  try {
    const { rows, subjects } = await buildWatchlist(photos, vision, io);
    const matcher = new Matcher(rows);
    let basis: DecisionBasis;
    let thresholdSource: string;
    const templateRule = cfg.recognition.decision.rule === 'template';
    if (!cal) {
      // --threshold is used for single frames and, with rule 'template', for fused templates too
      basis = { threshold: threshold!, falseAlertRate, watchlistSize: subjects.length, ...(templateRule ? { fusedThreshold: threshold! } : {}) };
      thresholdSource = 'option';
    } else {
      const req = { falseAlertRate, watchlistSize: subjects.length };
      const t = thresholdFor(cal.data, req);
      // As a session does: each quality band of the calibration has its threshold.
      const bands = sessionBandThresholds(cal.data, req);
      const f = templateRule ? thresholdFor(cal.data, { falseAlertRate, watchlistSize: subjects.length, fused: true }) : undefined;
      basis = {
        threshold: t.threshold, falseAlertRate, watchlistSize: subjects.length, decidingGroup: t.decidingGroup,
        ...(bands ? { bands: bands.map(({ name, interOcularPx, sharpness, threshold, decidingGroup }) => ({ name, interOcularPx, sharpness, threshold, decidingGroup })) } : {}),
        ...(f ? { fusedThreshold: f.threshold, ...(f.decidingGroup ? { fusedDecidingGroup: f.decidingGroup } : {}) } : {}),
      };
      thresholdSource = cal.file;
    }

    const tracker = new Tracker(cfg.recognition.tracker);
    const decider = new AlertDecider(cfg.recognition.decision, basis);
    camera = new CameraSource({
      pipeline: renderPipeline('file', { location: video, realtime: !!values.realtime }),
      logger, mode: values.realtime ? 'latest' : 'lossless', restartOnEos: false, maxRestarts: 0,
    });
    const alerted: string[] = [];
    const alertTimes: { subject: string; videoTimeSec: number }[] = [];
    let videoTimeSec = 0;
    let firstCapturedAt: number | undefined;
    // Not realtime: no frame is ever dropped, so there is no time to keep to: the time budget is
    // off (with it, a busy machine analysed fewer faces per frame and the per-track rate bound).
    const scheduler = values.realtime ? cfg.recognition.scheduler : { ...cfg.recognition.scheduler, maxFrameMs: 0 };
    const cpuStart = process.cpuUsage();
    const chain = new RecognitionChain({
      vision, tracker, decider, scheduler, matcher: () => matcher, threshold: () => basis.threshold,
      template: trackTemplateConfig(cfg.recognition.decision),
      onAlert: (alert) => {
        alerted.push(alert.subject.ref);
        alertTimes.push({ subject: alert.subject.ref, videoTimeSec });
        io.stdout(values.json ? JSON.stringify({ ...alertJson(alert), videoTimeSec: r(videoTimeSec, 2) }) + '\n'
          : `ALERT ${alert.subject.ref} score ${alert.score.toFixed(3)} (threshold ${alert.threshold.toFixed(3)}) track ${alert.trackId}, ${alert.framesOfEvidence} frames of evidence\n`);
        releaseAlertCrop(alert); // "sent": the crop is not kept
      },
    });
    const loop = new FrameLoop(camera, (frame) => {
      // Lossless: every frame is pulled, so the frame number gives the position in the video.
      firstCapturedAt ??= frame.capturedAt;
      videoTimeSec = !values.realtime && frame.fps ? (frame.seq - 1) / frame.fps : (frame.capturedAt - firstCapturedAt) / 1000;
      return chain.processFrame(frame);
    }, logger);
    camera.start();
    await loop.start();
    const cam = camera.stats();
    await camera.stop();
    if (cam.state === 'down') throw new UserError(`cannot play ${video}: ${cam.lastError ?? 'the pipeline failed'}`);
    chain.endAll();
    matcher.clear();
    const s = loop.stats();
    const c = chain.counts;
    const summary: Record<string, unknown> = {
      type: 'summary', frames: cam.framesIn, framesProcessed: s.processed, framesDropped: cam.framesDropped,
      facesDetected: c.facesDetected, facesAnalysed: c.facesAnalysed, facesPassingQuality: c.facesPassingQuality,
      facesEmbedded: c.facesEmbedded, facesNotEmbedded: c.facesNotEmbedded, notEmbeddedBy: c.notEmbedded,
      tracks: c.tracksStarted - c.tracksMerged, tracksMerged: c.tracksMerged, embeddingsPerTrack: embeddingsPerTrackSummary(c.embeddingsPerEndedTrack), alerts: alerted.length, alertsSuppressedByCooldown: decider.stats.suppressedByCooldown,
      processedFps: r(s.processedFps, 1), latencyMs: { p50: r(s.latencyMs.p50, 1), p95: r(s.latencyMs.p95, 1) },
      frameMs: r(c.frameMs / Math.max(1, c.frames), 2), modelMs: r(c.modelMs / Math.max(1, c.frames), 2),
      overheadRatio: c.modelMs > 0 ? r(c.frameMs / c.modelMs, 2) : null,
      threshold: r(basis.threshold, 4), thresholdSource, falseAlertRate, watchlistSize: subjects.length,
      ...(basis.decidingGroup ? { decidingGroup: basis.decidingGroup } : {}),
      ...(basis.bands ? { bandThresholds: Object.fromEntries(basis.bands.map((b) => [b.name, r(b.threshold, 4)])) } : {}),
      ...(basis.fusedThreshold !== undefined ? { fusedThreshold: r(basis.fusedThreshold, 4), ...(basis.fusedDecidingGroup ? { fusedDecidingGroup: basis.fusedDecidingGroup } : {}) } : {}),
      rule: cfg.recognition.decision.rule, realtime: !!values.realtime, frameBudgetMs: scheduler.maxFrameMs || null, provider: vision.provider,
      cameraReconnects: cam.reconnects, frameErrors: s.failed,
      rssMb: { start: r(rssStart / 1048576, 1), end: r(process.memoryUsage().rss / 1048576, 1) },
      // CPU time of this process (main thread + vision worker; not the camera process) per processed
      // frame: what a frame costs whatever the machine's load (wall times grow with the load).
      cpuMsPerFrame: r(cpuMs(process.cpuUsage(cpuStart)) / Math.max(1, s.processed), 2),
    };
    if (truth) {
      const { alerts: _perAlert, ...report } = scoreAlerts(truth, alertTimes, subjects);
      summary.groundTruth = report;
    }
    if (values.json) io.stdout(JSON.stringify(summary) + '\n');
    else io.stdout(Object.entries(summary).filter(([k]) => k !== 'type').map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n') + '\n');
    return s.failed > 0 ? 1 : 0;
  } finally {
    await camera?.stop();
    await vision.close();
  }
};
