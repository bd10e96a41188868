/** The chart of `lfr-edge eval quality` and the calibrate report: TAR per inter-ocular band, and the detection rate. */
import { lineChartSvg, type ChartSeries } from './chart';
import type { BinReport } from './quality';
import { rateKey } from './roc';


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
