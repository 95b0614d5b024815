// `wafer gpu`: a model on N tensor-parallel HBM GPUs — decode tokens/s per user and aggregate, time to first token,
// what bounds each kernel (the memory wall made visible); with --run, the kernel list executed with real numbers.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { InputError } from '../../fabric/errors.js';
import { getGpuPreset, listGpuPresets, parseGpuSpec, type GpuSpec } from '../../fabric/gpu/spec.js';
import { estimateGpu, DEFAULT_PROMPT_LENGTH, type GpuKernelRow, type GpuReport } from '../../compiler/gpu/estimate.js';
import { GPU_WEIGHT_DTYPES, type GpuWeightDtype } from '../../compiler/gpu/lower.js';
import { runOnGpu } from '../../compiler/gpu/run.js';
import { resolveModelConfig, resolveModelWeights } from '../io/loadModel.js';
import { generate } from '../../compiler/reference/forward.js';
import { readUserJson } from '../io/atomicWrite.js';
import { printJson, printText } from '../io/output.js';
import { MAX_BATCH, MAX_GPUS, MAX_POSITIONS, MAX_RUN_TOKENS, parseIntOption, parseSeedOption, parseTokenList } from '../io/parse.js';
import { action } from './action.js';

interface GpuOptions {
  model: string;
  gpu: string;
  gpus: string;
  batch: string;
  dtype?: string;
  promptLen: string;
  context?: string;
  cudaGraphs: boolean;
  run?: boolean;
  prompt?: string;
  tokens: string;
  seed: string;
}

/** A GPU preset name, or a GPU spec JSON file (complete, or {"extends": "h100", ...overrides}). */
export function loadGpuSpec(value: string, option = '--gpu'): GpuSpec {
  if (value.endsWith('.json') || existsSync(value)) return parseGpuSpec(readUserJson(value, option), value);
  return getGpuPreset(value, option);
}

export function parseGpuDtype(value: string, option = '--dtype'): GpuWeightDtype {
  if (!(GPU_WEIGHT_DTYPES as readonly string[]).includes(value)) throw new InputError(`unsupported dtype "${value}"`, option, `use one of ${GPU_WEIGHT_DTYPES.join(', ')}`);
  return value as GpuWeightDtype;
}

const pct = (f: number): string => `${(f * 100).toFixed(0)}%`;
const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;

function fmtSeconds(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  return `${(s * 1e6).toFixed(1)} µs`;
}

