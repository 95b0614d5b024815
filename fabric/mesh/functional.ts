// The functional half of the engine: runs tasks' ops with the kernels on tile SRAM (the shared arena), in the order
// the timing model decided, inline or in a worker. A job = (tile, task) plus the wavelet deliveries into that tile's
// SRAM since its previous job, each a run copied from the step's staging area (what the senders' jobs wrote).
//
// Job records in an Int32Array: [index, tile, task (-1: deliveries only), stageBase, nRuns, nDeps, deps × nDeps,
// (srcWord, dstWord, count) × nRuns]. `deps` are the indices (within the step) of the jobs this one must follow: the
// tile's previous job and the jobs whose staged payloads it receives.
import { WasmKernels } from '../../kernels/wasmKernels.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits } from '../../kernels/dtype.js';
import { matvecOperand } from '../../kernels/matvec.js';
import { rmsnorm, rmsnormGiven, sumSquares, ropeAngles, ropeInPlace, ropeWithAngles, swiglu, axpyInPlace, argmax } from '../../kernels/vector.js';
import { decodeAttention, decodeAttentionBf16, decodeAttentionPartial, decodeAttentionPartialBf16, finishAttention, mergeAttentionRows, mergeAttentionStats } from '../../kernels/attention.js';
import { topKGating } from '../../kernels/gating.js';
import { decodeMxfp4ToBf16, mxfp4Bytes } from '../../kernels/mxfp4.js';
import { inWindow, windowRows, type Op, type Program, type Slice } from '../isa/types.js';
import type { ArenaLayout, BufLoc } from './plan.js';

export const JOB_HEADER = 6;

/** Cross-thread ordering of jobs: done[i] === epoch once job i of this step has run; done[abortAt] !== 0 aborts. */
export interface JobSync {
  done: Int32Array;
  epoch: number;
  abortAt: number;
}

/** How long a worker waits on a dependency before rechecking the abort flag (ms). */
const WAIT_SLICE_MS = 50;

/**
 * Runs jobs on an arena inside a shared WebAssembly.Memory, so the matvecs run the WebAssembly SIMD kernels in place
 * (kernels/wasmKernels.ts); every thread makes its own executor over the same memory.
 */
export class FunctionalExecutor {
  private readonly kernels: WasmKernels;
  private f32: Float32Array;
  private i32: Int32Array;
  private u32: Uint32Array;
  private u16: Uint16Array;
  private i8: Int8Array;
  private stage: Uint32Array = new Uint32Array(0);
  private stageF32: Float32Array = new Float32Array(0);
  private stageI32: Int32Array = new Int32Array(0);
  private attnScratch = new Float32Array(64);

  private accOff = -1;
  private accRows = 0;
  private xScratch = new Float32Array(0);
  private mxScratch = new Uint16Array(0);

  constructor(
    private readonly program: Program,
    private readonly layout: ArenaLayout,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.kernels = new WasmKernels(memory);
    const arena = memory.buffer;
    const end = layout.base + layout.bytes;
    this.f32 = new Float32Array(arena, 0, end >> 2);
    this.i32 = new Int32Array(arena, 0, end >> 2);
    this.u32 = new Uint32Array(arena, 0, end >> 2);
    this.u16 = new Uint16Array(arena, 0, end >> 1);
    this.i8 = new Int8Array(arena, 0, end);
  }

  setStaging(buf: ArrayBufferLike): void {
    if (this.stage.buffer === buf) return;
    this.stage = new Uint32Array(buf);
    this.stageF32 = new Float32Array(buf);
    this.stageI32 = new Int32Array(buf);
  }

  /**
   * Runs the job records in jobs[start, end), in order. With `sync` (worker threads), each job first waits until its
   * dependencies are done (Atomics), and marks itself done after.
   */
  runJobs(jobs: Int32Array, start: number, end: number, position: number, sync: JobSync | null = null): void {
    let i = start;
    while (i < end) {
      const index = jobs[i];
      const tile = jobs[i + 1];
      const task = jobs[i + 2];
      const stageBase = jobs[i + 3];
      const runs = jobs[i + 4];
      const deps = jobs[i + 5];
      let p = i + JOB_HEADER;
      if (sync !== null) for (let d = 0; d < deps; d++) waitDone(sync, jobs[p + d]);
      p += deps;
      for (let r = 0; r < runs; r++, p += 3) {
        const src = jobs[p];
        const dst = jobs[p + 1];
        const n = jobs[p + 2];
        this.u32.set(this.stage.subarray(src, src + n), dst);
      }
      if (task >= 0) this.runTask(tile, task, stageBase, position);
      if (sync !== null) {
        Atomics.store(sync.done, index, sync.epoch);
        Atomics.notify(sync.done, index);
      }
      i = p;
    }
  }

