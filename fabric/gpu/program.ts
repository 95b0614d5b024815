// The GPU kernel list: the contract between the GPU lowering (compiler/gpu, which emits it) and the GPU emulator
// (fabric/gpu timing and engine, which cost and run it). Tensor parallel is SPMD: every kernel runs on each of the
// `gpus` GPUs at once on that GPU's shard, so one list describes them all and every cost is PER GPU.
import type { GpuFlopsDtype } from './spec.js';

export type GpuPhase = 'decode' | 'prefill';
/** How a kernel's weights are stored (the HBM efficiency of narrow formats differs from bf16's). */
export type GpuWeightFormat = 'bf16' | 'fp8' | 'int8' | 'mxfp4' | 'int4';
/** How the KV cache is stored (an fp8 cache's attention kernel has its own efficiency). */
export type GpuKvFormat = 'bf16' | 'fp8';
export type GpuBound = 'memory' | 'compute' | 'communication';

export type GpuKernelKind =
  | 'embedding'
  | 'rmsnorm'
  | 'matmul'
  | 'rope'
  | 'attention'
  | 'swiglu'
  | 'router'
  | 'experts'
  | 'lm_head'
  | 'sample'
  | 'allreduce'
  | 'allgather';

/** What one GPU does in one kernel. Bytes split by where they come from; all per GPU. */
export interface GpuKernelCost {
  /** Floating-point (or int8) operations on this GPU. */
  flops: number;
  /** Which peak the math runs at (weights narrower than the GPU's math are dequantised to bf16). */
  flopsDtype: GpuFlopsDtype;
  /** Activation rows (tokens) a GEMM multiplies its weights by; 0 for a kernel that is not a GEMM. */
  rows: number;
  /** Storage format of the weights the kernel streams (bf16 where it reads none). */
  weightFormat: GpuWeightFormat;
  /** Storage format of the KV cache an attention kernel reads (bf16 for every other kernel). */
  kvFormat: GpuKvFormat;
  /** HBM reads: weights (only the experts routed to), KV cache, activations that do not stay in L2. */
  hbmReadWeightBytes: number;
  hbmReadKvBytes: number;
  hbmReadActivationBytes: number;
  /** HBM writes: new KV-cache entries, activations that spill past L2. */
  hbmWriteBytes: number;
  /** Bytes served by L2 instead, read or written (activations between kernels; weights and KV when they all fit L2). */
  l2Bytes: number;
  /** Collective payload (the full vector each GPU contributes), 0 for a local kernel. */
  collectiveBytes: number;
}

/** A matrix (or a column / row block of one) that a matmul kernel multiplies by its input. */
export interface GpuMatPart {
  /** Tensor name in the checkpoint, (rows = outDim, cols = inDim) row-major. */
  tensor: string;
  rows: number;
  cols: number;
  /** Column-parallel splits the rows (outputs) over the GPUs; row-parallel splits the cols (inputs); none = replicated. */
  split: 'rows' | 'cols' | 'none';
  /** Splits fall on multiples of this many rows/cols (a head's dimension for q/k/v), so heads stay whole. */
  unit: number;
  /** Buffer the result goes to. */
  out: string;
  /** Optional bias (length rows); row-parallel adds it on GPU 0 only, before the all-reduce. */
  bias?: string;
}

