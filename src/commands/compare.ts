// `wafer compare`: one model on several fabrics (wafers and HBM GPUs) across batch sizes — tokens/s per user and in
// aggregate, where a token's time goes, and an SVG chart of where the memory wall moves.
import { Command } from 'commander';
import { resolveModelConfig } from '../io/loadModel.js';
import { InputError } from '../../fabric/errors.js';
import { assertWritable, writeFileAtomic } from '../io/atomicWrite.js';
import { printJson, printText, progress } from '../io/output.js';
import { MAX_GPUS, MAX_POSITIONS, parseIntList, parseIntOption } from '../io/parse.js';
import { COMPARE_DTYPES, compareFabrics, projectionJobs, resolveFabricArg, type CompareDtype, type CompareOptions, type CompareResult } from '../study/compare.js';
import { defaultProjectionWorkers, runProjections } from '../study/projectPool.js';
import { describeSetting } from '../study/setting.js';
import { memoryWallSvg } from '../report/memoryWallChart.js';
import { formatParams } from '../report/svg.js';
import { rowFormat } from '../report/rowFormat.js';
import { action } from './action.js';

interface Options {
  model: string;
  fabrics: string;
  batch: string;
  gpus?: string;
  dtype: string;
  promptLen: string;
  context?: string;
  sweep: boolean;
  workers: string;
  out?: string;
  force?: boolean;
}

/** Command-line strings to CompareOptions; every bad value is an InputError naming its option. */
export function parseCompareOptions(o: Options): CompareOptions {
  if (!(COMPARE_DTYPES as readonly string[]).includes(o.dtype)) throw new InputError(`unsupported dtype "${o.dtype}"`, '--dtype', `use one of ${COMPARE_DTYPES.join(', ')} (weights in the same format on every fabric)`);
  const fabricNames = o.fabrics.split(',').map((s) => s.trim());
  if (fabricNames.some((f) => f === '')) throw new InputError(`empty fabric name in "${o.fabrics}"`, '--fabrics', 'give a comma-separated list, e.g. wse3,h100,b200');
  const dup = fabricNames.find((f, i) => fabricNames.indexOf(f) !== i);
  if (dup) throw new InputError(`fabric "${dup}" given twice`, '--fabrics', 'list each fabric once');
  const promptLength = parseIntOption(o.promptLen, '--prompt-len', 1, MAX_POSITIONS);
  return {
    model: resolveModelConfig(o.model, '--model'),
    fabrics: fabricNames.map((f) => resolveFabricArg(f)),
    batches: [...new Set(parseIntList(o.batch, '--batch', 1))],
    gpus: o.gpus === undefined ? undefined : parseIntOption(o.gpus, '--gpus', 1, MAX_GPUS),
    dtype: o.dtype as CompareDtype,
    promptLength,
    contextLength: o.context === undefined ? promptLength : parseIntOption(o.context, '--context', 1, MAX_POSITIONS),
    // The sweeps feed only the chart: computed when one is drawn (they take a while on full wafers).
    sweepModels: o.out !== undefined && o.sweep,
  };
}

const { num, pct, seconds, devices } = rowFormat('-');

