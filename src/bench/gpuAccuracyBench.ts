// `wafer bench gpu-accuracy`: the GPU emulator's error against the measured runs, per row and summarised (median and
// worst |error| of ITL and TTFT by model, GPU, precision, TP degree and concurrency), in sample (the fit of all rows)
// and by leave-one-group-out cross-validation: each configuration (model, GPU, TP degree, precision) predicted by a
// fit without it, and each model predicted by a fit without it. Writes gpu-accuracy.json and gpu-accuracy.md.
import { join } from 'node:path';
import { crossValidate, fitAll, holdOutGroup, predictRow, prepareRows, roundFitValues, specOfFit, type HoldOut } from '../../compiler/gpu/calibrate.js';
import { accuracyRow, summarise, summariseBy, SUMMARY_KEYS, type AccuracyRow, type ErrorSummary } from '../../compiler/gpu/accuracy.js';
import { getPreset } from '../../compiler/model/presets.js';
import { GPU_FIT_COMMAND } from '../../fabric/gpu/fitted.js';
import { assumedGpuSpec } from '../../fabric/gpu/spec.js';
import { loadMeasuredRuns } from '../io/measuredRuns.js';
import { writeFileAtomic } from '../io/atomicWrite.js';

/** What the issue asks of the cross-validated error (README quotes the cross-validated figures). */
export const ACCURACY_TARGETS = Object.freeze({ itlMedianAbs: 0.1, ttftMedianAbs: 0.2 });

export interface AccuracyPass {
  name: 'in-sample' | `held out by ${HoldOut}`;
  description: string;
  overall: ErrorSummary;
  by: Record<(typeof SUMMARY_KEYS)[number], ErrorSummary[]>;
  rows: AccuracyRow[];
}

export interface GpuAccuracyReport {
  data: string;
  command: string;
  targets: typeof ACCURACY_TARGETS;
  passes: AccuracyPass[];
}

function pass(name: AccuracyPass['name'], description: string, rows: AccuracyRow[]): AccuracyPass {
  const by = Object.fromEntries(SUMMARY_KEYS.map((k) => [k, summariseBy(rows, k)])) as AccuracyPass['by'];
  return { name, description, overall: summarise('all rows', rows), by, rows };
}

export interface GpuAccuracyOptions {
  data: string;
  /** How the data is named in the report (the repository path for the shipped file). */
  dataName: string;
  onProgress?: (line: string) => void;
}

export function runGpuAccuracyBench(o: GpuAccuracyOptions): GpuAccuracyReport {
  const runs = loadMeasuredRuns(o.data);
  o.onProgress?.(`lowering ${runs.length} measured runs`);
  const rows = prepareRows(runs, getPreset, assumedGpuSpec);
  o.onProgress?.('fitting every row (in sample)');
  const fits = fitAll(rows, assumedGpuSpec).map((f) => ({ ...f, values: roundFitValues(f.values) }));
  const inSample = rows.map((r) => accuracyRow(predictRow(r, specOfFit(assumedGpuSpec(r.run.gpu), fits.find((f) => f.gpu === r.run.gpu)!, GPU_FIT_COMMAND, ''))));
  const passes = [pass('in-sample', 'every row predicted by the fit of all rows (the shipped presets)', inSample)];
  for (const by of ['configuration', 'model'] as const) {
    // One group alone cannot be held out of its own fit (a file of one model has no model cross-validation).
    if (new Set(rows.map((r) => holdOutGroup(r.run, by))).size < 2) continue;
    const cv = crossValidate(rows, assumedGpuSpec, by, (g) => o.onProgress?.(`cross-validation: fitting without ${g}`));
    const what = by === 'model' ? 'its model (all 8B rows, then all 70B rows)' : 'its configuration (model, GPU, TP degree, precision)';
    passes.push(pass(`held out by ${by}`, `each row predicted by a fit without ${what}`, cv.map(accuracyRow)));
  }
  return { data: o.dataName, command: GPU_FIT_COMMAND, targets: ACCURACY_TARGETS, passes };
}

const p1 = (x: number): string => `${(x * 100).toFixed(1)}%`;
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function summaryTable(rows: readonly ErrorSummary[]): string[] {
  return ['| group | rows | median \\|ITL error\\| | worst \\|ITL error\\| | median \\|TTFT error\\| | worst \\|TTFT error\\| |', '|---|---:|---:|---:|---:|---:|', ...rows.map((s) => `| ${s.group} | ${s.rows} | ${p1(s.itlMedianAbs)} | ${p1(s.itlWorstAbs)} | ${p1(s.ttftMedianAbs)} | ${p1(s.ttftWorstAbs)} |`)];
}

