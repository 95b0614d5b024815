// The report as ONE self-contained HTML file: inline CSS and inline SVG, no scripts, no fonts, no network. It opens
// with a summary a newcomer reads first — what ran, on what, with which faults, the headline ratio with its caveats,
// links to the sections — and each chart has a one-line takeaway under it, computed from the same data it draws.
import type { Headline } from '../study/headline.js';
import type { ReportData } from '../study/reportData.js';
import { describeFaults, describeSetting } from '../study/setting.js';
import { batchTakeaway, memoryWallSvg, ratio, sizeTakeaway } from './memoryWallChart.js';
import { nocChartSvg } from './nocChart.js';
import { sramFillBins, sramHistogramSvg } from './sramHistogram.js';
import { htmlPage } from './page.js';
import { esc, formatParams } from './svg.js';
import { defaultRouteColour, waferMapSvg } from './waferMap.js';

const CSS = `
body { font-family: sans-serif; margin: 24px auto; max-width: 1120px; color: #222; background: #fff; padding: 0 12px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.sub, p.note { color: #555; margin: 4px 0 10px; font-size: 13px; }
p.takeaway { margin: 2px 0 10px; font-size: 14px; }
p.takeaway::before { content: "→ "; color: #0072B2; font-weight: bold; }
.glance { border: 1px solid #cfd8e3; background: #f6f9fc; border-radius: 6px; padding: 10px 16px; margin: 12px 0 18px; font-size: 14px; }
.glance p { margin: 6px 0; }
.glance .headline { font-size: 17px; }
.glance ul.caveats { margin: 4px 0 6px 18px; padding: 0; color: #555; font-size: 12.5px; }
.glance nav a { margin-right: 14px; }
.toy-tag { display: inline-block; font-size: 12px; font-weight: normal; background: #fff3d6; border: 1px solid #e6b800; border-radius: 3px; padding: 0 6px; margin-left: 8px; vertical-align: middle; }
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
const tps = (v: number) => Math.round(v).toLocaleString('en-US');
const devicesOf = (n: number, fabric: string, unit: string) => (n === 1 ? `one ${fabric}` : `${n} ${fabric} ${unit}s`);

/** Is the run a toy beside a real-size headline (the demo): then its sections say so. */
function isToyBesideRealSize(d: ReportData): boolean {
  return d.headline !== null && d.headline.model !== d.model;
}

function whatRan(d: ReportData): string {
  const used = d.tiles.filter((t) => t.group !== 'relay').length;
  const mesh = `${d.fabric} (${d.widthTiles}×${d.heightTiles} tiles)`;
  const faults = d.faults ? `with ${describeFaults(d.faults)}` : d.deadTiles.length ? `with ${d.deadTiles.length} dead tiles` : 'fault-free';
  const ran = d.run
    ? `ran ${d.run.tokens.length} tokens cycle by cycle at ${tps(d.run.tokensPerSecond)} tokens/s, ${d.run.matchesReference ? 'every one matching the reference forward pass' : 'NOT matching the reference forward pass'}`
    : 'no mesh run (the model has no weights): map, SRAM and memory wall only';
  return `<b>What ran:</b> ${esc(d.model)} (${esc(d.dtype)} weights) compiled onto ${esc(mesh)} ${esc(faults)}, ${used} tiles holding it; ${esc(ran)}.`;
}

function headlineLine(h: Headline): string {
  const w = h.wafer.point;
  const g = h.gpu.point;
  const times = `${ratio(h.ratio)}× the tokens/s per user of`;
  return `<p class="headline"><b>Headline:</b> ${esc(h.model)} (${esc(formatParams(h.totalParams))} parameters): ${esc(devicesOf(w.devices, h.wafer.fabric, 'wafer'))} decodes ${esc(times)} ${esc(devicesOf(g.devices, h.gpu.fabric, 'GPU'))} — ${tps(w.decodeTokensPerSecond)} against ${tps(g.decodeTokensPerSecond)} tokens/s.</p><ul class="caveats">${h.caveats.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>`;
}

function glance(d: ReportData, sections: { id: string; title: string }[]): string {
  const parts = [`<p>${whatRan(d)}</p>`];
  if (d.headline) parts.push(headlineLine(d.headline));
  const own = d.marks.find((m) => m.point.model === d.model);
  if (isToyBesideRealSize(d)) parts.push(`<p>The wafer map, heatmap and SRAM fill below are the <b>toy run</b>: ${own ? `a ${esc(formatParams(own.point.totalParams))}-parameter model` : 'a model'} small enough to simulate every tile. The memory wall is <b>real size</b>: every model preset projected onto full wafers and estimated on GPUs; the toy run sits on it as diamonds.</p>`);
  parts.push(`<nav>Sections: ${sections.map((s) => `<a href="#${s.id}">${esc(s.title)}</a>`).join('')}</nav>`);
  return `<div class="glance" id="summary">${parts.join('')}</div>`;
}

function details(d: ReportData): string {
  const used = d.tiles.filter((t) => t.group !== 'relay').length;
  const rows = [
    row('model', `${d.model} (${d.dtype} weights)`),
    row('fabric', `${d.fabric}: ${d.widthTiles}×${d.heightTiles} tiles, ${(d.sramBytesPerTile / 1024).toFixed(0)} KiB SRAM each, ${(d.clockHz / 1e6).toFixed(0)} MHz`),
    row('faults', describeFaults(d.faults)),
    row('placement', `${used} tiles hold the model, ${d.tiles.length - used} relay only; ${d.deadTiles.length} dead tiles and ${d.deadCores.length} dead cores on the map${d.hiddenDefects ? `, ${d.hiddenDefects} defects hidden by remap` : ''} (repair: ${d.repair})`),
    row('schedule estimate', `${d.expectedTokensPerSecond.toFixed(0)} tokens/s (streams sharing a link take turns)`),
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
  // Every assumption the costs rest on (docs/assumptions.md), at the value this run's fabric holds.
  for (const a of d.assumptions ?? []) rows.push(row(`assumed: ${a.name}`, `${a.value} ${a.unit}${a.value !== a.default ? ` (default ${a.default})` : ''}; plausible ${a.low}–${a.high}; ${a.source}`));
  return `<table class="summary">${rows.join('')}</table>`;
}

function mapTakeaway(d: ReportData): string {
  const used = d.tiles.filter((t) => t.group !== 'relay').length;
  const relays = d.tiles.length - used;
  return `${used} of ${d.widthTiles * d.heightTiles} tiles hold ${d.model}${relays ? `, ${relays} more only relay` : ''}; ${d.deadTiles.length + d.deadCores.length} defective tiles are routed around.`;
}

function heatTakeaway(d: ReportData): string {
  if (!d.run) return 'No run: no busy cycles to show.';
  const busy = d.tiles.filter((t) => t.busyCycles !== null && t.group !== 'relay').map((t) => ({ t, f: t.busyCycles! / d.run!.totalCycles }));
  if (!busy.length) return 'No placed tile reported busy cycles.';
  const top = busy.reduce((a, b) => (b.f > a.f ? b : a));
  const mean = busy.reduce((s, b) => s + b.f, 0) / busy.length;
  const idle = mean < top.f / 2 ? ': one token at a time flows through the layers, so most tiles wait for their turn' : '';
  return `The busiest tile (${top.t.role}, a ${top.t.group} tile) computes ${pct(top.f)} of the run's cycles, the mean placed tile ${pct(mean)}${idle}.`;
}