  private loc(tile: number, name: string): BufLoc {
    const l = this.layout.buffers[tile].get(name);
    if (!l) throw new Error(`functional: no buffer "${name}" on tile ${tile}`);
    return l;
  }

  /** Word index of a slice of a 4-byte buffer. */
  private w(tile: number, s: Slice): number {
    return (this.loc(tile, s.buf).byte >> 2) + s.offset;
  }

  private f(tile: number, s: Slice): Float32Array {
    const at = this.w(tile, s);
    return this.f32.subarray(at, at + s.length);
  }

  private words(tile: number, s: Slice): Uint32Array {
    const at = this.w(tile, s);
    return this.u32.subarray(at, at + s.length);
  }

  /**
   * Byte offset of the x a matvec over `dtype` weights multiplies (kernels/matvec.ts MATVEC_OPERAND, what the cost
   * functions charge): x in place, or x rounded to the weights' 16-bit format in a scratch of the kernel memory.
   */
  private operand(dtype: BufLoc['dtype'], x: Float32Array): number {
    if (dtype !== 'bf16' && dtype !== 'f16') return x.byteOffset;
    if (this.xScratch.length < x.length) this.xScratch = new Float32Array(this.memory.buffer, this.kernels.alloc(x.length * 4, 16), x.length);
    return matvecOperand(dtype, x, this.xScratch).byteOffset;
  }

  private runTask(tile: number, task: number, stageBase: number, position: number): void {
    const t = this.program.tiles[tile].tasks[task];
    const offs = this.layout.stageOffsets[tile][task];
    for (let j = 0; j < t.ops.length; j++) this.runOp(tile, t.ops[j], stageBase + offs[j], position);
  }

  private runOp(tile: number, op: Op, stage: number, position: number): void {
    switch (op.op) {
      case 'matvec':
        this.matvec(tile, op);
        return;
      case 'send':
      case 'output':
        this.stage.set(this.words(tile, op.src), stage);
        return;
      case 'add': {
        const a = this.f(tile, op.a);
        const b = this.f(tile, op.b);
        const out = this.f(tile, op.out);
        for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
        return;
      }
      case 'copy':
        this.u32.set(this.words(tile, op.src), this.w(tile, op.out));
        return;
      case 'axpy':
        axpyInPlace(this.f(tile, op.out), this.f(tile, op.weight)[op.index], this.f(tile, op.a));
        return;
      case 'rmsnorm':
        rmsnorm(this.f(tile, op.x), this.f(tile, op.weight), op.eps, this.f(tile, op.out));
        return;
      case 'sumsq':
        // The f32 store rounds the double sum: the part travels as one wavelet.
        this.f(tile, op.out)[0] = sumSquares(this.f(tile, op.x));
        return;
      case 'normScale':
        rmsnormGiven(this.f(tile, op.x), this.f(tile, op.weight), this.f(tile, op.sumsq)[0], op.count, op.eps, this.f(tile, op.out));
        return;
      case 'rope':
        if (op.angles) ropeWithAngles(this.f(tile, op.x), op.numHeads, op.headDim, this.f(tile, op.angles));
        else ropeInPlace(this.f(tile, op.x), op.numHeads, op.headDim, position, op.theta);
        return;
      case 'ropeAngles':
        ropeAngles(this.f(tile, op.out), op.headDim, position, op.theta);
        return;
      case 'kvAppend': {
        // A chunk tile holds its window's rows only: the row at position − first, or none.
        if (op.window && !inWindow(op.window, position)) return;
        const row = position - (op.window?.first ?? 0);
        const k = this.loc(tile, op.kCache);
        const v = this.loc(tile, op.vCache);
        if (k.dtype === 'bf16') {
          // A bf16 cache: the new row rounded on the way in (what kvAppend's cost charges as conversions).
          const kv = [this.f(tile, op.k), this.f(tile, op.v)];
          const at = [(k.byte >> 1) + row * op.rowLength, (v.byte >> 1) + row * op.rowLength];
          for (let j = 0; j < 2; j++) for (let i = 0; i < op.rowLength; i++) this.u16[at[j] + i] = f32ToBf16Bits(kv[j][i]);
          return;
        }
        this.f32.set(this.f(tile, op.k), (k.byte >> 2) + row * op.rowLength);
        this.f32.set(this.f(tile, op.v), (v.byte >> 2) + row * op.rowLength);
        return;
      }
      case 'attention':
        this.attention(tile, op, position);
        return;
      case 'attnMerge':
        mergeAttentionStats(this.f(tile, op.stats), this.f(tile, op.other), this.f(tile, op.factors), op.numHeads);
        return;
      case 'attnMergeRows':
        mergeAttentionRows(this.f(tile, op.out), this.f(tile, op.other), this.f(tile, op.factors), op.numHeads, op.headDim, op.first);
        return;
      case 'attnFinish':
        finishAttention(this.f(tile, op.stats), this.f(tile, op.rows), this.f(tile, op.out), op.numHeads, op.headDim);
        return;
      case 'swiglu':
        swiglu(this.f(tile, op.gate), this.f(tile, op.up), this.f(tile, op.out));
        return;
      case 'topk':
        this.topk(tile, op);
        return;
      case 'dispatch': {
        const k = op.indices.length;
        const at = this.w(tile, op.indices);
        for (let j = 0; j < k; j++) this.stageI32[stage + j] = this.i32[at + j];
        this.stage.set(this.words(tile, op.src), stage + k);
        return;
      }
      case 'argmax': {
        const x = this.f(tile, op.x);
        const i = argmax(x);
        const out = this.f(tile, op.out);
        out[0] = x[i];
        out[1] = i + op.indexBase;
        return;
      }
      case 'argmaxMerge': {
        const a = this.f(tile, op.a);
        const b = this.f(tile, op.b);
        const takeA = a[0] > b[0] || (a[0] === b[0] && a[1] <= b[1]) || Number.isNaN(b[0]);
        const va = takeA ? a[0] : b[0];
        const ia = takeA ? a[1] : b[1];
        const out = this.f(tile, op.out);
        out[0] = va;
        out[1] = ia;
        return;
      }
      case 'embed':
        this.embed(tile, op, stage);
        return;
      case 'waferLink':
        // Time only: the activation goes on in the send after it.
        return;
    }
  }

