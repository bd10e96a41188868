/**
 * lfr-edge eval verify | identify | fairness: accuracy, open-set identification and per-group false
 * matches on labelled folder-per-person images, with an optional calibration file and SVG chart.
 * The maths lives in src/eval/ (pure); this file parses options, embeds the images and prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { allPairsScores, capPerPerson, pairCounts, personIndexOfRows } from '../eval/all-pairs';
import { buildCalibration, writeCalibrationFile, type MeasuredDistribution } from '../eval/calibration-file';
import { parseDemographics, normaliseImagePath } from '../eval/demographics';
import { distributionOf } from '../eval/distribution';
import { embedImageSet, type EmbeddedSet } from '../eval/embed-set';
import { applyExclusions, parseExclusions } from '../eval/exclude';
import { fairnessReport, type FairnessImage, type FairnessReport } from '../eval/fairness';
import { evaluateIdentification, planIdentification, type PersonImages } from '../eval/identify';
import { lfwImagePath, parsePairs, type PairsFile } from '../eval/pairs';
import { fairnessChartSvg, rocChartSvg } from '../eval/plots';
import { rateKey, rocCurve, sortedDesc, tarAtFars, tenFoldAccuracy, type FarNotReported, type FarOperatingPoint } from '../eval/roc';
import { DETECTION_FAILURE_SCORE, EmbeddingMatrix } from '../eval/score-matrix';
import { createStderrLogger } from '../log';
import { verifyModels } from '../models/manifest';
import { listPeople } from '../vision/files';
import { decodeImageFile } from '../vision/image';
import { createProgress } from '../vision/progress';
import { VisionWorker } from '../vision/worker-client';
import { configFrom, parse, requireOpt, UsageError, UserError, type Command, type CommandIO } from './common';

export const usage = `lfr-edge eval verify   --images DIR [--pairs FILE | --max-per-person N --exclude FILE] [--json] [--plot FILE.svg] [--calibration-out FILE]
lfr-edge eval identify --images DIR [--exclude FILE] [--json]
lfr-edge eval fairness --images DIR --demographics CSV [--far 1e-3,1e-4 | --threshold T[,T...]] [--max-per-person N]
                       [--exclude FILE] [--bootstrap N] [--seed N] [--json] [--plot FILE.svg] [--calibration-out FILE]

  verify     with --pairs (LFW pairs.txt format, images at DIR/<name>/<name>_<nnnn>.jpg): 10-fold
             accuracy (LFW protocol), TAR and threshold at FAR 1e-2, 1e-3, 1e-4. Without --pairs:
             every genuine and impostor pair among DIR/<person>/* (first --max-per-person images
             each, default 10), TAR down to FAR 1e-5 where the counts allow.
  identify   open-set 1:N: people with >= 2 images enrolled with their first image, their other
             images are mated searches, one-image people non-mated. TPIR at FPIR 1e-2 and 1e-3, rank-1.
  fairness   false-match rate per demographic group (CSV: image,<attribute>,...; blank = unknown)
             at thresholds from all impostor pairs (--far, default 1e-3,1e-4) or given (--threshold),
             with 95% intervals from resampling people, and the threshold the worst group needs.

  --json                 one JSON object on stdout (progress stays on stderr)
  --plot FILE.svg        verify: ROC chart; fairness: false-match rate against threshold per group
  --calibration-out FILE write the impostor score distribution (per group for fairness) for the unit
  --exclude FILE         leave out people ('Person') or images ('Person/Person_0001.jpg') listed one
                         per line (# comments): known label errors; the output counts them
  --workers N            vision workers in parallel (default 2)
  --config FILE          configuration (vision settings, model paths)

  The face closest to the image centre is used. An image with no face counts as a detection
  failure: its pairs score -1 (non-matches). An unreadable file is reported and the run goes on.`;

const FAR_LEVELS_PAIRS = [1e-2, 1e-3, 1e-4];
const FAR_LEVELS_ALL = [1e-2, 1e-3, 1e-4, 1e-5];

const OPTIONS = {
  images: { type: 'string' },
  pairs: { type: 'string' },
  demographics: { type: 'string' },
  far: { type: 'string' },
  threshold: { type: 'string' },
  'max-per-person': { type: 'string' },
  bootstrap: { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  plot: { type: 'string' },
  'calibration-out': { type: 'string' },
  exclude: { type: 'string' },
  workers: { type: 'string' },
  config: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

function intOpt(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

function listOpt(v: string, name: string, lo: number, hi: number, loOpen: boolean): number[] {
  return v.split(',').map((s) => {
    const x = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(x) || x > hi || x < lo || (loOpen && x === lo)) {
      throw new UsageError(`--${name}: '${s}' is not a number in ${loOpen ? '(' : '['}${lo}, ${hi}]`);
    }
    return x;
  });
}

const pct = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(d)}%`);
const num = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));

interface Vision {
  workers: VisionWorker[];
  provider: string;
  embedderSha256: string;
}

async function openWorkers(cfg: Config, n: number): Promise<Vision> {
  const models = verifyModels(cfg.models);
  const logger = createStderrLogger('warn');
  const workers: VisionWorker[] = [];
  try {
    for (let i = 0; i < n; i++) workers.push(await VisionWorker.start(cfg.vision, models, logger, { logLevel: 'warn' }));
  } catch (err) {
    await Promise.all(workers.map((w) => w.close()));
    throw err;
  }
  return { workers, provider: workers[0].provider, embedderSha256: models.embedderSha256 };
}

async function embedFiles(files: string[], values: Values, io: CommandIO): Promise<EmbeddedSet & { provider: string; embedderSha256: string }> {
  const cfg = configFrom(values.config, io);
  const vision = await openWorkers(cfg, intOpt(values.workers, 'workers', 2, 1));
  try {
    const progress = createProgress('embedding images', new Set(files).size, io.stderr);
    const set = await embedImageSet(files, vision.workers, {
      decode: decodeImageFile,
      progress,
      onUnreadable: (_file, error) => io.stderr(`lfr-edge eval: ${error} (skipped)\n`),
    });
    progress.done();
    return { ...set, provider: vision.provider, embedderSha256: vision.embedderSha256 };
  } finally {
    await Promise.all(vision.workers.map((w) => w.close()));
  }
}

function peopleIn(dir: string, values: Values): { people: PersonImages[]; excludedImages: number } {
  let people: PersonImages[];
  try {
    people = listPeople(dir);
  } catch (err) {
    throw new UserError(`${(err as Error).message}; --images must be a folder with one sub-folder per person`);
  }
  people = people.filter((p) => p.images.length > 0);
  if (people.length === 0) throw new UserError(`${dir} has no person folders with images (expected DIR/<person>/<image files>)`);
  if (!values.exclude) return { people, excludedImages: 0 };
  let text: string;
  try {
    text = readFileSync(values.exclude, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read exclusion list ${values.exclude}: ${(err as Error).message}`);
  }
  let list;
  try {
    list = parseExclusions(text, values.exclude);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  return applyExclusions(people, list, (f) => path.relative(dir, f).split(path.sep).join('/'));
}

/** The people and images that could be read (unreadable files are reported and left out). */
function readablePeople(people: readonly PersonImages[], set: EmbeddedSet): PersonImages[] {
  return people
    .map((p) => ({ person: p.person, images: p.images.filter((f) => !set.outcomes.get(f)?.error) }))
    .filter((p) => p.images.length > 0);
}

