// `wafer bench <what>`: benchmarks that print a table (or JSON with --json). Each benchmark is one entry of
// `benchmarks` below: to add one (engine, fabrics), write a `(bench: Command) => void` and list it there.
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { WasmSimd } from '../../kernels/index.js';
import { WASM_SIMD_BUILDS, defaultWasmSimd, relaxedSimdSupported } from '../../kernels/index.js';
import { InputError } from '../../fabric/errors.js';
import { formatKernelsBench, runKernelsBench } from '../bench/kernelsBench.js';
import { formatProjectBench, runProjectBench } from '../bench/projectBench.js';
import { formatProjectSpeedBench, runProjectSpeedBench, writeProjectSpeedBench } from '../bench/projectSpeedBench.js';
import { formatEngineBench, runEngineBench, writeEngineBench } from '../bench/engineBench.js';
import { formatFabricsBench, parseModelList, runFabricsBench, writeFabricsBench } from '../bench/fabricsBench.js';
import { formatGpuAccuracySummary, runGpuAccuracyBench, writeGpuAccuracyBench } from '../bench/gpuAccuracyBench.js';
import { DEFAULT_GPU_DATA } from '../io/measuredRuns.js';
import { formatSweepBench, runSweepBench, writeSweepBench } from '../bench/sweepBench.js';
import { formatScaleBench, runScaleBench, writeScaleBench } from '../bench/scaleBench.js';
import { formatSensitivityBench, runSensitivityBench, writeSensitivityBench } from '../bench/sensitivityBench.js';
import { defaultProjectionWorkers } from '../study/projectPool.js';
import { parseIntOption } from '../io/parse.js';
import { printJson, printText, progressEnabled, type GlobalOptions } from '../io/output.js';
import { action } from './action.js';

type AddBenchmark = (bench: Command) => void;

/**
 * Runs a benchmark with progress lines on stderr where they are wanted (a terminal, or --verbose without --json) and
 * prints its report: the JSON document with --json, else `format`'s table.
 */
async function runAndPrint<R>(g: GlobalOptions, run: (onProgress: ((line: string) => void) | undefined) => R | Promise<R>, format: (report: R) => string): Promise<void> {
  const showProgress = progressEnabled(g) || (g.verbose && !g.json);
  const report = await run(showProgress ? (line) => process.stderr.write(line + '\n') : undefined);
  if (g.json) printJson(report);
  else printText(format(report));
}

/** --simd: a kernel module build this engine runs. */
export function parseSimdOption(value: string): WasmSimd {
  if (!(WASM_SIMD_BUILDS as readonly string[]).includes(value)) throw new InputError(`unknown kernel build "${value}"`, '--simd', `use ${WASM_SIMD_BUILDS.join(' or ')}`);
  if (value === 'relaxed' && !relaxedSimdSupported()) throw new InputError('this Node does not run relaxed SIMD', '--simd', 'use portable, or Node 22+');
  return value as WasmSimd;
}

function kernels(bench: Command): void {
  const cmd = bench
    .command('kernels')
    .description('read bandwidth of this machine, then the WebAssembly SIMD matvec (f32, bf16, f16, int8) at 4096² and 8192² on one thread, as GB/s and as a fraction of the read bandwidth')
    .option('--quick', 'small sizes and short timings (a smoke test: the figures are not meaningful)', false)
    .option('--simd <build>', `kernel module build: ${WASM_SIMD_BUILDS.join(' or ')} (default: relaxed where this Node runs relaxed SIMD)`)
    .addHelpText('after', '\nExample:\n  npx wafer bench kernels --json > kernels.json');
  action<{ quick: boolean; simd?: string }>(cmd, async (opts, g) => {
    const simd = opts.simd === undefined ? undefined : parseSimdOption(opts.simd);
    await runAndPrint(g, (onProgress) => runKernelsBench({ quick: opts.quick, simd, onProgress }), (report) => formatKernelsBench(report, simd ?? defaultWasmSimd()));
  });
}

