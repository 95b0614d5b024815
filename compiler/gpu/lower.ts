// GPU lowering: a model to the kernel list one GPU of a tensor-parallel group runs for a decode step or a prefill.
// Per kernel: FLOPs and HBM bytes (weights, KV cache, activations), L2 reuse where a working set fits, collectives.
//
// Modelled as vLLM / TensorRT-LLM run a model (assumptions, documented):
// - Megatron tensor parallel over N GPUs: q/k/v and gate/up column-parallel (split by output rows, heads whole), o and
//   down row-parallel (split by input columns), an NVLink all-reduce after attention and after the MLP of each layer;
//   vocab-parallel embedding (+ all-reduce) and lm_head (+ all-gather of the logits). KV heads split over GPUs, or
//   replicated when there are fewer KV heads than GPUs. MoE experts are split the same way (intermediate rows).
// - q/k/v fused into one GEMM and gate/up into one; the residual add fused into the next RMSNorm.
// - Activations and the KV cache are bf16; logits f32. A weight dtype applies to the linear layers of attention and
//   MLP/experts; embedding, lm_head and router stay bf16. mxfp4 (4.25 bits: 4-bit values + one 8-bit scale per 32)
//   applies to the MLP/expert weights only, as gpt-oss ships them; int8 carries one f32 scale per row. The math runs at
//   the narrow format's tensor rate where the GPU has one, else weights are dequantised and the math is bf16.
// - MoE reads only the routed experts' weights: with M tokens in the step, the expected number of distinct experts
//   touched in a layer is E·(1 − (1 − k/E)^M) (uniform routing).
// - L2: an activation that fits in half the L2 stays there between kernels; when a step's whole weight + KV read set
//   fits in half the L2 it stays resident across steps (tiny models), else weights stream from HBM every step.
//   A prefill GEMM whose input activation block exceeds half the L2 re-reads its weights once per block.
// - MLA (Kimi/DeepSeek) decode runs "absorbed": the compressed latent (kvLoraRank + rope dims per token) is the KV
//   cache, replicated on every GPU; prefill decompresses K/V with kv_b and runs ordinary attention.
import { OptionError, type OptionNamer } from '../../fabric/errors.js';
import type { GpuExec, GpuKernel, GpuKernelKind, GpuMatPart, GpuMemoryPlan, GpuPhase, GpuProgram, GpuWeightFormat } from '../../fabric/gpu/program.js';
import { shardSize } from '../../fabric/gpu/program.js';
import type { GpuFlopsDtype, GpuSpec } from '../../fabric/gpu/spec.js';
import type { ModelConfig } from '../model/config.js';
import { describeModel, type AttentionDesc, type DenseMlpDesc, type LayerDesc, type Mat, type ModelDesc, type MoeDesc } from './layers.js';

export const GPU_WEIGHT_DTYPES = Object.freeze(['bf16', 'fp8', 'int8', 'mxfp4'] as const);
export type GpuWeightDtype = (typeof GPU_WEIGHT_DTYPES)[number];
export type StorageFormat = GpuWeightFormat;

/** Bits per stored weight. int8 adds a per-row f32 scale on top; int4 (Kimi K2.5 QAT experts) assumes group-32 bf16 scales. */
export const BITS_PER_WEIGHT: Readonly<Record<StorageFormat, number>> = Object.freeze({ bf16: 16, fp8: 8, int8: 8, mxfp4: 4.25, int4: 4.5 });

export const ACTIVATION_BYTES = 2;
/** Bytes per KV-cache element: bf16 by default; serving engines' fp8 profiles keep an fp8 cache (kvDtype). */
export const KV_BYTES = 2;
export const KV_BYTES_BY_DTYPE: Readonly<Record<'bf16' | 'fp8', number>> = Object.freeze({ bf16: 2, fp8: 1 });
export const LOGIT_BYTES = 4;

export interface GpuLowerOptions {
  /** Tensor-parallel GPUs. */
  gpus: number;
  /** Sequences decoded together. */
  batch: number;
  /** Weight format; undefined = as the checkpoint ships (bf16, experts in the config's expertDtype). */
  dtype?: GpuWeightDtype;
  /** Prompt tokens per sequence (prefill). */
  promptLength: number;
  /** Positions each sequence attends over at the decode step (its KV cache length). */
  contextLength: number;
  /** KV-cache element format (default bf16). */
  kvDtype?: 'bf16' | 'fp8';
  /**
   * Decode: positions each sequence advances in one step (default 1). More than one is a multi-position pass (drafted
   * tokens verified at once): the weights are read once for batch × positions rows, the KV cache once per sequence,
   * and every position gets its logits.
   */
  positions?: number;
}

