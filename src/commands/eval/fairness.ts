/** lfr-edge eval fairness: false matches per demographic group. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { capPerPerson, pairCounts, personIndexOfRows } from '../../eval/all-pairs';
import { parseDemographics, normaliseImagePath } from '../../eval/demographics';
import { fairnessReport, type FairnessImage, type FairnessReport } from '../../eval/fairness';
import { fairnessChartSvg } from '../../eval/plots';
import { rateKey } from '../../eval/roc';
import { EmbeddingMatrix } from '../../eval/score-matrix';
import { createProgress } from '../../vision/progress';
import { requireOpt, UsageError, UserError, type CommandIO } from '../common';
import { type Values, intOpt, listOpt, pct, num, embedFiles, peopleIn, readablePeople, writePlot, writeCalibration, runFacts } from './shared';

export async function fairness(values: Values, io: CommandIO): Promise<number> {
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
    ...runFacts(set, t0),
    calibration,
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

