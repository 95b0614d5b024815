// `wafer run`: compile (or load) a program and run it on the cycle-approximate mesh with real numbers; every step's
// token is checked against the reference forward pass in the same dtype — a mismatch is an error.
import { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { printJson, printText, progress } from '../io/output.js';
import { MAX_RUN_TOKENS, parseIntOption, parseTokenList } from '../io/parse.js';
import type { CompileCliOptions } from '../wafer/compileJob.js';
import type { MeshRunResult } from '../wafer/runJob.js';
import { runInWorker } from '../wafer/runInWorker.js';
import { action } from './action.js';
import { addCompileOptions } from './compile.js';
import { availableParallelism } from 'node:os';

interface Options extends CompileCliOptions {
  prompt: string;
  tokens: string;
  workers?: string;
  parallelMesh: boolean;
  baseline: boolean;
  program?: string;
}

export function formatRun(r: MeshRunResult, model: string, fabric: string): string {
  const pct = (f: number) => `${(100 * f).toFixed(1)}%`;
  const lines = [
    `ran ${model} on ${fabric}: ${r.tilesUsed} tiles${r.deadTiles ? `, ${r.deadTiles} defective` : ''}`,
    `  tokens            ${r.tokens.join(',')}   (every step matches the reference forward pass; max logit error ${r.maxLogitRelativeError.toExponential(1)})`,
    `  prefill           ${r.prefillCycles} cycles for ${r.steps - r.tokens.length + 1} prompt tokens`,
    `  decode            ${Math.round(r.decodeCyclesPerToken)} cycles per token = ${r.tokensPerSecond.toFixed(0)} tokens/s at ${(r.clockHz / 1e6).toFixed(0)} MHz`,
    `  utilisation       FMAC ${pct(r.utilisation.fmacOfPeak)} of peak, SRAM bandwidth ${pct(r.utilisation.sramBandwidthOfPeak)}, links used ${pct(r.utilisation.linkUtilisation)} of their cycles, ${pct(r.utilisation.busyTileFraction)} of tiles busy`,
    `  traffic           ${r.stats.waveletsMoved} wavelets, ${r.stats.waveletHops} wavelet-hops, ${r.stats.tasksRun} tasks`,
  ];
  if (r.faultCost) {
    lines.push(`  faults cost       ${r.faultCost.extraCyclesPerToken >= 0 ? '+' : ''}${Math.round(r.faultCost.extraCyclesPerToken)} cycles per decode token vs the fault-free wafer (${Math.round(r.faultCost.faultFreeDecodeCyclesPerToken)}), ${r.faultCost.extraLinkHopsPerToken >= 0 ? '+' : ''}${Math.round(r.faultCost.extraLinkHopsPerToken)} wavelet-hops per step`);
  }
  if (r.experts) {
    const active = r.experts.filter((e) => e.meshBusyCycles > 0).length;
    const agree = r.experts.every((e) => e.meshBusyCycles > 0 === e.referenceSelections > 0);
    lines.push(`  experts           ${active} of ${r.experts.length} (layer, expert) pairs computed; ${agree ? 'exactly those the reference router chose' : 'NOT the same set the reference router chose'}`);
  }
  lines.push(`  wall time         ${r.wallSeconds.toFixed(1)} s`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const cmd = addCompileOptions(new Command('run').description('compile a model onto a wafer and run it cycle by cycle with real numbers, checked against the reference'))
    .requiredOption('--prompt <ids>', 'prompt token ids, e.g. 1,2,3')
    .requiredOption('--tokens <N>', 'tokens to generate')
    .option('--workers <W>', 'worker threads for the numeric work (0 = main thread)', String(Math.min(2, availableParallelism())))
    .option('--parallel-mesh', 'the --workers threads each step a strip of the mesh (routers, compute engines and numbers), meeting at a barrier whenever anything may cross between strips; same results (docs/parallel-mesh.md)', false)
    .option('--no-baseline', 'skip the fault-free comparison run')
    .option('--program <file>', 'run this program artifact (from `wafer compile --out`) instead of the freshly compiled one')
    .addHelpText('after', '\nExamples:\n  npx wafer run --model toy-moe --fabric mini-64 --fault-density 0.03 --seed 5 --prompt 1,2,3 --tokens 8\n  npx wafer run --model /tmp/m --fabric mini-64 --repair remap --fault-density 0.01 --prompt 1,2,3 --tokens 8 --json\n  npx wafer run --model toy-dense --fabric mini-64 --prompt 1,2 --tokens 2 --workers 2 --parallel-mesh');
  action<Options>(cmd, async (opts, g) => {
    const prompt = parseTokenList(opts.prompt);
    const tokens = parseIntOption(opts.tokens, '--tokens', 1, MAX_RUN_TOKENS);
    const workers = parseIntOption(opts.workers ?? '0', '--workers', 0);
    if (workers > 64) throw new InputError(`${workers} workers`, '--workers', 'give at most 64');
    const bar = progress(g, 'mesh');
    const { prompt: _p, tokens: _t, workers: _w, parallelMesh, baseline, ...options } = opts;
    if (parallelMesh && workers < 1) throw new InputError('--parallel-mesh with 0 workers', '--workers', 'give 1 or more threads to step the mesh');
    const r = await runInWorker({ options, prompt, tokens, workers, parallelMesh, baseline }, (d, t) => bar.update(d, t));
    bar.end();
    if (g.json) printJson(r);
    else printText(formatRun(r, r.model, r.fabric));
  });
  program.addCommand(cmd);
}
