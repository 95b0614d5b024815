// The memory-wall chart, drawn from a compare result's records (no computing here beyond placing them):
// Left: tokens/s per user (batch 1) against model size over the model presets, one series per fabric at the fewest
// wafers or GPUs that hold each model — the line breaks where that count changes, and the strip below draws the count
// as a step. Each GPU's HBM roofline (HBM bandwidth ÷ weight bytes per token) is dashed and labelled, each wafer's SRAM
// edge (the model size whose weights fill one wafer) dotted and labelled; points drawn apart (a toy run) are hollow
// diamonds. Right: tokens/s against batch for the compare's model, aggregate solid and per user dashed, each line named
// where it ends. Under the chart, one takeaway per panel computed from the same records. Every point carries its
// figures and setting as data-* attributes, so a test can read the picture back and hold it against --json.
import type { BatchSweep, CompareResult, HbmRoofline, ModelSweep, SweepPoint, WallMark } from '../study/compare.js';
import { describeSetting } from '../study/setting.js';
import { axes, el, esc, formatParams, formatSi, logDomain, logScale, paletteColour, polyline, px, svgRoot, text, type Scale } from './svg.js';

/** What the chart draws: a compare result, and points drawn apart. */
export type MemoryWallData = Pick<CompareResult, 'model' | 'totalParams' | 'activeParams' | 'dtype' | 'promptLength' | 'contextLength' | 'modelSweep' | 'batchSweep' | 'hbmRooflines' | 'sramEdges'> & { marks?: WallMark[] };

const WIDTH_PX = 1060;
const HEIGHT_PX = 700;
const SIZE = { x0: 80, x1: 520, top: 66, bottom: 340, stripTop: 362, stripBottom: 430 };
const BATCH = { x0: 680, x1: 900, top: 66, bottom: 340 };
const LEGEND_Y = 492;
const TAKEAWAY_Y = 630;
const LABEL_GAP_PX = 12;
/** Characters of a 12 px takeaway line across the chart. */
const TAKEAWAY_CHARS = 165;

/** Words into lines of at most `width` characters (SVG text does not wrap by itself). */
export function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of s.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** The GPU count a roofline assumes at model size `params`: fixed, or the fewest (power of two) holding the weights. */
export function rooflineGpus(r: HbmRoofline, params: number): number | null {
  const bytes = params * r.bytesPerParam;
  if (r.fixedGpus !== null) return bytes <= r.fixedGpus * r.usableHbmBytes ? r.fixedGpus : null;
  return Math.pow(2, Math.max(0, Math.ceil(Math.log2(bytes / r.usableHbmBytes))));
}

/** tokens/s per user the HBM allows at model size `params` (null where the weights do not fit the fixed GPUs). */
export function rooflineTokensPerSecond(r: HbmRoofline, params: number): number | null {
  const g = rooflineGpus(r, params);
  return g === null ? null : (g * r.hbmBytesPerSecond) / (params * r.bytesPerParam);
}

/** The part of the log-log straight segment (x1,y1)–(x2,y2) inside y's domain, or null. */
export function clipToY(y: Scale, a: [number, number], b: [number, number]): [[number, number], [number, number]] | null {
  const [lo, hi] = y.domain.map(Math.log10);
  const la = Math.log10(a[1]);
  const lb = Math.log10(b[1]);
  const at = (ly: number): [number, number] => {
    const t = lb === la ? 0 : (ly - la) / (lb - la);
    return [Math.pow(10, Math.log10(a[0]) + t * (Math.log10(b[0]) - Math.log10(a[0]))), Math.pow(10, ly)];
  };
  const inside = (ly: number) => ly >= lo - 1e-12 && ly <= hi + 1e-12;
  if ((la > hi && lb > hi) || (la < lo && lb < lo)) return null;
  const p = inside(la) ? a : at(la > hi ? hi : lo);
  const q = inside(lb) ? b : at(lb > hi ? hi : lo);
  return [p, q];
}

/**
 * The roofline as straight log-log pieces: for each GPU count g (fixed, or 1, 2, 4, … as the weights grow), from the
 * size the previous count stops holding to the size g stops holding, y = g × HBM bandwidth ÷ weight bytes.
 */
