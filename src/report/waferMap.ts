// The wafer map: one cell per tile of the logical mesh. Mode "roles" colours each used tile by its role (hub, qkv,
// attention/KV, o, gate/up, down, expert, embedding, LM head, relay), alternate layers lighter, marks dead tiles and
// draws the routes of one colour (arrows along its links, a ring where it leaves a ramp, a square where it enters
// one). Mode "busy" is a heatmap of each tile's CE busy cycles as a share of the run's cycles.
// Meshes wider than MAX_CELLS_PER_SIDE are drawn in blocks of k×k tiles (the block's commonest role, mean busy).
import type { Port } from '../../fabric/isa/types.js';
import { ROLE_GROUPS, type ReportData, type ReportTile, type RoleGroup } from '../study/reportData.js';
import { el, esc, heatColour, svgRoot, text } from './svg.js';

export const ROLE_COLOURS: Readonly<Record<RoleGroup, string>> = {
  hub: '#6a3d9a',
  qkv: '#1f78b4',
  'attention-kv': '#33a02c',
  o: '#17becf',
  'gate-up': '#ff7f00',
  down: '#e31a1c',
  expert: '#b15928',
  embedding: '#f781bf',
  'lm-head': '#984ea3',
  relay: '#8c8c8c',
  other: '#c7c7c7',
};

const ROLE_LABELS: Readonly<Record<RoleGroup, string>> = {
  hub: 'hub (norms, residual, routing)',
  qkv: 'q/k/v projection',
  'attention-kv': 'attention + KV cache',
  o: 'attention output (o)',
  'gate-up': 'MLP gate/up',
  down: 'MLP down',
  expert: 'MoE expert',
  embedding: 'embedding',
  'lm-head': 'LM head',
  relay: 'relay (router only)',
  other: 'other',
};

const MAX_MAP_PX = 640;
const MAX_CELLS_PER_SIDE = 320;
const LEGEND_PX = 210;
const UNUSED_FILL = '#f3f3f3';
const DEAD_FILL = '#222222';

export interface WaferMapOptions {
  mode: 'roles' | 'busy';
  /** Colour whose routes to draw in "roles" mode; null draws none. */
  routeColour?: number | null;
}