export function formatCompare(c: CompareResult): string {
  const head = ['fabric', 'batch', 'devices', 'tok/s/user', 'tok/s total', 'first token', 'compute', 'memory', 'comm', 'other'];
  const body = c.rows.map((r) => {
    const s = r.tokenTimeSplit;
    return [r.fabric, String(r.batch), devices(r), num(r.decodeTokensPerSecond), num(r.aggregateTokensPerSecond), seconds(r.timeToFirstTokenSeconds), s ? pct(s.compute) : '-', s ? pct(s.memory) : '-', s ? pct(s.communication) : '-', s ? pct(s.other) : '-'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const lines = [
    `${c.model} (${formatParams(c.totalParams)} parameters, ${formatParams(c.activeParams)} active), ${c.dtype} weights, prompt ${c.promptLength}, context ${c.contextLength}`,
    'a decode token\'s time: compute / memory (HBM on a GPU, SRAM on a wafer) / communication (NVLink; on-wafer links, between wafers) / other (launch, bubbles)',
    '',
    line(head),
    ...body.map(line),
  ];
  const notes = new Set(c.rows.flatMap((r) => (r.note ? [`${r.fabric}: ${r.note}`] : [])));
  const methods = new Map<string, string[]>();
  for (const r of c.rows) methods.set(r.method, [...new Set([...(methods.get(r.method) ?? []), r.fabric])]);
  lines.push('', 'sources:');
  for (const [m, fabrics] of methods) lines.push(`  ${fabrics.join(', ')}: ${m}`);
  lines.push('settings:');
  for (const r of c.rows) if (r.setting) lines.push(`  ${r.fabric}, batch ${r.batch}: ${describeSetting(r.setting)}`);
  if (notes.size || c.notes.length) lines.push('notes:', ...[...notes, ...c.notes].map((n) => `  ${n}`));
  if (c.sweeps) for (const s of c.modelSweep) if (s.unavailable.length) lines.push(`  size sweep on ${s.fabric}: ${s.points.length} models, ${s.unavailable.length} not available (${s.unavailable.map((u) => u.model).join(', ')}; --json gives the reasons)`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = new Command('compare')
    .description('one model on wafers and HBM GPUs side by side: tokens/s per user and aggregate, where a token\'s time goes, and the memory-wall chart')
    .requiredOption('--model <dir|preset>', 'model directory, config.json, or preset')
    .option('--fabrics <list>', 'comma-separated fabrics: GPU presets (h100, b200, …), wafer presets (wse3, mini-64, …) or spec files', 'wse3,h100,b200')
    .option('--batch <list>', 'batch sizes, comma-separated', '1')
    .option('--gpus <N>', 'tensor-parallel GPUs (default: the fewest that hold the model at the largest batch)')
    .option('--dtype <dtype>', `weight format on every fabric: ${COMPARE_DTYPES.join(' | ')}`, 'bf16')
    .option('--prompt-len <N>', 'prompt tokens per sequence (time to first token)', '512')
    .option('--context <N>', 'positions attended at the decode step (default: the prompt length; small meshes cap it at 64)')
    .option('--no-sweep', 'with --out: draw only the table\'s points, without the sweeps over model presets and batch sizes (they take minutes with a full wafer)')
    .option('--workers <W>', 'worker threads for the full-wafer projections of the sweeps (0 = one after another on the main thread)', String(defaultProjectionWorkers()))
    .option('--out <file.svg>', 'write the memory-wall chart here (tokens/s against model size over the model presets, and against batch)')
    .option('--force', 'overwrite --out if it exists', false)
    .addHelpText('after', '\nExamples:\n  npx wafer compare --model toy-moe --fabrics mini-64,h100 --json\n  npx wafer compare --model llama-3.1-70b --fabrics wse3,h100,b200 --batch 1,8,64 --out wall.svg');
  action<Options>(cmd, async (o, g) => {
    if (o.out) assertWritable(o.out, o.force);
    const workers = parseIntOption(o.workers, '--workers', 0);
    if (workers > 64) throw new InputError(`${workers} workers`, '--workers', 'give at most 64');
    const co = parseCompareOptions(o);
    // Full-wafer projections (seconds each) run side by side first; the rest is quick.
    const jobs = projectionJobs(co);
    const pbar = progress(g, 'projections');
    const projections = jobs.length ? await runProjections(jobs, { workers, onDone: (d, t) => pbar.update(d, t) }) : undefined;
    pbar.end();
    const bar = progress(g, 'compare');
    const c = compareFabrics({ ...co, projections, onProgress: (d, t) => bar.update(d, t) });
    bar.end();
    if (o.out) writeFileAtomic(o.out, memoryWallSvg(c) + '\n', { force: o.force === true, option: '--out' });
    if (g.json) printJson(c);
    else printText(formatCompare(c) + (o.out ? `\nchart written to ${o.out}` : ''));
  });
  program.addCommand(cmd);
}
