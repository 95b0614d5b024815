// estimateGpu: a model on N tensor-parallel GPUs — lower it, time the decode step and the prefill, and report tokens/s
// per user and in aggregate, time to first token, where the time goes (memory / compute / communication / launch) and
// a per-kernel table. The library entry point `wafer gpu`, `wafer compare` and the demo call.
import type { GpuBound, GpuKernelKind, GpuMemoryPlan, GpuProgram } from '../../fabric/gpu/program.js';
import type { GpuCalibration, GpuSpec } from '../../fabric/gpu/spec.js';
import { timeProgram, type GpuBoundBy, type GpuProgramTiming } from '../../fabric/gpu/timing.js';
import type { ModelConfig } from '../model/config.js';
import { lowerForGpu, type GpuLowerOptions, type GpuLowering, type GpuWeightDtype } from './lower.js';

export const DEFAULT_PROMPT_LENGTH = 512;

export interface GpuEstimateOptions {
  gpus?: number;
  batch?: number;
  dtype?: GpuWeightDtype;
  promptLength?: number;
  /** Defaults to promptLength. */
  contextLength?: number;
  /** Decode kernels launched from a CUDA graph (default true, as vLLM / TensorRT-LLM decode). */
  cudaGraphs?: boolean;
}

export interface GpuKernelRow {
  /** Kernel name without the layer prefix; a row sums that kernel over every layer. */
  group: string;
  kind: GpuKernelKind;
  count: number;
  seconds: number;
  /** Of the step's time. */
  fraction: number;
  /** The resource that bounds most of this row's time. */
  bound: GpuBound;
  flops: number;
  hbmBytes: number;
  l2Bytes: number;
  collectiveBytes: number;
}

export interface GpuPhaseReport {
  seconds: number;
  /** The step's fixed host cost (sampling, scheduling), part of `seconds` and of boundBy.launch. */
  stepOverheadSeconds: number;
  boundBy: GpuBoundBy;
  kernelCount: number;
  flopsPerGpu: number;
  hbmBytesPerGpu: number;
  /** HBM bytes of weights / KV cache read per GPU (the rest are activations and writes). */
  weightBytesReadPerGpu: number;
  kvBytesReadPerGpu: number;
  l2BytesPerGpu: number;
  collectiveBytesPerGpu: number;
}

export interface GpuReport {
  model: string;
  gpu: string;
  gpus: number;
  batch: number;
  weightDtype: string;
  expertDtype: string;
  promptLength: number;
  contextLength: number;
  cudaGraphs: boolean;
  /** Where the GPU's timing terms come from (fitted to measured runs, inherited, or assumed). */
  calibration: GpuCalibration['provenance'];
  /** Tokens/s one user sees while decoding (1 / step time). */
  decodeTokensPerSecond: number;
  /** Tokens/s of the whole batch (batch / step time). */
  aggregateTokensPerSecond: number;
  /** Prefill of the batch's prompts (promptLength tokens each, together) up to the first sampled token. */
  timeToFirstTokenSeconds: number;
  decodeStepSeconds: number;
  /** Of a decode step's time. */
  boundBy: GpuBoundBy;
  /**
   * The memory wall for this batch: HBM bandwidth ÷ HBM bytes one GPU reads and writes per decode step, in steps/s
   * (= tokens/s per user). Null when nothing comes from HBM (a model resident in L2).
   */
  hbmRooflineTokensPerSecond: number | null;
  decode: GpuPhaseReport;
  prefill: GpuPhaseReport;
  memory: GpuMemoryPlan;
  /** The decode step's kernel table: one row per kernel summed over the layers, in first-run order. */
  kernels: GpuKernelRow[];
  prefillKernels: GpuKernelRow[];
}

