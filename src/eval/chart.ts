/**
 * A self-contained SVG line chart (pure: spec in, SVG text out): title, axis labels, ticks,
 * linear or log scales, a legend and labelled vertical markers. Readable on its own.
 */

export interface ChartSeries {
  name: string;
  /** [x, y]; on a log axis, points <= 0 break the line. */
  points: [number, number][];
  dashed?: boolean;
}

export interface ChartMarker {
  x: number;
  label: string;
}

export type Scale = 'linear' | 'log';

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xScale?: Scale;
  yScale?: Scale;
  xDomain?: [number, number];
  yDomain?: [number, number];
  series: ChartSeries[];
  markers?: ChartMarker[];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function usable(v: number, scale: Scale): boolean {
  return Number.isFinite(v) && (scale === 'linear' || v > 0);
}

function domainOf(values: number[], scale: Scale): [number, number] {
  const vs = values.filter((v) => usable(v, scale));
  if (vs.length === 0) return scale === 'log' ? [1e-6, 1] : [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (scale === 'log') {
    lo = Math.pow(10, Math.floor(Math.log10(lo)));
    hi = Math.pow(10, Math.ceil(Math.log10(hi)));
    if (lo === hi) hi = lo * 10;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  return [lo, hi];
}

function niceStep(span: number, target = 6): number {
  const raw = span / target;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

export function ticks(domain: [number, number], scale: Scale): number[] {
  const [lo, hi] = domain;
  const out: number[] = [];
  if (scale === 'log') {
    for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) out.push(Number(`1e${e}`));
    return out;
  }
  const step = niceStep(hi - lo);
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

export function formatTick(v: number, scale: Scale): string {
  if (scale === 'log') return v >= 0.01 && v <= 1000 ? String(v) : `1e${Math.round(Math.log10(v))}`;
  return String(Number(v.toPrecision(6)));
}

export function lineChartSvg(spec: ChartSpec): string {
  const W = spec.width ?? 860;
  const H = spec.height ?? 520;
  const xs = spec.xScale ?? 'linear';
  const ys = spec.yScale ?? 'linear';
  const legendW = 260;
  const m = { left: 80, right: 20 + legendW, top: spec.subtitle ? 64 : 48, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const allX = spec.series.flatMap((s) => s.points.map((p) => p[0])).concat((spec.markers ?? []).map((k) => k.x));
  const allY = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const xd = spec.xDomain ?? domainOf(allX, xs);
  const yd = spec.yDomain ?? domainOf(allY, ys);
  const t = (v: number, d: [number, number], s: Scale) =>
    s === 'log' ? (Math.log10(v) - Math.log10(d[0])) / (Math.log10(d[1]) - Math.log10(d[0])) : (v - d[0]) / (d[1] - d[0]);
  const X = (v: number) => m.left + t(v, xd, xs) * pw;
  const Y = (v: number) => m.top + (1 - t(v, yd, ys)) * ph;
  const inside = (x: number, y: number) => usable(x, xs) && usable(y, ys) && x >= xd[0] && x <= xd[1] && y >= yd[0] && y <= yd[1];
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - legendW / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) parts.push(`<text x="${W / 2 - legendW / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(spec.subtitle)}</text>`);
  // grid + ticks
  for (const v of ticks(xd, xs)) {
    parts.push(`<line x1="${f(X(v))}" y1="${m.top}" x2="${f(X(v))}" y2="${m.top + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f(X(v))}" y="${m.top + ph + 18}" text-anchor="middle">${formatTick(v, xs)}</text>`);
  }
  for (const v of ticks(yd, ys)) {
    parts.push(`<line x1="${m.left}" y1="${f(Y(v))}" x2="${m.left + pw}" y2="${f(Y(v))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 8}" y="${f(Y(v) + 4)}" text-anchor="end">${formatTick(v, ys)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle">${escapeXml(spec.xLabel)}${xs === 'log' ? ' (log scale)' : ''}</text>`);
  parts.push(
    `<text transform="translate(20 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}${ys === 'log' ? ' (log scale)' : ''}</text>`,
  );
  // markers
  (spec.markers ?? []).forEach((k) => {
    if (!(usable(k.x, xs) && k.x >= xd[0] && k.x <= xd[1])) return;
    parts.push(`<line x1="${f(X(k.x))}" y1="${m.top}" x2="${f(X(k.x))}" y2="${m.top + ph}" stroke="#000" stroke-dasharray="4 3"/>`);
    // Label along the line (vertical), so that labels never run into each other or the legend.
    parts.push(`<text transform="translate(${f(X(k.x) - 4)} ${m.top + ph - 6}) rotate(-90)" fill="#000" font-size="11">${escapeXml(k.label)}</text>`);
  });
  // series
  spec.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!inside(x, y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(X(x))},${f(Y(y))}`;
      pen = true;
    }
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    const ly = m.top + 10 + i * 20;
    const lx = m.left + pw + 16;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