export interface WeightFormats {
  /** Attention projections. */
  linear: StorageFormat;
  /** Dense MLP (and shared experts). */
  mlp: StorageFormat;
  /** Routed experts. */
  expert: StorageFormat;
}

export function weightFormats(cfg: ModelConfig, dtype: GpuWeightDtype | undefined): WeightFormats {
  if (dtype === undefined) return { linear: 'bf16', mlp: 'bf16', expert: cfg.expertDtype ?? 'bf16' };
  if (dtype === 'mxfp4') return { linear: 'bf16', mlp: 'mxfp4', expert: 'mxfp4' };
  return { linear: dtype, mlp: dtype, expert: dtype };
}

/** The tensor rate a format's GEMM runs at on this GPU: its own where the part has it, else bf16 (dequantised). */
export function computeDtypeOf(format: StorageFormat, gpu: GpuSpec): GpuFlopsDtype {
  if (format === 'fp8' && gpu.flopsPerSecond.fp8 !== null) return 'fp8';
  if (format === 'int8' && gpu.flopsPerSecond.int8 !== null) return 'int8';
  if (format === 'mxfp4' && gpu.flopsPerSecond.fp4 !== null) return 'fp4';
  return 'bf16';
}

/** Expected distinct experts of E touched when `tokens` tokens each route to k of them uniformly. */
export function expectedDistinctExperts(numExperts: number, topK: number, tokens: number): number {
  return numExperts * (1 - (1 - topK / numExperts) ** tokens);
}

/** Tensor-parallel sizes the model's heads allow (Megatron needs whole heads per GPU), up to `max`. */
export function validTensorParallelSizes(cfg: ModelConfig, max = cfg.numHeads): number[] {
  const out: number[] = [];
  for (let n = 1; n <= max; n++) if (tensorParallelProblem(cfg, n) === null) out.push(n);
  return out;
}

function tensorParallelProblem(cfg: ModelConfig, n: number): string | null {
  if (cfg.numHeads % n !== 0) return `the ${cfg.numHeads} attention heads do not split evenly over ${n} GPUs`;
  if (!cfg.mla && cfg.numKvHeads % n !== 0 && n % cfg.numKvHeads !== 0) return `the ${cfg.numKvHeads} KV heads neither split over nor replicate evenly onto ${n} GPUs`;
  return null;
}

export function checkOptions(cfg: ModelConfig, o: GpuLowerOptions): void {
  const int = (v: number, option: keyof GpuLowerOptions, label: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new OptionError(option, `${label} must be a whole number ≥ ${min}, got ${v}`, `give a whole number ≥ ${min}`);
  };
  int(o.gpus, 'gpus', 'gpus', 1);
  int(o.batch, 'batch', 'batch', 1);
  int(o.promptLength, 'promptLength', 'prompt-len', 1);
  int(o.contextLength, 'contextLength', 'context', 1);
  if (o.positions !== undefined) int(o.positions, 'positions', 'positions', 1);
  if (o.contextLength < o.promptLength) {
    throw new OptionError('contextLength', `context ${o.contextLength} is shorter than the prompt (${o.promptLength})`, (name) => `give ${name('contextLength')} ≥ ${o.promptLength}, or leave it out (it defaults to the prompt length)`);
  }
  if (o.dtype !== undefined && !(GPU_WEIGHT_DTYPES as readonly string[]).includes(o.dtype)) {
    throw new OptionError('dtype', `unsupported weight dtype "${o.dtype}"`, `use one of ${GPU_WEIGHT_DTYPES.join(', ')}`);
  }
  const problem = tensorParallelProblem(cfg, o.gpus);
  if (problem !== null) {
    throw new OptionError('gpus', `tensor parallel over ${o.gpus} GPUs: ${problem}`, `use one of ${validTensorParallelSizes(cfg).join(', ')}`);
  }
}

interface PartSpec extends GpuMatPart {
  format: StorageFormat;
  /** Copies stored (numExperts for an expert's matrix) and expected copies read this step. */
  stored: number;
  read: number;
  /** Activation rows multiplied by this matrix, summed over its copies (M·k for routed experts). */
  tokens: number;
}

