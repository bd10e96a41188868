/**
 * lfr-edge eval quality: recognition of street-degraded faces by inter-ocular band. Mated people
 * are enrolled with a clean photo; another photo of each (and one photo of each non-mated person)
 * is degraded (src/eval/degrade.ts) into `--copies` camera frames, found there by the LIVE
 * detector, embedded and compared with every enrolled photo. Genuine and impostor scores are
 * binned by the measured inter-ocular distance (bands) and, for the faces at or above the size
 * gate, by sharpness. Reports TAR and FMR per band at each rate, the detection rate per target
 * size, the gates where genuine matches collapse, a chart, and writes the band distributions into a
 * calibration file (the unit's per-band thresholds). Embeddings and frames stay in memory.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { hashSeed, seededRandom } from '../../eval/bootstrap';
import { withQuality, writeCalibrationFile } from '../../eval/calibration-file';
import { lineChartSvg, type ChartSeries } from '../../eval/chart';
import { degradeFrame, sampleDegradation } from '../../eval/degrade';
import { bandsFromEdges, binReports, BinnedScores, binsFromEdges, binsOfBands, DetectionCounts, gateFrom, quantile, trackMinTar, type BinReport } from '../../eval/quality';
import { rateKey } from '../../eval/roc';
import { parseCalibration, readCalibrationFile, thresholdFor, thresholdForFmr, type Calibration, type QualityBand } from '../../recognition/calibration';
import { DistributionBuilder } from '../../eval/distribution';
import { decodeImage, decodeImageFile, encodeJpeg } from '../../vision/image';
import { createProgress } from '../../vision/progress';
import { centralFace } from '../../vision/select';
import type { Face, RgbImage } from '../../vision/types';
import type { VisionWorker } from '../../vision/worker-client';
import type { Config } from '../../config';
import type { PersonImages } from '../../eval/identify';
import { configFrom, requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { intOpt, listOpt, num, openWorkers, pct, peopleIn, writePlot, type Values } from './shared';

export const QUALITY_DEFAULTS = {
  mated: 500,
  nonMated: 250,
  copies: 8,
  bands: [10, 14, 20, 28, 40],
  sharpnessBins: [2, 5, 10, 15, 25, 50],
  iodRange: [8, 48] as [number, number],
  frame: [1280, 720] as [number, number],
  fars: [1e-2, 1e-3, 1e-4],
  gateFar: 1e-3,
  /** The gate rule: a track of this many faces of a band reaches the decision's minFrames with even odds. */
  trackFrames: 10,
};

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

