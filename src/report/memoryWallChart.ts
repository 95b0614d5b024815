// The memory-wall chart of `wafer compare`: two log-log panels in one SVG.
// Left: tokens/s per user (batch 1) against model size over the model presets, one series per fabric; each GPU's
// HBM roofline (HBM bandwidth ÷ weight bytes per token) as a dashed line; each wafer's SRAM capacity edge (the model
// size whose weights fill one wafer) as a dotted vertical line. Right: tokens/s against batch for the chosen model,
// aggregate solid and per user dashed.
import type { CompareResult, HbmRoofline } from '../study/compare.js';
import { axes, el, esc, formatParams, formatSi, legend, logDomain, logScale, logTicks, paletteColour, polyline, svgRoot, text, type Scale } from './svg.js';

const WIDTH_PX = 1060;
const HEIGHT_PX = 540;
const PANEL = { top: 52, bottom: 400, leftX0: 80, leftX1: 500, rightX0: 600, rightX1: 1020 };

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

function rooflinePath(r: HbmRoofline, x: Scale, y: Scale, colour: string): string {
  const pts: [number, number][] = [];
  for (const [a, b] of rooflinePieces(r, x.domain)) {
    const c = clipToY(y, a, b);
    if (c) pts.push([x(c[0][0]), y(c[0][1])], [x(c[1][0]), y(c[1][1])]);
  }
  const label = r.fixedGpus !== null ? `${r.fabric} HBM roofline, ${r.fixedGpus} GPU${r.fixedGpus > 1 ? 's' : ''}` : `${r.fabric} HBM roofline, fewest GPUs (1, 2, 4, …) holding the weights`;
  return el('g', { class: 'roofline', 'data-fabric': r.fabric }, [el('title', {}, esc(label)), polyline(pts, { stroke: colour, 'stroke-width': 1.5, 'stroke-dasharray': '6 4' })]);
}

function sizePanel(c: CompareResult, colourOf: (f: string) => string): string {
  const pts = c.modelSweep.flatMap((s) => s.points);
  const xs = [...pts.map((p) => p.totalParams), ...c.sramEdges.map((e) => e.params), c.totalParams];
  const ys = pts.map((p) => p.decodeTokensPerSecond);
  const x = logScale(logDomain(xs), [PANEL.leftX0, PANEL.leftX1]);
  const y = logScale(logDomain(ys.length ? ys : [1, 10]), [PANEL.bottom, PANEL.top]);
  const parts = [axes({ x, y, xLabel: 'model size (parameters, log)', yLabel: 'tokens/s per user, batch 1 (log)', xTicks: logTicks(...x.domain), yTicks: logTicks(...y.domain), xFormat: formatParams })];
  for (const r of c.hbmRooflines) parts.push(rooflinePath(r, x, y, colourOf(r.fabric)));
  for (const e of c.sramEdges) {
    if (e.params < x.domain[0] || e.params > x.domain[1]) continue;
    const X = x(e.params);
    parts.push(
      el('g', { class: 'sram-edge', 'data-fabric': e.fabric }, [
        el('title', {}, esc(`${e.fabric}: one wafer's ${formatSi(e.sramBytes)}B of SRAM holds ${formatParams(e.params)} parameters at ${e.bytesPerParam} B each`)),
        el('line', { x1: X, y1: PANEL.top, x2: X, y2: PANEL.bottom, stroke: colourOf(e.fabric), 'stroke-width': 1.5, 'stroke-dasharray': '2 3' }),
        text(X + 3, PANEL.top + 12, `${e.fabric} SRAM edge ${formatParams(e.params)}`, { fill: colourOf(e.fabric), 'font-size': 10 }),
      ]),
    );
  }
  for (const s of c.modelSweep) {
    const colour = colourOf(s.fabric);
    const sorted = [...s.points].sort((a, b) => a.totalParams - b.totalParams);
    const marks = sorted.map((p) => {
      const chosen = p.model === c.model;
      const devices = p.devices > 1 ? ` on ${p.devices} ${s.kind === 'gpu' ? 'GPUs' : 'wafers'}` : '';
      return el('g', { class: 'point' }, [
        el('title', {}, esc(`${p.model} (${formatParams(p.totalParams)}, ${formatParams(p.activeParams)} active) on ${s.fabric}${devices}: ${p.decodeTokensPerSecond.toPrecision(3)} tokens/s`)),
        el('circle', { cx: x(p.totalParams), cy: y(p.decodeTokensPerSecond), r: chosen ? 5 : 3, fill: colour, stroke: chosen ? '#000' : 'none' }),
        p.devices > 1 ? text(x(p.totalParams) + 5, y(p.decodeTokensPerSecond) - 4, `×${p.devices}`, { 'font-size': 9, fill: colour }) : '',
      ]);
    });
    parts.push(el('g', { class: 'series', 'data-fabric': s.fabric }, [polyline(sorted.map((p) => [x(p.totalParams), y(p.decodeTokensPerSecond)]), { stroke: colour, 'stroke-width': 1, opacity: 0.5 }), ...marks]));
  }
  parts.push(text((PANEL.leftX0 + PANEL.leftX1) / 2, PANEL.top - 10, 'tokens/s against model size (model presets)', { 'text-anchor': 'middle', 'font-weight': 'bold' }));
  return el('g', { class: 'panel-size' }, parts);
}