class Builder {
  readonly kernels: GpuKernel[] = [];
  storedWeightBytes = 0;
  workspaceBytes = 0;
  readonly N: number;
  readonly B: number;
  /** Activation rows in most kernels: batch × tokens per sequence. */
  readonly M: number;
  readonly l2Half: number;
  readonly kvBytes: number;

  constructor(
    readonly desc: ModelDesc,
    readonly gpu: GpuSpec,
    readonly phase: GpuPhase,
    readonly opts: GpuLowerOptions,
    readonly formats: WeightFormats,
  ) {
    this.N = opts.gpus;
    this.B = opts.batch;
    this.M = opts.batch * (phase === 'decode' ? (opts.positions ?? 1) : opts.promptLength);
    this.l2Half = gpu.l2Bytes / 2;
    this.kvBytes = KV_BYTES_BY_DTYPE[opts.kvDtype ?? 'bf16'];
  }

  /** Split an activation stream between L2 (fits half of it) and HBM. */
  private actSplit(bytes: number): { hbm: number; l2: number } {
    this.workspaceBytes = Math.max(this.workspaceBytes, bytes);
    return bytes <= this.l2Half ? { hbm: 0, l2: bytes } : { hbm: bytes, l2: 0 };
  }

  private push(name: string, group: string, layer: number | null, kind: GpuKernelKind, exec: GpuExec, c: Partial<GpuKernel['cost']>): void {
    this.kernels.push({
      name: layer === null ? name : `L${layer}.${name}`,
      group,
      layer,
      kind,
      exec,
      cost: {
        flops: c.flops ?? 0,
        flopsDtype: c.flopsDtype ?? 'bf16',
        rows: c.rows ?? 0,
        weightFormat: c.weightFormat ?? 'bf16',
        kvFormat: c.kvFormat ?? 'bf16',
        hbmReadWeightBytes: c.hbmReadWeightBytes ?? 0,
        hbmReadKvBytes: c.hbmReadKvBytes ?? 0,
        hbmReadActivationBytes: c.hbmReadActivationBytes ?? 0,
        hbmWriteBytes: c.hbmWriteBytes ?? 0,
        l2Bytes: c.l2Bytes ?? 0,
        collectiveBytes: c.collectiveBytes ?? 0,
      },
    });
  }

  localRows(p: GpuMatPart): number {
    return p.split === 'rows' ? shardSize(p.rows, p.unit, this.N) : p.rows;
  }

  localCols(p: GpuMatPart): number {
    return p.split === 'cols' ? shardSize(p.cols, p.unit, this.N) : p.cols;
  }

  part(m: Mat, split: GpuMatPart['split'], unit: number, out: string, format: StorageFormat, extra: Partial<PartSpec> = {}): PartSpec {
    const p: PartSpec = { tensor: m.tensor, rows: m.rows, cols: m.cols, split, unit, out, format, stored: 1, read: 1, tokens: this.M, ...extra };
    if (m.bias) p.bias = m.bias;
    return p;
  }

  matmul(name: string, layer: number | null, kind: GpuKernelKind, input: string, parts: PartSpec[], opts: { exec?: GpuExec; rows?: number; outBytes?: number } = {}): void {
    const rows = opts.rows ?? this.M;
    let weightRead = 0;
    let weightElemsRead = 0;
    let macs = 0;
    let inLocal = 0;
    let outElems = 0;
    for (const p of parts) {
      const r = this.localRows(p);
      const c = this.localCols(p);
      const bytes = (r * c * BITS_PER_WEIGHT[p.format]) / 8 + (p.format === 'int8' ? r * 4 : 0) + (p.bias ? r * ACTIVATION_BYTES : 0);
      this.storedWeightBytes += bytes * p.stored;
      weightRead += bytes * p.read;
      weightElemsRead += r * c * p.read;
      macs += r * c * p.tokens;
      inLocal = Math.max(inLocal, c);
      outElems += r * p.tokens;
    }
    const formats = new Set(parts.map((p) => computeDtypeOf(p.format, this.gpu)));
    const flopsDtype: GpuFlopsDtype = formats.size === 1 ? [...formats][0] : 'bf16';
    const inBytes = rows * inLocal * ACTIVATION_BYTES;
    const outBytes = outElems * (opts.outBytes ?? ACTIVATION_BYTES);
    // A GEMM streams its weights once while its input block stays in L2; a larger input is blocked, one weight pass each.
    const passes = inBytes > this.l2Half ? Math.ceil(inBytes / this.l2Half) : 1;
    const i = this.actSplit(inBytes);
    const o = this.actSplit(outBytes);
    const exec: GpuExec = opts.exec ?? { op: 'matmul', input, parts: parts.map(({ tensor, rows: pr, cols, split, unit, out, bias }) => (bias ? { tensor, rows: pr, cols, split, unit, out, bias } : { tensor, rows: pr, cols, split, unit, out })) };
    this.push(name, name, layer, kind, exec, {
      flops: 2 * macs,
      flopsDtype,
      // Rows each weight is multiplied by (tokens per routed expert for an MoE): what fills the tensor tiles.
      rows: weightElemsRead > 0 ? macs / weightElemsRead : 0,
      weightFormat: parts[0].format,
      hbmReadWeightBytes: weightRead * passes,
      hbmReadActivationBytes: i.hbm,
      hbmWriteBytes: o.hbm,
      l2Bytes: i.l2 + o.l2,
    });
  }

