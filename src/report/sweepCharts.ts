// The charts of `wafer sweep report`, drawn from src/sweep/reportData.ts's records: yield curves (an output against
// defect density, the median over seeds as a line, the 10th–90th percentile as a band) and the Pareto chart
// (tokens/s per user against wafers or GPUs needed). Plain SVG strings, like the other charts.
import type { ParetoPoint, Percentiles, YieldSeries } from '../sweep/reportData.js';
import { axes, el, formatSi, legend, linearScale, linearTicks, logDomain, logScale, logTicks, paletteColour, polyline, svgRoot, text } from './svg.js';

const W = 720;
const H = 340;
const M = { left: 70, right: 20, top: 28, bottom: 48 };
const LEGEND_ROW = 15;

export type YieldMetric = 'tokensPerSecond' | 'tilesUsed' | 'fits';

const METRIC_LABEL: Record<YieldMetric, string> = {
  tokensPerSecond: 'decode tokens/s per user',
  tilesUsed: 'tiles used',
  fits: 'share of seeds that fit',
};

function band(s: YieldSeries, metric: YieldMetric): { x: number; mid: number; lo: number; hi: number }[] {
  return s.points.flatMap((p) => {
    if (metric === 'fits') return [{ x: p.density, mid: p.fits, lo: p.fits, hi: p.fits }];
    const v: Percentiles | null = p[metric];
    return v ? [{ x: p.density, mid: v.p50, lo: v.p10, hi: v.p90 }] : [];
  });
}

/** Tick labels in full ("13,250"): a yield curve often spans less than 1 % of its value, where "13k" says nothing. */
function fullNumber(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(4)).toString();
}

/** One metric of every series against defect density (%), with the seeds' 10th–90th percentile band. */
export function yieldChartSvg(series: readonly YieldSeries[], metric: YieldMetric, title: string): string {
  const all = series.flatMap((s) => band(s, metric));
  const xs = all.map((b) => b.x * 100);
  const lo = metric === 'fits' ? 0 : Math.min(...all.map((b) => b.lo), Infinity);
  const hi = metric === 'fits' ? 1 : Math.max(...all.map((b) => b.hi), -Infinity);
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.abs(hi) * 0.05 + 1;
  const yDomain: [number, number] = all.length === 0 ? [0, 1] : metric === 'fits' ? [0, 1.02] : [Math.max(0, lo - pad), hi + pad];
  const legendH = series.length * LEGEND_ROW + 6;
  const height = H + legendH;
  const x = linearScale([Math.min(0, ...xs), Math.max(1, ...xs)], [M.left, W - M.right]);
  const y = linearScale(yDomain, [H - M.bottom, M.top]);
  const parts = [
    text(M.left, 16, title, { 'font-size': 13, 'font-weight': 'bold' }),
    axes({ x, y, xLabel: 'defective tiles (%)', yLabel: METRIC_LABEL[metric], xTicks: linearTicks(x.domain[0], x.domain[1]), yTicks: linearTicks(yDomain[0], yDomain[1]), xFormat: (v) => `${v}`, yFormat: metric === 'fits' ? (v) => `${Math.round(v * 100)}%` : fullNumber }),
  ];
  series.forEach((s, i) => {
    const colour = paletteColour(i);
    const b = band(s, metric);
    if (metric !== 'fits' && b.length > 1) {
      const ring = [...b.map((p) => `${x(p.x * 100).toFixed(2)},${y(p.hi).toFixed(2)}`), ...[...b].reverse().map((p) => `${x(p.x * 100).toFixed(2)},${y(p.lo).toFixed(2)}`)];
      parts.push(el('polygon', { points: ring.join(' '), fill: colour, 'fill-opacity': 0.15, stroke: 'none', class: 'band' }));
    }
    parts.push(polyline(b.map((p) => [x(p.x * 100), y(p.mid)]), { stroke: colour, 'stroke-width': 2, 'stroke-dasharray': s.repair === 'remap' ? undefined : '6 3', class: 'median' }));
    for (const p of b) parts.push(el('circle', { cx: x(p.x * 100), cy: y(p.mid), r: 2.5, fill: colour }, el('title', {}, `${s.label}: ${(p.x * 100).toFixed(1)}% → ${formatSi(p.mid)}`)));
  });
  const notes = metric === 'fits' ? '' : ' (line: median over seeds; band: 10th–90th percentile)';
  parts.push(legend(M.left, H + 4, series.map((s, i) => ({ label: s.label + (i === 0 ? notes : ''), colour: paletteColour(i), dash: s.repair === 'remap' ? undefined : '6 3' }))));
  return svgRoot(W, height, { class: `sweep-yield sweep-yield-${metric}` }, parts);
}

/** Tokens/s per user against the wafers or GPUs a point needs; the Pareto front of each kind of hardware joined. */
export function paretoChartSvg(points: readonly ParetoPoint[]): string {
  const counts = points.map((p) => p.count);
  const x = linearScale([0, Math.max(1, ...counts) + 1], [M.left, W - M.right]);
  const yd = logDomain(points.map((p) => p.tokensPerSecond));
  const y = logScale(yd, [H - M.bottom, M.top]);
  const kinds = [...new Set(points.map((p) => p.hardware))];
  const parts = [
    text(M.left, 16, 'Tokens/s per user against the hardware it takes', { 'font-size': 13, 'font-weight': 'bold' }),
    axes({ x, y, xLabel: 'wafers or GPUs needed', yLabel: 'decode tokens/s per user', xTicks: linearTicks(0, x.domain[1]).filter((t) => Number.isInteger(t)), yTicks: logTicks(yd[0], yd[1]) }),
  ];
  kinds.forEach((k, i) => {
    const colour = paletteColour(i);
    const mine = points.filter((p) => p.hardware === k);
    for (const p of mine) {
      parts.push(el('circle', { cx: x(p.count), cy: y(p.tokensPerSecond), r: p.front ? 4 : 2.5, fill: p.front ? colour : 'none', stroke: colour, 'fill-opacity': 0.9 }, el('title', {}, `${p.label}: ${formatSi(p.tokensPerSecond)} tokens/s on ${p.count} ${k}`)));
    }
    const front = mine.filter((p) => p.front).sort((a, b) => a.count - b.count);
    parts.push(polyline(front.map((p) => [x(p.count), y(p.tokensPerSecond)]), { stroke: colour, 'stroke-width': 1.5, class: 'front' }));
  });
  parts.push(legend(W - M.right - 210, M.top + 12, kinds.map((k, i) => ({ label: `${k} (filled: Pareto front)`, colour: paletteColour(i), marker: true }))));
  return svgRoot(W, H, { class: 'sweep-pareto' }, parts);
}
