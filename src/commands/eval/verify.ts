/** lfr-edge eval verify: LFW pairs (10-fold) or all pairs; ROC, TAR at FAR, calibration. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { allPairsScores, capPerPerson, pairCounts, personIndexOfRows } from '../../eval/all-pairs';
import { distributionOf } from '../../eval/distribution';
import { lfwImagePath, parsePairs, type PairsFile } from '../../eval/pairs';
import { rocChartSvg } from '../../eval/plots';
import { rateKey, rocCurve, sortedDesc, tarAtFars, tenFoldAccuracy } from '../../eval/roc';
import { DETECTION_FAILURE_SCORE, EmbeddingMatrix } from '../../eval/score-matrix';
import { createProgress } from '../../vision/progress';
import { requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { FAR_LEVELS_PAIRS, FAR_LEVELS_ALL, type Values, intOpt, pct, num, embedFiles, peopleIn, readablePeople, writePlot, writeCalibration, farTables, runFacts } from './shared';

export async function verify(values: Values, io: CommandIO): Promise<number> {
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
    ...runFacts(set, t0),
    detectionFailurePairs: scores.detectionFailurePairs,
    belowQualityFaces: set.belowQuality,
    topImpostorPairs: scores.topImpostors.map((x) => ({ a: path.relative(dir, files[x.i]), b: path.relative(dir, files[x.j]), score: x.score })),
    roc: roc.map((p) => ({ far: p.far, tar: p.tar, threshold: p.threshold })),
    calibration,
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
    ...runFacts(set, t0),
    detectionFailureFiles: set.noFace,
    belowQualityFaces: set.belowQuality,
    roc: roc.map((p) => ({ far: p.far, tar: p.tar, threshold: p.threshold })),
    calibration,
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