  /** An elementwise / normalisation kernel over `elems` input elements producing `outElems`. */
  vector(name: string, layer: number | null, kind: GpuKernelKind, exec: GpuExec, v: { elems: number; outElems: number; flopsPerElem: number; weightBytes?: number; inBytes?: number }): void {
    const w = v.weightBytes ?? 0;
    this.storedWeightBytes += w;
    const i = this.actSplit(v.elems * (v.inBytes ?? ACTIVATION_BYTES));
    const o = this.actSplit(v.outElems * ACTIVATION_BYTES);
    this.push(name, name, layer, kind, exec, { flops: v.flopsPerElem * v.elems, hbmReadWeightBytes: w, hbmReadActivationBytes: i.hbm, hbmWriteBytes: o.hbm, l2Bytes: i.l2 + o.l2 });
  }

  allReduce(name: string, layer: number | null, buf: string, elems: number): void {
    if (this.N === 1) return;
    this.push(name, name, layer, 'allreduce', { op: 'allreduce', buf }, { collectiveBytes: elems * ACTIVATION_BYTES });
  }

  // ---- model pieces -------------------------------------------------------------------------------------------

  embedding(): void {
    const e = this.desc.embedding;
    const h = this.desc.cfg.hiddenSize;
    this.storedWeightBytes += shardSize(e.rows, 1, this.N) * h * ACTIVATION_BYTES;
    const rowBytes = this.M * h * ACTIVATION_BYTES;
    const o = this.actSplit(rowBytes);
    this.push('embedding', 'embedding', null, 'embedding', { op: 'embed', tensor: e.tensor, vocab: e.rows, hidden: h, out: 'x' }, { hbmReadWeightBytes: rowBytes, hbmWriteBytes: o.hbm, l2Bytes: o.l2 });
    this.allReduce('allreduce.embedding', null, 'x', this.M * h);
  }

  rmsnorm(name: string, layer: number | null, weight: string, residual: string | null): void {
    const h = this.desc.cfg.hiddenSize;
    const eps = this.desc.cfg.rmsNormEps;
    this.vector(name, layer, 'rmsnorm', { op: 'rmsnorm', x: 'x', residual, weight, eps, out: 'h' }, {
      elems: this.M * h * (residual ? 2 : 1),
      outElems: this.M * h * (residual ? 2 : 1),
      flopsPerElem: 4,
      weightBytes: h * ACTIVATION_BYTES,
    });
  }

