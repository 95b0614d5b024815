// `wafer bench scale`: the mesh at 10^5 tiles with real numbers. A ~1B-parameter model (tinyllama-1b-dense, synthetic
// int8 weights) is compiled at tile granularity onto mini-320 (102,400 tiles) and runs one prefill and one decode step
// on the cycle-approximate mesh, each step's token checked against the reference forward pass (runOnMesh refuses a
// mismatch); then a full-wse3 compile of the same model. Reported: wall times, the peak resident memory of this process
// (compile, weights, arena and reference together) and the host's load, which the times depend on.
// --quick runs the same path on toy-dense / mini-64 (the test's size).
import { freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { prepareCompile, type CompileCliOptions } from '../wafer/compileJob.js';
import { runOnMesh } from '../wafer/runJob.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { buildGraph } from '../../compiler/graph/graph.js';
import { compileModel } from '../../compiler/wafer/compile.js';
import { getFabricPreset } from '../../fabric/spec/index.js';

export interface ScaleBenchCase {
  model: string;
  fabric: string;
  dtype: string;
  prompt: number[];
  tokens: number;
}

export interface ScaleBenchReport {
  /** The command line that reproduces this report. */
  command: string;
  run: {
    model: string;
    fabric: string;
    dtype: string;
    meshTiles: number;
    tilesUsed: number;
    parameters: number;
    prompt: number[];
    tokens: number[];
    /** runOnMesh throws on the first step whose token differs from the reference's: true whenever a report exists. */
    tokensMatchReference: boolean;
    maxLogitRelativeError: number;
    /** Wall and process CPU seconds (CPU: less sensitive to the host's load than wall time). */
    compileSeconds: number;
    compileCpuSeconds: number;
    runSeconds: number;
    runCpuSeconds: number;
    stepCycles: number[];
  };
  /** The same model compiled (placed, routed, coloured, emitted, validated) onto a full wafer; null with --quick. */
  fullWafer: { fabric: string; meshTiles: number; programTiles: number; compileSeconds: number; compileCpuSeconds: number } | null;
  /** Peak resident set of this process over the whole bench, bytes. */
  peakRssBytes: number;
  host: { loadAverage1m: number; loadAverageAtStart1m: number; freeMemoryBytesAtStart: number; totalMemoryBytes: number };
}

export const SCALE_CASE: ScaleBenchCase = { model: 'tinyllama-1b-dense', fabric: 'mini-320', dtype: 'int8', prompt: [1, 2], tokens: 1 };
export const SCALE_QUICK_CASE: ScaleBenchCase = { model: 'toy-dense', fabric: 'mini-64', dtype: 'int8', prompt: [1, 2], tokens: 1 };
/** The full wafer the model is also compiled onto. */
const FULL_WAFER = 'wse3';

function options(c: ScaleBenchCase, fabric: string): CompileCliOptions {
  return { model: c.model, fabric, dtype: c.dtype, maxSeq: String(c.prompt.length + c.tokens) };
}

export async function runScaleBench(opts: { quick?: boolean; onProgress?: (line: string) => void } = {}): Promise<ScaleBenchReport> {
  const c = opts.quick ? SCALE_QUICK_CASE : SCALE_CASE;
  const say = opts.onProgress ?? (() => {});
  const loadAtStart = loadavg()[0];
  const freeAtStart = freemem();
  say(`compiling ${c.model} (${c.dtype}) onto ${c.fabric}`);
  let t0 = performance.now();
  let c0 = process.cpuUsage();
  const cpuSince = (from: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(from);
    return (d.user + d.system) / 1e6;
  };
  const job = prepareCompile(options(c, c.fabric), true);
  const compileSeconds = (performance.now() - t0) / 1e3;
  const compileCpuSeconds = cpuSince(c0);
  say(`compiled in ${compileSeconds.toFixed(1)} s: ${job.result.program.tiles.length} program tiles; running ${c.prompt.length + c.tokens - 1} steps`);
  t0 = performance.now();
  c0 = process.cpuUsage();
  const r = await runOnMesh(job, c.prompt, c.tokens, { workers: 0, baseline: false, onStep: (done, total) => say(`step ${done}/${total}`) });
  const runSeconds = (performance.now() - t0) / 1e3;
  const runCpuSeconds = cpuSince(c0);
  const parameters = countWeights(job);
  const meshTiles = job.spec.widthTiles * job.spec.heightTiles;
  let fullWafer: ScaleBenchReport['fullWafer'] = null;
  if (!opts.quick) {
    say(`compiling ${c.model} (${c.dtype}) onto ${FULL_WAFER}`);
    t0 = performance.now();
    c0 = process.cpuUsage();
    const spec = getFabricPreset(FULL_WAFER);
    const full = compileModel(buildGraph(job.config), { spec, faults: null, repair: 'route-around', dtype: job.dtype, maxSeq: job.maxSeq });
    fullWafer = { fabric: FULL_WAFER, meshTiles: spec.widthTiles * spec.heightTiles, programTiles: full.program.tiles.length, compileSeconds: (performance.now() - t0) / 1e3, compileCpuSeconds: cpuSince(c0) };
  }
  return {
    command: `npx wafer bench scale${opts.quick ? ' --quick' : ''}`,
    run: {
      model: c.model,
      fabric: c.fabric,
      dtype: c.dtype,
      meshTiles,
      tilesUsed: r.tilesUsed,
      parameters,
      prompt: c.prompt,
      tokens: r.tokens,
      tokensMatchReference: r.matchesReference,
      maxLogitRelativeError: r.maxLogitRelativeError,
      compileSeconds,
      compileCpuSeconds,
      runSeconds,
      runCpuSeconds,
      stepCycles: r.stepCycles,
    },
    fullWafer,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    host: { loadAverage1m: loadavg()[0], loadAverageAtStart1m: loadAtStart, freeMemoryBytesAtStart: freeAtStart, totalMemoryBytes: totalmem() },
  };
}

function countWeights(job: ReturnType<typeof prepareCompile>): number {
  let n = 0;
  for (const t of job.weights?.tensors.values() ?? []) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

export function formatScaleBench(r: ScaleBenchReport): string {
  const x = r.run;
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `Command: \`${r.command}\` (host load average ${r.host.loadAverageAtStart1m.toFixed(1)} at the start, ${r.host.loadAverage1m.toFixed(1)} at the end; ${gb(r.host.freeMemoryBytesAtStart)} of ${gb(r.host.totalMemoryBytes)} free at the start)`,
    '',
    '| what | value |',
    '|---|---|',
    `| model | ${x.model}, ${(x.parameters / 1e9).toFixed(2)}B parameters, ${x.dtype} weights |`,
    `| mesh | ${x.fabric}: ${x.meshTiles.toLocaleString('en-US')} tiles, ${x.tilesUsed.toLocaleString('en-US')} holding the model |`,
    `| steps | prompt ${x.prompt.join(',')} then ${x.tokens.length} generated: cycles ${x.stepCycles.join(', ')} |`,
    `| tokens | ${x.tokens.join(',')}: ${x.tokensMatchReference ? 'equal to the reference forward pass at every step' : 'NOT equal to the reference'} (max logit error ${x.maxLogitRelativeError.toExponential(1)} of the largest) |`,
    `| compile (tile granularity) | ${x.compileSeconds.toFixed(1)} s wall, ${x.compileCpuSeconds.toFixed(1)} s CPU, drawing the synthetic weights included |`,
    `| mesh run | ${x.runSeconds.toFixed(1)} s wall, ${x.runCpuSeconds.toFixed(1)} s CPU (loading the arena, the reference's steps and the mesh's) |`,
  ];
  if (r.fullWafer) lines.push(`| full-wafer compile | ${r.fullWafer.fabric}: ${r.fullWafer.meshTiles.toLocaleString('en-US')} tiles, ${r.fullWafer.programTiles.toLocaleString('en-US')} in the program, ${r.fullWafer.compileSeconds.toFixed(1)} s wall, ${r.fullWafer.compileCpuSeconds.toFixed(1)} s CPU (lower, place, route, colour, emit, validate) |`);
  lines.push(`| peak resident memory | ${gb(r.peakRssBytes)} (this process, over the whole bench) |`);
  return lines.join('\n');
}

export function writeScaleBench(r: ScaleBenchReport, dir: string): void {
  writeFileAtomic(join(dir, 'scale.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'scale.md'), `# wafer bench scale\n\n${formatScaleBench(r)}\n`, { option: '--out-dir', createParents: true });
}
