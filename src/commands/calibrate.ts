// `wafer calibrate gpu`: fits the GPU timing model's measured terms to a file of measured serving runs (by default
// the project's data/gpu-measured/nim-llama3.csv) and prints each GPU's fitted values and every row's error. With
// --preset-module it writes the fitted presets' module (fabric/gpu/fitted.ts); with --out, the fitted GPU specs.
import type { Command } from 'commander';
import { fitAll, predictRow, prepareRows, roundFitValues, specOfFit, type GpuFit } from '../../compiler/gpu/calibrate.js';
import { accuracyRow, fittedModuleSource, summarise, type AccuracyRow } from '../../compiler/gpu/accuracy.js';
import type { MeasuredRun } from '../../compiler/gpu/measured.js';
import { getPreset } from '../../compiler/model/presets.js';
import { GPU_FIT_PARAM_NAMES } from '../../fabric/gpu/fitParams.js';
import { GPU_FIT_COMMAND } from '../../fabric/gpu/fitted.js';
import { assumedGpuSpec, type GpuSpec } from '../../fabric/gpu/spec.js';
import { assertWritable, writeFileAtomic } from '../io/atomicWrite.js';
import { DEFAULT_GPU_DATA, loadMeasuredRuns } from '../io/measuredRuns.js';
import { printJson, printText } from '../io/output.js';
import { InputError } from '../../fabric/errors.js';
import { action } from './action.js';

export interface GpuCalibration {
  data: string;
  command: string;
  fits: GpuFit[];
  specs: Record<string, GpuSpec>;
  rows: AccuracyRow[];
}

/** Fits every GPU of `runs` and predicts every row with the rounded fitted values (what the presets hold). */
export function calibrateGpus(runs: readonly MeasuredRun[], data: string): GpuCalibration {
  const rows = prepareRows(runs, getPreset, assumedGpuSpec);
  const fits = fitAll(rows, assumedGpuSpec).map((f) => ({ ...f, values: roundFitValues(f.values) }));
  const specs: Record<string, GpuSpec> = {};
  for (const f of fits) specs[f.gpu] = specOfFit(assumedGpuSpec(f.gpu), f, GPU_FIT_COMMAND, `fitted to ${f.rows} measured runs of ${data}`);
  return { data, command: GPU_FIT_COMMAND, fits, specs, rows: rows.map((r) => accuracyRow(predictRow(r, specs[r.run.gpu]))) };
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

export function formatCalibration(c: GpuCalibration): string {
  const out: string[] = [`GPU timing model fitted to ${c.data} (${c.rows.length} rows)`];
  for (const f of c.fits) {
    out.push('', `${f.gpu}: ${f.rows} rows, ${f.iterations} iterations, rms log error ${f.rmsLogError.toFixed(3)}`);
    for (const name of GPU_FIT_PARAM_NAMES) out.push(`  ${name.padEnd(28)} ${String(f.values[name]).padStart(12)}${f.fitted.includes(name) ? '' : '  (not fitted: no rows inform it)'}`);
  }
  const s = summarise('all', c.rows);
  out.push('', `in sample: median |ITL error| ${(s.itlMedianAbs * 100).toFixed(1)}%, worst ${(s.itlWorstAbs * 100).toFixed(1)}%; median |TTFT error| ${(s.ttftMedianAbs * 100).toFixed(1)}%, worst ${(s.ttftWorstAbs * 100).toFixed(1)}%`);
  out.push('', 'line  model                gpu              tp  prec  conc  in    out   ITL ms meas/model     err   TTFT ms meas/model       err');
  for (const r of c.rows) {
    out.push(
      `${String(r.line).padStart(4)}  ${r.model.padEnd(19)}  ${r.gpu.padEnd(15)}  ${String(r.gpus).padStart(2)}  ${r.precision.padEnd(4)}  ${String(r.concurrency).padStart(4)}  ${String(r.inputTokens).padEnd(4)}  ${String(r.outputTokens).padEnd(4)}  ${r.itlMeasuredMs.toFixed(2).padStart(8)} ${r.itlModelMs.toFixed(2).padStart(8)} ${pct(r.itlError).padStart(7)}  ${r.ttftMeasuredMs.toFixed(1).padStart(10)} ${r.ttftModelMs.toFixed(1).padStart(10)} ${pct(r.ttftError).padStart(8)}`,
    );
  }
  return out.join('\n');
}

interface CalibrateGpuOptions {
  data?: string;
  gpu?: string;
  out?: string;
  presetModule?: string;
  force?: boolean;
}

export function register(program: Command): void {
  const calibrate = program
    .command('calibrate')
    .description('fit the emulators to measured hardware: `calibrate gpu` fits the GPU timing model to measured serving runs')
    .addHelpText('after', '\nExample:\n  npx wafer calibrate gpu --out fitted-gpus.json');
  action<CalibrateGpuOptions>(
    calibrate
      .command('gpu')
      .description('fit the GPU timing model (HBM and tensor efficiency, kernel, step and all-reduce costs, serving terms) to measured runs; prints the values and each row’s error')
      .option('--data <file>', 'measured runs CSV (columns as data/gpu-measured/README.md)', DEFAULT_GPU_DATA)
      .option('--out <file>', 'write the fitted GPU specs (JSON: the fits and one spec per GPU)')
      .option('--gpu <name>', 'with --out: write only this GPU\'s fitted spec, a file `wafer gpu --gpu FILE` loads')
      .option('--preset-module <file>', 'write the presets module (fabric/gpu/fitted.ts) holding the fitted values')
      .option('--force', 'overwrite existing output files', false)
      .addHelpText('after', '\nExamples:\n  npx wafer calibrate gpu\n  npx wafer calibrate gpu --data my-runs.csv --out my-gpus.json\n  npx wafer calibrate gpu --gpu h100 --out h100-fitted.json && npx wafer gpu --model llama-3.1-8b --gpu h100-fitted.json\n  npx wafer calibrate gpu --preset-module fabric/gpu/fitted.ts --force'),
    (opts, g) => {
      for (const [path, option] of [
        [opts.out, '--out'],
        [opts.presetModule, '--preset-module'],
      ] as const) {
        if (path !== undefined) assertWritable(path, opts.force, option);
      }
      const data = opts.data ?? DEFAULT_GPU_DATA;
      const runs = loadMeasuredRuns(data);
      const gpus = [...new Set(runs.map((r) => r.gpu))];
      if (opts.gpu !== undefined && !gpus.includes(opts.gpu)) throw new InputError(`no measured runs of "${opts.gpu}" in ${data}`, '--gpu', `use one of ${gpus.join(', ')}`);
      const c = calibrateGpus(runs, data === DEFAULT_GPU_DATA ? 'data/gpu-measured/nim-llama3.csv' : data);
      if (opts.out !== undefined) {
        const doc = opts.gpu !== undefined ? c.specs[opts.gpu] : { command: c.command, data: c.data, fits: c.fits, specs: c.specs };
        writeFileAtomic(opts.out, JSON.stringify(doc, null, 2) + '\n', { force: opts.force, option: '--out' });
      }
      if (opts.presetModule !== undefined) writeFileAtomic(opts.presetModule, fittedModuleSource(c.fits, (f) => f.values), { force: opts.force, option: '--preset-module' });
      if (g.json) printJson(c);
      else printText(formatCalibration(c));
    },
  );
}