  attention(l: LayerDesc, a: AttentionDesc): void {
    const cfg = this.desc.cfg;
    const L = l.index;
    const f = this.formats.linear;
    if (a.kind === 'gqa') {
      const hd = a.headDim;
      this.matmul('qkv', L, 'matmul', 'h', [this.part(a.q, 'rows', hd, 'q', f), this.part(a.k, 'rows', hd, 'k', f), this.part(a.v, 'rows', hd, 'v', f)]);
      const qL = shardSize(cfg.numHeads, 1, this.N);
      const kvL = shardSize(cfg.numKvHeads, 1, this.N);
      if (a.qNorm && a.kNorm) {
        this.vector('qk_norm', L, 'rmsnorm', { op: 'headnorm', bufs: [{ buf: 'q', weight: a.qNorm }, { buf: 'k', weight: a.kNorm }], headDim: hd, eps: cfg.rmsNormEps }, {
          elems: this.M * (qL + kvL) * hd,
          outElems: this.M * (qL + kvL) * hd,
          flopsPerElem: 4,
          weightBytes: 2 * hd * ACTIVATION_BYTES,
        });
      }
      this.vector('rope', L, 'rope', { op: 'rope', bufs: ['q', 'k'], headDim: hd, theta: cfg.ropeTheta }, { elems: this.M * (qL + kvL) * hd, outElems: this.M * (qL + kvL) * hd, flopsPerElem: 3 });
      this.attentionCore(L, qL, kvL * hd * 2 * this.kvBytes, hd, hd, a.window, { op: 'attention', layer: L, q: 'q', k: 'k', v: 'v', out: 'attn', headDim: hd, window: a.window });
      this.matmul('o', L, 'matmul', 'attn', [this.part(a.o, 'cols', hd, 'attn_out', f)]);
    } else {
      const none = (what: string): GpuExec => ({ op: 'none', why: `MLA ${what} is costed, not executed` });
      const qHead = a.qkNopeHeadDim + a.qkRopeHeadDim;
      const latent = a.kvLoraRank + a.qkRopeHeadDim;
      const qL = shardSize(cfg.numHeads, 1, this.N);
      // q_a and kv_a_with_mqa read the same input; both small and replicated (vLLM ReplicatedLinear).
      const first = [this.part(a.kvA, 'none', 1, 'kv_latent', f)];
      if (a.qA) first.unshift(this.part(a.qA, 'none', 1, 'q_latent', f));
      this.matmul('qkv_a', L, 'matmul', 'h', first, { exec: none('q_a / kv_a') });
      const latentElems = this.M * ((a.qA ? a.qA.rows : 0) + latent);
      this.vector('latent_norm', L, 'rmsnorm', none('latent norm'), { elems: latentElems, outElems: latentElems, flopsPerElem: 4, weightBytes: ((a.qA ? a.qA.rows : 0) + a.kvLoraRank) * ACTIVATION_BYTES });
      this.matmul('q_b', L, 'matmul', a.qA ? 'q_latent' : 'h', [this.part(a.qB, 'rows', qHead, 'q', f)], { exec: none('q_b') });
      this.vector('rope', L, 'rope', none('rope'), { elems: this.M * (qL + 1) * a.qkRopeHeadDim, outElems: this.M * (qL + 1) * a.qkRopeHeadDim, flopsPerElem: 3 });
      if (this.phase === 'decode') {
        // Absorbed: q_nope · W_UK per head (the k half of kv_b), attention over the latent cache, then · W_UV.
        const kvB = this.part(a.kvB, 'rows', a.qkNopeHeadDim + a.vHeadDim, 'unused', f);
        const wuk = { ...kvB, tensor: `${a.kvB.tensor}[k]`, rows: cfg.numHeads * a.qkNopeHeadDim, unit: a.qkNopeHeadDim };
        const wuv = { ...kvB, tensor: `${a.kvB.tensor}[v]`, rows: cfg.numHeads * a.vHeadDim, unit: a.vHeadDim };
        // kv_b is stored once: q_absorb and v_absorb each count their half of it.
        this.matmul('q_absorb', L, 'matmul', 'q', [wuk], { exec: none('q absorb') });
        this.attentionCore(L, qL, latent * this.kvBytes, latent, a.kvLoraRank, null, none('latent attention'));
        this.matmul('v_absorb', L, 'matmul', 'attn_latent', [wuv], { exec: none('v absorb') });
      } else {
        this.matmul('kv_b', L, 'matmul', 'kv_latent', [this.part(a.kvB, 'rows', a.qkNopeHeadDim + a.vHeadDim, 'kv', f)], { exec: none('kv_b') });
        this.attentionCore(L, qL, latent * this.kvBytes, qHead, a.vHeadDim, null, none('attention'));
      }
      this.matmul('o', L, 'matmul', 'attn', [this.part(a.o, 'cols', a.vHeadDim, 'attn_out', f)], { exec: none('o') });
    }
    this.allReduce('allreduce.attn', L, 'attn_out', this.M * cfg.hiddenSize);
  }