export function rooflinePieces(r: HbmRoofline, xDomain: [number, number]): [[number, number], [number, number]][] {
  const [lo, hi] = xDomain;
  const paramsHeldBy = (g: number) => (g * r.usableHbmBytes) / r.bytesPerParam;
  const y = (g: number, p: number) => (g * r.hbmBytesPerSecond) / (p * r.bytesPerParam);
  const counts = r.fixedGpus !== null ? [r.fixedGpus] : Array.from({ length: 40 }, (_, i) => 2 ** i);
  const pieces: [[number, number], [number, number]][] = [];
  let from = lo;
  for (const g of counts) {
    const to = Math.min(hi, paramsHeldBy(g));
    if (to > from) pieces.push([[from, y(g, from)], [to, y(g, to)]]);
    from = Math.max(from, to);
    if (from >= hi) break;
  }
  return pieces;
}

/** Log-axis ticks a person reads at a glance: powers of ten, plus 2× and 5× when the axis spans two decades or less. */
export function readableLogTicks(lo: number, hi: number): number[] {
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const steps = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = e0; e <= e1; e++) for (const m of steps) out.push(Number((m * Math.pow(10, e)).toPrecision(6)));
  return out.filter((v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9));
}

/** Moves labels (sorted by y) apart so none is closer than `gap` px to the next, keeping their order. */
export function spreadLabels(ys: number[], gap: number): number[] {
  const order = ys.map((y, i) => [y, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(ys.length);
  let last = -Infinity;
  for (const [y, i] of order) {
    out[i] = Math.max(y, last + gap);
    last = out[i];
  }
  return out;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
const unitOf = (kind: 'gpu' | 'wafer') => (kind === 'gpu' ? 'GPU' : 'wafer');
/** "one wse3", "26 wse3 wafers", "16 h100 GPUs". */
const devicesOf = (n: number, fabric: string, kind: 'gpu' | 'wafer') => (n === 1 ? `one ${fabric}` : `${n} ${fabric} ${unitOf(kind)}s`);
const tps = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));
/** A ratio people read: 5.6, 0.60, 120 (never 1.2e+2). */
export const ratio = (v: number) => (v >= 10 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(2));
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A point's marker: a circle for a wafer, a square for a GPU, a hollow diamond for a point drawn apart. */
function marker(kind: 'gpu' | 'wafer' | 'mark', X: number, Y: number, r: number, colour: string, extra: Record<string, string | number> = {}): string {
  if (kind === 'wafer') return el('circle', { cx: X, cy: Y, r, fill: colour, ...extra });
  if (kind === 'gpu') return el('rect', { x: X - r, y: Y - r, width: 2 * r, height: 2 * r, fill: colour, ...extra });
  const d = r * 1.5;
  return el('polygon', { points: `${px(X)},${px(Y - d)} ${px(X + d)},${px(Y)} ${px(X)},${px(Y + d)} ${px(X - d)},${px(Y)}`, fill: '#fff', stroke: colour, 'stroke-width': 2.5, ...extra });
}

/** The data-* attributes a test reads back (numbers as JavaScript prints them, so they parse to the same value). */
function pointData(fabric: string, kind: 'gpu' | 'wafer', p: SweepPoint): Record<string, string | number> {
  return {
    'data-fabric': fabric,
    'data-kind': kind,
    'data-model': p.model,
    'data-params': String(p.totalParams),
    'data-devices': String(p.devices),
    'data-tokens-per-second': String(p.decodeTokensPerSecond),
    'data-source': p.setting.source,
    'data-setting': describeSetting(p.setting),
  };
}

function pointTitle(fabric: string, kind: 'gpu' | 'wafer', p: SweepPoint, label?: string): string {
  const head = label ? `${label}: ` : '';
  return `${head}${p.model} (${formatParams(p.totalParams)}, ${formatParams(p.activeParams)} active) on ${devicesOf(p.devices, fabric, kind)}: ${tps(p.decodeTokensPerSecond)} tokens/s per user — ${describeSetting(p.setting)}`;
}

/** Consecutive points (by size) at the same device count. */
function runsOf(points: SweepPoint[]): SweepPoint[][] {
  const runs: SweepPoint[][] = [];
  for (const p of [...points].sort((a, b) => a.totalParams - b.totalParams)) {
    const last = runs[runs.length - 1];
    if (last && last[0].devices === p.devices) last.push(p);
    else runs.push([p]);
  }
  return runs;
}

interface Ctx {
  x: Scale;
  y: Scale;
  colourOf: (fabric: string) => string;
}

/**
 * The roofline of the smallest group (one GPU, or the fixed count): a straight line that ends where the weights stop
 * fitting its HBM — the GPU's memory wall. Larger groups' pieces are left out: they would cross the series they bound.
 */
function rooflinePath(r: HbmRoofline, c: Ctx, row: number): string {
  const first = rooflinePieces(r, c.x.domain)[0];
  const q = first ? clipToY(c.y, first[0], first[1]) : null;
  if (!q) return '';
  const pts: [number, number][] = q.map(([a, b]) => [c.x(a), c.y(b)]);
  const gpus = r.fixedGpus ?? 1;
  const title = `${r.fabric} HBM roofline, ${plural(gpus, 'GPU')}: tokens/s per user ≤ ${gpus} × ${formatSi(r.hbmBytesPerSecond)}B/s ÷ weight bytes, up to the ${formatParams((gpus * r.usableHbmBytes) / r.bytesPerParam)} parameters its HBM holds`;
  const [start, end] = pts;
  // The label runs along the line, near where it enters the plot (the line's end sits among the GPU's own points).
  const at: [number, number] = [start[0] + 0.06 * (end[0] - start[0]), start[1] + 0.06 * (end[1] - start[1])];
  const angle = (Math.atan2(end[1] - start[1], end[0] - start[0]) * 180) / Math.PI;
  const label = `${gpus === 1 ? 'one' : gpus} ${r.fabric}${gpus === 1 ? "'s" : 's’'} HBM roofline, to ${formatParams((gpus * r.usableHbmBytes) / r.bytesPerParam)}`;
  return el('g', { class: 'roofline', 'data-fabric': r.fabric, 'data-gpus': String(gpus) }, [
    el('title', {}, esc(title)),
    polyline(pts, { stroke: c.colourOf(r.fabric), 'stroke-width': 1.2, 'stroke-dasharray': '6 4' }),
    el('line', { x1: end[0], y1: end[1] - 5, x2: end[0], y2: end[1] + 5, stroke: c.colourOf(r.fabric), 'stroke-width': 1.5 }),
    text(at[0], at[1] - 4 - 2 * row, label, { 'font-size': 10, fill: c.colourOf(r.fabric), transform: `rotate(${px(angle)} ${px(at[0])} ${px(at[1] - 4 - 2 * row)})` }),
  ]);
}

function sramEdge(e: CompareResult['sramEdges'][number], c: Ctx, row: number): string {
  if (e.params < c.x.domain[0] || e.params > c.x.domain[1]) return '';
  const X = c.x(e.params);
  return el('g', { class: 'sram-edge', 'data-fabric': e.fabric, 'data-params': String(e.params) }, [
    el('title', {}, esc(`${e.fabric}: one wafer's ${formatSi(e.sramBytes)}B of SRAM holds ${formatParams(e.params)} parameters at ${e.bytesPerParam} B each; larger models need more wafers`)),
    el('line', { x1: X, y1: SIZE.top, x2: X, y2: SIZE.stripBottom, stroke: c.colourOf(e.fabric), 'stroke-width': 1.5, 'stroke-dasharray': '2 3' }),
    text(X + 4, SIZE.top + 12 + 12 * row, `one ${e.fabric}'s SRAM: ${formatParams(e.params)}`, { fill: c.colourOf(e.fabric), 'font-size': 10 }),
  ]);
}

/** A mixture of experts reads only its chosen experts per token: fewer active than total parameters. */
const isMoe = (p: SweepPoint) => p.activeParams < p.totalParams;

/**
 * One fabric's series: the dense models joined by a line within each device count, a dotted jump where the count
 * changes, its name at the end; mixture-of-experts models as unjoined half-filled markers (per token they read only
 * their experts, so they sit above the dense line and would zigzag it).
 */
function sizeSeries(s: ModelSweep, c: Ctx, highlight: string): { svg: string; end: [number, number] | null } {
  const colour = c.colourOf(s.fabric);
  const runs = runsOf(s.points.filter((p) => !isMoe(p)));
  const xy = (p: SweepPoint): [number, number] => [c.x(p.totalParams), c.y(p.decodeTokensPerSecond)];
  const parts: string[] = [];
  runs.forEach((run, i) => {
    if (i > 0) parts.push(polyline([xy(runs[i - 1][runs[i - 1].length - 1]), xy(run[0])], { stroke: colour, 'stroke-width': 1, 'stroke-dasharray': '1 3', class: 'count-change' }));
    parts.push(polyline(run.map(xy), { stroke: colour, 'stroke-width': 2, class: 'same-count', 'data-devices': run[0].devices }));
  });
  for (const p of s.points) {
    const [X, Y] = xy(p);
    const chosen = p.model === highlight;
    const style: Record<string, string | number> = chosen ? { stroke: '#000', 'stroke-width': 1.5 } : isMoe(p) ? { fill: '#fff', stroke: colour, 'stroke-width': 1.5 } : {};
    parts.push(el('g', { class: 'point', 'data-moe': String(isMoe(p)), ...pointData(s.fabric, s.kind, p) }, [el('title', {}, esc(pointTitle(s.fabric, s.kind, p))), marker(s.kind, X, Y, chosen ? 5 : 3.5, colour, style)]));
  }
  // The name goes by the largest model drawn (dense or not): the series' right end.
  const largest = s.points.length ? s.points.reduce((a, b) => (b.totalParams > a.totalParams ? b : a)) : null;
  return { svg: el('g', { class: 'series', 'data-fabric': s.fabric, 'data-kind': s.kind }, parts), end: largest ? xy(largest) : null };
}

/** The strip under the size panel: wafers or GPUs needed, a step per fabric, each count written where it starts. */
function deviceStrip(sweeps: ModelSweep[], c: Ctx): string {
  const counts = sweeps.flatMap((s) => s.points.map((p) => p.devices));
  const top = Math.pow(2, Math.ceil(Math.log2(Math.max(2, ...counts))));
  const y = logScale([1, top], [SIZE.stripBottom, SIZE.stripTop]);
  const ticks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((t) => t <= top).filter((t, i, a) => a.length <= 5 || i % 2 === 0 || t === top);
  const parts = [axes({ x: c.x, y, xLabel: 'model size (parameters, log scale)', yLabel: '', xTicks: readableLogTicks(...c.x.domain), yTicks: ticks, xFormat: formatParams, yFormat: (v) => String(v) })];
  parts.push(text(SIZE.x0 - 36, (SIZE.stripTop + SIZE.stripBottom) / 2 - 6, 'devices', { 'text-anchor': 'middle', 'font-size': 10 }), text(SIZE.x0 - 36, (SIZE.stripTop + SIZE.stripBottom) / 2 + 6, 'needed', { 'text-anchor': 'middle', 'font-size': 10 }));
  sweeps.forEach((s, k) => {
    const pts = [...s.points].sort((a, b) => a.totalParams - b.totalParams);
    if (!pts.length) return;
    const path: [number, number][] = [];
    const labels: string[] = [];
    const nudge = (k - (sweeps.length - 1) / 2) * 1.5; // overlapping steps of two fabrics stay apart
    pts.forEach((p, i) => {
      const X = c.x(p.totalParams);
      const Y = y(p.devices) + nudge;
      if (i > 0) path.push([X, path[path.length - 1][1]]);
      path.push([X, Y]);
      if (i === 0 || pts[i - 1].devices !== p.devices) labels.push(text(X + 2, Y - 3, String(p.devices), { 'font-size': 9, fill: c.colourOf(s.fabric) }));
    });
    parts.push(el('g', { class: 'device-step', 'data-fabric': s.fabric }, [polyline(path, { stroke: c.colourOf(s.fabric), 'stroke-width': 1.5 }), ...labels]));
  });
  return el('g', { class: 'panel-devices' }, parts);
}

function sizePanel(d: MemoryWallData, colourOf: (f: string) => string): string {
  const marks = d.marks ?? [];
  const pts = [...d.modelSweep.flatMap((s) => s.points), ...marks.map((m) => m.point)];
  const xs = [...pts.map((p) => p.totalParams), ...d.sramEdges.map((e) => e.params)];
  const ys = pts.map((p) => p.decodeTokensPerSecond);
  const x = logScale(logDomain(xs.length ? xs : [d.totalParams]), [SIZE.x0, SIZE.x1]);
  const y = logScale(logDomain(ys.length ? ys : [1, 10]), [SIZE.bottom, SIZE.top]);
  const c: Ctx = { x, y, colourOf };
  const parts = [axes({ x, y, xLabel: '', yLabel: 'tokens/s per user, batch 1 (log)', xTicks: readableLogTicks(...x.domain), yTicks: readableLogTicks(...y.domain), xFormat: () => '' })];
  d.hbmRooflines.forEach((r, i) => parts.push(rooflinePath(r, c, i)));
  d.sramEdges.forEach((e, i) => parts.push(sramEdge(e, c, i)));
  const ends: { fabric: string; at: [number, number] }[] = [];
  for (const s of d.modelSweep) {
    const { svg, end } = sizeSeries(s, c, d.model);
    parts.push(svg);
    if (end) ends.push({ fabric: s.fabric, at: end });
  }
  // Series ending near the right edge are named just past it, level with their end (that corner is crowded); a
  // series that ends further left is named beside its last point.
  const atEdge = ends.filter((e) => e.at[0] > SIZE.x1 - 160);
  const labelYs = spreadLabels(atEdge.map((e) => e.at[1] + 4), LABEL_GAP_PX);
  atEdge.forEach((e, i) => parts.push(el('line', { x1: e.at[0] + 5, y1: e.at[1], x2: SIZE.x1 + 4, y2: labelYs[i] - 4, stroke: colourOf(e.fabric), 'stroke-width': 0.8, opacity: 0.6 }), text(SIZE.x1 + 6, labelYs[i], e.fabric, { class: 'series-label', fill: colourOf(e.fabric), 'font-weight': 'bold' })));
  for (const e of ends.filter((x) => !atEdge.includes(x))) parts.push(text(e.at[0] + 9, e.at[1] - 7, e.fabric, { class: 'series-label', fill: colourOf(e.fabric), 'font-weight': 'bold' }));
  for (const m of marks) {
    const X = x(m.point.totalParams);
    const Y = y(m.point.decodeTokensPerSecond);
    parts.push(el('g', { class: 'mark', 'data-label': m.label, ...pointData(m.fabric, m.kind, m.point) }, [el('title', {}, esc(pointTitle(m.fabric, m.kind, m.point, m.label))), marker('mark', X, Y, 4, colourOf(m.fabric))]));
  }
  parts.push(deviceStrip(d.modelSweep, c));
  parts.push(text(SIZE.x0, SIZE.top - 10, 'tokens/s per user against model size (the model presets)', { 'font-weight': 'bold' }));
  return el('g', { class: 'panel-size' }, parts);
}

function batchPanel(d: MemoryWallData, colourOf: (f: string) => string): string {
  const pts = d.batchSweep.flatMap((s) => s.points);
  const x = logScale(logDomain(pts.length ? pts.map((p) => p.batch) : [1, 10]), [BATCH.x0, BATCH.x1]);
  const ys = pts.flatMap((p) => [p.decodeTokensPerSecond, p.aggregateTokensPerSecond]);
  const y = logScale(logDomain(ys.length ? ys : [1, 10]), [BATCH.bottom, BATCH.top]);
  const parts = [axes({ x, y, xLabel: 'batch (users decoding together, log)', yLabel: 'tokens/s (log)', xTicks: readableLogTicks(...x.domain), yTicks: readableLogTicks(...y.domain) })];
  const ends: { label: string; colour: string; at: [number, number] }[] = [];
  for (const s of d.batchSweep) {
    if (!s.points.length) continue;
    const colour = colourOf(s.fabric);
    const agg = s.points.map((p): [number, number] => [x(p.batch), y(p.aggregateTokensPerSecond)]);
    const user = s.points.map((p): [number, number] => [x(p.batch), y(p.decodeTokensPerSecond)]);
    const devices = s.devices !== null ? ` (${plural(s.devices, unitOf(s.kind))})` : '';
    if (s.points.length === 1) ends.push({ label: `${s.fabric}${devices}: batch ${s.points[0].batch} only`, colour, at: agg[0] });
    else ends.push({ label: `${s.fabric} total${devices}`, colour, at: agg[agg.length - 1] }, { label: `${s.fabric} per user`, colour, at: user[user.length - 1] });
    parts.push(
      el('g', { class: 'series', 'data-fabric': s.fabric, 'data-kind': s.kind }, [
        polyline(agg, { stroke: colour, 'stroke-width': 2 }),
        polyline(user, { stroke: colour, 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }),
        ...s.points.map((p) =>
          el('g', { class: 'batch-point', 'data-fabric': s.fabric, 'data-batch': String(p.batch), 'data-tokens-per-second': String(p.decodeTokensPerSecond), 'data-aggregate': String(p.aggregateTokensPerSecond), 'data-setting': describeSetting(p.setting) }, [
            el('title', {}, esc(`${s.fabric}, batch ${p.batch}: ${tps(p.aggregateTokensPerSecond)} tokens/s in total, ${tps(p.decodeTokensPerSecond)} per user — ${describeSetting(p.setting)}`)),
            marker(s.kind, x(p.batch), y(p.aggregateTokensPerSecond), 3, colour),
            marker(s.kind, x(p.batch), y(p.decodeTokensPerSecond), 2.5, colour),
          ]),
        ),
      ]),
    );
  }
  const labelYs = spreadLabels(ends.map((e) => e.at[1] + 4), LABEL_GAP_PX);
  ends.forEach((e, i) => parts.push(text(e.at[0] + 8, labelYs[i], e.label, { class: 'series-label', fill: e.colour, 'font-size': 10 })));
  parts.push(text(BATCH.x0, BATCH.top - 10, `tokens/s against batch: ${d.model}`, { 'font-weight': 'bold' }));
  return el('g', { class: 'panel-batch' }, parts);
}

/** Legend: each fabric with its marker (circle: wafer, square: GPU), then the line styles. */
function legendRows(d: MemoryWallData, fabrics: { name: string; kind: 'gpu' | 'wafer' }[], colourOf: (f: string) => string): string {
  const rows: string[] = [];
  const sourceOf = (f: string) => d.modelSweep.find((s) => s.fabric === f)?.points[0]?.setting.source ?? d.marks?.find((m) => m.fabric === f)?.point.setting.source ?? '';
  fabrics.forEach((f, i) => {
    const Y = LEGEND_Y + i * 16;
    const swept = d.modelSweep.some((s) => s.fabric === f.name && s.points.length);
    const what = swept ? `${f.kind === 'gpu' ? 'GPUs' : 'wafers'} (${sourceOf(f.name)})` : `only the toy run (${sourceOf(f.name)})`;
    rows.push(el('line', { x1: SIZE.x0, y1: Y, x2: SIZE.x0 + 22, y2: Y, stroke: colourOf(f.name), 'stroke-width': 2 }), marker(f.kind, SIZE.x0 + 11, Y, 3.5, colourOf(f.name)), text(SIZE.x0 + 28, Y + 4, `${f.name}: ${what}`));
  });
  const keys: [string, string][] = [
    ['6 4', 'HBM roofline of one GPU (HBM bandwidth ÷ weight bytes), ending where its HBM is full'],
    ['2 3', "SRAM edge: the model size whose weights fill one wafer's SRAM"],
    ['1 3', 'dotted jump: more wafers or GPUs are needed from there (the strip counts them)'],
    ['5 3', 'right panel: total tokens/s solid, per user dashed'],
  ];
  const kx = SIZE.x0 + 260;
  keys.forEach(([dash, label], i) => {
    const Y = LEGEND_Y + i * 16;
    rows.push(el('line', { x1: kx, y1: Y, x2: kx + 22, y2: Y, stroke: '#555', 'stroke-width': 1.5, 'stroke-dasharray': dash }), text(kx + 28, Y + 4, label));
  });
  const moeY = LEGEND_Y + keys.length * 16;
  rows.push(marker('wafer', kx + 11, moeY, 3.5, '#555', { fill: '#fff', stroke: '#555', 'stroke-width': 1.5 }), text(kx + 28, moeY + 4, 'hollow: a mixture of experts (a token reads only its experts), not joined'));
  if (d.marks?.length) {
    const Y = moeY + 16;
    rows.push(marker('mark', kx + 11, Y, 3.5, '#555'), text(kx + 28, Y + 4, 'diamond: the toy run (the whole model simulated tile by tile), not a real-size projection'));
  }
  return el('g', { class: 'legend' }, rows);
}

/** "At 8B, 1 wse3 decodes 5.8× 1 h100 (…); from 32B up it takes 2 or more wafers; at 405B 26 wafers decode 3.9× 16 h100s." */
export function sizeTakeaway(d: MemoryWallData): string {
  const wafer = d.modelSweep.find((s) => s.kind === 'wafer' && s.points.length);
  const gpu = d.modelSweep.find((s) => s.kind === 'gpu' && s.points.length);
  if (!wafer || !gpu) return wafer || gpu ? `Only ${(wafer ?? gpu)!.fabric} has points: nothing to compare against.` : 'No points.';
  const at = (s: ModelSweep, model: string) => s.points.find((p) => p.model === model);
  const pair = (model: string) => {
    const w = at(wafer, model);
    const g = at(gpu, model);
    return w && g ? `${devicesOf(w.devices, wafer.fabric, 'wafer')} ${w.devices === 1 ? 'decodes' : 'decode'} ${ratio(w.decodeTokensPerSecond / g.decodeTokensPerSecond)}× ${devicesOf(g.devices, gpu.fabric, 'gpu')} (${tps(w.decodeTokensPerSecond)} vs ${tps(g.decodeTokensPerSecond)} tokens/s per user)` : null;
  };
  const parts: string[] = [];
  const first = pair(d.model);
  if (first) parts.push(`At ${formatParams(d.totalParams)} (${d.model}), ${first}`);
  const sorted = [...wafer.points].sort((a, b) => a.totalParams - b.totalParams);
  const firstMulti = sorted.find((p) => p.devices > 1);
  if (firstMulti) parts.push(`from ${formatParams(firstMulti.totalParams)} (${firstMulti.model}) up it takes ${firstMulti.devices} or more wafers`);
  const largest = [...sorted].reverse().find((p) => at(gpu, p.model));
  const last = largest && largest.model !== d.model ? pair(largest.model) : null;
  if (last) parts.push(`at ${formatParams(largest!.totalParams)} (${largest!.model}) ${last}`);
  return parts.length ? `${capitalise(parts.join('; '))}.` : `No model has a point on both ${wafer.fabric} and ${gpu.fabric}.`;
}

/** "wse3, batch 1 → 256: total ×40, per user ÷6; h100: total ×120, per user ÷2." */
export function batchTakeaway(sweeps: BatchSweep[]): string {
  const parts = sweeps
    .filter((s) => s.points.length > 1)
    .map((s) => {
      const a = s.points[0];
      const b = s.points[s.points.length - 1];
      const fall = a.decodeTokensPerSecond / b.decodeTokensPerSecond;
      const why = s.kind === 'wafer' ? 'users take turns in the layer pipeline' : 'the weights are read once per step for every user';
      return `${s.fabric}, batch ${a.batch} → ${b.batch}: total ×${ratio(b.aggregateTokensPerSecond / a.aggregateTokensPerSecond)}, per user ${fall >= 1 ? `÷${ratio(fall)}` : `×${ratio(1 / fall)}`} (${why})`;
    });
  return parts.length ? `${parts.join('; ')}.` : 'Batch sweep: one batch size only.';
}

export interface MemoryWallOptions {
  /** Write the takeaways under the chart (default true; a page that writes them as text beside it says false). */
  takeaways?: boolean;
}

export function memoryWallSvg(d: MemoryWallData, o: MemoryWallOptions = {}): string {
  const withTakeaways = o.takeaways !== false;
  const fabrics: { name: string; kind: 'gpu' | 'wafer' }[] = [];
  for (const s of [...d.modelSweep, ...d.batchSweep, ...(d.marks ?? [])]) if (!fabrics.some((f) => f.name === s.fabric)) fabrics.push({ name: s.fabric, kind: s.kind });
  const colourOf = (f: string) => paletteColour(Math.max(0, fabrics.findIndex((x) => x.name === f)));
  const title = `Where the memory wall moves: ${d.dtype} weights, prompt ${d.promptLength}, context ${d.contextLength}; each fabric at the fewest wafers or GPUs that hold the model`;
  const height = withTakeaways ? HEIGHT_PX : TAKEAWAY_Y - 20;
  return svgRoot(WIDTH_PX, height, { id: 'memory-wall', role: 'img', 'aria-label': title }, [
    el('rect', { x: 0, y: 0, width: WIDTH_PX, height, fill: '#fff' }),
    text(WIDTH_PX / 2, 22, title, { 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 'bold' }),
    sizePanel(d, colourOf),
    batchPanel(d, colourOf),
    legendRows(d, fabrics, colourOf),
    !withTakeaways ? '' : el('g', { class: 'takeaway' }, [...wrap(`Left: ${sizeTakeaway(d)}`, TAKEAWAY_CHARS).map((l, i) => text(20, TAKEAWAY_Y + 16 * i, l, { 'font-size': 12, class: 'takeaway-size' })), ...wrap(`Right: ${batchTakeaway(d.batchSweep)}`, TAKEAWAY_CHARS).map((l, i) => text(20, TAKEAWAY_Y + 36 + 16 * i, l, { 'font-size': 12, class: 'takeaway-batch' }))]),
  ]);
}