export function resolveOptions(o: GpuEstimateOptions): GpuLowerOptions & { cudaGraphs: boolean } {
  const promptLength = o.promptLength ?? DEFAULT_PROMPT_LENGTH;
  const resolved: GpuLowerOptions & { cudaGraphs: boolean } = {
    gpus: o.gpus ?? 1,
    batch: o.batch ?? 1,
    promptLength,
    contextLength: o.contextLength ?? promptLength,
    cudaGraphs: o.cudaGraphs ?? true,
  };
  if (o.dtype !== undefined) resolved.dtype = o.dtype;
  return resolved;
}

function phaseReport(p: GpuProgram, t: GpuProgramTiming): { phase: GpuPhaseReport; kernels: GpuKernelRow[] } {
  const rows = new Map<string, GpuKernelRow & { by: Record<GpuBound, number> }>();
  let weightBytes = 0;
  let kvBytes = 0;
  p.kernels.forEach((k, i) => {
    const kt = t.kernels[i];
    weightBytes += k.cost.hbmReadWeightBytes;
    kvBytes += k.cost.hbmReadKvBytes;
    let r = rows.get(k.group);
    if (!r) {
      r = { group: k.group, kind: k.kind, count: 0, seconds: 0, fraction: 0, bound: 'memory', flops: 0, hbmBytes: 0, l2Bytes: 0, collectiveBytes: 0, by: { memory: 0, compute: 0, communication: 0 } };
      rows.set(k.group, r);
    }
    r.count++;
    r.seconds += kt.seconds;
    r.flops += k.cost.flops;
    r.hbmBytes += k.cost.hbmReadWeightBytes + k.cost.hbmReadKvBytes + k.cost.hbmReadActivationBytes + k.cost.hbmWriteBytes;
    r.l2Bytes += k.cost.l2Bytes;
    r.collectiveBytes += k.cost.collectiveBytes;
    r.by[kt.bound] += kt.seconds;
  });
  const kernels: GpuKernelRow[] = [...rows.values()].map(({ by, ...r }) => ({
    ...r,
    fraction: r.seconds / t.seconds,
    bound: (Object.entries(by) as [GpuBound, number][]).reduce((a, b) => (b[1] > a[1] ? b : a))[0],
  }));
  const phase: GpuPhaseReport = {
    seconds: t.seconds,
    stepOverheadSeconds: t.stepOverheadSeconds,
    boundBy: t.boundBy,
    kernelCount: p.kernels.length,
    flopsPerGpu: t.flops,
    hbmBytesPerGpu: t.hbmBytes,
    weightBytesReadPerGpu: weightBytes,
    kvBytesReadPerGpu: kvBytes,
    l2BytesPerGpu: t.l2Bytes,
    collectiveBytesPerGpu: t.collectiveBytes,
  };
  return { phase, kernels };
}

/** Lowers and times without re-validating (for callers that already hold a lowering). */
export function reportFromLowering(cfg: ModelConfig, gpu: GpuSpec, lowered: GpuLowering, opts: GpuLowerOptions & { cudaGraphs: boolean }): GpuReport {
  const dt = timeProgram(lowered.decode, gpu, { cudaGraphs: opts.cudaGraphs });
  // Prefill is launched eagerly (variable shapes are not graph-captured by default in vLLM).
  const pt = timeProgram(lowered.prefill, gpu, { cudaGraphs: false });
  const decode = phaseReport(lowered.decode, dt);
  const prefill = phaseReport(lowered.prefill, pt);
  return {
    model: cfg.name,
    gpu: gpu.name,
    gpus: opts.gpus,
    batch: opts.batch,
    weightDtype: lowered.decode.weightDtype,
    expertDtype: lowered.decode.expertDtype,
    promptLength: opts.promptLength,
    contextLength: opts.contextLength,
    cudaGraphs: opts.cudaGraphs,
    calibration: gpu.calibration.provenance,
    decodeTokensPerSecond: 1 / dt.seconds,
    aggregateTokensPerSecond: opts.batch / dt.seconds,
    timeToFirstTokenSeconds: pt.seconds,
    decodeStepSeconds: dt.seconds,
    boundBy: dt.boundBy,
    hbmRooflineTokensPerSecond: dt.hbmBytes > 0 ? gpu.hbmBytesPerSecond / dt.hbmBytes : null,
    decode: decode.phase,
    prefill: prefill.phase,
    memory: lowered.memory,
    kernels: decode.kernels,
    prefillKernels: prefill.kernels,
  };
}

