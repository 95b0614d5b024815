// The SRAM-fill histogram: how many placed tiles (relays left out) hold what share of their SRAM, in 5% bins.
import type { ReportData } from '../study/reportData.js';
import { axes, el, esc, linearScale, linearTicks, svgRoot, text } from './svg.js';

export const SRAM_BINS = 20;
const WIDTH_PX = 560;
const HEIGHT_PX = 300;
const PLOT = { x0: 60, x1: 540, top: 36, bottom: 250 };

/** Tile counts per fill bin [i/SRAM_BINS, (i+1)/SRAM_BINS); a full tile lands in the last bin. */
export function sramFillBins(d: Pick<ReportData, 'tiles' | 'sramBytesPerTile'>): number[] {
  const bins = new Array<number>(SRAM_BINS).fill(0);
  for (const t of d.tiles) {
    if (t.group === 'relay') continue;
    bins[Math.min(SRAM_BINS - 1, Math.floor((SRAM_BINS * t.sramBytes) / d.sramBytesPerTile))]++;
  }
  return bins;
}

export function sramHistogramSvg(d: ReportData): string {
  const bins = sramFillBins(d);
  const placed = bins.reduce((s, n) => s + n, 0);
  const mean = placed ? d.tiles.filter((t) => t.group !== 'relay').reduce((s, t) => s + t.sramBytes, 0) / placed / d.sramBytesPerTile : 0;
  const x = linearScale([0, 100], [PLOT.x0, PLOT.x1]);
  const yMax = Math.max(1, ...bins);
  const y = linearScale([0, yMax * 1.08], [PLOT.bottom, PLOT.top]);
  const binPct = 100 / SRAM_BINS;
  const bars = bins.map((n, i) =>
    el('rect', { class: 'bar', x: x(i * binPct) + 1, y: y(n), width: x(binPct) - x(0) - 2, height: PLOT.bottom - y(n), fill: '#1f78b4' }, el('title', {}, esc(`${n} tiles ${i * binPct}–${(i + 1) * binPct}% full`))),
  );
  const title = `SRAM fill of ${placed} placed tiles (${(d.sramBytesPerTile / 1024).toFixed(0)} KiB each), mean ${(100 * mean).toFixed(1)}%`;
  return svgRoot(WIDTH_PX, HEIGHT_PX, { id: 'sram-histogram', role: 'img', 'aria-label': title }, [
    el('rect', { x: 0, y: 0, width: WIDTH_PX, height: HEIGHT_PX, fill: '#fff' }),
    text(WIDTH_PX / 2, 20, title, { 'text-anchor': 'middle', 'font-weight': 'bold' }),
    axes({ x, y, xLabel: 'SRAM fill (% of the tile)', yLabel: 'tiles', xTicks: linearTicks(0, 100, 10), yTicks: linearTicks(0, yMax * 1.08, 5).filter((v) => Number.isInteger(v)), xFormat: (v) => `${v}%` }),
    el('g', { class: 'bars' }, bars),
  ]);
}
