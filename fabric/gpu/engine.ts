// Executes a GPU decode kernel list with real numbers: every kernel runs on each of the `gpus` simulated GPUs on that
// GPU's shard of the real weights (column blocks really split, row blocks really split), with the kernels/ reference
// matvecs; an all-reduce really sums the GPUs' partial vectors, an all-gather really concatenates their shards.
// The numbers must reproduce the reference forward pass's greedy tokens (tests hold them to it).
import { InputError, OptionError } from '../errors.js';
import {
  addInPlace,
  argmax,
  axpyInPlace,
  decodeAttention,
  matrixElement,
  matvecFast,
  matvecOperand,
  matvecReference,
  rmsnorm,
  ropeInPlace,
  silu,
  sliceMatrix,
  swiglu,
  topKGating,
  type Matrix,
  type TopK,
} from '../../kernels/index.js';
import type { GpuExec, GpuMatPart, GpuProgram } from './program.js';
import { shardRange } from './program.js';

/** Where the engine reads weights: matrices in their stored dtype, 1-D tensors (norms, biases) as f32. */
export interface GpuTensorSource {
  matrix(name: string): Matrix;
  vector(name: string): Float32Array;
}

interface PreparedPart {
  part: GpuMatPart;
  w: Matrix;
  bias: Float32Array | null;
}

/** Per-kernel, per-GPU state prepared once: weight shards and the like. */
type Prepared =
  | { op: 'matmul'; parts: PreparedPart[][] }
  | { op: 'embed'; shards: { r0: number; r1: number; w: Matrix }[] }
  | { op: 'experts'; perRank: Map<number, Matrix[]>[] }
  | null;

interface RankState {
  bufs: Map<string, Float32Array>;
  kCache: Map<number, Float32Array>;
  vCache: Map<number, Float32Array>;
  route: TopK | null;
}

export interface GpuEngineOptions {
  /** KV-cache capacity in positions. */
  maxSeq: number;
  /** Matvec kernel: kernels' plain reference (default), or the WebAssembly SIMD matvecFast held to it. */
  matvec?: 'reference' | 'fast';
}

export class GpuEngine {
  readonly gpus: number;
  private readonly prepared: Prepared[];
  private readonly ranks: RankState[];
  private position = 0;
  private lastToken = -1;
  private readonly mv: (w: Matrix, x: Float32Array, y: Float32Array) => void;

  constructor(
    readonly program: GpuProgram,
    private readonly tensors: GpuTensorSource,
    readonly opts: GpuEngineOptions,
  ) {
    if (program.phase !== 'decode') throw new RangeError(`GPU engine: runs a decode kernel list, got ${program.phase}`);
    if (program.batch !== 1) throw new OptionError('batch', `the GPU engine runs batch 1 with real numbers, got batch ${program.batch}`, (name) => `use ${name('batch')} 1 with ${name('run')}`);
    for (const k of program.kernels) {
      if (k.exec.op === 'none') throw new InputError(`kernel ${k.name} cannot run with real numbers: ${k.exec.why}`, `model ${program.model}`, (name) => `run it without ${name('run')} (estimates only)`);
    }
    this.gpus = program.gpus;
    // A 16-bit matrix multiplies its input rounded to its own format, as the reference forward pass does.
    const base = opts.matvec === 'fast' ? matvecFast : matvecReference;
    let operand = new Float32Array(0);
    this.mv = (w, x, y) => {
      if (operand.length < w.cols) operand = new Float32Array(w.cols);
      base(w, matvecOperand(w.dtype, x.subarray(0, w.cols), operand), y);
    };
    this.prepared = program.kernels.map((k) => this.prepare(k.exec));
    this.ranks = Array.from({ length: this.gpus }, () => ({ bufs: new Map(), kCache: new Map(), vCache: new Map(), route: null }));
  }

  private prepare(e: GpuExec): Prepared {
    const N = this.gpus;
    const ranks = Array.from({ length: N }, (_, r) => r);
    switch (e.op) {
      case 'matmul':
        return {
          op: 'matmul',
          parts: ranks.map((r) =>
            e.parts.map((p) => {
              const full = this.tensors.matrix(p.tensor);
              if (full.rows !== p.rows || full.cols !== p.cols) throw new RangeError(`GPU engine: ${p.tensor} is ${full.rows}×${full.cols}, the kernel list says ${p.rows}×${p.cols}`);
              let w = full;
              let bias = p.bias ? this.tensors.vector(p.bias) : null;
              if (p.split === 'rows') {
                const [r0, r1] = shardRange(p.rows, p.unit, r, N);
                w = sliceMatrix(full, r0, r1, 0, p.cols);
                if (bias) bias = bias.slice(r0, r1);
              } else if (p.split === 'cols') {
                const [c0, c1] = shardRange(p.cols, p.unit, r, N);
                w = sliceMatrix(full, 0, p.rows, c0, c1);
                if (r !== 0) bias = null; // row-parallel: the bias is added once, before the all-reduce
              }
              return { part: p, w, bias };
            }),
          ),
        };
      case 'embed': {
        const table = this.tensors.matrix(e.tensor);
        return {
          op: 'embed',
          shards: ranks.map((r) => {
            const [r0, r1] = shardRange(e.vocab, 1, r, N);
            return { r0, r1, w: N === 1 ? table : sliceMatrix(table, r0, r1, 0, e.hidden) };
          }),
        };
      }
      case 'moe_gate_up':
      case 'moe_down':
        // Expert shards are cut lazily (on first use) so a model with many experts prepares only those it routes to.
        return { op: 'experts', perRank: ranks.map(() => new Map()) };
      default:
        return null;
    }
  }