  /**
   * The attention kernel: `qHeads` local query heads; `kvBytesPerPosition` bytes of KV cache per position on this GPU;
   * scores over `qkDim`, values of `vDim`. Decode: one query per sequence over min(context, window) positions.
   * Prefill: causal flash attention over the prompt, K/V read once (tiles reused from L2).
   */
  attentionCore(layer: number, qHeads: number, kvBytesPerPosition: number, qkDim: number, vDim: number, window: number | null, exec: GpuExec): void {
    const B = this.B;
    const W = window ?? Infinity;
    // positions: KV entries read per sequence; pairs: (query, key) pairs scored; newPositions: KV entries written.
    let positions: number;
    let pairs: number;
    let newPositions: number;
    if (this.phase === 'decode') {
      positions = Math.min(this.opts.contextLength, W);
      newPositions = this.opts.positions ?? 1;
      pairs = positions * newPositions;
    } else {
      const Lp = this.opts.promptLength;
      positions = Lp;
      pairs = Lp <= W ? (Lp * (Lp + 1)) / 2 : (W * (W + 1)) / 2 + (Lp - W) * W;
      newPositions = Lp;
    }
    const kvRead = B * positions * kvBytesPerPosition;
    const kvWrite = B * newPositions * kvBytesPerPosition;
    const storedPositions = Math.min(this.opts.contextLength, W);
    this.kvStoredBytes += B * storedPositions * kvBytesPerPosition;
    const flops = 2 * B * qHeads * pairs * (qkDim + vDim);
    const qIn = this.actSplit(this.M * qHeads * qkDim * ACTIVATION_BYTES);
    const out = this.actSplit(this.M * qHeads * vDim * ACTIVATION_BYTES);
    this.push('attention', 'attention', layer, 'attention', exec, {
      flops,
      kvFormat: this.opts.kvDtype ?? 'bf16',
      hbmReadKvBytes: kvRead,
      hbmReadActivationBytes: qIn.hbm,
      hbmWriteBytes: kvWrite + out.hbm,
      l2Bytes: qIn.l2 + out.l2,
    });
  }

  kvStoredBytes = 0;

  denseMlp(prefix: string, L: number, m: DenseMlpDesc): void {
    const f = this.formats.mlp;
    const I = m.gate.rows;
    const iL = shardSize(I, 1, this.N);
    this.matmul(`${prefix}gate_up`, L, 'matmul', 'h', [this.part(m.gate, 'rows', 1, 'gate', f), this.part(m.up, 'rows', 1, 'up', f)]);
    this.vector(`${prefix}swiglu`, L, 'swiglu', { op: 'swiglu', gate: 'gate', up: 'up', out: 'act' }, { elems: 2 * this.M * iL, outElems: this.M * iL, flopsPerElem: 3 });
    this.matmul(`${prefix}down`, L, 'matmul', 'act', [this.part(m.down, 'cols', 1, 'mlp_out', f)]);
  }

  moe(L: number, m: MoeDesc): void {
    const h = this.desc.cfg.hiddenSize;
    // Router: replicated and small; logits of every expert for every token.
    this.matmul('router', L, 'router', 'h', [this.part(m.router, 'none', 1, 'router_logits', 'bf16')], { outBytes: LOGIT_BYTES });
    if (m.shared) this.denseMlp('shared.', L, m.shared);
    const f = this.formats.expert;
    const distinct = expectedDistinctExperts(m.numExperts, m.topK, this.M);
    const e = { stored: m.numExperts, read: distinct, tokens: this.M * m.topK };
    const gate: Mat = { tensor: `${L}.experts.gate`, rows: m.intermediate, cols: h };
    const up: Mat = { tensor: `${L}.experts.up`, rows: m.intermediate, cols: h };
    const down: Mat = { tensor: `${L}.experts.down`, rows: h, cols: m.intermediate };
    this.matmul('experts.gate_up', L, 'experts', 'h', [this.part(gate, 'rows', 1, 'moe_act', f, e), this.part(up, 'rows', 1, 'moe_act', f, e)], {
      exec: { op: 'moe_gate_up', input: 'h', logits: 'router_logits', topK: m.topK, renormalize: m.renormalize, intermediate: m.intermediate, hidden: h, experts: m.experts.map((x) => ({ gate: x.gate, up: x.up })), out: 'moe_act' },
    });
    this.matmul('experts.down', L, 'experts', 'moe_act', [this.part(down, 'cols', 1, 'mlp_out', f, e)], {
      exec: { op: 'moe_down', act: 'moe_act', intermediate: m.intermediate, hidden: h, experts: m.experts.map((x) => x.down), scale: m.scale, accumulate: m.shared !== null, out: 'mlp_out' },
    });
  }

