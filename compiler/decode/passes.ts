// Multi-position forward passes: the seconds of one pass over q positions at a given context, on a wafer (through the
// projection) and on GPUs (through the GPU emulator's lowering and timing), from the cost functions those already
// charge. q = 1 is today's decode step, exactly; q > 1 is a speculative verify pass, a diffusion step, or a prefill
// chunk. See docs/decoding.md#multi-position-passes.
//
// Wafer: the layers are a spatial pipeline (compiler/project): the q positions enter it one after another, each tile
// doing q times its one-position work with its weights resident, so a pass is the token latency + (q − 1) × the
// slowest stage — the same composition the projection uses for a prompt's prefill. The slowest stage is a layer's
// whole hub-to-hub time, an upper bound on how soon a stage can take the next position.
//
// GPU: the decode step's kernels lowered for q columns (the batch path with batch = q): the weight bytes are read once
// for all q columns, the FLOPs grow q-fold, MoE layers read the experts q tokens route to. Attention is the exception:
// the batch path reads one KV cache per column, but the q positions of one sequence share one cache, so each
// attention kernel reads the step's KV once and does q times its FLOPs (every position attends over the context).
import { InputError, OptionError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { GpuSpec } from '../../fabric/gpu/spec.js';
import { estimateGpu, gpuStepTime } from '../gpu/estimate.js';
import { validTensorParallelSizes, type GpuWeightDtype } from '../gpu/lower.js';
import type { ModelConfig } from '../model/config.js';
import { projectWafer, type ProjectionReport } from '../project/index.js';

/** Largest q a pass model evaluates (a prompt chunk longer than this is a prefill, priced as one). */
export const MAX_PASS_POSITIONS = 1 << 20;

/** One model on one fabric: what a forward pass over q positions costs there. */
export interface PassModel {
  fabric: string;
  kind: 'wafer' | 'gpu';
  model: string;
  vocabSize: number;
  /** Wafers or tensor-parallel GPUs. */
  devices: number;
  /** The context (positions attended) the passes are timed at. */
  context: number;
  /** Seconds of one forward pass over q ≥ 1 positions at `context` (q = 1: one decode step). */
  pass(q: number): number;
  /**
   * Seconds to prefill `newTokens` prompt tokens after `priorTokens` already in the sequence: with `cached` the prior
   * tokens' KV cache is kept (a prefix cache), without it the whole prompt is prefilled again.
   */
  prefill(newTokens: number, priorTokens: number, cached: boolean): number;
  method: string;
}

function checkQ(q: number): void {
  if (!Number.isInteger(q) || q < 1 || q > MAX_PASS_POSITIONS) throw new InputError(`a pass needs a whole number of positions in [1, ${MAX_PASS_POSITIONS}], got ${q}`, 'positions', 'give 1 or more');
}

export const WAFER_PASS_METHOD = 'wafer projection (compiler/project) at batch 1: a q-position pass = token latency + (q − 1) × slowest pipeline stage (positions enter the layer pipeline one after another)';

/** The wafer's pass from a batch-1 projection report: latency + (q − 1) × slowest stage. */
export function waferPassSeconds(r: Pick<ProjectionReport, 'tokenLatencySeconds' | 'slowestStageSeconds'>, q: number): number {
  checkQ(q);
  return r.tokenLatencySeconds + (q - 1) * r.slowestStageSeconds;
}

export interface WaferPassOptions {
  context: number;
  dtype?: 'bf16' | 'int8';
}

/** A model on full wafers of `spec`, projected once at batch 1 and `context`. */
export function waferPasses(cfg: ModelConfig, spec: FabricSpec, o: WaferPassOptions): PassModel & { report: ProjectionReport } {
  const report = projectWafer(cfg, spec, { batch: 1, context: o.context, promptLength: 1, dtype: o.dtype });
  const pass = (q: number) => waferPassSeconds(report, q);
  return {
    fabric: spec.name,
    kind: 'wafer',
    model: cfg.name,
    vocabSize: cfg.vocabSize,
    devices: report.wafers,
    context: report.context,
    pass,
    // The prompt goes through the same pipeline, one position after another (as the projection's time to first token).
    prefill: (newTokens, priorTokens, cached) => pass(cached ? newTokens : priorTokens + newTokens),
    method: WAFER_PASS_METHOD,
    report,
  };
}

export const GPU_PASS_METHOD =
  'GPU emulator (compiler/gpu gpuStepTime): a q-position pass = one step advancing one sequence by q positions (the weights read once for q rows, its KV cache once); prefill = the prefill program';

export interface GpuPassOptions {
  context: number;
  /** Tensor-parallel GPUs (default: the fewest that hold the model at batch 1 and this context). */
  gpus?: number;
  dtype?: GpuWeightDtype;
}

/** The fewest tensor-parallel GPUs of `gpu` that hold `cfg` at batch 1 and `context`; an InputError if none does. */
export function fewestGpusFor(cfg: ModelConfig, gpu: GpuSpec, context: number, dtype?: GpuWeightDtype): number {
  for (const n of validTensorParallelSizes(cfg)) {
    try {
      estimateGpu(cfg, gpu, { gpus: n, batch: 1, contextLength: context, promptLength: 1, dtype });
      return n;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }
  throw new OptionError('fabrics', `${cfg.name} does not fit any tensor-parallel group of ${gpu.name} at context ${context}`, (name) => `use a larger GPU, a narrower ${name('dtype')} or a shorter ${name('context')}`);
}

export function gpuPasses(cfg: ModelConfig, gpu: GpuSpec, o: GpuPassOptions): PassModel {
  const gpus = o.gpus ?? fewestGpusFor(cfg, gpu, o.context, o.dtype);
  const passes = new Map<number, number>();
  const pass = (q: number): number => {
    checkQ(q);
    let s = passes.get(q);
    if (s === undefined) {
      // One sequence advanced by q positions in one step: the weights read once for q rows, its KV cache once.
      s = gpuStepTime(cfg, gpu, { batch: 1, positions: q, context: o.context, gpus, dtype: o.dtype }).seconds;
      passes.set(q, s);
    }
    return s;
  };
  const prefills = new Map<number, number>();
  /** The prefill program over a whole prompt of `tokens` (time to its first token). */
  const full = (tokens: number): number => {
    let s = prefills.get(tokens);
    if (s === undefined) {
      s = estimateGpu(cfg, gpu, { gpus, batch: 1, promptLength: tokens, contextLength: tokens, dtype: o.dtype }).timeToFirstTokenSeconds;
      prefills.set(tokens, s);
    }
    return s;
  };
  return {
    fabric: gpu.name,
    kind: 'gpu',
    model: cfg.name,
    vocabSize: cfg.vocabSize,
    devices: gpus,
    context: o.context,
    pass,
    // With a prefix cache, the new tokens' share of the whole prompt's prefill (their linear work and their attention
    // pairs are the difference), but never less than one pass over the weights (a decode step).
    prefill: (newTokens, priorTokens, cached) =>
      !cached || priorTokens === 0 ? full(priorTokens + newTokens) : Math.max(full(priorTokens + newTokens) - full(priorTokens), pass(1)),
    method: GPU_PASS_METHOD,
  };
}