function engine(bench: Command): void {
  const cmd = bench
    .command('engine')
    .description('mesh engine speed: router-cycles per host second for uniform traffic at steady-state loads (and one saturated case) on 16×16 and 64×64, and the 1 -> 2 thread speed-up of the parallel mesh; writes engine.json and engine.md')
    .option('--quick', 'small sizes (a smoke test: the figures are not meaningful, nothing is written)', false)
    .option('--out-dir <dir>', 'where engine.json and engine.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench engine --out-dir /tmp/bench');
  action<{ quick: boolean; outDir: string }>(cmd, async (opts, g) => {
    await runAndPrint(
      g,
      async (onProgress) => {
        const report = await runEngineBench({ quick: opts.quick, hostCpus: availableParallelism(), onProgress });
        if (!opts.quick) writeEngineBench(report, opts.outDir);
        return report;
      },
      formatEngineBench,
    );
  });
}

function fabrics(bench: Command): void {
  const cmd = bench
    .command('fabrics')
    .description('every real-size model preset on wse2 and wse3 (projection) and on h100 (1 and 8), h200 and b200 GPUs: decode tokens/s per user, wafers or GPUs needed, what bounds it; writes fabrics.json and fabrics.md')
    .option('--models <list>', 'comma-separated model presets (default: every real-size preset)')
    .option('--out-dir <dir>', 'where fabrics.json and fabrics.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench fabrics --models llama-3.1-8b,llama-3.1-70b');
  action<{ models?: string; outDir: string }>(cmd, async (opts, g) => {
    const models = opts.models === undefined ? undefined : parseModelList(opts.models);
    await runAndPrint(
      g,
      (onProgress) => {
        const report = runFabricsBench({ models, onProgress });
        writeFabricsBench(report, opts.outDir);
        return report;
      },
      formatFabricsBench,
    );
  });
}

function project(bench: Command): void {
  const cmd = bench
    .command('project')
    .description('how long a real-size projection takes here (llama-3.1-8b on one wse3, llama-3.1-70b on five), first and later calls, against one wafer in ≤ 1 s; --all-presets times every preset in a fresh process')
    .option('--quick', 'toy-dense on mini-64 with short timings (a smoke test: the figures are not meaningful)', false)
    .option('--all-presets', 'every real-size preset at context 4096 and 1024, each in a fresh process; writes project-speed.json and project-speed.md', false)
    .option('--models <list>', 'with --all-presets: comma-separated model presets (default: every real-size preset)')
    .option('--out-dir <dir>', 'with --all-presets: where project-speed.json and project-speed.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench project --json\n  npx wafer bench project --all-presets --out-dir /tmp/bench');
  action<{ quick: boolean; allPresets: boolean; models?: string; outDir: string }>(cmd, async (opts, g) => {
    if (opts.allPresets) {
      if (opts.quick) throw new InputError('--quick and --all-presets together', '--all-presets', 'give one of them');
      const models = opts.models === undefined ? undefined : parseModelList(opts.models);
      await runAndPrint(
        g,
        (onProgress) => {
          const report = runProjectSpeedBench({ models, cpus: availableParallelism(), onProgress });
          writeProjectSpeedBench(report, opts.outDir);
          return report;
        },
        formatProjectSpeedBench,
      );
      return;
    }
    if (opts.models !== undefined) throw new InputError('--models without --all-presets', '--models', 'add --all-presets, or leave --models out');
    await runAndPrint(g, (onProgress) => runProjectBench({ quick: opts.quick, onProgress }), formatProjectBench);
  });
}

function gpuAccuracy(bench: Command): void {
  const cmd = bench
    .command('gpu-accuracy')
    .description('the GPU emulator against measured serving runs: median and worst ITL and TTFT error per row and by model, GPU, precision, TP degree and concurrency, in sample and cross-validated (each configuration, then each model, held out of the fit); writes gpu-accuracy.json and gpu-accuracy.md')
    .option('--data <file>', 'measured runs CSV', DEFAULT_GPU_DATA)
    .option('--out-dir <dir>', 'where gpu-accuracy.json and gpu-accuracy.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench gpu-accuracy');
  action<{ data: string; outDir: string }>(cmd, async (opts, g) => {
    await runAndPrint(
      g,
      (onProgress) => {
        const report = runGpuAccuracyBench({ data: opts.data, dataName: opts.data === DEFAULT_GPU_DATA ? 'data/gpu-measured/nim-llama3.csv' : opts.data, onProgress });
        writeGpuAccuracyBench(report, opts.outDir);
        return report;
      },
      formatGpuAccuracySummary,
    );
  });
}