  layer(l: LayerDesc): void {
    const L = l.index;
    this.rmsnorm('attn_norm', L, l.attention.norm, L === 0 ? null : 'mlp_out');
    this.attention(l, l.attention);
    this.rmsnorm('mlp_norm', L, l.mlpNorm, 'attn_out');
    if (l.mlp.kind === 'dense') this.denseMlp('', L, l.mlp);
    else this.moe(L, l.mlp);
    this.allReduce('allreduce.mlp', L, 'mlp_out', this.M * this.desc.cfg.hiddenSize);
  }

  head(): void {
    const cfg = this.desc.cfg;
    const V = cfg.vocabSize;
    this.vector('final_norm', null, 'rmsnorm', { op: 'rmsnorm', x: 'x', residual: 'mlp_out', weight: this.desc.finalNorm, eps: cfg.rmsNormEps, out: 'h' }, {
      elems: 2 * this.M * cfg.hiddenSize,
      outElems: 2 * this.M * cfg.hiddenSize,
      flopsPerElem: 4,
      weightBytes: cfg.hiddenSize * ACTIVATION_BYTES,
    });
    // Only the last position of a prompt needs logits; a decode step needs every position it advances (one, or the
    // positions of a multi-position pass).
    const B = this.phase === 'decode' ? this.M : this.B;
    const lmPart = { ...this.part(this.desc.lmHead, 'rows', 1, this.N > 1 ? 'logits_local' : 'logits', 'bf16'), tokens: B };
    const tiedBefore = this.storedWeightBytes;
    this.matmul('lm_head', null, 'lm_head', 'h', [lmPart], { rows: B, outBytes: LOGIT_BYTES });
    if (cfg.tieWordEmbeddings) this.storedWeightBytes = tiedBefore; // tied: the embedding table, already stored
    if (this.N > 1) this.push('allgather.logits', 'allgather.logits', null, 'allgather', { op: 'allgather', buf: 'logits_local', out: 'logits' }, { collectiveBytes: B * V * LOGIT_BYTES });
    this.vector('sample', null, 'sample', { op: 'argmax', buf: 'logits' }, { elems: B * V, outElems: B, flopsPerElem: 1, inBytes: LOGIT_BYTES });
  }
}

function build(desc: ModelDesc, gpu: GpuSpec, phase: GpuPhase, opts: GpuLowerOptions): Builder {
  const b = new Builder(desc, gpu, phase, opts, weightFormats(desc.cfg, opts.dtype));
  b.embedding();
  for (const l of desc.layers) b.layer(l);
  b.head();
  // Tiny models: when the whole per-step read set of weights and KV fits half of L2, it stays resident across steps.
  let resident = 0;
  for (const k of b.kernels) resident += k.cost.hbmReadWeightBytes + k.cost.hbmReadKvBytes;
  if (phase === 'decode' && resident <= b.l2Half) {
    // Everything a step touches then lives in L2 (activations already do; new KV entries are written there too).
    for (const k of b.kernels) {
      const c = k.cost;
      c.l2Bytes += c.hbmReadWeightBytes + c.hbmReadKvBytes + c.hbmReadActivationBytes + c.hbmWriteBytes;
      c.hbmReadWeightBytes = 0;
      c.hbmReadKvBytes = 0;
      c.hbmReadActivationBytes = 0;
      c.hbmWriteBytes = 0;
    }
  }
  return b;
}

/** Prefill runs in chunks of at most this many tokens per GPU for memory (assumption: vLLM-style chunked prefill). */
export const PREFILL_CHUNK_TOKENS = 8192;

function memoryPlan(decode: Builder, prefill: Builder, gpu: GpuSpec): GpuMemoryPlan {
  // Live activations: a few buffers of the largest stream at once (assumption: 4×); prefill's in chunks.
  const chunk = Math.min(1, PREFILL_CHUNK_TOKENS / prefill.M);
  const workspace = 4 * Math.max(decode.workspaceBytes, prefill.workspaceBytes * chunk);
  const total = decode.storedWeightBytes + decode.kvStoredBytes + workspace;
  return {
    weightBytesPerGpu: decode.storedWeightBytes,
    kvCacheBytesPerGpu: decode.kvStoredBytes,
    workspaceBytesPerGpu: workspace,
    totalBytesPerGpu: total,
    usableBytesPerGpu: gpu.hbmBytes * gpu.hbmUsableFraction,
  };
}

export interface GpuLowering {
  decode: GpuProgram;
  prefill: GpuProgram;
  memory: GpuMemoryPlan;
}

