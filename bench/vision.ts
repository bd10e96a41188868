/**
 * Vision benchmark: per-stage time on a fixed set of images, and the ratio of total per-face time
 * (pre/post-processing, alignment, quality, ORT) to pure `session.run` time. Target <= 1.15.
 * In-thread and through the worker, in one run, so the ratios compare like with like.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { verifyModels } from '../src/models/manifest';
import { emptyTimes, FaceAnalyzer } from '../src/vision/analyzer';
import { decodeImageFile } from '../src/vision/image';
import type { RgbImage, StageTimes } from '../src/vision/types';
import { VisionWorker } from '../src/vision/worker-client';

export interface VisionBenchResult {
  images: number;
  faces: number;
  decodeMsPerImage: number;
  stagesMsPerImage: StageTimes;
  pureRunMsPerFace: number;
  totalMsPerFace: number;
  ratioTotalToRun: number;
  workerMsPerFace: number;
  ratioWorkerToRun: number;
}

/** The fixed image set: the first image of the first `n` LFW people (sorted), and every people/ photo. */
export function benchImageSet(sharedData: string, n = 60): string[] {
  const lfw = path.join(sharedData, 'lfw-dev', 'images');
  const people = readdirSync(lfw).sort().slice(0, n).map((p) => path.join(lfw, p, readdirSync(path.join(lfw, p)).sort()[0]));
  const pdir = path.join(sharedData, 'people');
  const extra = readdirSync(pdir).sort().map((p) => path.join(pdir, p, readdirSync(path.join(pdir, p)).sort()[0]));
  return [...people, ...extra];
}

export async function benchVision(sharedData: string, log: (s: string) => void, rounds = 3): Promise<VisionBenchResult> {
  const cfg = loadConfig({ env: { ...process.env, LFR_EDGE__VISION__PROVIDERS: process.env.LFR_EDGE__VISION__PROVIDERS ?? '["cpu"]' } });
  const models = verifyModels(cfg.models);
  const logger = createLogger({ level: 'warn', write: (l) => process.stderr.write(l + '\n') });
  const files = benchImageSet(sharedData);
  const t0 = performance.now();
  const images: RgbImage[] = [];
  for (const f of files) images.push(await decodeImageFile(f));
  const decodeMs = (performance.now() - t0) / files.length;

  const analyzer = await FaceAnalyzer.create(cfg.vision, models, logger);
  for (const img of images.slice(0, 5)) await analyzer.analyze(img); // warm-up
  const sum = emptyTimes();
  let faces = 0;
  for (let r = 0; r < rounds; r++) {
    for (const img of images) {
      const res = await analyzer.analyze(img);
      faces += res.faces.length;
      for (const k of Object.keys(sum) as (keyof StageTimes)[]) sum[k] += res.times[k];
    }
  }
  await analyzer.close();
  const runs = rounds * images.length;
  const perImage = Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, v / runs])) as unknown as StageTimes;
  const pureRun = (sum.detectRun + sum.landmarkRun + sum.embedRun) / faces;
  const total = sum.total / faces;

  // Through the worker, as the daemon uses it: frames transferred (not copied) to the worker.
  // Each round's copies are made before its clock starts.
  const worker = await VisionWorker.start(cfg.vision, models, logger, { logLevel: 'warn' });
  const copies = () => images.map((im) => ({ width: im.width, height: im.height, data: im.data.slice() }));
  for (const img of copies().slice(0, 5)) await worker.analyze(img, { transfer: true });
  let wFaces = 0;
  let wRun = 0;
  let wMs = 0;
  for (let r = 0; r < rounds; r++) {
    const batch = copies();
    const w0 = performance.now();
    for (const img of batch) {
      const res = await worker.analyze(img, { transfer: true });
      wFaces += res.faces.length;
      wRun += res.times.detectRun + res.times.landmarkRun + res.times.embedRun;
    }
    wMs += performance.now() - w0;
  }
  const wTotal = wMs / wFaces;
  await worker.close();

  const result: VisionBenchResult = {
    images: images.length,
    faces: faces / rounds,
    decodeMsPerImage: decodeMs,
    stagesMsPerImage: perImage,
    pureRunMsPerFace: pureRun,
    totalMsPerFace: total,
    ratioTotalToRun: total / pureRun,
    workerMsPerFace: wTotal,
    ratioWorkerToRun: wTotal / (wRun / wFaces),
  };
  const f = (v: number) => v.toFixed(3);
  log(`vision: ${images.length} images, ${result.faces} faces, ${rounds} rounds, provider ${analyzer.provider}, ${cfg.vision.intraOpThreads} intra-op thread(s)`);
  log(`  decode (sharp, not in the ratio): ${f(decodeMs)} ms/image`);
  log(`  per image: ${Object.entries(perImage).map(([k, v]) => `${k} ${f(v)}`).join(', ')} ms`);
  log(`  per face: total ${f(total)} ms, pure session.run ${f(pureRun)} ms, ratio ${f(result.ratioTotalToRun)} (target <= 1.15)`);
  log(`  via worker: ${f(wTotal)} ms/face wall, ratio to its session.run ${f(result.ratioWorkerToRun)}`);
  return result;
}
