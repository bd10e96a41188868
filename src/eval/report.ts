/**
 * The calibration report (`lfr-edge calibrate --report FILE.html`): one self-contained HTML page a
 * supervisor reads before a deployment. Pure: the measured facts in, HTML text out. Charts are the
 * inline SVGs of chart.ts (no script, no external file, no network).
 */
import { escapeXml } from './chart';
import type { FairnessReport, GroupStats } from './fairness';
import type { RocPoint } from './roc';

/** One operating point the unit would use: the threshold `thresholdFor` picks for a watchlist size. */
export interface ReportOperatingPoint {
  watchlistSize: number;
  falseAlertRate: number;
  perComparisonFmr: number;
  threshold: number;
  decidingGroup: string;
  groupsConsidered: string[];
  groupsTooSmall: string[];
  resolutionLimited: boolean;
  /** Genuine pairs at or above the threshold / genuine pairs (null without genuine pairs). */
  tar: number | null;
  /** The key of this threshold in `atOperating` (fairness at the unit's thresholds). */
  key: string;
}

export interface ReportMakeUp {
  group: string;
  people: number;
  images: number;
  impostorPairs: number;
}

export interface CalibrationReportData {
  createdAt: string;
  embedderSha256: string;
  /** The manifest the model was verified against. */
  manifest: string;
  calibrationFile: string;
  dataSet: {
    images: string;
    demographics: string | null;
    imageCount: number;
    people: number;
    peopleWithSeveralImages: number;
    maxPerPerson: number;
    imagesPerPerson: { min: number; median: number; max: number };
    genuinePairs: number;
    impostorPairs: number;
    labelledImages: number;
    detectionFailures: number;
    unreadable: number;
    excludedImages: number;
    makeUp: ReportMakeUp[];
  };
  operating: ReportOperatingPoint[];
  /** Per-group false matches at the unit's operating thresholds, with people-resampled intervals. */
  atOperating: FairnessReport;
  /** Charts, already rendered (chart.ts). */
  rocSvg: string;
  fairnessSvg: string | null;
  roc: RocPoint[];
  /** Why some things are not in this report (e.g. no quality bands). */
  notes: string[];
  /** Quality bands (calibrate --quality-bands): degraded copies of the data set's photos per inter-ocular band. */
  quality?: ReportQuality;
}

export interface ReportQuality {
  detector: string;
  frame: string;
  copies: number;
  mated: number;
  nonMated: number;
  facesMeasured: number;
  copiesMade: number;
  bands: {
    name: string;
    range: [number, number | null];
    faces: number;
    genuine: number;
    impostor: number;
    /** Share of copies of this target size the live detector found. */
    detected: number | null;
    perSize: { watchlistSize: number; threshold: number; decidingGroup: string; bandData: string; tar: number | null }[];
  }[];
  chartSvg: string;
}

const h = (s: string | number) => escapeXml(String(s));
const exp = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x === 0 ? '0' : x.toExponential(d));
const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const int = (n: number) => n.toLocaleString('en-GB');

function table(id: string, caption: string, head: string[], rows: string[][]): string {
  return (
    `<table id="${id}"><caption>${h(caption)}</caption>\n<thead><tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead>\n<tbody>\n` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n') +
    '\n</tbody></table>\n'
  );
}

function groupRow(name: string, g: GroupStats, key: string, minEvents: number): string[] {
  const iv = g.fmrInterval[key];
  return [
    h(name),
    int(g.people),
    int(g.images),
    int(g.impostorPairs),
    int(g.falseMatches[key] ?? 0),
    exp(g.fmr[key]),
    iv ? `[${exp(iv[0], 1)}, ${exp(iv[1], 1)}]` : 'n/a',
    g.conclusive[key] ? 'yes' : `no (&lt; ${minEvents} false matches)`,
    pct(g.genuineMatchRate?.[key]),
    pct(g.detectionFailureRate),
  ];
}