function batchPanel(c: CompareResult, colourOf: (f: string) => string): string {
  const pts = c.batchSweep.flatMap((s) => s.points);
  const x = logScale(logDomain(pts.length ? pts.map((p) => p.batch) : [1, 10]), [PANEL.rightX0, PANEL.rightX1]);
  const ys = pts.flatMap((p) => [p.decodeTokensPerSecond, p.aggregateTokensPerSecond]);
  const y = logScale(logDomain(ys.length ? ys : [1, 10]), [PANEL.bottom, PANEL.top]);
  const parts = [axes({ x, y, xLabel: 'batch (sequences decoded together, log)', yLabel: 'tokens/s (log)', xTicks: logTicks(...x.domain), yTicks: logTicks(...y.domain) })];
  for (const s of c.batchSweep) {
    const colour = colourOf(s.fabric);
    const agg = s.points.map((p): [number, number] => [x(p.batch), y(p.aggregateTokensPerSecond)]);
    const user = s.points.map((p): [number, number] => [x(p.batch), y(p.decodeTokensPerSecond)]);
    parts.push(
      el('g', { class: 'series', 'data-fabric': s.fabric }, [
        polyline(agg, { stroke: colour, 'stroke-width': 2 }),
        polyline(user, { stroke: colour, 'stroke-width': 1.5, 'stroke-dasharray': '5 3' }),
        ...s.points.map((p) =>
          el('circle', { cx: x(p.batch), cy: y(p.aggregateTokensPerSecond), r: 3, fill: colour }, el('title', {}, esc(`${s.fabric}, batch ${p.batch}: ${p.aggregateTokensPerSecond.toPrecision(3)} tokens/s aggregate, ${p.decodeTokensPerSecond.toPrecision(3)} per user`))),
        ),
      ]),
    );
  }
  parts.push(text((PANEL.rightX0 + PANEL.rightX1) / 2, PANEL.top - 10, `tokens/s against batch: ${c.model}`, { 'text-anchor': 'middle', 'font-weight': 'bold' }));
  return el('g', { class: 'panel-batch' }, parts);
}

export function memoryWallSvg(c: CompareResult): string {
  const fabrics = [...new Set([...c.rows.map((r) => r.fabric), ...c.modelSweep.map((s) => s.fabric), ...c.batchSweep.map((s) => s.fabric)])];
  const colourOf = (f: string) => paletteColour(fabrics.indexOf(f));
  const kindOf = (f: string) => c.rows.find((r) => r.fabric === f)?.kind ?? c.modelSweep.find((s) => s.fabric === f)?.kind ?? 'wafer';
  const entries = fabrics.map((f) => {
    const row = c.rows.find((r) => r.fabric === f && (r.gpus ?? r.wafers) !== null);
    const n = row?.gpus ?? row?.wafers;
    const unit = kindOf(f) === 'gpu' ? 'GPU' : 'wafer';
    return { label: n ? `${f} (${n} ${unit}${n > 1 ? 's' : ''} for ${c.model}${row!.batch > 1 ? ` at batch ${row!.batch}` : ''})` : f, colour: colourOf(f), marker: true };
  });
  const keys = [
    { label: 'HBM roofline: HBM bandwidth ÷ weight bytes per token', colour: '#555', dash: '6 4' },
    { label: "SRAM edge: weights fill one wafer's SRAM", colour: '#555', dash: '2 3' },
    { label: 'right: aggregate (solid), per user (dashed)', colour: '#555', dash: '5 3' },
  ];
  const moeNote = text(PANEL.rightX0, PANEL.bottom + 60 + keys.length * 15 + 4, 'MoE models can sit above a roofline: a token reads only its chosen experts', { fill: '#555', 'font-size': 10 });
  const title = `Where the memory wall moves: ${c.model} (${formatParams(c.totalParams)} parameters, ${formatParams(c.activeParams)} active), ${c.dtype} weights, prompt ${c.promptLength}`;
  return svgRoot(WIDTH_PX, HEIGHT_PX, { id: 'memory-wall', role: 'img', 'aria-label': title }, [
    el('rect', { x: 0, y: 0, width: WIDTH_PX, height: HEIGHT_PX, fill: '#fff' }),
    text(WIDTH_PX / 2, 22, title, { 'text-anchor': 'middle', 'font-size': 14, 'font-weight': 'bold' }),
    sizePanel(c, colourOf),
    batchPanel(c, colourOf),
    legend(PANEL.leftX0, PANEL.bottom + 60, entries),
    legend(PANEL.rightX0, PANEL.bottom + 60, keys),
    moeNote,
  ]);
}
