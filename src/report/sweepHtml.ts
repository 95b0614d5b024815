// `wafer sweep report` as one self-contained HTML file: inline CSS and SVG, and one small inline script that sorts
// the table when a column head is clicked (the page reads fine without it).
import type { SweepReportData } from '../sweep/reportData.js';
import { paretoChartSvg, yieldChartSvg } from './sweepCharts.js';
import { esc } from './svg.js';

const CSS = `
body { font-family: sans-serif; margin: 24px auto; max-width: 1120px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
p.sub, p.note { color: #555; margin: 4px 0 10px; font-size: 13px; }
figure { margin: 8px 0; overflow-x: auto; }
figure svg { display: block; max-width: 100%; height: auto; }
table.records { border-collapse: collapse; font-size: 12px; }
table.records th { cursor: pointer; background: #f2f2f2; position: sticky; top: 0; }
table.records th, table.records td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
table.records td.text { text-align: left; }
div.scroll { max-height: 520px; overflow: auto; }
`;

// Sorts by the clicked column: numerically where both cells are numbers, else as text; a second click reverses.
const SORT_SCRIPT = `
document.querySelectorAll('table.records th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const dir = th.dataset.dir === 'asc' ? -1 : 1;
  th.closest('tr').querySelectorAll('th').forEach((h) => delete h.dataset.dir);
  th.dataset.dir = dir === 1 ? 'asc' : 'desc';
  const key = (tr) => tr.cells[col].dataset.v ?? tr.cells[col].textContent;
  [...body.rows].sort((a, b) => {
    const x = key(a), y = key(b), nx = Number(x), ny = Number(y);
    return dir * (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y));
  }).forEach((tr) => body.appendChild(tr));
}));
`;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '<td></td>';
  if (typeof v === 'number') {
    const shown = Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString();
    return `<td data-v="${v}">${shown}</td>`;
  }
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return `<td class="text">${esc(s)}</td>`;
}

function table(d: SweepReportData): string {
  const head = `<thead><tr>${d.table.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>${d.table.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('\n')}</tbody>`;
  return `<div class="scroll"><table class="records">${head}${body}</table></div>`;
}

function section(id: string, title: string, note: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2><p class="note">${esc(note)}</p>${body}</section>`;
}

export interface SweepCharts {
  yieldTokens: string | null;
  yieldTiles: string | null;
  yieldFits: string | null;
  pareto: string | null;
}

/** The report's charts, each null where the records hold nothing to draw. */
export function sweepCharts(d: SweepReportData): SweepCharts {
  const y = d.yield.length > 0;
  return {
    yieldTokens: y ? yieldChartSvg(d.yield, 'tokensPerSecond', 'Decode tokens/s per user against defect density') : null,
    yieldTiles: y ? yieldChartSvg(d.yield, 'tilesUsed', 'Tiles used against defect density') : null,
    yieldFits: y ? yieldChartSvg(d.yield, 'fits', 'Does the model still fit? Share of seeds, against defect density') : null,
    pareto: d.pareto.length > 0 ? paretoChartSvg(d.pareto) : null,
  };
}

export function sweepReportHtml(name: string, description: string | undefined, d: SweepReportData, charts: SweepCharts): string {
  const fig = (svg: string | null) => (svg ? `<figure>${svg}</figure>` : '');
  const parts: string[] = [];
  if (charts.yieldTokens) {
    parts.push(
      section('yield', 'Yield curves', 'Each series is one model, fabric and repair policy; every density ran once per seed (one fault map each). Lines: the median over the seeds that fit; bands: their 10th–90th percentile; solid: remap, dashed: route-around.', fig(charts.yieldTokens) + fig(charts.yieldTiles) + fig(charts.yieldFits)),
    );
  }
  if (charts.pareto) parts.push(section('pareto', 'Pareto chart', 'Every point that ran: decode tokens/s per user against the wafers or GPUs it needs. Filled points are on the Pareto front of their kind of hardware (none faster on as little).', fig(charts.pareto)));
  parts.push(section('records', 'Every point', `${d.records} records (${d.errors} where the inputs did not go, with the reason). Parameters shown are those that vary; click a column head to sort.`, table(d)));
  const title = `wafer sweep report: ${name}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<h1>${esc(title)}</h1>`,
    `<p class="sub">${description ? `${esc(description.replace(/\.?\s*$/, '.'))} ` : ''}Generated by wafer sweep report; self-contained (inline SVG, CSS and a sorting script).</p>`,
    ...parts,
    `<script>${SORT_SCRIPT}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