function sweep(bench: Command): void {
  const cmd = bench
    .command('sweep')
    .description('sweep throughput here: points per second on the embedded pool (1 and 2 threads) and through a BullMQ queue on a local redis-server (1 and 2 workers), for GPU estimates and projections, and the queue\'s overhead per point; writes sweep.json and sweep.md')
    .option('--quick', 'a few points per workload (a smoke test: the figures are not meaningful)', false)
    .option('--queue <url>', 'use this Redis (default: start redis-server here on a free local port; no queue rows without one)')
    .option('--out-dir <dir>', 'where sweep.json and sweep.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench sweep --out-dir /tmp/bench');
  action<{ quick: boolean; queue?: string; outDir: string }>(cmd, async (opts, g) => {
    await runAndPrint(
      g,
      async (onProgress) => {
        const report = await runSweepBench({ quick: opts.quick, queue: opts.queue, onProgress });
        writeSweepBench(report, opts.outDir);
        return report;
      },
      formatSweepBench,
    );
  });
}

function scale(bench: Command): void {
  const cmd = bench
    .command('scale')
    .description('the mesh at 10^5 tiles: tinyllama-1b-dense (~1B parameters, int8) compiled onto mini-320 (102,400 tiles) runs a prefill and a decode step, tokens checked against the reference, then compiles onto a full wse3; wall times, peak memory and host load; writes scale.json and scale.md')
    .option('--quick', 'the same path for toy-dense on mini-64, no full-wafer compile and nothing written (a smoke test)', false)
    .option('--out-dir <dir>', 'where scale.json and scale.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench scale --out-dir /tmp/bench');
  action<{ quick: boolean; outDir: string }>(cmd, async (opts, g) => {
    await runAndPrint(
      g,
      async (onProgress) => {
        const report = await runScaleBench({ quick: opts.quick, onProgress });
        if (!opts.quick) writeScaleBench(report, opts.outDir);
        return report;
      },
      formatScaleBench,
    );
  });
}

function sensitivity(bench: Command): void {
  const cmd = bench
    .command('sensitivity')
    .description('each cost assumption (docs/assumptions.md) at its low and high plausible value: tokens/s and efficiency of llama-3.1-8b, llama-3.1-70b and qwen3-235b-a22b on wse3, sorted by effect; writes sensitivity.json and sensitivity.md')
    .option('--quick', 'toy-dense on mini-32, in this thread, nothing written (a smoke test: the figures are not meaningful)', false)
    .option('--workers <W>', 'worker threads for the projections (0 = this thread)', String(defaultProjectionWorkers()))
    .option('--out-dir <dir>', 'where sensitivity.json and sensitivity.md are written (replaced)', 'bench/results')
    .addHelpText('after', '\nExample:\n  npx wafer bench sensitivity --workers 4');
  action<{ quick: boolean; workers: string; outDir: string }>(cmd, async (opts, g) => {
    const workers = opts.quick ? 0 : parseIntOption(opts.workers, '--workers', 0, 64);
    await runAndPrint(
      g,
      async (onProgress) => {
        const report = await runSensitivityBench({ quick: opts.quick, workers, onProgress });
        if (!opts.quick) writeSensitivityBench(report, opts.outDir);
        return report;
      },
      formatSensitivityBench,
    );
  });
}

const benchmarks: AddBenchmark[] = [kernels, engine, fabrics, project, gpuAccuracy, sweep, scale, sensitivity];

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmarks of this machine and of wafer itself (tables, or JSON with --json)')
    .addHelpText('after', '\nExample:\n  npx wafer bench kernels --json');
  for (const add of benchmarks) add(bench);
}
