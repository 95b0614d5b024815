// Small SVG helpers shared by the chart modules: element strings, escaping, scales, ticks, axes and number formats.
// Every chart is a plain string of SVG (no DOM, no scripts), so it can be written to a file or inlined in HTML.

export type Attrs = Record<string, string | number | undefined>;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text and attribute values for XML/HTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Rounds a coordinate to 0.01 so the output stays short and deterministic. */
export function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `<tag a="1">children</tag>`, or self-closed without children; undefined attributes are left out. */
export function el(tag: string, attrs: Attrs, children?: string | string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? px(v) : esc(v!)}"`)
    .join('');
  if (children === undefined) return `<${tag}${a}/>`;
  return `<${tag}${a}>${Array.isArray(children) ? children.join('') : children}</${tag}>`;
}

export function text(x: number, y: number, s: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, esc(s));
}

/** A root <svg> element with a viewBox of widthPx × heightPx. */
export function svgRoot(widthPx: number, heightPx: number, attrs: Attrs, children: string[]): string {
  return el('svg', { xmlns: 'http://www.w3.org/2000/svg', viewBox: `0 0 ${widthPx} ${heightPx}`, width: widthPx, height: heightPx, 'font-family': 'sans-serif', 'font-size': 11, ...attrs }, children);
}

export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
  log: boolean;
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const span = d1 - d0 || 1;
  const f = ((v: number) => range[0] + ((v - d0) / span) * (range[1] - range[0])) as Scale;
  return Object.assign(f, { domain, range, log: false });
}

export function logScale(domain: [number, number], range: [number, number]): Scale {
  const l0 = Math.log10(domain[0]);
  const span = Math.log10(domain[1]) - l0 || 1;
  const f = ((v: number) => range[0] + ((Math.log10(v) - l0) / span) * (range[1] - range[0])) as Scale;
  return Object.assign(f, { domain, range, log: true });
}

/** A [min, max] domain widened to whole powers of ten (for log axes); values must be positive. */
export function logDomain(values: number[]): [number, number] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return [1, 10];
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...pos))));
  let hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...pos))));
  if (hi <= lo) hi = lo * 10;
  return [lo, hi];
}

/** Powers of ten within [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) out.push(Math.pow(10, e));
  return out;
}

/** About `count` round ticks in [lo, hi] (1, 2 or 5 × a power of ten apart). */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** 1234 -> "1.2k", 7.06e10 -> "70.6G"; below 1000 up to 3 significant digits. */
export function formatSi(v: number): string {
  if (v === 0) return '0';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [f, u] of units) if (Math.abs(v) >= f) return `${trim(v / f)}${u}`;
  if (Math.abs(v) >= 1) return trim(v);
  return Number(v.toPrecision(2)).toString();
}

function trim(v: number): string {
  return Number(v.toPrecision(v >= 100 ? 3 : 2)).toString();
}

/** Parameter counts the way people say them: 8.03e9 -> "8B", 124e6 -> "124M". */
export function formatParams(n: number): string {
  return formatSi(n).replace(/G$/, 'B');
}

/** Colour-blind-friendly categorical palette (Okabe–Ito, then Tableau extras). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#7F7F7F', '#F0E442', '#8C564B', '#17BECF', '#BCBD22', '#9467BD'];

export function paletteColour(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** White (0) → yellow → red (1): a sequential ramp for heatmaps; NaN gives grey. */
export function heatColour(f: number): string {
  if (!Number.isFinite(f)) return '#bbbbbb';
  const t = Math.max(0, Math.min(1, f));
  const stops: [number, number, number][] = [
    [255, 255, 229],
    [254, 217, 118],
    [253, 141, 60],
    [227, 26, 28],
    [128, 0, 38],
  ];
  const s = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(s));
  const u = s - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * u));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export interface AxisOptions {
  x: Scale;
  y: Scale;
  xLabel: string;
  yLabel: string;
  xTicks: number[];
  yTicks: number[];
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

/** Grid lines, tick labels and axis titles for a plot area given by the scales' ranges. */
export function axes(o: AxisOptions): string {
  const [x0, x1] = o.x.range;
  const [y0, y1] = o.y.range; // y0 is the bottom
  const xf = o.xFormat ?? formatSi;
  const yf = o.yFormat ?? formatSi;
  const parts: string[] = [el('rect', { x: x0, y: y1, width: x1 - x0, height: y0 - y1, fill: 'none', stroke: '#444' })];
  for (const t of o.xTicks) {
    const X = o.x(t);
    parts.push(el('line', { x1: X, y1: y0, x2: X, y2: y1, stroke: '#e3e3e3' }), text(X, y0 + 14, xf(t), { 'text-anchor': 'middle', fill: '#333' }));
  }
  for (const t of o.yTicks) {
    const Y = o.y(t);
    parts.push(el('line', { x1: x0, y1: Y, x2: x1, y2: Y, stroke: '#e3e3e3' }), text(x0 - 5, Y + 4, yf(t), { 'text-anchor': 'end', fill: '#333' }));
  }
  parts.push(text((x0 + x1) / 2, y0 + 32, o.xLabel, { 'text-anchor': 'middle', 'font-size': 12 }));
  const ym = (y0 + y1) / 2;
  parts.push(text(x0 - 48, ym, o.yLabel, { 'text-anchor': 'middle', 'font-size': 12, transform: `rotate(-90 ${px(x0 - 48)} ${px(ym)})` }));
  return el('g', { class: 'axes' }, parts);
}

/** A polyline through points (skipping none); empty string for fewer than one point. */
export function polyline(points: [number, number][], attrs: Attrs): string {
  if (points.length === 0) return '';
  return el('polyline', { points: points.map(([x, y]) => `${px(x)},${px(y)}`).join(' '), fill: 'none', ...attrs });
}

/** A legend: one row per entry (colour swatch, optional dash, label) starting at (x, y). */
export function legend(x: number, y: number, entries: { label: string; colour: string; dash?: string; marker?: boolean }[]): string {
  return el(
    'g',
    { class: 'legend' },
    entries.map((e, i) => {
      const Y = y + i * 15;
      return [
        el('line', { x1: x, y1: Y, x2: x + 18, y2: Y, stroke: e.colour, 'stroke-width': 2, 'stroke-dasharray': e.dash }),
        e.marker ? el('circle', { cx: x + 9, cy: Y, r: 3, fill: e.colour }) : '',
        text(x + 23, Y + 4, e.label),
      ].join('');
    }),
  );
}