export function calibrationReportHtml(d: CalibrationReportData): string {
  const ds = d.dataSet;
  const fair = d.atOperating;
  const out: string[] = [];
  out.push(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>lfr-edge calibration report: ${h(ds.images)}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
code { font-size: 0.95em; word-break: break-all; }
.warn { color: #a00; }
figure { margin: 1em 0; }
</style></head><body>
<h1>Calibration report</h1>
<dl id="facts">
<dt>Embedding model (sha256)</dt><dd><code id="model-sha256">${h(d.embedderSha256)}</code> (verified against ${h(d.manifest)})</dd>
<dt>Calibration file</dt><dd><code>${h(d.calibrationFile)}</code>, written ${h(d.createdAt)}</dd>
<dt>Data set</dt><dd>${h(ds.images)}: ${int(ds.imageCount)} images of ${int(ds.people)} people${ds.demographics ? `; labels from ${h(ds.demographics)}` : '; no demographic labels'}</dd>
</dl>
`);

  // --- what a supervisor must know first
  out.push('<h2 id="summary-heading">Before a deployment</h2>\n<ul id="summary">');
  for (const op of d.operating) {
    const measured = op.groupsConsidered.length ? `measured for ${op.groupsConsidered.map(h).join(', ')}` : 'no demographic group has enough impostor pairs to be measured at this rate';
    out.push(
      `<li>Watchlist of ${int(op.watchlistSize)}: threshold <b>${op.threshold.toFixed(4)}</b> for a false-alert rate of ${exp(op.falseAlertRate, 0)} per passer-by ` +
        `(per comparison ${exp(op.perComparisonFmr)}), decided by <b>${h(op.decidingGroup)}</b>; ${measured}.` +
        (op.groupsTooSmall.length ? ` <span class="warn">Too few impostor pairs to measure at this rate: ${op.groupsTooSmall.map(h).join(', ')}.</span>` : '') +
        (op.resolutionLimited ? ` <span class="warn">The data set is too small for this rate overall: the threshold is just above the highest impostor score seen.</span>` : '') +
        '</li>',
    );
  }
  out.push('</ul>');
  for (const n of d.notes) out.push(`<p class="note">${h(n)}</p>`);

  // --- thresholds and what decided them
  out.push('<h2>Thresholds and what decided them</h2>');
  out.push(
    '<p>The unit chooses its threshold when a session starts, from this calibration, the configured false-alert rate and the watchlist size: the lowest score at which the false-match rate is at most the per-comparison rate overall <em>and</em> in every group with enough impostor pairs to be measured at that rate (at least 10 false matches expected). The worst measured group decides.</p>',
  );
  out.push(
    table(
      'thresholds',
      'Operating thresholds the unit will use',
      ['watchlist size', 'false-alert rate', 'per-comparison FMR', 'threshold', 'decided by', 'TAR (genuine pairs accepted)', 'groups measured', 'groups with too few pairs'],
      d.operating.map((op) => [
        int(op.watchlistSize),
        exp(op.falseAlertRate, 0),
        exp(op.perComparisonFmr),
        op.threshold.toFixed(4) + (op.resolutionLimited ? ' <span class="warn">(resolution-limited)</span>' : ''),
        h(op.decidingGroup),
        pct(op.tar),
        op.groupsConsidered.length ? op.groupsConsidered.map(h).join(', ') : 'none',
        op.groupsTooSmall.length ? op.groupsTooSmall.map(h).join(', ') : 'none',
      ]),
    ),
  );

  // --- per-group table with intervals at each operating threshold
  out.push('<h2>False matches per group at the operating thresholds</h2>');
  out.push(
    `<p>False-match rate (FMR) among impostor pairs within each group, with 95% intervals from resampling people (${int(fair.bootstrap.replicates)} replicates, seed ${fair.bootstrap.seed}); with no false match the upper bound is the exact binomial one. A rate resting on fewer than ${fair.minEvents} false matches is not conclusive. GMR: genuine pairs accepted.</p>`,
  );
  const seen = new Set<string>();
  for (const op of d.operating) {
    if (seen.has(op.key)) continue;
    seen.add(op.key);
    const sizes = d.operating.filter((o) => o.key === op.key).map((o) => int(o.watchlistSize)).join(', ');
    out.push(
      table(
        `groups-${seen.size}`,
        `At threshold ${op.threshold.toFixed(4)} (watchlist of ${sizes})`,
        ['group', 'people', 'images', 'impostor pairs', 'false matches', 'FMR', '95% interval', 'conclusive', 'GMR', 'no face'],
        [groupRow('everyone', fair.overall, op.key, fair.minEvents), ...fair.groups.map((g) => groupRow(g.key, g, op.key, fair.minEvents))],
      ),
    );
  }

  // --- charts
  out.push('<h2>Charts</h2>');
  out.push(`<figure id="roc">${d.rocSvg}<figcaption>ROC over all pairs: ${int(ds.genuinePairs)} genuine, ${int(ds.impostorPairs)} impostor.</figcaption></figure>`);
  if (d.fairnessSvg) {
    out.push(`<figure id="fmr-per-group">${d.fairnessSvg}<figcaption>False-match rate against threshold for each labelled group (single attributes; pairs of attributes are in the tables).</figcaption></figure>`);
  } else {
    out.push('<p id="fmr-per-group" class="warn">No per-group chart: the calibration was run without demographic labels (--demographics), so it cannot say for whom the rate holds.</p>');
  }

  // --- quality bands
  if (d.quality) {
    const q = d.quality;
    out.push('<h2 id="quality-heading">Quality bands</h2>');
    out.push(
      `<p>Street faces are small and blurred. ${int(q.mated)} people were enrolled with a clean photo; another photo of each, and one photo of ${int(q.nonMated)} others, was degraded into ${q.copies} camera frames each (${h(q.frame)}: downscaled to 8-48 px between the eyes, motion and focus blur, low light, noise, JPEG) and found by the live detector (${h(q.detector)}): ${int(q.facesMeasured)} faces in ${int(q.copiesMade)} frames. A face is held to its band's threshold: the lowest score at which the false-match rate holds overall, in every measured group <em>and</em> among that band's impostors (never below the overall threshold).</p>`,
    );
    const sizes = q.bands[0]?.perSize.map((p) => p.watchlistSize) ?? [];
    out.push(
      table(
        'quality-bands',
        'Per inter-ocular band: thresholds the unit will use and genuine matches accepted (one degraded frame)',
        ['band (px between the eyes)', 'faces', 'found by the detector', 'genuine', 'impostor', ...sizes.map((n) => `watchlist ${int(n)}: threshold (decided by) / TAR`)],
        q.bands.map((b) => [
          h(`${b.name} [${b.range[0]}, ${b.range[1] ?? '∞'})`),
          int(b.faces),
          pct(b.detected),
          int(b.genuine),
          int(b.impostor),
          ...b.perSize.map((p) => `${p.threshold.toFixed(4)} (${h(p.decidingGroup)}${p.bandData === 'too-small' ? ', <span class="warn">band too small for this rate</span>' : ''}) / ${pct(p.tar)}`),
        ]),
      ),
    );
    out.push(`<figure id="quality-chart">${q.chartSvg}<figcaption>True accept rate of one degraded frame per band at the unit's band threshold, and the share of faces the live detector found.</figcaption></figure>`);
  }

  // --- data set
  out.push('<h2>The data set</h2>');
  out.push(
    table('dataset', 'Size', ['what', 'count'], [
      ['images (evaluated)', int(ds.imageCount)],
      ['people', int(ds.people)],
      ['people with 2 or more images', int(ds.peopleWithSeveralImages)],
      [`images per person (min / median / max; at most ${ds.maxPerPerson} used)`, `${ds.imagesPerPerson.min} / ${ds.imagesPerPerson.median} / ${ds.imagesPerPerson.max}`],
      ['genuine pairs', int(ds.genuinePairs)],
      ['impostor pairs', int(ds.impostorPairs)],
      ['images with at least one demographic label', int(ds.labelledImages)],
      ['images where no face was found (their pairs count as non-matches)', int(ds.detectionFailures)],
      ['unreadable files (left out)', int(ds.unreadable)],
      ['images excluded by --exclude', int(ds.excludedImages)],
    ].map((r) => [h(r[0]), r[1]])),
  );
  if (ds.makeUp.length) {
    out.push(table('makeup', 'Make-up by demographic group', ['group', 'people', 'images', 'impostor pairs within'], ds.makeUp.map((m) => [h(m.group), int(m.people), int(m.images), int(m.impostorPairs)])));
  }
  out.push(
    `<p>Method: every image pair among the images (at most ${ds.maxPerPerson} per person), cosine score of L2-normalised embeddings, the face closest to the image centre. An impostor pair is within a group when both images carry its labels.</p>`,
  );
  out.push('</body></html>\n');
  return out.join('\n');
}