function writePlot(file: string, svg: string, io: CommandIO): void {
  writeFileSync(file, svg);
  io.stderr(`chart written to ${file}\n`);
}

function writeCalibration(file: string | undefined, embedderSha256: string, source: Record<string, unknown>, impostor: MeasuredDistribution, io: CommandIO, groups?: Map<string, MeasuredDistribution>): string | null {
  if (!file) return null;
  const cal = buildCalibration({ embedderSha256, createdAt: new Date(), source, impostor, groups });
  writeCalibrationFile(file, cal);
  io.stderr(`calibration written to ${file} (${cal.impostor.count} impostor pairs${cal.groups ? `, ${Object.keys(cal.groups).length} groups` : ''})\n`);
  return file;
}

function farTables(points: FarOperatingPoint[], notReported: FarNotReported[], levels: number[]) {
  const tar: Record<string, number | null> = {};
  const thresholds: Record<string, number | null> = {};
  for (const f of levels) {
    const p = points.find((x) => x.far === f);
    tar[rateKey(f)] = p ? p.tar : null;
    thresholds[rateKey(f)] = p ? p.threshold : null;
  }
  return { tar, thresholds, notReported: notReported.map((n) => ({ far: rateKey(n.far), reason: n.reason })) };
}

// --- verify -----------------------------------------------------------------------------------