  /** Shards of one routed expert on GPU `rank`, cut on first use and kept: gate/up rows or down columns of its intermediate. */
  private expertShard(cache: Map<number, Matrix[]>, rank: number, idx: number, names: string[], intermediate: number, split: 'rows' | 'cols'): Matrix[] {
    let s = cache.get(idx);
    if (!s) {
      const [i0, i1] = shardRange(intermediate, 1, rank, this.gpus);
      s = names.map((n) => {
        const w = this.tensors.matrix(n);
        return split === 'rows' ? sliceMatrix(w, i0, i1, 0, w.cols) : sliceMatrix(w, 0, w.rows, i0, i1);
      });
      cache.set(idx, s);
    }
    return s;
  }

  get seqLen(): number {
    return this.position;
  }

  /** Runs the kernel list for one token at the next position; returns the full logits (as every GPU holds them). */
  step(token: number): Float32Array {
    if (this.position >= this.opts.maxSeq) throw new RangeError(`GPU engine: KV cache full (${this.opts.maxSeq} positions)`);
    const kernels = this.program.kernels;
    for (let i = 0; i < kernels.length; i++) this.run(kernels[i].exec, this.prepared[i], token);
    this.position++;
    return this.buf(0, 'logits');
  }

  /** The token the last step's sample kernel chose. */
  get sampled(): number {
    return this.lastToken;
  }

  private buf(rank: number, name: string): Float32Array {
    const b = this.ranks[rank].bufs.get(name);
    if (!b) throw new RangeError(`GPU engine: buffer "${name}" read before it was written (GPU ${rank})`);
    return b;
  }

  private run(e: GpuExec, prep: Prepared, token: number): void {
    const N = this.gpus;
    const pos = this.position;
    switch (e.op) {
      case 'allreduce': {
        const sum = Float32Array.from(this.buf(0, e.buf));
        for (let r = 1; r < N; r++) addInPlace(sum, this.buf(r, e.buf));
        for (let r = 0; r < N; r++) this.ranks[r].bufs.set(e.buf, r === 0 ? sum : sum.slice());
        return;
      }
      case 'allgather': {
        const shards = this.ranks.map((_, r) => this.buf(r, e.buf));
        const out = new Float32Array(shards.reduce((n, s) => n + s.length, 0));
        let off = 0;
        for (const s of shards) {
          out.set(s, off);
          off += s.length;
        }
        for (let r = 0; r < N; r++) this.ranks[r].bufs.set(e.out, r === 0 ? out : out.slice());
        return;
      }
      case 'argmax':
        this.lastToken = argmax(this.buf(0, e.buf));
        return;
      default:
        for (let r = 0; r < N; r++) this.runLocal(e, prep, r, token, pos);
    }
  }