function program(b: Builder, cfg: ModelConfig, phase: GpuPhase, opts: GpuLowerOptions, memory: GpuMemoryPlan): GpuProgram {
  return {
    model: cfg.name,
    phase,
    gpus: opts.gpus,
    batch: opts.batch,
    tokensPerSequence: phase === 'decode' ? (opts.positions ?? 1) : opts.promptLength,
    contextLength: phase === 'decode' ? opts.contextLength : opts.promptLength,
    weightDtype: b.formats.linear,
    expertDtype: b.formats.expert,
    kernels: b.kernels,
    memory,
  };
}

function lowerUnchecked(cfg: ModelConfig, gpu: GpuSpec, opts: GpuLowerOptions): GpuLowering {
  const desc = describeModel(cfg);
  const d = build(desc, gpu, 'decode', opts);
  const p = build(desc, gpu, 'prefill', opts);
  const memory = memoryPlan(d, p, gpu);
  return { decode: program(d, cfg, 'decode', opts, memory), prefill: program(p, cfg, 'prefill', opts, memory), memory };
}

/**
 * One phase's kernel list for a described model, without the capacity check (the calibration lowers many batch and
 * context shapes of one configuration it has checked with kvCapacitySequences).
 */
export function lowerPhase(desc: ModelDesc, gpu: GpuSpec, phase: GpuPhase, opts: GpuLowerOptions): GpuKernel[] {
  checkOptions(desc.cfg, opts);
  return build(desc, gpu, phase, opts).kernels;
}

/**
 * How many sequences of `contextLength` positions a serving engine can keep in flight: the KV cache that fits in the
 * usable HBM beside the weights and the (batch-1) workspace, as an engine that reserves each request's whole
 * context up front does (TensorRT-LLM's guaranteed-no-evict scheduling). 0 when not even one fits.
 */
export function kvCapacitySequences(cfg: ModelConfig, gpu: GpuSpec, opts: Omit<GpuLowerOptions, 'batch'>): number {
  const one = { ...opts, batch: 1 };
  checkOptions(cfg, one);
  const m = lowerUnchecked(cfg, gpu, one).memory;
  const free = m.usableBytesPerGpu - m.weightBytesPerGpu - m.workspaceBytesPerGpu;
  return Math.max(0, Math.floor(free / m.kvCacheBytesPerGpu));
}

const GB = 1e9;
const gb = (x: number): string => `${(x / GB).toFixed(1)} GB`;

/**
 * Lowers a model for `opts.gpus` tensor-parallel GPUs: the decode-step and prefill kernel lists and the per-GPU memory
 * plan. A model whose weights + KV cache (for the batch and context) + workspace do not fit the GPUs' usable HBM is an
 * InputError that says how many GPUs it needs.
 */
export function lowerForGpu(cfg: ModelConfig, gpu: GpuSpec, opts: GpuLowerOptions): GpuLowering {
  checkOptions(cfg, opts);
  const lowered = lowerUnchecked(cfg, gpu, opts);
  const m = lowered.memory;
  if (m.totalBytesPerGpu > m.usableBytesPerGpu) {
    const need = validTensorParallelSizes(cfg).find((n) => n > opts.gpus && lowerUnchecked(cfg, gpu, { ...opts, gpus: n }).memory.totalBytesPerGpu <= m.usableBytesPerGpu);
    const what = `${cfg.name} needs ${gb(m.totalBytesPerGpu)} per GPU over ${opts.gpus} × ${gpu.name} (weights ${gb(m.weightBytesPerGpu)} + KV cache ${gb(m.kvCacheBytesPerGpu)} for batch ${opts.batch} × context ${opts.contextLength} + workspace ${gb(m.workspaceBytesPerGpu)}), more than the ${gb(m.usableBytesPerGpu)} usable of ${gb(gpu.hbmBytes)}`;
    const fix = (name: OptionNamer) =>
      need !== undefined
        ? `use ${name('gpus')} ${need} or more (the fewest tensor-parallel ${gpu.name} GPUs it fits on), a smaller ${name('batch')}/${name('contextLength')}, or a narrower ${name('dtype')}`
        : `it does not fit even on ${cfg.numHeads} GPUs (one head each; pipeline parallel is not modelled): use a larger GPU, a narrower ${name('dtype')}, or a smaller ${name('batch')}/${name('contextLength')}`;
    throw new OptionError('gpus', what, fix);
  }
  return lowered;
}
