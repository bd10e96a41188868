/**
 * Pipeline benchmark: the live chain (camera file pipeline paced in real time -> vision worker ->
 * tracker -> matcher -> decision) on a 1280x720 H.264 video of >= 60 s with 1-3 faces per frame
 * (the shared hamilton clip scaled up to 1280x720 and played 7 times at a constant 30 fps, 2106 frames over 70.2 s, made once
 * with GStreamer and cached in the temp dir). Reports processed fps, frame-to-decision latency, dropped frames, per-frame time
 * over pure model time, RSS over the run, and the cost of repacking frames to RGB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FrameLoop } from '../src/camera/frame-loop';
import { toPackedRgb, rgbStride } from '../src/camera/frame';
import { renderPipeline } from '../src/camera/pipeline-template';
import { CameraSource } from '../src/camera/source';
import { buildWatchlist } from '../src/commands/replay';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { verifyModels } from '../src/models/manifest';
import { readCalibrationFile, thresholdFor } from '../src/recognition/calibration';
import { RecognitionChain } from '../src/recognition/chain';
import { AlertDecider, releaseAlertCrop } from '../src/recognition/decision';
import { Matcher } from '../src/recognition/matcher';
import { Tracker } from '../src/recognition/tracker';
import { resolveFromRoot } from '../src/paths';
import { VisionWorker } from '../src/vision/worker-client';

const r = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
const rssMb = () => process.memoryUsage().rss / 1048576;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function benchVideo(sharedData: string, log: (s: string) => void, repeats = 7): string {
  // v2: a true constant 30 fps. The clips are scaled before concat, and the concatenated stream is
  // made one segment (identity single-segment=true) before videorate: v1 (videorate right after
  // concat) started at 9.2 s, had 0.9 s holes at the joins and lost 52 of 275 frames of every clip
  // after the first (1932 frames over 69.3 s, ~27.9 fps: the source, not the chain, capped the fps).
  const out = path.join(tmpdir(), `lfr-edge-bench-720p30-v2-x${repeats}.mp4`);
  if (existsSync(out)) return out;
  const clip = path.join(sharedData, 'video', 'hamilton-clip.mp4');
  log(`pipeline: making ${out} (hamilton clip x${repeats}, 1280x720 30 fps H.264) with gst-launch-1.0 ...`);
  const args = ['-q', 'concat', 'name=c', '!', 'identity', 'single-segment=true', '!', 'videorate', '!', 'video/x-raw,framerate=30/1', '!',
    'x264enc', 'speed-preset=veryfast', 'key-int-max=60', 'bitrate=4000', '!', 'mp4mux', '!', 'filesink', `location=${out}.part`];
  for (let i = 0; i < repeats; i++) {
    args.push('filesrc', `location=${clip}`, '!', 'qtdemux', '!', 'h264parse', '!', 'avdec_h264', '!', 'videoconvert', '!', 'videoscale', '!',
      'video/x-raw,format=I420,width=1280,height=720', '!', 'c.');
  }
  execFileSync('gst-launch-1.0', args, { stdio: 'inherit' });
  renameSync(`${out}.part`, out);
  return out;
}

function repackCost(): { rgbaToRgbMs: number; depadMs: number } {
  const w = 1280;
  const h = 720;
  const rgba = new Uint8Array(w * h * 4).map((_, i) => i & 255);
  const padded = new Uint8Array(rgbStride(w - 2) * h);
  const time = (f: () => unknown) => {
    for (let i = 0; i < 10; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) f();
    return (performance.now() - t0) / 100;
  };
  return { rgbaToRgbMs: r(time(() => toPackedRgb(rgba, w, h, 'RGBA')), 2), depadMs: r(time(() => toPackedRgb(padded, w - 2, h, 'RGB')), 2) };
}

export async function benchPipeline(sharedData: string, log: (s: string) => void) {
  const video = benchVideo(sharedData, log);
  const cfg = loadConfig({ env: process.env });
  const logger = createLogger({ level: 'warn', write: (l) => process.stderr.write(l + '\n') });
  const models = verifyModels(cfg.models);
  const vision = await VisionWorker.start(cfg.vision, models, logger, { logLevel: 'warn' });
  const { rows, subjects } = await buildWatchlist(path.join(sharedData, 'people'), vision, { stderr: () => {} });
  const matcher = new Matcher(rows);
  const cal = readCalibrationFile(resolveFromRoot('models/calibration.json'));
  const t = thresholdFor(cal, { falseAlertRate: cfg.session.falseAlertRate, watchlistSize: subjects.length });
  const decider = new AlertDecider(cfg.recognition.decision, { threshold: t.threshold, falseAlertRate: cfg.session.falseAlertRate, watchlistSize: subjects.length });
  const alerts: string[] = [];
  const chain = new RecognitionChain({
    vision, tracker: new Tracker(cfg.recognition.tracker), decider, scheduler: cfg.recognition.scheduler, matcher: () => matcher, threshold: () => t.threshold,
    onAlert: (a) => { alerts.push(a.subject.ref); releaseAlertCrop(a); },
  });
  const camera = new CameraSource({ pipeline: renderPipeline('file', { location: video, realtime: true }), logger, mode: 'latest', restartOnEos: false });
  const loop = new FrameLoop(camera, (f) => chain.processFrame(f), logger, { latencyWindow: 100000 });
  gc();
  const rssStart = rssMb();
  const samples: number[] = [];
  const sampler = setInterval(() => { gc(); samples.push(r(rssMb())); }, 10000);
  const t0 = performance.now();
  camera.start();
  await loop.start();
  clearInterval(sampler);
  const wall = (performance.now() - t0) / 1000;
  const cam = camera.stats();
  await camera.stop();
  chain.endAll();
  matcher.clear();
  gc();
  const rssEnd = rssMb();
  await vision.close();
  const s = loop.stats();
  const c = chain.counts;
  const result = {
    video: `${video} (1280x720 30 fps, ${r(wall)} s played in real time)`,
    framesIn: cam.framesIn,
    framesProcessed: s.processed,
    framesDropped: cam.framesDropped,
    droppedPct: r((100 * cam.framesDropped) / Math.max(1, cam.framesIn)),
    processedFps: r(s.processedFps),
    latencyMs: { p50: r(s.latencyMs.p50), p95: r(s.latencyMs.p95), max: r(s.latencyMs.max) },
    facesPerFrame: r(c.facesDetected / Math.max(1, c.frames), 2),
    facesNotEmbedded: c.facesNotEmbedded,
    frameMs: r(c.frameMs / Math.max(1, c.frames), 2),
    modelMs: r(c.modelMs / Math.max(1, c.frames), 2),
    ratioFrameToModel: r(c.frameMs / Math.max(1e-9, c.modelMs), 2),
    rssMb: { start: r(rssStart), end: r(rssEnd), every10sAfterGc: samples },
    alerts: alerts.length,
    provider: vision.provider,
    repackMsPer720pFrame: repackCost(),
  };
  log(`pipeline: ${JSON.stringify(result, null, 1)}`);
  return result;
}
