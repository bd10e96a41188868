/**
 * lfr-edge calibrate: a force's own labelled faces -> the unit's calibration file (overall and per
 * demographic group) and the HTML report a supervisor reads before a deployment. The maths is the
 * eval code's (src/eval/: all pairs, fairness with people-resampled intervals, calibration file);
 * the thresholds are the unit's own (`thresholdFor`, the one the session uses at start).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { capPerPerson, pairCounts, personIndexOfRows } from '../eval/all-pairs';
import { buildCalibration, writeCalibrationFile } from '../eval/calibration-file';
import { normaliseImagePath, parseDemographics, type Demographics } from '../eval/demographics';
import { fairnessReport, type FairnessImage } from '../eval/fairness';
import { fairnessChartSvg, rocChartSvg } from '../eval/plots';
import { calibrationReportHtml, type ReportOperatingPoint } from '../eval/report';
import { rateKey, rocCurve, tarAtFars } from '../eval/roc';
import { EmbeddingMatrix } from '../eval/score-matrix';
import { countDescAtOrAbove, thresholdFor } from '../recognition/calibration';
import { createProgress } from '../vision/progress';
import { configFrom, parse, requireOpt, UsageError, UserError, type Command } from './common';
import { embedFiles, intOpt, listOpt, peopleIn, readablePeople, runFacts, type Values } from './eval/shared';

export const usage = `lfr-edge calibrate --images DIR --out FILE --report FILE.html [--demographics CSV]
                  [--false-alert-rate R] [--watchlist-sizes N[,N...]] [--max-per-person N] [--exclude FILE]
                  [--bootstrap N] [--seed N] [--workers N] [--json] [--config FILE]

  Turns labelled faces (DIR/<person>/<image files>; CSV: image,<attribute>,... with the image path
  relative to DIR, blank = unknown) into the unit's calibration: the impostor score distribution
  over every pair, overall and per demographic group (--out, the file session.calibrationFile
  names), and a self-contained HTML report (--report): the thresholds the unit will use for each
  watchlist size and which group decided them, false matches per group at those thresholds with
  95% intervals (people resampled), the ROC, the per-group false-match chart, the data set's size
  and make-up, and the embedding model's sha256. Progress goes to stderr.

  --false-alert-rate R     target per passer-by (default: session.falseAlertRate of the config)
  --watchlist-sizes LIST   watchlist sizes to show thresholds for (default 1,10,100,1000)
  --max-per-person N       images per person used (default 10)
  --exclude FILE           people or images to leave out (known label errors), one per line
  --bootstrap N            resamples for the intervals (default 1000); --seed N (default 1)
  --workers N              vision workers in parallel (default 2)
  --json                   the summary as one JSON object on stdout`;

const OPTIONS = {
  images: { type: 'string' },
  demographics: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  'false-alert-rate': { type: 'string' },
  'watchlist-sizes': { type: 'string' },
  'max-per-person': { type: 'string' },
  exclude: { type: 'string' },
  bootstrap: { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  json: { type: 'boolean' },
  config: { type: 'string' },
} as const;

export const calibrateCommand: Command = async (argv, io) => {
  const { values, positionals } = parse(argv, OPTIONS);
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = requireOpt(values.images, 'images');
  const outFile = requireOpt(values.out, 'out');
  const reportFile = requireOpt(values.report, 'report');
  const cfg = configFrom(values.config, io);
  const falseAlertRate = values['false-alert-rate'] ? listOpt(values['false-alert-rate'], 'false-alert-rate', 0, 0.1, true) : [cfg.session.falseAlertRate];
  if (falseAlertRate.length !== 1) throw new UsageError('--false-alert-rate takes one rate');
  const sizes = (values['watchlist-sizes'] ?? '1,10,100,1000').split(',').map((s) => intOpt(s.trim(), 'watchlist-sizes', 1, 1));
  const maxPer = intOpt(values['max-per-person'], 'max-per-person', 10, 1);
  const replicates = intOpt(values.bootstrap, 'bootstrap', 1000, 10);
  const seed = intOpt(values.seed, 'seed', 1, 0);
  const t0 = Date.now();
  const evalValues: Values = { config: values.config, workers: values.workers, exclude: values.exclude };

  let demo: Demographics | undefined;
  if (values.demographics) {
    try {
      demo = parseDemographics(readFileSync(values.demographics, 'utf8'), values.demographics);
    } catch (err) {
      throw new UserError((err as NodeJS.ErrnoException).code === 'ENOENT' ? `cannot read demographics file ${values.demographics}: no such file` : (err as Error).message);
    }
  }
  const listed = peopleIn(dir, evalValues);
  const capped = capPerPerson(listed.people, maxPer);
  const rel = (f: string) => normaliseImagePath(path.relative(dir, f).split(path.sep).join('/'));
  if (demo && !capped.some((p) => p.images.some((f) => demo!.labels.has(rel(f))))) {
    throw new UserError(`none of the images under ${dir} is listed in ${values.demographics} (the 'image' column must be the path relative to --images, e.g. Name/Name_0001.jpg)`);
  }
  io.stderr(`calibrate: ${capped.reduce((n, p) => n + p.images.length, 0)} images of ${capped.length} people (at most ${maxPer} each)\n`);
  const set = await embedFiles(capped.flatMap((p) => p.images), evalValues, io);
  const people = readablePeople(capped, set);
  const files = people.flatMap((p) => p.images);
  if (people.length < 2) throw new UserError(`${dir}: only ${people.length} readable person folder(s); a calibration needs impostor pairs between at least 2 people`);
  const attributes = demo?.attributes ?? [];
  const images: FairnessImage[] = people.flatMap((p) => p.images.map((f) => ({ person: p.person, labels: demo?.labels.get(rel(f)) ?? attributes.map(() => undefined) })));
  const m = new EmbeddingMatrix(files.map((f) => set.outcomes.get(f)?.embedding));
  const counts = pairCounts(personIndexOfRows(people));

  // Pass 1: the distributions (overall, per group) that go into the calibration file.
  let progress = createProgress('scoring pairs (distributions)', m.rows, io.stderr);
  const measured = fairnessReport(images, attributes, m, { fars: [], targetFmrs: [], replicates, seed, onRow: () => progress.tick() });
  progress.done();
  const source = {
    command: 'calibrate',
    mode: 'all-pairs',
    images: path.basename(path.resolve(dir)),
    ...(values.demographics ? { demographics: path.basename(values.demographics) } : {}),
    imageCount: files.length,
    people: people.length,
    maxPerPerson: maxPer,
    impostorPairs: measured.overall.dist.count,
    detectionFailurePairsExcluded: measured.overall.failurePairs,
  };
  const cal = buildCalibration({
    embedderSha256: set.embedderSha256,
    createdAt: new Date(),
    source,
    impostor: measured.overall,
    ...(demo ? { groups: measured.groups } : {}),
  });
  writeCalibrationFile(outFile, cal);
  io.stderr(`calibration written to ${outFile} (${cal.impostor.count} impostor pairs${cal.groups ? `, ${Object.keys(cal.groups).length} groups` : ''})\n`);

  // The thresholds the unit will choose from this file, and (pass 2) false matches per group at them.
  const genuine = measured.genuine;
  const decisions = sizes.map((n) => ({ n, d: thresholdFor(cal, { falseAlertRate: falseAlertRate[0], watchlistSize: n }) }));
  const thresholds = [...new Set(decisions.map((x) => x.d.threshold))];
  progress = createProgress('scoring pairs (false matches at the operating thresholds)', m.rows, io.stderr);
  const atOperating = fairnessReport(images, attributes, m, {
    fars: [],
    thresholds,
    targetFmrs: [...new Set(decisions.map((x) => x.d.perComparisonFmr))],
    replicates,
    seed,
    onRow: () => progress.tick(),
  });
  progress.done();
  const operating: ReportOperatingPoint[] = decisions.map(({ n, d }) => ({
    watchlistSize: n,
    falseAlertRate: falseAlertRate[0],
    perComparisonFmr: d.perComparisonFmr,
    threshold: d.threshold,
    decidingGroup: d.decidingGroup ?? 'overall',
    groupsConsidered: d.groupsConsidered,
    groupsTooSmall: d.groupsTooSmall,
    resolutionLimited: d.resolutionLimited,
    tar: genuine.length ? countDescAtOrAbove(genuine, d.threshold) / genuine.length : null,
    key: String(d.threshold),
  }));

  const roc = rocCurve(genuine, measured.overall.dist);
  const rocPoints = tarAtFars(genuine, measured.overall.dist, [...new Set(operating.map((o) => o.perComparisonFmr))]).points;
  const what = `${path.basename(path.resolve(dir))}: ${files.length} images of ${people.length} people`;
  const perPerson = people.map((p) => p.images.length).sort((a, b) => a - b);
  const html = calibrationReportHtml({
    createdAt: cal.createdAt,
    embedderSha256: cal.model.embedderSha256,
    manifest: cfg.models.manifest,
    calibrationFile: outFile,
    dataSet: {
      images: path.basename(path.resolve(dir)),
      demographics: values.demographics ? path.basename(values.demographics) : null,
      imageCount: files.length,
      people: people.length,
      peopleWithSeveralImages: perPerson.filter((n) => n >= 2).length,
      maxPerPerson: maxPer,
      imagesPerPerson: { min: perPerson[0], median: perPerson[Math.floor(perPerson.length / 2)], max: perPerson[perPerson.length - 1] },
      genuinePairs: counts.genuine,
      impostorPairs: counts.impostor,
      labelledImages: images.filter((img) => img.labels.some((v) => v !== undefined)).length,
      detectionFailures: set.noFace.length,
      unreadable: set.unreadable.length,
      excludedImages: listed.excludedImages,
      makeUp: measured.report.groups.map((g) => ({ group: g.key, people: g.people, images: g.images, impostorPairs: g.impostorPairs })),
    },
    operating,
    atOperating: atOperating.report,
    rocSvg: rocChartSvg(roc, rocPoints, `${what}; all ${counts.genuine} genuine and ${counts.impostor} impostor pairs`),
    fairnessSvg: demo && atOperating.report.groups.length ? fairnessChartSvg(atOperating.report, measured.overall.dist, measured.groups, `${what}; labels from ${path.basename(values.demographics!)}; marked: the unit's thresholds`) : null,
    roc,
    notes: [
      ...(demo ? [] : ['No demographic labels were given (--demographics): this calibration has no per-group distributions, so a session policy that requires groups will refuse it.']),
      'Quality bands: this calibration has one distribution per group (no per-quality-band distributions yet).',
    ],
  });
  mkdirSync(path.dirname(path.resolve(reportFile)), { recursive: true });
  writeFileSync(reportFile, html);
  io.stderr(`report written to ${reportFile}\n`);

  const summary = {
    calibration: outFile,
    report: reportFile,
    embedderSha256: cal.model.embedderSha256,
    images: files.length,
    people: people.length,
    genuinePairs: counts.genuine,
    impostorPairs: counts.impostor,
    groups: Object.keys(cal.groups ?? {}),
    operating: operating.map((o) => {
      const { key: _key, ...rest } = o;
      const at = atOperating.report;
      return {
        ...rest,
        fmrByGroup: Object.fromEntries([['overall', at.overall] as const, ...at.groups.map((g) => [g.key, g] as const)].map(([k, g]) => [k, { impostorPairs: g.impostorPairs, falseMatches: g.falseMatches[o.key], fmr: g.fmr[o.key], interval: g.fmrInterval[o.key] }])),
      };
    }),
    ...runFacts(set, t0),
  };
  if (values.json) {
    io.stdout(JSON.stringify(summary) + '\n');
    return 0;
  }
  const lines = [`calibrated on ${summary.images} images of ${summary.people} people: ${summary.impostorPairs} impostor pairs, ${summary.groups.length} groups; embedder ${summary.embedderSha256}`];
  for (const o of operating) {
    lines.push(`  watchlist ${String(o.watchlistSize).padStart(5)}: threshold ${o.threshold.toFixed(4)} (per-comparison FMR ${rateKey(Number(o.perComparisonFmr.toPrecision(2)))}), decided by ${o.decidingGroup}${o.groupsTooSmall.length ? `; too few pairs: ${o.groupsTooSmall.join(', ')}` : ''}`);
  }
  lines.push(`  detection failures: ${set.noFace.length}; unreadable: ${set.unreadable.length}; ${summary.seconds.total.toFixed(1)} s`);
  io.stdout(lines.join('\n') + '\n');
  return 0;
};