  private matvec(tile: number, op: Extract<Op, { op: 'matvec' }>): void {
    let w = this.loc(tile, op.w);
    // MXFP4: the block decoded to bf16 (exact), then multiplied as bf16 weights are.
    if (op.format === 'mxfp4') w = { ...w, dtype: 'bf16', byte: this.decodeMxfp4(w, op.rows, op.cols, op.blockOffset ?? 0) };
    const x = this.operand(w.dtype, this.f(tile, op.x));
    let y = this.w(tile, op.y) * 4;
    if (op.accumulate) {
      if (this.accRows < op.rows) {
        this.accOff = this.kernels.alloc(op.rows * 4, 16);
        this.accRows = op.rows;
      }
      y = this.accOff;
    }
    switch (w.dtype) {
      case 'f32':
        this.kernels.matvecF32(w.byte, x, y, op.rows, op.cols);
        break;
      case 'bf16':
        this.kernels.matvecBf16(w.byte, x, y, op.rows, op.cols);
        break;
      case 'f16':
        this.kernels.matvecF16(w.byte, x, y, op.rows, op.cols);
        break;
      case 'int8':
        this.kernels.matvecInt8(w.byte, this.loc(tile, op.scales!).byte, x, y, op.rows, op.cols);
        break;
      case 'i32':
        throw new Error('functional: i32 weights');
    }
    if (op.accumulate) {
      const out = this.f(tile, op.y);
      const acc = this.f32.subarray(this.accOff >> 2, (this.accOff >> 2) + op.rows);
      for (let r = 0; r < op.rows; r++) out[r] += acc[r];
    }
  }

  /** Decodes an MXFP4 weight block into a bf16 scratch of the kernel memory; returns its byte offset. */
  private decodeMxfp4(w: BufLoc, rows: number, cols: number, offset: number): number {
    const n = rows * cols;
    if (this.mxScratch.length < n) this.mxScratch = new Uint16Array(this.memory.buffer, this.kernels.alloc(n * 2, 16), n);
    decodeMxfp4ToBf16(new Uint8Array(this.memory.buffer, w.byte, mxfp4Bytes(rows, cols, offset)), rows, cols, this.mxScratch, offset);
    return this.mxScratch.byteOffset;
  }

