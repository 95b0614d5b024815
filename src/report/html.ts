// The report as ONE self-contained HTML file: inline CSS and inline SVG, no scripts, no fonts, no network.
import { memoryWallSvg } from './memoryWallChart.js';
import { nocChartSvg } from './nocChart.js';
import type { ReportData } from '../study/reportData.js';
import { sramHistogramSvg } from './sramHistogram.js';
import { esc } from './svg.js';
import { defaultRouteColour, waferMapSvg } from './waferMap.js';

const CSS = `
body { font-family: sans-serif; margin: 24px auto; max-width: 1120px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.sub, p.note { color: #555; margin: 4px 0 10px; font-size: 13px; }
table.summary { border-collapse: collapse; font-size: 13px; }
table.summary td { padding: 3px 14px 3px 0; vertical-align: top; }
table.summary td:first-child { color: #555; white-space: nowrap; }
figure { margin: 8px 0; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
`;

export interface ReportHtmlOptions {
  /** Colour whose routes the wafer map draws (default: defaultRouteColour). */
  routeColour?: number | null;
}

function row(label: string, value: string): string {
  return `<tr><td>${esc(label)}</td><td>${esc(value)}</td></tr>`;
}

const pct = (f: number) => `${(100 * f).toFixed(1)}%`;

function summary(d: ReportData): string {
  const used = d.tiles.filter((t) => t.group !== 'relay').length;
  const rows = [
    row('model', `${d.model} (${d.dtype} weights)`),
    row('fabric', `${d.fabric}: ${d.widthTiles}×${d.heightTiles} tiles, ${(d.sramBytesPerTile / 1024).toFixed(0)} KiB SRAM each, ${(d.clockHz / 1e6).toFixed(0)} MHz`),
    row('placement', `${used} tiles hold the model, ${d.tiles.length - used} relay only; ${d.deadTiles.length} dead tiles and ${d.deadCores.length} dead cores on the map${d.hiddenDefects ? `, ${d.hiddenDefects} defects hidden by remap` : ''} (repair: ${d.repair})`),
    row('schedule estimate', `${d.expectedTokensPerSecond.toFixed(0)} tokens/s (no link contention)`),
  ];
  const r = d.run;
  if (r) {
    rows.push(
      row('mesh run', `prompt ${r.prompt.join(',')} → tokens ${r.tokens.join(',')}; ${r.steps} steps, ${r.totalCycles} cycles`),
      row('decode', `${Math.round(r.decodeCyclesPerToken)} cycles per token = ${r.tokensPerSecond.toFixed(0)} tokens/s at ${(r.clockHz / 1e6).toFixed(0)} MHz`),
      row('reference check', r.matchesReference ? `every step matches the reference forward pass (max logit error ${r.maxLogitRelativeError.toExponential(1)})` : 'MISMATCH against the reference'),
      row('utilisation', `FMAC ${pct(r.utilisation.fmacOfPeak)} of peak, SRAM bandwidth ${pct(r.utilisation.sramBandwidthOfPeak)}, links ${pct(r.utilisation.linkUtilisation)}, ${pct(r.utilisation.busyTileFraction)} of tiles busy`),
    );
  } else rows.push(row('mesh run', 'none (the model has no weights to run): the heatmap is empty'));
  return `<table class="summary">${rows.join('')}</table>`;
}

function section(id: string, title: string, note: string, svg: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2><p class="note">${esc(note)}</p><figure>${svg}</figure></section>`;
}

export function reportHtml(d: ReportData, o: ReportHtmlOptions = {}): string {
  const routeColour = o.routeColour === undefined ? defaultRouteColour(d) : o.routeColour;
  const parts = [
    section('map', 'Wafer map', `Each cell is a tile; colour = role, alternate layers lighter. ${routeColour !== null ? `Arrows: the routes of colour ${routeColour}${o.routeColour === undefined ? ' (the least-used colour carrying at least 2% of the link hops; --route-colour picks another)' : ''}.` : ''} Hover a tile for its role and SRAM.`, waferMapSvg(d, { mode: 'roles', routeColour })),
    section('heatmap', 'Tile busy heatmap', d.run ? `CE busy cycles per tile over the whole run (${d.run.totalCycles} cycles, prefill and decode), from the mesh engine's statistics; the scale runs to the busiest tile.` : 'No run: nothing to show.', waferMapSvg(d, { mode: 'busy' })),
    section('sram', 'SRAM fill', 'Bytes of buffers (weights, KV cache, activations) per placed tile, as a share of the tile\'s SRAM.', sramHistogramSvg(d)),
  ];
  if (d.compare) {
    parts.push(section('memory-wall-section', 'The memory wall', `The same model and the model presets on ${[...new Set(d.compare.rows.map((r) => r.fabric))].join(', ')} (wafer compare). ${d.compare.notes.join(' ')}`, memoryWallSvg(d.compare)));
  }
  if (d.noc) parts.push(section('noc', 'NoC latency–throughput', `wafer noc --sweep: ${d.noc.sweep.length} loads on a ${d.noc.width}×${d.noc.height} mesh.`, nocChartSvg(d.noc)));
  const title = `wafer report: ${d.model} on ${d.fabric}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<h1>${esc(title)}</h1>`,
    '<p class="sub">Generated by wafer report; self-contained (inline SVG and CSS, no scripts).</p>',
    summary(d),
    ...parts,
    '</body></html>',
    '',
  ].join('\n');
}