async function verify(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const t0 = Date.now();
  if (values.pairs) {
    if (values.exclude) throw new UsageError('--exclude applies to folder runs (no --pairs); a pairs file already names its pairs');
    return verifyPairs(dir, values.pairs, values, io, t0);
  }
  const maxPer = intOpt(values['max-per-person'], 'max-per-person', 10, 1);
  const listed = peopleIn(dir, values);
  const capped = capPerPerson(listed.people, maxPer);
  const set = await embedFiles(capped.flatMap((p) => p.images), values, io);
  const people = readablePeople(capped, set);
  const files = people.flatMap((p) => p.images);
  const personOfRow = personIndexOfRows(people);
  const m = new EmbeddingMatrix(files.map((f) => set.outcomes.get(f)?.embedding));
  const counts = pairCounts(personOfRow);
  const progress = createProgress('scoring pairs', counts.genuine + counts.impostor, io.stderr);
  const t1 = Date.now();
  const scores = allPairsScores(m, personOfRow, 1e-2, (i) => progress.tick(m.rows - i - 1));
  progress.done();
  const { points, notReported } = tarAtFars(scores.genuine, scores.impostor, FAR_LEVELS_ALL);
  const roc = rocCurve(scores.genuine, scores.impostor);
  const calibration = writeCalibration(
    values['calibration-out'],
    set.embedderSha256,
    { command: 'eval verify', mode: 'all-pairs', images: path.basename(path.resolve(dir)), imageCount: files.length, people: people.length, maxPerPerson: maxPer, impostorPairs: counts.impostor, detectionFailurePairsExcluded: scores.detectionFailurePairs.impostor },
    { dist: scores.impostor, failurePairs: scores.detectionFailurePairs.impostor },
    io,
  );
  if (values.plot) {
    writePlot(values.plot, rocChartSvg(roc, points, `${path.basename(path.resolve(dir))}: all pairs among ${files.length} images of ${people.length} people (${counts.genuine} genuine, ${counts.impostor} impostor)`), io);
  }
  const result = {
    mode: 'all-pairs',
    images: files.length,
    people: people.length,
    maxPerPerson: maxPer,
    excludedImages: listed.excludedImages,
    pairs: counts.genuine + counts.impostor,
    genuinePairs: counts.genuine,
    impostorPairs: counts.impostor,
    accuracy: null,
    accuracyNote: '10-fold accuracy needs a pairs file (--pairs)',
    ...farTables(points, notReported, FAR_LEVELS_ALL),
    detectionFailures: set.noFace.length,
    detectionFailurePairs: scores.detectionFailurePairs,
    unreadable: set.unreadable.length,
    unreadableFiles: set.unreadable.map((u) => u.file),
    belowQualityFaces: set.belowQuality,
    topImpostorPairs: scores.topImpostors.map((x) => ({ a: path.relative(dir, files[x.i]), b: path.relative(dir, files[x.j]), score: x.score })),
    roc: roc.map((p) => ({ far: p.far, tar: p.tar, threshold: p.threshold })),
    calibration,
    provider: set.provider,
    seconds: { embedding: set.seconds, scoring: (Date.now() - t1) / 1000, total: (Date.now() - t0) / 1000 },
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  io.stdout(
    `verify (all pairs): ${files.length} images of ${people.length} people (at most ${maxPer} each), ${counts.genuine} genuine + ${counts.impostor} impostor pairs\n` +
      points.map((p) => `  FAR ${rateKey(p.far).padEnd(5)} TAR ${pct(p.tar)}  threshold ${num(p.threshold)}\n`).join('') +
      notReported.map((n) => `  FAR ${rateKey(n.far).padEnd(5)} not reported: ${n.reason}\n`).join('') +
      `  highest-scoring impostor pairs (check them for label errors; leave errors out with --exclude):\n` +
      result.topImpostorPairs.slice(0, 10).map((x) => `    ${x.score.toFixed(3)}  ${x.a}  ${x.b}\n`).join('') +
      `  detection failures: ${set.noFace.length} image(s); unreadable: ${set.unreadable.length}; provider ${set.provider}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}

async function verifyPairs(dir: string, pairsFile: string, values: Values, io: CommandIO, t0: number): Promise<number> {
  let text: string;
  try {
    text = readFileSync(pairsFile, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read pairs file ${pairsFile}: ${(err as Error).message}`);
  }
  let parsed: PairsFile;
  try {
    parsed = parsePairs(text, pairsFile);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const pairs = parsed.pairs.map((p) => ({ ...p, fa: lfwImagePath(dir, p.a), fb: lfwImagePath(dir, p.b) }));
  const set = await embedFiles(pairs.flatMap((p) => [p.fa, p.fb]), values, io);
  const emb = (f: string) => set.outcomes.get(f)?.embedding;
  let failurePairs = 0;
  const scores = pairs.map((p) => {
    const a = emb(p.fa);
    const b = emb(p.fb);
    if (!a || !b) {
      if (!p.same) failurePairs++;
      return DETECTION_FAILURE_SCORE;
    }
    let s = 0;
    for (let k = 0; k < a.length; k++) s += a[k] * b[k];
    return s;
  });
  const same = pairs.map((p) => p.same);
  const folds = tenFoldAccuracy(scores, same);
  const genuine = sortedDesc(scores.filter((_, i) => same[i]));
  const impostor = distributionOf(scores.filter((_, i) => !same[i]));
  const { points, notReported } = tarAtFars(genuine, impostor, FAR_LEVELS_PAIRS);
  const roc = rocCurve(genuine, impostor);
  const calibration = writeCalibration(
    values['calibration-out'],
    set.embedderSha256,
    { command: 'eval verify', mode: 'pairs', pairsFile: path.basename(pairsFile), images: path.basename(path.resolve(dir)), impostorPairs: impostor.count, detectionFailurePairsExcluded: failurePairs },
    { dist: impostor, failurePairs },
    io,
  );
  if (values.plot) {
    writePlot(values.plot, rocChartSvg(roc, points, `${path.basename(pairsFile)}: ${genuine.length} matched + ${impostor.count} mismatched pairs; 10-fold accuracy ${pct(folds.accuracy)}`), io);
  }
  const result = {
    mode: 'pairs',
    pairs: pairs.length,
    genuinePairs: genuine.length,
    impostorPairs: impostor.count,
    accuracy: folds.accuracy,
    accuracyStd: folds.std,
    accuracyThreshold: folds.threshold,
    folds: folds.folds,
    ...farTables(points, notReported, FAR_LEVELS_PAIRS),
    detectionFailures: set.noFace.length,
    detectionFailureFiles: set.noFace,
    unreadable: set.unreadable.length,
    unreadableFiles: set.unreadable.map((u) => u.file),
    belowQualityFaces: set.belowQuality,
    roc: roc.map((p) => ({ far: p.far, tar: p.tar, threshold: p.threshold })),
    calibration,
    provider: set.provider,
    seconds: { embedding: set.seconds, total: (Date.now() - t0) / 1000 },
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  io.stdout(
    `verify: ${pairs.length} pairs (${genuine.length} matched, ${impostor.count} mismatched) from ${pairsFile}\n` +
      `  10-fold accuracy ${pct(folds.accuracy)} ± ${pct(folds.std)} (mean threshold ${num(folds.threshold)})\n` +
      points.map((p) => `  FAR ${rateKey(p.far).padEnd(5)} TAR ${pct(p.tar)}  threshold ${num(p.threshold)}\n`).join('') +
      notReported.map((n) => `  FAR ${rateKey(n.far).padEnd(5)} not reported: ${n.reason}\n`).join('') +
      `  detection failures: ${set.noFace.length} image(s); unreadable: ${set.unreadable.length}; provider ${set.provider}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}

// --- identify ---------------------------------------------------------------------------------

async function identify(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const t0 = Date.now();
  const listed = peopleIn(dir, values);
  const excludedImages = listed.excludedImages;
  if (planIdentification(listed.people).gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more images, so nobody can be enrolled`);
  const set = await embedFiles(listed.people.flatMap((p) => p.images), values, io);
  const people = readablePeople(listed.people, set);
  const plan = planIdentification(people);
  if (plan.gallery.length === 0) throw new UserError(`${dir}: nobody has 2 or more readable images, so nobody can be enrolled`);
  const r = evaluateIdentification(plan, (f) => set.outcomes.get(f)?.embedding);
  const result = {
    ...r,
    notReported: r.notReported.map((n) => ({ fpir: rateKey(n.fpir), reason: n.reason })),
    images: people.reduce((n, p) => n + p.images.length, 0),
    excludedImages,
    detectionFailures: set.noFace.length,
    unreadable: set.unreadable.length,
    unreadableFiles: set.unreadable.map((u) => u.file),
    provider: set.provider,
    seconds: { embedding: set.seconds, total: (Date.now() - t0) / 1000 },
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  io.stdout(
    `identify: ${r.enrolled} enrolled, ${r.mated} mated and ${r.nonMated} non-mated searches\n` +
      `  rank-1 ${pct(r.rank1)}\n` +
      Object.keys(r.tpir).map((k) => `  FPIR ${k.padEnd(5)} TPIR ${pct(r.tpir[k])}  threshold ${num(r.thresholds[k])}\n`).join('') +
      r.notReported.map((n) => `  FPIR ${rateKey(n.fpir).padEnd(5)} not reported: ${n.reason}\n`).join('') +
      `  detection failures: ${set.noFace.length} image(s) (${r.enrollmentFailures} enrollment); unreadable: ${set.unreadable.length}; ${result.seconds.total.toFixed(1)} s\n`,
  );
  return 0;
}

// --- fairness ---------------------------------------------------------------------------------

async function fairness(values: Values, io: CommandIO): Promise<number> {
  const dir = requireOpt(values.images, 'images');
  const csv = requireOpt(values.demographics, 'demographics');
  if (values.far && values.threshold) throw new UsageError('give --far or --threshold, not both');
  const fars = listOpt(values.far ?? '1e-3,1e-4', 'far', 0, 1, true);
  const thresholds = values.threshold ? listOpt(values.threshold, 'threshold', -1, 1, false) : undefined;
  const replicates = intOpt(values.bootstrap, 'bootstrap', 1000, 10);
  const seed = intOpt(values.seed, 'seed', 1, 0);
  const maxPer = intOpt(values['max-per-person'], 'max-per-person', 10, 1);
  const t0 = Date.now();
  let demo;
  try {
    demo = parseDemographics(readFileSync(csv, 'utf8'), csv);
  } catch (err) {
    throw new UserError((err as NodeJS.ErrnoException).code === 'ENOENT' ? `cannot read demographics file ${csv}: no such file` : (err as Error).message);
  }
  const listed = peopleIn(dir, values);
  const capped = capPerPerson(listed.people, maxPer);
  const rel = (f: string) => normaliseImagePath(path.relative(dir, f).split(path.sep).join('/'));
  if (!capped.some((p) => p.images.some((f) => demo.labels.has(rel(f))))) {
    throw new UserError(`none of the images under ${dir} is listed in ${csv} (the 'image' column must be the path relative to --images, e.g. Name/Name_0001.jpg)`);
  }
  const set = await embedFiles(capped.flatMap((p) => p.images), values, io);
  const people = readablePeople(capped, set);
  const files = people.flatMap((p) => p.images);
  const images: FairnessImage[] = people.flatMap((p) => p.images.map((f) => ({ person: p.person, labels: demo.labels.get(rel(f)) ?? demo.attributes.map(() => undefined) })));
  const evaluated = new Set(files.map(rel));
  const labelled = images.filter((img) => img.labels.some((v) => v !== undefined)).length;
  const csvRowsNotEvaluated = [...demo.labels.keys()].filter((k) => !evaluated.has(k)).length;
  const m = new EmbeddingMatrix(files.map((f) => set.outcomes.get(f)?.embedding));
  const counts = pairCounts(personIndexOfRows(people));
  const progress = createProgress('scoring pairs', counts.genuine + counts.impostor, io.stderr);
  const { report, overall, groups } = fairnessReport(images, demo.attributes, m, {
    fars: thresholds ? [] : fars,
    thresholds,
    targetFmrs: fars,
    replicates,
    seed,
    onRow: (i) => progress.tick(m.rows - i - 1),
  });
  progress.done();
  const calibration = writeCalibration(
    values['calibration-out'],
    set.embedderSha256,
    { command: 'eval fairness', mode: 'all-pairs', images: path.basename(path.resolve(dir)), demographics: path.basename(csv), imageCount: files.length, people: people.length, maxPerPerson: maxPer, impostorPairs: overall.dist.count, detectionFailurePairsExcluded: overall.failurePairs },
    overall,
    io,
    groups,
  );
  if (values.plot) {
    writePlot(values.plot, fairnessChartSvg(report, overall.dist, groups, `${path.basename(path.resolve(dir))}: ${files.length} images of ${people.length} people; labels from ${path.basename(csv)}`), io);
  }
  const result = {
    ...report,
    labelledImages: labelled,
    unlabelledImages: files.length - labelled,
    csvRowsNotEvaluated,
    maxPerPerson: maxPer,
    excludedImages: listed.excludedImages,
    detectionFailures: set.noFace.length,
    unreadable: set.unreadable.length,
    unreadableFiles: set.unreadable.map((u) => u.file),
    calibration,
    provider: set.provider,
    seconds: { embedding: set.seconds, total: (Date.now() - t0) / 1000 },
  };
  if (values.json) {
    io.stdout(JSON.stringify(result) + '\n');
    return 0;
  }
  io.stdout(fairnessText(report, result));
  return 0;
}

export function fairnessText(report: FairnessReport, extra: { labelledImages: number; unlabelledImages: number; detectionFailures: number; unreadable: number }): string {
  const out: string[] = [];
  out.push(`fairness: ${report.images} images of ${report.people} people (${extra.labelledImages} with at least one known label); ${report.overall.impostorPairs} impostor pairs`);
  for (const op of report.operatingPoints) {
    out.push(`  threshold ${op.key}: ${num(op.threshold)}${op.far !== undefined ? ` (FMR ${op.key} over all impostor pairs)` : ' (given)'}`);
  }
  for (const n of report.notReported) out.push(`  FAR ${rateKey(n.far)} not reported: ${n.reason}`);
  for (const op of report.operatingPoints) {
    out.push(`\n  at threshold ${num(op.threshold)} (${op.key}):`);
    out.push(`  ${'group'.padEnd(28)} ${'people'.padStart(6)} ${'images'.padStart(6)} ${'impostor pairs'.padStart(14)} ${'false m.'.padStart(8)} ${'FMR'.padStart(10)} ${'95% interval'.padStart(23)} ${'x lowest'.padStart(8)} ${'GMR'.padStart(7)} ${'no face'.padStart(7)}`);
    const row = (name: string, g: FairnessReport['overall'], ratio: number | null | undefined) =>
      `  ${name.padEnd(28)} ${String(g.people).padStart(6)} ${String(g.images).padStart(6)} ${String(g.impostorPairs).padStart(14)} ${String(g.falseMatches[op.key]).padStart(8)} ${g.fmr[op.key].toExponential(2).padStart(10)} ${`[${g.fmrInterval[op.key][0].toExponential(1)}, ${g.fmrInterval[op.key][1].toExponential(1)}]`.padStart(23)} ${(ratio === null || ratio === undefined ? '-' : ratio.toFixed(2)).padStart(8)} ${pct(g.genuineMatchRate?.[op.key], 1).padStart(7)} ${pct(g.detectionFailureRate, 1).padStart(7)}${g.conclusive[op.key] ? '' : '  (not conclusive: < ' + report.minEvents + ' false matches)'}`;
    out.push(row('everyone', report.overall, undefined));
    for (const g of report.groups) out.push(row(g.key, g, g.ratioToLowest[op.key]));
  }
  out.push('');
  for (const [k, t] of Object.entries(report.worstGroupThreshold)) {
    out.push(`  worst-group threshold for FMR ${k}: ${num(t)} (decided by ${report.worstGroup[k]})`);
  }
  out.push(`  detection failures: ${extra.detectionFailures} image(s); unreadable: ${extra.unreadable}; ${extra.unlabelledImages} image(s) without any known label count only in 'everyone'`);
  return out.join('\n') + '\n';
}

// --- entry ------------------------------------------------------------------------------------

export const evalCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, OPTIONS);
  const sub = positionals[0];
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  switch (sub) {
    case 'verify':
      return verify(values, io);
    case 'identify':
      return identify(values, io);
    case 'fairness':
      return fairness(values, io);
    case undefined:
      throw new UsageError('missing subcommand: verify, identify or fairness');
    default:
      throw new UsageError(`unknown subcommand '${sub}': use verify, identify or fairness`);
  }
};
