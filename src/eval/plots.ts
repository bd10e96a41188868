/** The charts of `eval verify --plot` (ROC) and `eval fairness --plot` (FMR against threshold per group). */
import { fmrAt, type ScoreDistribution } from '../recognition/calibration';
import { lineChartSvg, type ChartMarker, type ChartSeries } from './chart';
import type { FairnessReport } from './fairness';
import { rateKey, type FarOperatingPoint, type RocPoint } from './roc';

export function rocChartSvg(roc: RocPoint[], points: FarOperatingPoint[], subtitle: string): string {
  const minFar = roc.length ? roc[0].far : 1e-3;
  return lineChartSvg({
    title: 'Verification ROC: true accept rate against false accept rate',
    subtitle,
    xLabel: 'false accept rate (impostor pairs accepted)',
    yLabel: 'true accept rate (genuine pairs accepted)',
    xScale: 'log',
    yScale: 'linear',
    xDomain: [Math.pow(10, Math.floor(Math.log10(minFar))), 1],
    yDomain: [Math.max(0, Math.floor(Math.min(...roc.map((p) => p.tar), 1) * 10) / 10 - 0.1), 1],
    series: [{ name: 'ROC', points: roc.map((p) => [p.far, p.tar]) }],
    markers: points.map((p) => ({ x: p.far, label: `FAR ${rateKey(p.far)}: TAR ${(p.tar * 100).toFixed(2)}% at t=${p.threshold.toFixed(3)}` })),
  });
}

/** FMR(t) for each single-attribute group and overall, with the operating and worst-group thresholds marked. */
export function fairnessChartSvg(
  report: FairnessReport,
  overall: ScoreDistribution,
  groups: Map<string, { dist: ScoreDistribution }>,
  subtitle: string,
): string {
  const marks = [...Object.values(report.thresholds), ...Object.values(report.worstGroupThreshold)];
  const lo = Math.max(-1, Math.floor((Math.min(...marks, 0.3) - 0.15) * 100) / 100);
  const hi = Math.min(1, Math.ceil((Math.max(...marks, 0.3) + 0.1) * 100) / 100);
  const grid: number[] = [];
  for (let t = lo; t <= hi + 1e-9; t += 0.002) grid.push(Number(t.toFixed(3)));
  const curve = (d: ScoreDistribution): [number, number][] => grid.map((t) => [t, fmrAt(d, t)]);
  const series: ChartSeries[] = [{ name: `everyone (${overall.count} pairs)`, points: curve(overall), dashed: true }];
  for (const g of report.groups) {
    if (g.attribute.includes(',')) continue; // pairs of attributes: in the table, not the chart
    series.push({ name: `${g.key} (${g.people} people)`, points: curve(groups.get(g.key)!.dist) });
  }
  const markers: ChartMarker[] = [
    ...report.operatingPoints.map((op) => ({ x: op.threshold, label: `${op.far !== undefined ? `FMR ${op.key} overall` : 'given'}: ${op.threshold.toFixed(3)}` })),
    ...Object.entries(report.worstGroupThreshold).map(([k, t]) => ({ x: t, label: `worst group at ${k} (${report.worstGroup[k]}): ${t.toFixed(3)}` })),
  ];
  return lineChartSvg({
    title: 'False-match rate against threshold, per demographic group',
    subtitle,
    xLabel: 'threshold (cosine score; a pair matches when score >= threshold)',
    yLabel: 'false-match rate among impostor pairs within the group',
    xScale: 'linear',
    yScale: 'log',
    xDomain: [lo, hi],
    series,
    markers,
  });
}
