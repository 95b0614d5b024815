// The lab's HTML fragments from the workers' plain results (computing apart from drawing). Pure string functions.
import type { CompareRow } from '../src/study/compare.js';
import { esc, formatParams } from '../src/report/svg.js';
import { rowFormat } from '../src/report/rowFormat.js';
import type { MeshMap, RunHere, StudyResult } from './compute.js';

const { num, pct, seconds, devices } = rowFormat('–');

export const SPLIT_PARTS = [
  ['compute', '#0072B2'],
  ['memory', '#D55E00'],
  ['communication', '#009E73'],
  ['other', '#999999'],
] as const;

/** Where a token's time goes, as a stacked bar with its percentages in the title. */
function splitBar(r: CompareRow): string {
  const s = r.tokenTimeSplit;
  if (!s) return '–';
  const title = SPLIT_PARTS.map(([k]) => `${k} ${pct(s[k])}`).join(', ');
  const parts = SPLIT_PARTS.filter(([k]) => s[k] > 0).map(([k, c]) => `<span style="width:${(100 * s[k]).toFixed(2)}%;background:${c}"></span>`);
  return `<span class="split" title="${esc(title)}">${parts.join('')}</span><span class="split-text">${esc(title)}</span>`;
}

export function studyTable(r: StudyResult): string {
  const c = r.compare;
  const head = ['fabric', 'batch', 'devices', 'tok/s per user', 'tok/s total', 'first token', 'where a token\'s time goes', 'note'];
  const rows = c.rows.map((row) =>
    [esc(row.fabric), String(row.batch), devices(row), num(row.decodeTokensPerSecond), num(row.aggregateTokensPerSecond), seconds(row.timeToFirstTokenSeconds), splitBar(row), esc(row.note ?? '')].map((cell) => `<td>${cell}</td>`).join(''),
  );
  const legend = SPLIT_PARTS.map(([k, col]) => `<span class="key"><span style="background:${col}"></span>${k}</span>`).join(' ');
  return [
    `<p class="sub">${esc(c.model)}: ${formatParams(c.totalParams)} parameters (${formatParams(c.activeParams)} active per token), ${c.dtype} weights, prompt ${c.promptLength}; wafer ${esc(r.spec.name)}: ${r.spec.widthTiles}×${r.spec.heightTiles} tiles of ${(r.spec.sramBytesPerTile / 1024).toFixed(0)} KiB at ${(r.spec.clockHz / 1e6).toFixed(0)} MHz</p>`,
    `<table id="compare-table"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((x) => `<tr>${x}</tr>`).join('')}</tbody></table>`,
    `<p class="legend">${legend} — memory is HBM on a GPU and SRAM on a wafer; communication is NVLink, or on-wafer links and links between wafers</p>`,
    ...[...new Set(c.rows.map((row) => row.method))].map((m) => `<p class="note">source: ${esc(m)}</p>`),
    ...c.notes.map((n) => `<p class="note">${esc(n)}</p>`),
  ].join('\n');
}

export function meshSummary(m: MeshMap): string {
  const cost = m.baselineCyclesPerToken === null ? 'no faults' : `faults cost ${m.cyclesPerToken - m.baselineCyclesPerToken >= 0 ? '+' : ''}${Math.round(m.cyclesPerToken - m.baselineCyclesPerToken)} cycles per token against the fault-free mesh (${Math.round(m.baselineCyclesPerToken)})`;
  return `${m.tilesUsed} tiles in use, ${m.deadTiles} dead tiles and ${m.deadCores} dead cores on the map; schedule estimate ${Math.round(m.cyclesPerToken)} cycles per token = ${m.estimateTokensPerSecond.toFixed(0)} tokens/s; ${cost}`;
}

/** A `wafer run --json` result recorded by the site build, for the page to show beside its own run. */
export interface NodeRun {
  command: string;
  tokens: number[];
  stepCycles: number[];
  decodeCyclesPerToken: number;
}

export function runReport(r: RunHere, command: string, node: NodeRun | null): string {
  const run = r.run;
  const lines = [
    `<tr><th></th><th>this page</th><th>Node (<code>wafer run</code>, same seed)</th></tr>`,
    `<tr><td>tokens</td><td id="run-tokens">${run.tokens.join(',')}</td><td id="node-tokens">${node ? node.tokens.join(',') : '–'}</td></tr>`,
    `<tr><td>cycles per step</td><td id="run-cycles">${run.stepCycles.join(', ')}</td><td id="node-cycles">${node ? node.stepCycles.join(', ') : '–'}</td></tr>`,
    `<tr><td>decode</td><td>${Math.round(run.decodeCyclesPerToken)} cycles per token = ${run.tokensPerSecond.toFixed(0)} tokens/s at ${(run.clockHz / 1e6).toFixed(0)} MHz</td><td>${node ? `${Math.round(node.decodeCyclesPerToken)} cycles per token` : '–'}</td></tr>`,
  ];
  const same = node ? node.tokens.join() === run.tokens.join() && node.stepCycles.join() === run.stepCycles.join() : null;
  const g = r.gpujs;
  return [
    `<table class="run">${lines.join('')}</table>`,
    `<p id="run-check">every step matches the reference forward pass in the page (max logit error ${run.maxLogitRelativeError.toExponential(1)}); ${run.tilesUsed} tiles, ${run.deadTiles} dead; ${run.stats.waveletsMoved} wavelets, ${run.stats.tasksRun} tasks; ${run.wallSeconds.toFixed(1)} s in the page</p>`,
    `<p id="node-check">${same === null ? `the site build recorded no Node run for this configuration; run it yourself: <code>${esc(command)}</code>` : same ? `identical to Node's <code>${esc(command)}</code>` : `<strong>differs from Node's</strong> <code>${esc(command)}</code>`}</p>`,
    g ? `<p id="gpujs-check">gpu.js reference (matvecs on gpu.js, backend <b id="gpujs-backend">${esc(g.backend ?? 'none')}</b>): tokens ${g.tokens.join(',')} — ${g.sameTokens ? 'the same as the mesh run' : esc(`different: ${g.note}`)}</p>` : '',
  ].join('\n');
}