/**
 * The model `cfg` on `gpus` tensor-parallel GPUs of kind `gpu`. Bad options, a head count the GPU count does not
 * divide, or a model that does not fit are InputErrors.
 */
export function estimateGpu(cfg: ModelConfig, gpu: GpuSpec, options: GpuEstimateOptions = {}): GpuReport {
  const opts = resolveOptions(options);
  return reportFromLowering(cfg, gpu, lowerForGpu(cfg, gpu, opts), opts);
}

export interface GpuBatchPoint {
  batch: number;
  decodeTokensPerSecond: number;
  aggregateTokensPerSecond: number;
  boundBy: GpuBoundBy;
}

/**
 * Decode across batch sizes (each must fit), and the knee: the first batch at which compute bounds more of the
 * step than memory does (null if none of the batches reaches it).
 */
export function gpuBatchSweep(cfg: ModelConfig, gpu: GpuSpec, options: GpuEstimateOptions, batches: readonly number[]): { points: GpuBatchPoint[]; computeKneeBatch: number | null } {
  const points = batches.map((batch) => {
    const r = estimateGpu(cfg, gpu, { ...options, batch });
    return { batch, decodeTokensPerSecond: r.decodeTokensPerSecond, aggregateTokensPerSecond: r.aggregateTokensPerSecond, boundBy: r.boundBy };
  });
  const knee = points.find((p) => p.boundBy.compute > p.boundBy.memory);
  return { points, computeKneeBatch: knee ? knee.batch : null };
}

export interface GpuStepOptions {
  /** Sequences in the step. */
  batch: number;
  /** Positions each sequence advances (default 1: a decode step; more: a multi-position pass). */
  positions?: number;
  /** Positions each sequence attends over (its KV cache). */
  context: number;
  dtype?: GpuWeightDtype;
  /** Tensor-parallel GPUs. */
  gpus: number;
}

export interface GpuStepTime {
  /** One step's time on the GPU (kernels, launches, the step's host cost; CUDA graphs as in decode). */
  seconds: number;
  boundBy: GpuBoundBy;
  /** HBM bytes one GPU moves in the step, and of those the weights and the KV cache. */
  hbmBytesPerGpu: number;
  weightBytesReadPerGpu: number;
  kvBytesReadPerGpu: number;
  flopsPerGpu: number;
}

/**
 * The time of one engine step that advances `batch` sequences by `positions` tokens each, every sequence attending over
 * `context` positions: the entry point for callers that cost passes of their own (a multi-position pass reads the
 * weights once for batch × positions rows). Bad options and a model that does not fit are InputErrors.
 */
export function gpuStepTime(cfg: ModelConfig, gpu: GpuSpec, o: GpuStepOptions): GpuStepTime {
  const positions = o.positions ?? 1;
  // A step holds the weights and the batch's KV caches at `context`; no prompt is in flight, so the memory check
  // leaves out a prefill's activations (the decode program does not depend on the prompt length).
  const opts: GpuLowerOptions = { gpus: o.gpus, batch: o.batch, positions, promptLength: 1, contextLength: o.context };
  if (o.dtype !== undefined) opts.dtype = o.dtype;
  const program = lowerForGpu(cfg, gpu, opts).decode;
  const t = timeProgram(program, gpu, { cudaGraphs: true });
  const { phase } = phaseReport(program, t);
  return { seconds: t.seconds, boundBy: t.boundBy, hbmBytesPerGpu: t.hbmBytes, weightBytesReadPerGpu: phase.weightBytesReadPerGpu, kvBytesReadPerGpu: phase.kvBytesReadPerGpu, flopsPerGpu: t.flops };
}