function worst(rows: readonly AccuracyRow[], key: 'itlError' | 'ttftError', n: number): AccuracyRow[] {
  return [...rows].sort((a, b) => Math.abs(b[key]) - Math.abs(a[key]) || a.line - b.line).slice(0, n);
}

function rowLine(r: AccuracyRow): string {
  return `| ${r.line} | ${r.model} | ${r.gpu} | ${r.gpus} | ${r.precision} | ${r.concurrency} | ${r.inputTokens} | ${r.outputTokens} | ${r.batch} | ${r.itlMeasuredMs.toFixed(2)} | ${r.itlModelMs.toFixed(2)} | ${signed(r.itlError)} | ${r.ttftMeasuredMs.toFixed(1)} | ${r.ttftModelMs.toFixed(1)} | ${signed(r.ttftError)} |`;
}

const ROW_HEAD = ['| line | model | gpu | TP | precision | concurrency | in | out | batch | ITL ms measured | ITL ms model | ITL error | TTFT ms measured | TTFT ms model | TTFT error |', '|---:|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];

/** The summary table: one line per pass (what the terminal shows; the .md file has the rest). */
export function formatGpuAccuracySummary(r: GpuAccuracyReport): string {
  const out = [
    '| pass | rows | median \\|ITL error\\| | worst \\|ITL error\\| | median \\|TTFT error\\| | worst \\|TTFT error\\| | targets met |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const p of r.passes) {
    const s = p.overall;
    const met = s.itlMedianAbs <= r.targets.itlMedianAbs && s.ttftMedianAbs <= r.targets.ttftMedianAbs;
    out.push(`| ${p.name} | ${s.rows} | ${p1(s.itlMedianAbs)} | ${p1(s.itlWorstAbs)} | ${p1(s.ttftMedianAbs)} | ${p1(s.ttftWorstAbs)} | ${p.name === 'in-sample' ? '(not a target)' : met ? 'yes' : 'no'} |`);
  }
  return out.join('\n');
}

export function formatGpuAccuracyBench(r: GpuAccuracyReport): string {
  const out = [
    '# GPU emulator accuracy against measured runs',
    '',
    `Generated by \`npx wafer bench gpu-accuracy\` from \`${r.data}\` (the fit: \`${r.command}\`; method: docs/gpu-calibration.md).`,
    `Errors are model / measured − 1 of the mean inter-token latency (ITL) and mean time to first token (TTFT). Targets for the cross-validated medians: |ITL| ≤ ${p1(r.targets.itlMedianAbs)}, |TTFT| ≤ ${p1(r.targets.ttftMedianAbs)}.`,
    '',
    '## Summary',
    '',
    formatGpuAccuracySummary(r),
  ];
  for (const p of r.passes) {
    out.push('', `## ${p.name}`, '', `${p.description}.`);
    for (const k of SUMMARY_KEYS) out.push('', `By ${k === 'gpus' ? 'TP degree' : k}:`, '', ...summaryTable(p.by[k]));
    out.push('', 'Largest |ITL| errors:', '', ...ROW_HEAD, ...worst(p.rows, 'itlError', 8).map(rowLine));
    out.push('', 'Largest |TTFT| errors:', '', ...ROW_HEAD, ...worst(p.rows, 'ttftError', 8).map(rowLine));
  }
  const [first] = r.passes.filter((p) => p.name === 'held out by configuration');
  if (first) out.push('', '## Every row, held out by configuration', '', ...ROW_HEAD, ...first.rows.map(rowLine));
  return out.join('\n') + '\n';
}

/** Writes gpu-accuracy.json and gpu-accuracy.md into `dir` (each replaced atomically). */
export function writeGpuAccuracyBench(r: GpuAccuracyReport, dir: string): void {
  // Five significant digits are more than the measurements carry, and keep the file small.
  const rounded = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v);
  writeFileAtomic(join(dir, 'gpu-accuracy.json'), JSON.stringify(r, rounded) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'gpu-accuracy.md'), formatGpuAccuracyBench(r), { option: '--out-dir', createParents: true });
}