  private attention(tile: number, op: Extract<Op, { op: 'attention' }>, position: number): void {
    const k = this.loc(tile, op.kCache);
    const v = this.loc(tile, op.vCache);
    const seqLen = windowRows(op.window, position);
    if (this.attnScratch.length < seqLen) this.attnScratch = new Float32Array(Math.max(seqLen, this.attnScratch.length * 2));
    if (op.stats) {
      // A flash-decoding partial (a KV chunk tile: its window's rows), for the combine's attnMerge/attnMergeRows.
      const args = { q: this.f(tile, op.q), seqLen, numHeads: op.numHeads, numKvHeads: op.numKvHeads, headDim: op.headDim, out: this.f(tile, op.out), stats: this.f(tile, op.stats), scratch: this.attnScratch };
      if (k.dtype === 'bf16') decodeAttentionPartialBf16({ ...args, kCache: this.u16.subarray(k.byte >> 1, (k.byte >> 1) + k.length), vCache: this.u16.subarray(v.byte >> 1, (v.byte >> 1) + v.length) });
      else decodeAttentionPartial({ ...args, kCache: this.f32.subarray(k.byte >> 2, (k.byte >> 2) + k.length), vCache: this.f32.subarray(v.byte >> 2, (v.byte >> 2) + v.length) });
      return;
    }
    if (k.dtype === 'bf16') {
      decodeAttentionBf16({
        q: this.f(tile, op.q),
        kCache: this.u16.subarray(k.byte >> 1, (k.byte >> 1) + k.length),
        vCache: this.u16.subarray(v.byte >> 1, (v.byte >> 1) + v.length),
        seqLen,
        numHeads: op.numHeads,
        numKvHeads: op.numKvHeads,
        headDim: op.headDim,
        out: this.f(tile, op.out),
        scratch: this.attnScratch,
      });
      return;
    }
    decodeAttention({
      q: this.f(tile, op.q),
      kCache: this.f32.subarray(k.byte >> 2, (k.byte >> 2) + k.length),
      vCache: this.f32.subarray(v.byte >> 2, (v.byte >> 2) + v.length),
      seqLen,
      numHeads: op.numHeads,
      numKvHeads: op.numKvHeads,
      headDim: op.headDim,
      out: this.f(tile, op.out),
      scratch: this.attnScratch,
    });
  }

  private topk(tile: number, op: Extract<Op, { op: 'topk' }>): void {
    const g = topKGating(this.f(tile, op.logits), op.k, op.renormalize);
    this.i32.set(g.indices, this.w(tile, op.indices));
    this.f32.set(g.weights, this.w(tile, op.weights));
    if (op.denseWeights) {
      const d = this.f(tile, op.denseWeights);
      d.fill(0);
      for (let j = 0; j < op.k; j++) d[g.indices[j]] = g.weights[j];
    }
  }

  private embed(tile: number, op: Extract<Op, { op: 'embed' }>, stage: number): void {
    const token = this.i32[this.w(tile, op.token)];
    const row = token - op.rowBase;
    if (row < 0 || row >= op.rows) {
      this.stageI32[stage] = 0;
      return;
    }
    this.stageI32[stage] = 1;
    const t = this.loc(tile, op.table);
    const base = row * op.cols;
    const out = this.stageF32;
    const o = stage + 1;
    switch (t.dtype) {
      case 'f32':
        for (let c = 0; c < op.cols; c++) out[o + c] = this.f32[(t.byte >> 2) + base + c];
        break;
      case 'bf16':
        for (let c = 0; c < op.cols; c++) out[o + c] = bf16BitsToF32(this.u16[(t.byte >> 1) + base + c]);
        break;
      case 'f16':
        for (let c = 0; c < op.cols; c++) out[o + c] = f16BitsToF32(this.u16[(t.byte >> 1) + base + c]);
        break;
      case 'int8': {
        const s = this.f32[(this.loc(tile, op.scales!).byte >> 2) + row];
        for (let c = 0; c < op.cols; c++) out[o + c] = this.i8[t.byte + base + c] * s;
        break;
      }
      case 'i32':
        throw new Error('functional: i32 embedding table');
    }
  }
}

function waitDone(sync: JobSync, job: number): void {
  for (;;) {
    const v = Atomics.load(sync.done, job);
    if (v === sync.epoch) return;
    if (Atomics.load(sync.done, sync.abortAt) !== 0) throw new Error('functional: batch aborted (another worker failed)');
    Atomics.wait(sync.done, job, v, WAIT_SLICE_MS);
  }
}