/** The semantics of a kernel, for the engine that executes the list with real numbers (fabric/gpu/engine.ts). */
export type GpuExec =
  /** Vocab-parallel embedding: each GPU holds rows of the table; the GPU that owns the token writes its row, others zeros. */
  | { op: 'embed'; tensor: string; vocab: number; hidden: number; out: string }
  /** If `residual`: x += residual first (fused add); then out = rmsnorm(x) · weight. */
  | { op: 'rmsnorm'; x: string; residual: string | null; weight: string; eps: number; out: string }
  | { op: 'matmul'; input: string; parts: GpuMatPart[] }
  /** Per-head RMSNorm (Qwen3 q_norm / k_norm) on this GPU's heads of each buffer, one weight vector per buffer. */
  | { op: 'headnorm'; bufs: { buf: string; weight: string }[]; headDim: number; eps: number }
  /** RoPE at the step's position on every head of each buffer. */
  | { op: 'rope'; bufs: string[]; headDim: number; theta: number }
  /** Append k, v to this layer's cache, attend q over it (the last `window` positions when not null). */
  | { op: 'attention'; layer: number; q: string; k: string; v: string; out: string; headDim: number; window: number | null }
  | { op: 'swiglu'; gate: string; up: string; out: string }
  /**
   * MoE first half: top-k gating on the router logits (kept as the step's route), then for each chosen expert
   * act[j] = silu(gate_j · input) ⊙ (up_j · input) on this GPU's rows of the expert's intermediate dimension.
   */
  | {
      op: 'moe_gate_up';
      input: string;
      logits: string;
      topK: number;
      renormalize: boolean;
      /** Expert intermediate size (all GPUs together); each GPU takes its rows. */
      intermediate: number;
      hidden: number;
      experts: { gate: string; up: string }[];
      /** (topK, intermediate / gpus) activations of the chosen experts. */
      out: string;
    }
  /** MoE second half: out (+)= scale · Σ_j weight_j · down_j · act[j] over this GPU's columns of each down_proj. */
  | {
      op: 'moe_down';
      act: string;
      intermediate: number;
      hidden: number;
      experts: string[];
      scale: number;
      /** Add to out (a shared expert wrote it first) instead of overwriting it. */
      accumulate: boolean;
      out: string;
    }
  /** Sum `buf` over the GPUs; every GPU ends with the sum. */
  | { op: 'allreduce'; buf: string }
  /** Concatenate each GPU's `buf` (column shards) into `out` on every GPU. */
  | { op: 'allgather'; buf: string; out: string }
  /** Greedy sampling: the index of the largest logit. */
  | { op: 'argmax'; buf: string }
  /** Costed but not executable by the engine (MLA absorbed attention, gpt-oss sinks): `why` says what is missing. */
  | { op: 'none'; why: string };

export interface GpuKernel {
  /** Unique within the list: "L3.qkv", "lm_head", "L3.allreduce.attn". */
  name: string;
  /** Name without the layer prefix, for tables that sum a kernel over the layers ("qkv"). */
  group: string;
  layer: number | null;
  kind: GpuKernelKind;
  cost: GpuKernelCost;
  exec: GpuExec;
}

export interface GpuMemoryPlan {
  /** Weights stored per GPU (all experts, sharded or replicated as the lowering places them). */
  weightBytesPerGpu: number;
  /** KV cache per GPU for `batch` sequences of `contextLength` positions. */
  kvCacheBytesPerGpu: number;
  /** Activation workspace per GPU (the largest phase's live activations, an estimate). */
  workspaceBytesPerGpu: number;
  totalBytesPerGpu: number;
  /** hbmBytes × hbmUsableFraction of the GPU. */
  usableBytesPerGpu: number;
}

export interface GpuProgram {
  model: string;
  phase: GpuPhase;
  gpus: number;
  batch: number;
  /** Tokens each sequence advances in this phase: 1 for a decode step, the prompt length for prefill. */
  tokensPerSequence: number;
  /** Positions each sequence attends over at the decode step (prefill: the prompt length). */
  contextLength: number;
  /** Weight storage format of the non-expert matrices and of the experts. */
  weightDtype: string;
  expertDtype: string;
  kernels: GpuKernel[];
  memory: GpuMemoryPlan;
}

/**
 * Rows (or cols) [start, end) of a `total`-long dimension that GPU `rank` of `gpus` holds, splitting on multiples of
 * `unit`. With fewer units than GPUs (4 KV heads over 8 GPUs) each GPU holds one whole unit and the units repeat:
 * GPU r holds unit ⌊r · units / gpus⌋, which is the KV head its query heads use.
 */
export function shardRange(total: number, unit: number, rank: number, gpus: number): [number, number] {
  const units = Math.floor(total / unit);
  if (units * unit !== total) throw new RangeError(`shard: ${total} is not a multiple of the unit ${unit}`);
  if (units >= gpus) return [Math.floor((rank * units) / gpus) * unit, Math.floor(((rank + 1) * units) / gpus) * unit];
  const u = Math.floor((rank * units) / gpus);
  return [u * unit, (u + 1) * unit];
}

/** The largest shard any GPU holds (what sets the step's time, since the GPUs wait for each other). */
export function shardSize(total: number, unit: number, gpus: number): number {
  const units = Math.floor(total / unit);
  return units >= gpus ? Math.ceil(units / gpus) * unit : unit;
}