function kernelTable(rows: GpuKernelRow[]): string {
  const head = ['kernel', 'count', 'time', 'share', 'bound', 'HBM', 'GFLOP'];
  const body = rows.map((r) => [r.group, String(r.count), fmtSeconds(r.seconds), pct(r.fraction), r.bound, gb(r.hbmBytes), (r.flops / 1e9).toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export function formatGpuReport(r: GpuReport, verbose: boolean): string {
  const b = r.boundBy;
  const dtype = r.expertDtype !== r.weightDtype ? `${r.weightDtype} weights, ${r.expertDtype} experts` : `${r.weightDtype} weights`;
  const lines = [
    `${r.model} on ${r.gpus} × ${r.gpu} (${dtype}, batch ${r.batch}, prompt ${r.promptLength}, context ${r.contextLength}${r.cudaGraphs ? ', CUDA graphs' : ''})`,
    `decode       ${r.decodeTokensPerSecond.toFixed(1)} tokens/s per user, ${r.aggregateTokensPerSecond.toFixed(1)} tokens/s aggregate (step ${fmtSeconds(r.decodeStepSeconds)})`,
    `first token  ${fmtSeconds(r.timeToFirstTokenSeconds)} (prefill of ${r.batch} × ${r.promptLength} tokens)`,
    `bound by     memory ${pct(b.memory)} · compute ${pct(b.compute)} · communication ${pct(b.communication)} · launch ${pct(b.launch)}`,
    r.hbmRooflineTokensPerSecond === null
      ? `HBM wall     none: weights and KV cache stay in L2`
      : `HBM wall     ${r.hbmRooflineTokensPerSecond.toFixed(1)} tokens/s per user (HBM bandwidth ÷ ${gb(r.decode.hbmBytesPerGpu)} moved per step per GPU)`,
    `per GPU      weights ${gb(r.memory.weightBytesPerGpu)} + KV cache ${gb(r.memory.kvCacheBytesPerGpu)} + workspace ${gb(r.memory.workspaceBytesPerGpu)} of ${gb(r.memory.usableBytesPerGpu)} usable`,
    `timing       ${r.calibration.source === 'fitted' ? `fitted to ${r.calibration.rows} measured runs (${r.calibration.command})` : r.calibration.source === 'inherited' ? r.calibration.note : 'assumed, not fitted to measurements'}`,
    '',
    kernelTable(r.kernels),
  ];
  if (verbose) lines.push('', 'prefill', kernelTable(r.prefillKernels));
  return lines.join('\n');
}

export function register(program: Command): void {
  action<GpuOptions>(
    program
      .command('gpu')
      .description('the model on HBM GPUs: decode tokens/s, time to first token, and what bounds each kernel')
      .requiredOption('--model <dir|preset>', 'model directory, config.json, or preset')
      .option('--gpu <name|file>', `GPU preset (${listGpuPresets().map((g) => g.name).join(', ')}) or GPU spec JSON file`, 'h100')
      .option('--gpus <n>', 'tensor-parallel GPUs', '1')
      .option('--batch <n>', 'sequences decoded together', '1')
      .option('--dtype <dtype>', `weight format: ${GPU_WEIGHT_DTYPES.join(', ')} (default: as the checkpoint ships)`)
      .option('--prompt-len <n>', 'prompt tokens per sequence (prefill, time to first token)', String(DEFAULT_PROMPT_LENGTH))
      .option('--context <n>', 'positions attended at the decode step (KV cache length; default: the prompt length)')
      .option('--no-cuda-graphs', 'launch decode kernels from a host stream instead of a CUDA graph')
      .option('--run', 'also execute the kernel list with real numbers (small models) and check it against the reference')
      .option('--prompt <ids>', 'with --run: prompt token ids, e.g. 1,2,3', '1,2,3')
      .option('--tokens <n>', 'with --run: tokens to generate', '8')
      .option('--seed <n>', 'with --run on a preset: seed of its synthetic weights', '0')
      .addHelpText('after', '\nExamples:\n  npx wafer gpu --model llama-3.1-8b --gpu h100 --json\n  npx wafer gpu --model llama-3.1-70b --gpu h100 --gpus 8 --batch 16\n  npx wafer gpu --model toy-moe --gpus 2 --run --prompt 1,2,3 --tokens 8'),
    (opts, g) => {
      const gpu = loadGpuSpec(opts.gpu);
      const gpus = parseIntOption(opts.gpus, '--gpus', 1, MAX_GPUS);
      const batch = parseIntOption(opts.batch, '--batch', 1, MAX_BATCH);
      const promptLength = parseIntOption(opts.promptLen, '--prompt-len', 1, MAX_POSITIONS);
      const contextLength = opts.context === undefined ? undefined : parseIntOption(opts.context, '--context', 1, MAX_POSITIONS);
      const dtype = opts.dtype === undefined ? undefined : parseGpuDtype(opts.dtype);
      const cfg = resolveModelConfig(opts.model, '--model');
      const report = estimateGpu(cfg, gpu, { gpus, batch, promptLength, contextLength, cudaGraphs: opts.cudaGraphs, ...(dtype ? { dtype } : {}) });
      let run: { prompt: number[]; tokens: number[]; referenceTokens: number[]; matchesReference: boolean } | undefined;
      if (opts.run) {
        const seed = parseSeedOption(opts.seed);
        const tokens = parseIntOption(opts.tokens, '--tokens', 1, MAX_RUN_TOKENS);
        const { weights } = resolveModelWeights(opts.model, { seed, option: '--model' });
        const prompt = parseTokenList(opts.prompt ?? '1,2,3', '--prompt', weights.config.vocabSize);
        const out = runOnGpu(weights, gpu, prompt, tokens, { gpus, matvec: 'fast', ...(dtype ? { dtype } : {}) });
        const ref = generate(weights, prompt, tokens);
        run = { prompt, tokens: out.tokens, referenceTokens: ref.tokens, matchesReference: out.tokens.join() === ref.tokens.join() };
      }
      if (g.json) {
        printJson(run ? { ...report, run } : report);
        return;
      }
      printText(formatGpuReport(report, g.verbose));
      if (run) {
        printText(`\nrun on ${gpus} simulated GPU${gpus > 1 ? 's' : ''}: ${run.tokens.join(',')}`);
        printText(run.matchesReference ? 'reference: the same tokens' : `reference: ${run.referenceTokens.join(',')} — MISMATCH`);
      }
      if (run && !run.matchesReference) process.exitCode = 1;
    },
  );
}
