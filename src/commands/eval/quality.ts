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
import { withQuality, writeCalibrationFile } from '../../eval/calibration-file';
import { binReports, BinnedScores, binsFromEdges, gateFrom, quantile, trackMinTar, type BinReport } from '../../eval/quality';
import { rateKey } from '../../eval/roc';
import { parseCalibration, readCalibrationFile, thresholdFor, thresholdForFmr, type Calibration } from '../../recognition/calibration';
import { DistributionBuilder } from '../../eval/distribution';
import { configFrom, requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { intOpt, listOpt, num, pct, peopleIn, writePlot, type Values } from './shared';

import { bandScores, degradedSource, measureDegraded } from '../../eval/degraded-run';
import { qualityChartSvg } from '../../eval/quality-chart';

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