function parseFrame(v: string | undefined): [number, number] {
  if (v === undefined) return QUALITY_DEFAULTS.frame;
  const m = /^([0-9]+)x([0-9]+)$/.exec(v);
  if (!m || Number(m[1]) < 64 || Number(m[2]) < 64) throw new UsageError(`--frame must be WIDTHxHEIGHT (each >= 64), got '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

function increasing(v: number[], name: string): number[] {
  for (let i = 1; i < v.length; i++) if (!(v[i] > v[i - 1])) throw new UsageError(`--${name} must be increasing, got ${v.join(',')}`);
  return v;
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

export async function quality(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const t0 = Date.now();
  const mated = intOpt(values.mated, 'mated', QUALITY_DEFAULTS.mated, 2);
  const nonMated = intOpt(values['non-mated'], 'non-mated', QUALITY_DEFAULTS.nonMated, 0);
  const copies = intOpt(values.copies, 'copies', QUALITY_DEFAULTS.copies, 1);
  const seed = intOpt(values.seed, 'seed', 1, 0);
  const edges = values.bands ? increasing(listOpt(values.bands, 'bands', 0, 1000, true), 'bands') : QUALITY_DEFAULTS.bands;
  const iodRange = values['iod-range'] ? listOpt(values['iod-range'], 'iod-range', 0, 1000, true) : QUALITY_DEFAULTS.iodRange;
  if (iodRange.length !== 2 || !(iodRange[1] >= iodRange[0])) throw new UsageError(`--iod-range must be LOW,HIGH with LOW <= HIGH, got '${values['iod-range']}'`);
  const [frameW, frameH] = parseFrame(values.frame);
  const fars = values.far ? listOpt(values.far, 'far', 0, 1, true) : QUALITY_DEFAULTS.fars;
  const gateFar = fars.includes(QUALITY_DEFAULTS.gateFar) ? QUALITY_DEFAULTS.gateFar : fars[0];
  if (values['calibration-out'] && !values['calibration-in']) {
    throw new UsageError('--calibration-out needs --calibration-in: the bands extend a calibration made on clean photos (lfr-edge calibrate or eval verify --calibration-out) of the same embedder');
  }
  let calIn: Calibration | undefined;
  if (values['calibration-in']) {
    try {
      calIn = readCalibrationFile(values['calibration-in']);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  const cfg0 = configFrom(values.config, io);
  if (!existsSync(dir)) throw new UserError(`--images ${dir}: no such folder`);
  const { people, excludedImages } = peopleIn(dir, values);
  const run = await measureDegraded({
    dir, people, cfg: cfg0, detector: values.detector, workers: intOpt(values.workers, 'workers', 2, 1), mated, nonMated, copies, seed, edges, iodRange: [iodRange[0], iodRange[1]], frame: [frameW, frameH],
    embedderSha256: calIn?.model.embedderSha256, embedderSource: values['calibration-in'],
  }, io);
  const { faces, detection, copiesMade, galleryFailures, probeFailures } = run;
  const gallery = { length: run.enrolled };
  const cfg = { vision: { detector: run.detector } };
  const vision = { provider: run.provider };

  // 3. Bands by measured inter-ocular distance; the band distributions.
  const { bands, byBand } = bandScores(faces, edges);
  const pooled = new DistributionBuilder();
  for (const f of faces) for (let g = 0; g < f.scores.length; g++) if (g !== f.mate) pooled.add(f.scores[g]);
  const pooledDist = pooled.build();
  const source = degradedSource('eval quality', dir, run, { copies, seed, frame: [frameW, frameH], iodRange: [iodRange[0], iodRange[1]] });
  let calOut: Calibration | undefined;
  let droppedFusedBands: string[] = [];
  if (calIn) {
    const impostor = Object.fromEntries(bands.map((b) => [b.name, byBand.get(b.name).impostor]));
    ({ cal: calOut, droppedFusedBands } = withQuality(calIn, { bands, impostor, source }));
  }
  // The unit's threshold for a face of each band (with a calibration) or, without one, the pooled degraded impostors'.
  const unitThreshold = (far: number, band?: string): number =>
    calOut ? thresholdFor(calOut, { falseAlertRate: far, watchlistSize: 1, ...(band ? { band } : {}) }).threshold : thresholdForFmr(pooledDist, far).threshold;
  const bandReport = binReports(byBand, fars, (far, b) => unitThreshold(far, b));
  const noBandReport = calIn ? binReports(byBand, fars, (far) => thresholdFor(calIn!, { falseAlertRate: far, watchlistSize: 1 }).threshold) : undefined;
  // The gate: below it, a track of --track-frames such faces reaches the decision's minFrames with less than even odds.
  const trackFrames = intOpt(values['track-frames'], 'track-frames', QUALITY_DEFAULTS.trackFrames, 1);
  const minFrames = cfg0.recognition.decision.minFrames;
  const gateMinTar = trackMinTar(trackFrames, minFrames);
  const iodGate = gateFrom(bandReport, gateFar, gateMinTar);

  // 4. Sharpness, among faces at or above the size gate.
  const sharpBins = binsFromEdges(QUALITY_DEFAULTS.sharpnessBins, 'sharpness');
  const bySharp = new BinnedScores(sharpBins);
  const gateIod = iodGate.gate ?? 0;
  for (const f of faces) if (f.interOcularPx >= gateIod) bySharp.add(f.sharpness, f.mate >= 0 ? f.scores[f.mate] : undefined, f.scores, f.mate);
  const sharpReport = binReports(bySharp, fars, (far) => unitThreshold(far));
  const sharpGate = gateFrom(sharpReport, gateFar, gateMinTar);
  // The box side of faces at the size gate: minFaceSidePx must not cut faces the gate passes.
  const ratios = faces.filter((f) => f.interOcularPx >= gateIod).map((f) => f.boxSide / f.interOcularPx);
  const ratioP05 = quantile(ratios, 0.05);
  const minFaceSide = iodGate.gate !== null && ratioP05 !== null ? Math.floor(iodGate.gate * ratioP05) : null;

  if (values['calibration-out'] && calOut) {
    writeCalibrationFile(values['calibration-out'], parseCalibration(calOut, 'about to be written'));
    io.stderr(`calibration written to ${values['calibration-out']} (quality bands ${bands.map((b) => b.name).join(', ')}${droppedFusedBands.length ? `; fused.bands dropped for bands no longer defined: ${droppedFusedBands.join(', ')}` : ''})\n`);
  }
  if (values.plot) writePlot(values.plot, qualityChartSvg(bandReport, detection.report(), fars, gateFar, iodGate.gate, gateMinTar, `${source.images}: ${gallery.length} enrolled, ${probesOf(source)} probe photos x ${copies} degraded copies in ${frameW}x${frameH} frames, live detector ${cfg.vision.detector}`), io);

  const result = {
    ...source,
    excludedImages,
    enrolFailures: galleryFailures,
    probeFailures,
    copiesMade,
    fars: fars.map(rateKey),
    detection: detection.report(),
    bands: bandReport.map(jsonBin),
    withoutBands: noBandReport?.map(jsonBin) ?? null,
    sharpness: { amongInterOcularAtLeast: gateIod, bins: sharpReport.map(jsonBin) },
    gates: {
      minInterOcularPx: iodGate.gate,
      minInterOcularReason: iodGate.reason,
      minSharpness: sharpGate.gate,
      minSharpnessReason: sharpGate.reason,
      minFaceSidePx: minFaceSide,
      minFaceSideReason: ratioP05 === null ? 'no faces at the gate' : `5th percentile of box side / inter-ocular distance (${ratioP05.toFixed(2)}) times the size gate`,
      rule: `single-frame TAR >= ${(gateMinTar * 100).toFixed(1)}% at FMR ${rateKey(gateFar)} (a track of ${trackFrames} such faces then reaches recognition.decision.minFrames ${minFrames} with even odds)`,
      minTar: gateMinTar,
    },
    calibration: values['calibration-out'] ?? null,
    provider: vision.provider,
    seconds: (Date.now() - t0) / 1000,
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  const lines = [
    `quality: ${gallery.length} enrolled (clean), ${probesOf(source)} probe photos x ${copies} copies; ${faces.length} degraded faces found by ${cfg.vision.detector} in ${copiesMade} ${frameW}x${frameH} frames`,
    `  detection by target inter-ocular distance: ${detection.report().map((d) => `${d.name} ${pct(d.rate, 1)}`).join(', ')}`,
    `  per band (measured inter-ocular px): genuine/impostor; TAR at the unit's band threshold (FMR in band) per rate${noBandReport ? '; [without bands: TAR, FMR]' : ''}`,
  ];
  bandReport.forEach((b, i) => {
    const cells = fars.map((f) => {
      const u = b.atUnit[String(f)];
      const nb = noBandReport?.[i].atUnit[String(f)];
      return `FMR ${rateKey(f)}: t=${num(u?.threshold, 3)} TAR ${pct(u?.tar, 1)} (FMR ${u?.fmr === null || u?.fmr === undefined ? 'n/a' : u.fmr.toExponential(1)})${nb ? ` [${pct(nb.tar, 1)}, ${nb.fmr === null ? 'n/a' : nb.fmr.toExponential(1)}]` : ''}`;
    });
    lines.push(`    ${b.name.padEnd(12)} ${String(b.genuine).padStart(5)}/${String(b.impostor).padStart(8)}  ${cells.join('  ')}`);
  });
  lines.push(`  sharpness bins (faces >= ${gateIod} px): ${sharpReport.map((b) => `${b.name} ${pct(b.atUnit[String(gateFar)]?.tar, 1)} (${b.genuine})`).join(', ')}`);
  lines.push(`  gates from the data (${result.gates.rule}): minInterOcularPx ${iodGate.gate ?? 'n/a'}, minSharpness ${sharpGate.gate ?? 'n/a'}, minFaceSidePx ${minFaceSide ?? 'n/a'}`);
  lines.push(`    ${iodGate.reason}`);
  lines.push(`  ${result.seconds.toFixed(1)} s, provider ${vision.provider}`);
  io.stdout(lines.join('\n') + '\n');
  return 0;
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

const probesOf = (s: { mated: number; nonMated: number }) => s.mated + s.nonMated;

function jsonBin(b: BinReport) {
  return {
    name: b.name,
    range: [b.lo, b.hi],
    faces: b.probes,
    genuine: b.genuine,
    impostor: b.impostor,
    genuineMedian: b.genuineMedian,
    own: Object.fromEntries(b.own.map((p) => [rateKey(p.far), { threshold: p.threshold, tar: p.tar }])),
    ownNotReported: b.ownNotReported.map((n) => ({ far: rateKey(n.far), reason: n.reason })),
    unit: Object.fromEntries(Object.entries(b.atUnit).map(([k, v]) => [rateKey(Number(k)), v])),
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

function mid(b: { lo: number; hi: number | null }): number {
  if (b.hi === null) return b.lo * 1.2;
  if (b.lo === 0) return b.hi * 0.85;
  return Math.sqrt(b.lo * b.hi);
}

export function qualityChartSvg(
  bands: BinReport[],
  detection: { name: string; rate: number | null }[],
  fars: number[],
  gateFar: number,
  gate: number | null,
  minTar: number | null,
  subtitle: string,
): string {
  const series: ChartSeries[] = fars.map((f) => ({
    name: `TAR at FMR ${rateKey(f)}`,
    points: bands.filter((b) => b.atUnit[String(f)]?.tar !== null && b.atUnit[String(f)] !== undefined).map((b) => [mid(b), b.atUnit[String(f)].tar!] as [number, number]),
  }));
  series.push({
    name: 'faces found (detector)',
    points: bands.map((b, i) => [mid(b), detection[i]?.rate ?? NaN] as [number, number]).filter((p) => Number.isFinite(p[1])),
    dashed: true,
  });
  const xs = bands.map(mid);
  return lineChartSvg({
    title: 'Degraded faces: true accept rate per inter-ocular band',
    subtitle,
    xLabel: 'inter-ocular distance in the frame (pixels, band centres)',
    yLabel: 'rate',
    xScale: 'log',
    yScale: 'linear',
    xDomain: [Math.min(...xs) * 0.8, Math.max(...xs) * 1.25],
    yDomain: [0, 1],
    series,
    markers: gate === null ? [] : [{ x: gate, label: `size gate ${gate} px${minTar !== null ? ` (TAR >= ${(minTar * 100).toFixed(0)}% at FMR ${rateKey(gateFar)})` : ''}` }],
  });
}