  private runLocal(e: GpuExec, prep: Prepared, rank: number, token: number, pos: number): void {
    const st = this.ranks[rank];
    const bufs = st.bufs;
    switch (e.op) {
      case 'embed': {
        const s = (prep as Extract<Prepared, { op: 'embed' }>).shards[rank];
        const x = new Float32Array(e.hidden);
        if (token >= s.r0 && token < s.r1) for (let c = 0; c < e.hidden; c++) x[c] = matrixElement(s.w, token - s.r0, c);
        bufs.set(e.out, x);
        return;
      }
      case 'rmsnorm': {
        const x = this.buf(rank, e.x);
        if (e.residual) addInPlace(x, this.buf(rank, e.residual));
        bufs.set(e.out, rmsnorm(x, this.tensors.vector(e.weight), e.eps, new Float32Array(x.length)));
        return;
      }
      case 'matmul': {
        const input = this.buf(rank, e.input);
        for (const { part, w, bias } of (prep as Extract<Prepared, { op: 'matmul' }>).parts[rank]) {
          if (w.cols !== input.length) throw new RangeError(`GPU engine: ${part.tensor} shard has ${w.cols} columns, input "${e.input}" has ${input.length} (GPU ${rank})`);
          const y = new Float32Array(w.rows);
          this.mv(w, input, y);
          if (bias) addInPlace(y, bias);
          bufs.set(part.out, y);
        }
        return;
      }
      case 'headnorm':
        for (const { buf, weight } of e.bufs) {
          const x = this.buf(rank, buf);
          const wv = this.tensors.vector(weight);
          const tmp = new Float32Array(e.headDim);
          for (let h = 0; h < x.length / e.headDim; h++) {
            const head = x.subarray(h * e.headDim, (h + 1) * e.headDim);
            rmsnorm(head, wv, e.eps, tmp);
            head.set(tmp);
          }
        }
        return;
      case 'rope':
        for (const b of e.bufs) {
          const x = this.buf(rank, b);
          ropeInPlace(x, x.length / e.headDim, e.headDim, pos, e.theta);
        }
        return;
      case 'attention': {
        const q = this.buf(rank, e.q);
        const k = this.buf(rank, e.k);
        const v = this.buf(rank, e.v);
        const rowLen = k.length;
        let kc = st.kCache.get(e.layer);
        let vc = st.vCache.get(e.layer);
        if (!kc || !vc) {
          kc = new Float32Array(this.opts.maxSeq * rowLen); // (maxSeq, local KV heads, headDim)
          vc = new Float32Array(this.opts.maxSeq * rowLen);
          st.kCache.set(e.layer, kc);
          st.vCache.set(e.layer, vc);
        }
        kc.set(k, pos * rowLen);
        vc.set(v, pos * rowLen);
        const start = e.window ? Math.max(0, pos - e.window + 1) : 0;
        const out = new Float32Array(q.length);
        decodeAttention({
          q,
          kCache: kc.subarray(start * rowLen),
          vCache: vc.subarray(start * rowLen),
          seqLen: pos + 1 - start,
          numHeads: q.length / e.headDim,
          numKvHeads: rowLen / e.headDim,
          headDim: e.headDim,
          out,
        });
        bufs.set(e.out, out);
        return;
      }
      case 'swiglu':
        bufs.set(e.out, swiglu(this.buf(rank, e.gate), this.buf(rank, e.up)));
        return;
      case 'moe_gate_up': {
        const cache = (prep as Extract<Prepared, { op: 'experts' }>).perRank[rank];
        const input = this.buf(rank, e.input);
        const route = topKGating(this.buf(rank, e.logits), e.topK, e.renormalize);
        st.route = route;
        const [i0, i1] = shardRange(e.intermediate, 1, rank, this.gpus);
        const iL = i1 - i0;
        const act = new Float32Array(e.topK * iL); // (topK, local intermediate)
        const g = new Float32Array(iL);
        const u = new Float32Array(iL);
        for (let j = 0; j < e.topK; j++) {
          const idx = route.indices[j];
          const [gate, up] = this.expertShard(cache, rank, idx, [e.experts[idx].gate, e.experts[idx].up], e.intermediate, 'rows');
          this.mv(gate, input, g);
          this.mv(up, input, u);
          for (let i = 0; i < iL; i++) act[j * iL + i] = silu(g[i]) * u[i];
        }
        bufs.set(e.out, act);
        return;
      }
      case 'moe_down': {
        const cache = (prep as Extract<Prepared, { op: 'experts' }>).perRank[rank];
        const route = st.route;
        if (!route) throw new RangeError('GPU engine: moe_down before moe_gate_up');
        const act = this.buf(rank, e.act);
        const iL = act.length / route.indices.length;
        const out = e.accumulate ? this.buf(rank, e.out) : new Float32Array(e.hidden);
        const y = new Float32Array(e.hidden);
        for (let j = 0; j < route.indices.length; j++) {
          const idx = route.indices[j];
          const [down] = this.expertShard(cache, rank, idx, [e.experts[idx]], e.intermediate, 'cols');
          this.mv(down, act.subarray(j * iL, (j + 1) * iL), y);
          axpyInPlace(out, route.weights[j] * e.scale, y);
        }
        bufs.set(e.out, out);
        return;
      }
      default:
        throw new RangeError(`GPU engine: op ${e.op} is not a local op`);
    }
  }
}

export interface GpuGenerateResult {
  /** Generated ids (not the prompt), each chosen by the kernel list's own sample kernel. */
  tokens: number[];
  /** Logits the last generated token was chosen from. */
  lastLogits: Float32Array;
}

/** Greedy decoding through the kernel list: the prompt one token per step, then maxNewTokens sampled tokens. */
export function gpuGenerate(program: GpuProgram, tensors: GpuTensorSource, prompt: readonly number[], maxNewTokens: number, matvec: GpuEngineOptions['matvec'] = 'reference'): GpuGenerateResult {
  const engine = new GpuEngine(program, tensors, { maxSeq: prompt.length + maxNewTokens, matvec });
  let logits: Float32Array = new Float32Array(0);
  for (const t of prompt) logits = engine.step(t);
  const tokens: number[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    const next = engine.sampled;
    tokens.push(next);
    if (i + 1 < maxNewTokens) logits = engine.step(next);
  }
  return { tokens, lastLogits: logits };
}
