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
import { withQuality } from '../eval/calibration-file';
import type { BinnedScores } from '../eval/quality';
import type { ReportQuality } from '../eval/report';
import type { Calibration, QualityBand } from '../recognition/calibration';
import { QUALITY_DEFAULTS } from './eval/quality';
import { bandScores, degradedSource, measureDegraded, type DegradedRun } from '../eval/degraded-run';
import { qualityChartSvg } from '../eval/quality-chart';
import { binReports } from '../eval/quality';
import { configFrom, parse, requireOpt, UsageError, UserError, type Command } from './common';
import { embedFiles, intOpt, listOpt, peopleIn, readablePeople, runFacts, type Values } from './eval/shared';

export const usage = `lfr-edge calibrate --images DIR --out FILE --report FILE.html [--demographics CSV]
                  [--false-alert-rate R] [--watchlist-sizes N[,N...]] [--max-per-person N] [--exclude FILE]
                  [--quality-bands [--bands 10,14,20,28,40] [--copies N] [--quality-mated N] [--detector KEY]]
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
  --quality-bands          also measure per-band impostor distributions on street-degraded copies of
                           the photos (as 'lfr-edge eval quality' does): the calibration gains quality
                           bands (a face is held to its band's threshold), the report shows them.
                           --bands: inter-ocular edges (default 10,14,20,28,40); --copies: frames per
                           photo (default 8); --quality-mated: people enrolled (default: all with 2+
                           photos, at most 500; half as many others are non-mated); --detector: the
                           live detector (default vision.detector)
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
  'quality-bands': { type: 'boolean' },
  bands: { type: 'string' },
  copies: { type: 'string' },
  'quality-mated': { type: 'string' },
  detector: { type: 'string' },
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
  const withBands = !!values['quality-bands'];
  if (!withBands) {
    const stray = (['bands', 'copies', 'quality-mated', 'detector'] as const).filter((k) => values[k] !== undefined);
    if (stray.length) throw new UsageError(`${stray.map((k) => `--${k}`).join(', ')} only with --quality-bands`);
  }
  const edges = values.bands ? listOpt(values.bands, 'bands', 0, 1000, true) : QUALITY_DEFAULTS.bands;
  for (let i = 1; i < edges.length; i++) if (!(edges[i] > edges[i - 1])) throw new UsageError(`--bands must be increasing, got ${values.bands}`);
  const copies = intOpt(values.copies, 'copies', QUALITY_DEFAULTS.copies, 1);
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
  let cal = buildCalibration({
    embedderSha256: set.embedderSha256,
    createdAt: new Date(),
    source,
    impostor: measured.overall,
    ...(demo ? { groups: measured.groups } : {}),
  });
  // Quality bands: degraded copies of the same people's photos, found by the live detector.
  let qualityRun: { run: DegradedRun; byBand: BinnedScores; bands: QualityBand[] } | undefined;
  if (withBands) {
    const several = people.filter((p) => p.images.length >= 2).length;
    if (several < 2) throw new UserError(`--quality-bands needs at least 2 people with 2 or more readable photos; ${dir} has ${several}`);
    const mated = Math.min(several, intOpt(values['quality-mated'], 'quality-mated', Math.min(several, 500), 2));
    const nonMated = Math.min(people.length - mated, Math.floor(mated / 2));
    const run = await measureDegraded({
      dir, people, cfg, detector: values.detector, workers: intOpt(values.workers, 'workers', 2, 1), mated, nonMated, copies, seed, edges,
      iodRange: QUALITY_DEFAULTS.iodRange, frame: QUALITY_DEFAULTS.frame, embedderSha256: cal.model.embedderSha256, embedderSource: 'being made',
    }, io);
    const { bands, byBand } = bandScores(run.faces, edges);
    cal = withQuality(cal, {
      bands,
      impostor: Object.fromEntries(bands.map((b) => [b.name, byBand.get(b.name).impostor])),
      source: degradedSource('calibrate', dir, run, { copies, seed, frame: QUALITY_DEFAULTS.frame, iodRange: QUALITY_DEFAULTS.iodRange }),
    }).cal;
    qualityRun = { run, byBand, bands };
  }
  writeCalibrationFile(outFile, cal);
  io.stderr(`calibration written to ${outFile} (${cal.impostor.count} impostor pairs${cal.groups ? `, ${Object.keys(cal.groups).length} groups` : ''}${cal.quality ? `, quality bands ${cal.quality.bands.map((b) => b.name).join(', ')}` : ''})\n`);

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

  const qualityReport: ReportQuality | undefined = qualityRun && reportQuality(cal, qualityRun, sizes, falseAlertRate[0], copies);

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
      ...(qualityRun ? [] : ['Quality bands: not measured (--quality-bands): every face, however small or blurred, is held to the same threshold; the shipped lfw-dev calibration has them (docs/accuracy.md).']),
    ],
    ...(qualityReport ? { quality: qualityReport } : {}),
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
    qualityBands: qualityReport ? qualityReport.bands.map(({ name, range, faces, genuine, impostor, detected, perSize }) => ({ name, range, faces, genuine, impostor, detected, perSize })) : null,
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

/** The report's quality section: per band, its threshold for each watchlist size and the TAR of one degraded frame at it. */
function reportQuality(cal: Calibration, q: { run: DegradedRun; byBand: BinnedScores; bands: QualityBand[] }, sizes: number[], falseAlertRate: number, copies: number): ReportQuality {
  const detection = q.run.detection.report();
  const bands = q.bands.map((b) => {
    const s = q.byBand.get(b.name);
    const gen = Float64Array.from(s.genuine).sort();
    const perSize = sizes.map((n) => {
      const d = thresholdFor(cal, { falseAlertRate, watchlistSize: n, band: b.name });
      let above = 0;
      for (const g of gen) if (g >= d.threshold) above++;
      return { watchlistSize: n, threshold: d.threshold, decidingGroup: d.decidingGroup ?? 'overall', bandData: d.bandData ?? 'none', tar: gen.length ? above / gen.length : null };
    });
    return { name: b.name, range: b.interOcularPx, faces: s.probes, genuine: gen.length, impostor: s.impostor.count, detected: detection.find((x) => x.name === b.name)?.rate ?? null, perSize };
  });
  // The chart at the first watchlist size's per-comparison rate.
  const p = thresholdFor(cal, { falseAlertRate, watchlistSize: sizes[0] }).perComparisonFmr;
  const reports = binReports(q.byBand, [p], (_far, band) => thresholdFor(cal, { falseAlertRate, watchlistSize: sizes[0], band }).threshold);
  return {
    detector: q.run.detector,
    frame: `${QUALITY_DEFAULTS.frame[0]}x${QUALITY_DEFAULTS.frame[1]}`,
    copies,
    mated: q.run.enrolled,
    nonMated: q.run.nonMated,
    facesMeasured: q.run.faces.length,
    copiesMade: q.run.copiesMade,
    bands,
    chartSvg: qualityChartSvg(reports, detection, [p], p, null, null, `watchlist of ${sizes[0]} at false-alert rate ${falseAlertRate}; ${q.run.faces.length} degraded faces`),
  };
}