function sramTakeaway(d: ReportData): string {
  const bins = sramFillBins(d);
  const placed = bins.reduce((s, n) => s + n, 0);
  const tiles = d.tiles.filter((t) => t.group !== 'relay');
  if (!placed) return 'No placed tiles.';
  const fullest = Math.max(...tiles.map((t) => t.sramBytes)) / d.sramBytesPerTile;
  const mean = tiles.reduce((s, t) => s + t.sramBytes, 0) / tiles.length / d.sramBytesPerTile;
  const why = mean < 0.5 ? ': the model is spread over more tiles than its bytes need, so more of it computes in parallel' : '';
  return `Placed tiles hold ${pct(mean)} of their SRAM on average and the fullest ${pct(fullest)}${why}.`;
}

function section(id: string, title: string, note: string, svg: string, takeaway: string | string[], tag = ''): string {
  const lines = (Array.isArray(takeaway) ? takeaway : [takeaway]).map((t) => `<p class="takeaway">${esc(t)}</p>`).join('');
  return `<section id="${id}"><h2>${esc(title)}${tag}</h2><p class="note">${esc(note)}</p><figure>${svg}</figure>${lines}</section>`;
}

export function reportHtml(d: ReportData, o: ReportHtmlOptions = {}): string {
  const routeColour = o.routeColour === undefined ? defaultRouteColour(d) : o.routeColour;
  const toy = isToyBesideRealSize(d);
  const tag = toy ? '<span class="toy-tag">toy run</span>' : '';
  const on = `${d.model} on ${d.fabric}`;
  const sections: { id: string; title: string; html: string }[] = [
    { id: 'map', title: `Wafer map: ${on}`, html: section('map', `Wafer map: ${on}`, `Each cell is a tile; colour = role, alternate layers lighter; crossed cells are defective. ${routeColour !== null ? `Arrows: the routes of colour ${routeColour}${o.routeColour === undefined ? ' (the least-used colour carrying at least 2% of the link hops; --route-colour picks another)' : ''}.` : ''} Hover a tile for its role and SRAM.`, waferMapSvg(d, { mode: 'roles', routeColour }), mapTakeaway(d), tag) },
    { id: 'heatmap', title: 'Tile busy heatmap', html: section('heatmap', `Tile busy heatmap: ${on}`, d.run ? `CE busy cycles per tile over the whole run (${d.run.totalCycles} cycles, prefill and decode), from the mesh engine's statistics; the scale runs to the busiest tile.` : 'No run: nothing to show.', waferMapSvg(d, { mode: 'busy' }), heatTakeaway(d), tag) },
    { id: 'sram', title: 'SRAM fill', html: section('sram', `SRAM fill: ${on}`, "Bytes of buffers (weights, KV cache, activations) per placed tile, as a share of the tile's SRAM.", sramHistogramSvg(d), sramTakeaway(d), tag) },
  ];
  if (d.compare) {
    const c = d.compare;
    const fabrics = [...new Set(c.modelSweep.map((s) => s.fabric))].join(', ');
    const settings = d.headline ? ` Wafer points: ${describeSetting(d.headline.wafer.point.setting)}. GPU points: ${describeSetting(d.headline.gpu.point.setting)}.` : '';
    const note = `${toy ? 'Real size: ' : ''}every model preset on ${fabrics}; hover a point for the setting behind it.${settings} ${c.notes.join(' ')}`;
    sections.push({ id: 'memory-wall-section', title: 'The memory wall', html: section('memory-wall-section', `The memory wall${toy ? ': real size' : ''}`, note, memoryWallSvg({ ...c, marks: d.marks }, { takeaways: false }), [`Left: ${sizeTakeaway(c)}`, `Right: ${batchTakeaway(c.batchSweep)}`]) });
  }
  if (d.noc) sections.push({ id: 'noc', title: 'NoC latency–throughput', html: section('noc', 'NoC latency–throughput', `wafer noc --sweep: ${d.noc.sweep.length} loads on a ${d.noc.width}×${d.noc.height} mesh.`, nocChartSvg(d.noc), nocTakeaway(d)) });
  const title = `wafer report: ${d.model} on ${d.fabric}`;
  return htmlPage({
    title,
    heading: toy ? `${title} (toy run), and the real-size memory wall` : title,
    subHtml: 'Generated by wafer; self-contained (inline SVG and CSS, no scripts). Hover any point or tile for its figures.',
    css: CSS,
    body: [glance(d, sections), details(d), ...sections.map((s) => s.html)],
  });
}

function nocTakeaway(d: ReportData): string {
  const n = d.noc!;
  const sat = n.sweep.find((p) => p.saturated);
  const first = n.sweep[0];
  return sat ? `Latency stays near ${first.meanLatencyCycles?.toFixed(0) ?? '-'} cycles until the offered load reaches ${sat.offeredRate.toPrecision(2)} wavelets per tile per cycle, where the mesh saturates.` : `No load in the sweep saturates the mesh (up to ${n.sweep[n.sweep.length - 1].offeredRate.toPrecision(2)}).`;
}