/** Mixes a #rrggbb colour with white by `f` (0: unchanged, 1: white). */
export function lighten(hex: string, f: number): string {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${c.map((v) => Math.round(v + (255 - v) * f).toString(16).padStart(2, '0')).join('')}`;
}

export function roleFill(t: Pick<ReportTile, 'group' | 'layer'>): string {
  const base = ROLE_COLOURS[t.group];
  return t.layer !== null && t.layer % 2 === 1 ? lighten(base, 0.4) : base;
}

/** Share of all link hops a colour needs to be the default one drawn (the sparsest readable example). */
const DEFAULT_COLOUR_MIN_HOP_SHARE = 0.02;

/**
 * The colour the map draws by default: colours are reused by many streams, so the busiest one covers the map; this
 * takes the least-used colour that still carries ≥ 2% of the link hops (null if the program has no routes).
 */
export function defaultRouteColour(d: ReportData): number | null {
  const hops = new Map<number, number>();
  for (const t of d.tiles) for (const [c, , to] of t.routes) hops.set(c, (hops.get(c) ?? 0) + to.filter((p) => p !== 'ramp').length);
  const total = [...hops.values()].reduce((a, b) => a + b, 0);
  const candidates = [...hops].filter(([, n]) => n > 0 && n >= DEFAULT_COLOUR_MIN_HOP_SHARE * total).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return candidates.length ? candidates[0][0] : null;
}

const STEP: Readonly<Record<Exclude<Port, 'ramp'>, [number, number]>> = { N: [0, -1], S: [0, 1], E: [1, 0], W: [-1, 0] };

interface Grid {
  k: number;
  cols: number;
  rows: number;
  cellPx: number;
}

function grid(d: ReportData): Grid {
  const side = Math.max(d.widthTiles, d.heightTiles);
  const k = Math.max(1, Math.ceil(side / MAX_CELLS_PER_SIDE));
  const cols = Math.ceil(d.widthTiles / k);
  const rows = Math.ceil(d.heightTiles / k);
  const cellPx = Math.max(1, Math.floor(MAX_MAP_PX / Math.max(cols, rows)));
  return { k, cols, rows, cellPx };
}

function busyFraction(d: ReportData, t: ReportTile): number {
  const total = d.run?.totalCycles ?? 0;
  return t.busyCycles === null || total <= 0 ? NaN : t.busyCycles / total;
}

/** One cell per tile (k = 1), or per k×k block. */
function cells(d: ReportData, g: Grid, mode: WaferMapOptions['mode']): string[] {
  const out: string[] = [];
  const maxBusy = Math.max(0, ...d.tiles.map((t) => busyFraction(d, t)).filter(Number.isFinite));
  if (g.k === 1) {
    for (const t of d.tiles) {
      const f = busyFraction(d, t);
      const fill = mode === 'roles' ? roleFill(t) : t.group === 'relay' ? UNUSED_FILL : heatColour(maxBusy > 0 ? f / maxBusy : NaN);
      const tip = `(${t.x},${t.y}) ${t.role}: ${(t.sramBytes / 1024).toFixed(1)} KiB SRAM${Number.isFinite(f) ? `, busy ${(100 * f).toFixed(1)}% of ${d.run!.totalCycles} cycles` : ''}`;
      out.push(el('rect', { x: t.x * g.cellPx, y: t.y * g.cellPx, width: g.cellPx, height: g.cellPx, fill, class: `tile role-${t.group}` }, el('title', {}, esc(tip))));
    }
    return out;
  }
  const blocks = new Map<number, ReportTile[]>();
  for (const t of d.tiles) {
    const b = Math.floor(t.y / g.k) * g.cols + Math.floor(t.x / g.k);
    (blocks.get(b) ?? blocks.set(b, []).get(b)!).push(t);
  }
  for (const [b, ts] of blocks) {
    const counts = new Map<RoleGroup, number>();
    for (const t of ts) counts.set(t.group, (counts.get(t.group) ?? 0) + 1);
    const group = [...counts].sort((a, c) => c[1] - a[1] || ROLE_GROUPS.indexOf(a[0]) - ROLE_GROUPS.indexOf(c[0]))[0][0];
    const busy = ts.map((t) => busyFraction(d, t)).filter(Number.isFinite);
    const mean = busy.length ? busy.reduce((s, v) => s + v, 0) / busy.length : NaN;
    const fill = mode === 'roles' ? ROLE_COLOURS[group] : heatColour(maxBusy > 0 ? mean / maxBusy : NaN);
    out.push(el('rect', { x: (b % g.cols) * g.cellPx, y: Math.floor(b / g.cols) * g.cellPx, width: g.cellPx, height: g.cellPx, fill, class: `tile role-${group}` }));
  }
  return out;
}

function deadMarks(d: ReportData, g: Grid): string {
  const s = g.cellPx;
  const cores = d.deadCores.map(([x, y]) => {
    const X = Math.floor(x / g.k) * s;
    const Y = Math.floor(y / g.k) * s;
    return el('g', { class: 'dead-core' }, [el('title', {}, esc(`(${x},${y}) dead core, live router`)), el('rect', { x: X + s * 0.15, y: Y + s * 0.15, width: s * 0.7, height: s * 0.7, fill: 'none', stroke: DEAD_FILL, 'stroke-width': Math.max(1, s / 6) })]);
  });
  return el(
    'g',
    { class: 'dead-tiles' },
    [...cores, ...d.deadTiles.map(([x, y]) => {
      const X = Math.floor(x / g.k) * s;
      const Y = Math.floor(y / g.k) * s;
      return el('g', { class: 'dead' }, [
        el('title', {}, esc(`(${x},${y}) dead tile`)),
        el('rect', { x: X, y: Y, width: s, height: s, fill: DEAD_FILL }),
        s >= 4 ? el('path', { d: `M${X + 1},${Y + 1}L${X + s - 1},${Y + s - 1}M${X + s - 1},${Y + 1}L${X + 1},${Y + s - 1}`, stroke: '#ff4d4d', 'stroke-width': Math.max(1, s / 6) }) : '',
      ]);
    })],
  );
}

function routeMarks(d: ReportData, g: Grid, colour: number): string {
  const s = g.cellPx;
  const centre = (x: number, y: number): [number, number] => [(Math.floor(x / g.k) + 0.5) * s, (Math.floor(y / g.k) + 0.5) * s];
  const parts: string[] = [];
  for (const t of d.tiles) {
    for (const [c, from, to] of t.routes) {
      if (c !== colour) continue;
      const [cx, cy] = centre(t.x, t.y);
      if (from === 'ramp') parts.push(el('circle', { class: 'route-source', cx, cy, r: Math.max(1.5, s * 0.35), fill: 'none', stroke: '#000', 'stroke-width': 1.5 }));
      for (const p of to) {
        if (p === 'ramp') {
          const h = Math.max(1, s * 0.3);
          parts.push(el('rect', { class: 'route-sink', x: cx - h, y: cy - h, width: 2 * h, height: 2 * h, fill: 'none', stroke: '#000', 'stroke-width': 1.2 }));
          continue;
        }
        const [dx, dy] = STEP[p];
        const [nx, ny] = centre(t.x + dx, t.y + dy);
        parts.push(el('line', { class: 'route-link', x1: cx, y1: cy, x2: nx, y2: ny, stroke: '#000', 'stroke-width': Math.max(1, s / 8), 'marker-end': 'url(#route-arrow)' }));
      }
    }
  }
  return el('g', { class: 'routes', 'data-colour': colour }, parts);
}

function legendRoles(d: ReportData, x0: number, routeColour: number | null): string {
  const present = ROLE_GROUPS.filter((r) => d.tiles.some((t) => t.group === r));
  const rows = present.map((r, i) =>
    el('g', {}, [el('rect', { x: x0, y: 8 + i * 17, width: 12, height: 12, fill: ROLE_COLOURS[r] }), el('rect', { x: x0 + 13, y: 8 + i * 17, width: 12, height: 12, fill: lighten(ROLE_COLOURS[r], 0.4) }), text(x0 + 30, 18 + i * 17, ROLE_LABELS[r])]),
  );
  let y = 8 + present.length * 17 + 6;
  const extra = [text(x0, y + 10, 'dark / light: even / odd layer', { fill: '#555', 'font-size': 10 })];
  y += 18;
  extra.push(el('rect', { x: x0, y, width: 12, height: 12, fill: UNUSED_FILL, stroke: '#ccc' }), text(x0 + 30, y + 10, 'unused tile'));
  y += 17;
  extra.push(el('rect', { x: x0, y, width: 12, height: 12, fill: DEAD_FILL }), text(x0 + 30, y + 10, `dead tile (${d.deadTiles.length})`));
  y += 17;
  extra.push(el('rect', { x: x0 + 2, y: y + 2, width: 8, height: 8, fill: 'none', stroke: DEAD_FILL, 'stroke-width': 2 }), text(x0 + 30, y + 10, `dead core, live router (${d.deadCores.length})`));
  if (routeColour !== null) {
    y += 22;
    extra.push(text(x0, y + 10, `routes of colour ${routeColour}:`, { 'font-weight': 'bold' }));
    y += 16;
    extra.push(el('circle', { cx: x0 + 6, cy: y + 6, r: 4, fill: 'none', stroke: '#000', 'stroke-width': 1.5 }), text(x0 + 30, y + 10, 'leaves a ramp (sender)'));
    y += 16;
    extra.push(el('rect', { x: x0 + 2, y: y + 2, width: 8, height: 8, fill: 'none', stroke: '#000' }), text(x0 + 30, y + 10, 'enters a ramp (receiver)'));
  }
  return el('g', { class: 'legend' }, [...rows, ...extra]);
}

function legendHeat(d: ReportData, x0: number, heightPx: number): string {
  const fr = d.tiles.map((t) => busyFraction(d, t)).filter(Number.isFinite);
  const maxBusy = Math.max(0, ...fr);
  const steps = 20;
  const barH = Math.min(240, heightPx - 60);
  const parts = Array.from({ length: steps }, (_, i) => el('rect', { x: x0, y: 20 + (barH * (steps - 1 - i)) / steps, width: 16, height: barH / steps + 0.5, fill: heatColour(i / (steps - 1)) }));
  parts.push(text(x0, 14, 'CE busy, % of run cycles', { 'font-weight': 'bold' }));
  parts.push(text(x0 + 22, 28, `${(100 * maxBusy).toFixed(1)}%`), text(x0 + 22, 20 + barH, '0%'));
  parts.push(el('rect', { x: x0, y: barH + 34, width: 16, height: 12, fill: UNUSED_FILL, stroke: '#ccc' }), text(x0 + 22, barH + 44, 'no program / relay'));
  parts.push(el('rect', { x: x0, y: barH + 52, width: 16, height: 12, fill: heatColour(NaN) }), text(x0 + 22, barH + 62, 'no run data'));
  return el('g', { class: 'legend' }, parts);
}

export function waferMapSvg(d: ReportData, o: WaferMapOptions): string {
  const g = grid(d);
  const w = g.cols * g.cellPx;
  const h = g.rows * g.cellPx;
  const routeColour = o.mode === 'roles' ? (o.routeColour ?? null) : null;
  const defs = el('defs', {}, el('marker', { id: 'route-arrow', viewBox: '0 0 6 6', refX: 5, refY: 3, markerWidth: 4, markerHeight: 4, orient: 'auto-start-reverse' }, el('path', { d: 'M0,0L6,3L0,6Z', fill: '#000' })));
  const heightPx = Math.max(h, 300);
  const title = o.mode === 'roles' ? `${d.model} on ${d.fabric} (${d.widthTiles}×${d.heightTiles}${g.k > 1 ? `, ${g.k}×${g.k} tiles per cell` : ''}): tiles by role and layer` : `${d.model} on ${d.fabric}: CE busy cycles per tile (${d.busySource})`;
  return svgRoot(w + LEGEND_PX + 10, heightPx, { id: o.mode === 'roles' ? 'wafer-map' : 'wafer-heatmap', role: 'img', 'aria-label': title }, [
    el('title', {}, esc(title)),
    defs,
    el('rect', { x: 0, y: 0, width: w, height: h, fill: UNUSED_FILL, stroke: '#999' }),
    el('g', { class: 'tiles' }, cells(d, g, o.mode)),
    deadMarks(d, g),
    routeColour !== null ? routeMarks(d, g, routeColour) : '',
    o.mode === 'roles' ? legendRoles(d, w + 12, routeColour) : legendHeat(d, w + 12, heightPx),
  ]);
}
