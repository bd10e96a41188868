/**
 * The degraded-face measurement behind `lfr-edge eval quality` and `lfr-edge calibrate
 * --quality-bands`: mated people enrolled with a clean photo, another photo of each (and one of each
 * non-mated person) degraded into camera frames (src/eval/degrade.ts), found by the live detector,
 * embedded and scored against every enrolled photo. Everything stays in memory.
 */
import path from 'node:path';
import { hashSeed, seededRandom } from './bootstrap';
import { degradeFrame, sampleDegradation } from './degrade';
import { bandsFromEdges, BinnedScores, binsFromEdges, binsOfBands, DetectionCounts } from './quality';
import { type QualityBand } from '../recognition/calibration';
import { decodeImage, decodeImageFile, encodeJpeg } from '../vision/image';
import { createProgress } from '../vision/progress';
import { centralFace } from '../vision/select';
import type { Face, RgbImage } from '../vision/types';
import type { VisionWorker } from '../vision/worker-client';
import type { Config } from '../config';
import type { PersonImages } from './identify';
import { UserError, type CommandIO } from '../commands/common';
import { openWorkers } from '../commands/eval/shared';


/** A degraded probe face found by the live detector. */
export interface ProbeFace {
  /** Gallery index of its mate, -1 for a non-mated person. */
  mate: number;
  interOcularPx: number;
  sharpness: number;
  boxSide: number;
  scores: Float32Array;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Deterministic choice of n items (seeded shuffle of a name-sorted list). */
function choose<T extends { person: string }>(items: T[], n: number, seed: number): T[] {
  const sorted = [...items].sort((a, b) => (a.person < b.person ? -1 : a.person > b.person ? 1 : 0));
  const rnd = seededRandom(seed);
  for (let i = sorted.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [sorted[i], sorted[j]] = [sorted[j], sorted[i]];
  }
  return sorted.slice(0, n);
}

async function compressJpeg(img: RgbImage, quality: number): Promise<RgbImage> {
  return decodeImage(await encodeJpeg(img, quality), 'degraded frame');
}

/** Run `fn` over items with one lane per worker (one request in flight per worker). */
async function lanes<T>(items: readonly T[], workers: readonly VisionWorker[], fn: (item: T, w: VisionWorker) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(workers.map(async (w) => {
    while (next < items.length) await fn(items[next++], w);
  }));
}

export interface DegradedRunOptions {
  dir: string;
  people: PersonImages[];
  cfg: Config;
  /** The live detector to use (default the config's vision.detector). */
  detector?: string;
  workers: number;
  mated: number;
  nonMated: number;
  copies: number;
  seed: number;
  /** Inter-ocular band edges (the detection counts are kept per band of the target size). */
  edges: number[];
  iodRange: [number, number];
  frame: [number, number];
  /** When set, the installed embedder must be this one (the calibration being extended). */
  embedderSha256?: string;
  embedderSource?: string;
}

export interface DegradedRun {
  faces: ProbeFace[];
  detection: DetectionCounts;
  enrolled: number;
  nonMated: number;
  copiesMade: number;
  galleryFailures: string[];
  probeFailures: string[];
  detector: string;
  provider: string;
  embedderSha256: string;
}

/**
 * Enrol --mated people with a clean photo; degrade another photo of each and one of each non-mated
 * person into `copies` frames; find the face with the live detector and score it against every
 * enrolled photo. Everything stays in memory.
 */
export async function measureDegraded(o: DegradedRunOptions, io: CommandIO): Promise<DegradedRun> {
  // Every face the detector finds is analysed: the gate is what is being measured.
  const cfg = { ...o.cfg, vision: { ...o.cfg.vision, minFaceSidePx: 0, ...(o.detector ? { detector: o.detector } : {}) } };
  const { dir, people, mated, nonMated, copies, seed, edges, iodRange } = o;
  const [frameW, frameH] = o.frame;
  const several = people.filter((p) => p.images.length >= 2);
  const single = people.filter((p) => p.images.length === 1);
  if (several.length < mated) throw new UserError(`${dir}: --mated ${mated} needs that many people with at least 2 images; there are ${several.length}`);
  // Non-mated people: one-image people first, then people with several images not chosen as mated.
  const matedPeople = choose(several, mated, hashSeed(seed, 'mated'));
  const chosenMated = new Set(matedPeople.map((p) => p.person));
  const pool = [...choose(single, single.length, hashSeed(seed, 'single')), ...choose(several.filter((p) => !chosenMated.has(p.person)), several.length, hashSeed(seed, 'rest'))];
  if (pool.length < nonMated) throw new UserError(`${dir}: --non-mated ${nonMated} needs that many people besides the mated ones; there are ${pool.length}`);
  const nonMatedPeople = pool.slice(0, nonMated);
  const sortedImages = (p: { images: string[] }) => [...p.images].sort();

  const vision = await openWorkers(cfg, o.workers);
  if (o.embedderSha256 !== undefined && o.embedderSha256 !== vision.embedderSha256) {
    await Promise.all(vision.workers.map((w) => w.close()));
    throw new UserError(`calibration ${o.embedderSource} was measured with embedder ${o.embedderSha256}, the installed embedder is ${vision.embedderSha256}`);
  }
  const galleryFiles: string[] = [];
  const gallery: Float32Array[] = [];
  const galleryFailures: string[] = [];
  const faces: ProbeFace[] = [];
  const probeFailures: string[] = [];
  const targetBins = binsFromEdges(edges, 'iod');
  const detection = new DetectionCounts(targetBins);
  let copiesMade = 0;
  try {
    // 1. Enrol the mated people's first photo (clean, still detector).
    let progress = createProgress('enrolling clean photos', matedPeople.length, io.stderr);
    const enrolled: (Float32Array | undefined)[] = new Array(matedPeople.length);
    await lanes(matedPeople.map((p, i) => ({ p, i })), vision.workers, async ({ p, i }, w) => {
      const file = sortedImages(p)[0];
      const img = await decodeOrReport(file, io);
      const face = img ? centralFace((await w.analyze(img, { transfer: true, detector: 'stills' })).faces, img.width, img.height) : undefined;
      enrolled[i] = face?.embedding;
      if (!face) galleryFailures.push(path.relative(dir, file));
      progress.tick();
    });
    progress.done();
    const mateIndex = new Map<string, number>();
    matedPeople.forEach((p, i) => {
      if (!enrolled[i]) return;
      mateIndex.set(p.person, gallery.length);
      gallery.push(enrolled[i]!);
      galleryFiles.push(sortedImages(p)[0]);
    });
    if (gallery.length < 2) throw new UserError(`only ${gallery.length} mated people could be enrolled (no face found in the others' first photo)`);

    // 2. Degrade each probe photo into copies, find the face with the live detector, score it.
    const probes = [
      ...matedPeople.filter((p) => mateIndex.has(p.person)).map((p) => ({ file: sortedImages(p)[1], mate: mateIndex.get(p.person)! })),
      ...nonMatedPeople.map((p) => ({ file: sortedImages(p)[0], mate: -1 })),
    ];
    progress = createProgress(`degrading ${probes.length} probe photos x ${copies} copies (live detector ${cfg.vision.detector}, ${frameW}x${frameH} frames)`, probes.length * copies, io.stderr);
    await lanes(probes, vision.workers, async (probe, w) => {
      const photo = await decodeOrReport(probe.file, io);
      const clean = photo ? centralFace((await w.analyze({ ...photo, data: photo.data.slice() }, { transfer: true, detector: 'stills' })).faces, photo.width, photo.height) : undefined;
      if (!photo || !clean || !(clean.quality.interOcularPx > 0)) {
        probeFailures.push(path.relative(dir, probe.file));
        progress.tick(copies);
        return;
      }
      const rnd = seededRandom(hashSeed(seed, path.relative(dir, probe.file)));
      const centre = meanPoint(clean);
      for (let k = 0; k < copies; k++) {
        const p = sampleDegradation(rnd, photo.width, photo.height, clean.quality.interOcularPx, { interOcularPx: iodRange, frameWidth: frameW, frameHeight: frameH });
        const { frame } = await degradeFrame(photo, p, { width: frameW, height: frameH }, rnd, compressJpeg);
        copiesMade++;
        const expected: [number, number] = [p.x + centre[0] * p.scale, p.y + centre[1] * p.scale];
        const targetIod = clean.quality.interOcularPx * p.scale;
        const res = await w.analyze(frame, { transfer: true, detector: 'live' });
        const face = nearestFace(res.faces, expected, Math.max(6, targetIod));
        detection.add(targetIod, !!face);
        if (face && face.embedding.length) {
          const scores = new Float32Array(gallery.length);
          for (let g = 0; g < gallery.length; g++) scores[g] = dot(face.embedding, gallery[g]);
          faces.push({ mate: probe.mate, interOcularPx: face.quality.interOcularPx, sharpness: face.quality.sharpness, boxSide: face.box[2] - face.box[0], scores });
        }
        progress.tick();
      }
    });
    progress.done();
  } finally {
    await Promise.all(vision.workers.map((w) => w.close()));
  }
  if (faces.length === 0) throw new UserError('no degraded face was found by the live detector: nothing to measure');

  return { faces, detection, enrolled: gallery.length, nonMated: nonMatedPeople.length, copiesMade, galleryFailures, probeFailures, detector: cfg.vision.detector, provider: vision.provider, embedderSha256: vision.embedderSha256 };
}

/** Scores of the degraded faces per inter-ocular band (bands from the edges). */
export function bandScores(faces: readonly ProbeFace[], edges: readonly number[]): { bands: QualityBand[]; byBand: BinnedScores } {
  const bands = bandsFromEdges(edges);
  const byBand = new BinnedScores(binsOfBands(bands));
  for (const f of faces) byBand.add(f.interOcularPx, f.mate >= 0 ? f.scores[f.mate] : undefined, f.scores, f.mate);
  return { bands, byBand };
}

/** The calibration's quality.source: what the band distributions were measured on. */
export function degradedSource(command: string, dir: string, run: DegradedRun, o: { copies: number; seed: number; frame: [number, number]; iodRange: [number, number] }) {
  return {
    command,
    images: path.basename(path.resolve(dir)),
    mated: run.enrolled,
    nonMated: run.nonMated,
    copies: o.copies,
    seed: o.seed,
    detector: run.detector,
    frame: `${o.frame[0]}x${o.frame[1]}`,
    interOcularRangePx: o.iodRange,
    facesMeasured: run.faces.length,
  };
}

async function decodeOrReport(file: string, io: CommandIO): Promise<RgbImage | undefined> {
  try {
    return await decodeImageFile(file);
  } catch (err) {
    io.stderr(`lfr-edge eval: ${(err as Error).message} (skipped)\n`);
    return undefined;
  }
}

function meanPoint(f: Face): [number, number] {
  const pts = f.fivePoints;
  return [pts.reduce((s, p) => s + p[0], 0) / pts.length, pts.reduce((s, p) => s + p[1], 0) / pts.length];
}

/** The face whose five points' centre is nearest `at`, within `maxDist` pixels. */
function nearestFace(faces: Face[], at: [number, number], maxDist: number): Face | undefined {
  let best: Face | undefined;
  let bestD = maxDist;
  for (const f of faces) {
    const c = meanPoint(f);
    const d = Math.hypot(c[0] - at[0], c[1] - at[1]);
    if (d <= bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

