// Cost functions: PURE functions of (fabric spec, op shape) giving the cycles the compute engine spends on an op.
// The mesh engine charges exactly these, and the analytical projection calls the same functions, so the two can
// never drift (docs/design.md#two-levels-of-truth). Every constant is either a spec field (cited in presets.ts to
// docs/hardware.md) or an assumption documented here.
import type { FabricSpec } from '../spec/schema.js';
import { inWindow, windowRows, type BufferDtype, type Op, type Slice, type Task, type TileProgram } from '../isa/types.js';
import { MATVEC_OPERAND } from '../../kernels/matvec.js';

// The assumed constants (op setup, matvec row overhead, transcendental cycles, send issue) are spec.costs: one override
// (`wafer project --assume`, a spec file's "costs") changes what the engine and the projection both charge. Each is
// named, with its range and why, in fabric/spec/assumptions.ts and docs/assumptions.md.


/** What the engine charges for one op, and the work counted in statistics. */
export interface OpCost {
  cycles: number;
  /** Its SIMD arithmetic alone, in cycles: the part that overlaps with its SRAM streams (no setup, row overheads or transcendentals). */
  arithCycles: number;
  /**
   * Cycles its SRAM streams take at the port widths, the other side of that overlap: the slower of its reads and its
   * writes (a matvec: its weights, x reread per row, and any partial sums it reads back).
   */
  sramCycles: number;
  /** Multiply-accumulates and other SIMD arithmetic operations on the FMAC datapath. */
  fmacOps: number;
  sramReadBytes: number;
  sramWriteBytes: number;
}

/** What an op's cost depends on besides its own fields: the step's position, and the dtype of named buffers. */
export interface OpContext {
  position: number;
  dtypeOf(buf: string): BufferDtype;
}

/** An OpContext over one tile's buffers. */
export function tileOpContext(tile: Pick<TileProgram, 'buffers'>, position: number): OpContext {
  const dtypes = new Map(tile.buffers.map((b) => [b.name, b.dtype] as const));
  return {
    position,
    dtypeOf(buf: string): BufferDtype {
      const d = dtypes.get(buf);
      if (d === undefined) throw new RangeError(`cost: no buffer "${buf}" on this tile`);
      return d;
    },
  };
}

/** FMACs per cycle for a weight dtype (spec.simdWidth; bf16 runs at the f16 width, docs/hardware.md#simd-widths). */
export function simdFor(spec: FabricSpec, dtype: BufferDtype): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
      return spec.simdWidth.f32;
    case 'bf16':
    case 'f16':
      return spec.simdWidth.f16;
    case 'int8':
      return spec.simdWidth.int8;
  }
}

function elemBytes(dtype: BufferDtype): number {
  return dtype === 'f32' || dtype === 'i32' ? 4 : dtype === 'int8' ? 1 : 2;
}

/** SRAM bytes the CE can read per cycle: sramReadsPerCycle × sramAccessBytes (docs/hardware.md#sram-banks). */
export function sramReadBytesPerCycle(spec: FabricSpec): number {
  return spec.sramReadsPerCycle * spec.sramAccessBytes;
}

export function sramWriteBytesPerCycle(spec: FabricSpec): number {
  return spec.sramWritesPerCycle * spec.sramAccessBytes;
}

function readCycles(spec: FabricSpec, bytes: number): number {
  return Math.ceil(bytes / sramReadBytesPerCycle(spec));
}

/** FP32 adds, scales and moves per cycle: simdWidth.f32Add, or the FMA width where a spec does not give it. */
export function f32AddWidth(spec: FabricSpec): number {
  return spec.simdWidth.f32Add ?? spec.simdWidth.f32;
}

/** FP16×FP16 products accumulated in FP32 per cycle: simdWidth.f16Acc32, or the FMA width where a spec does not give it. */
export function f16Acc32Width(spec: FabricSpec): number {
  return spec.simdWidth.f16Acc32 ?? spec.simdWidth.f32;
}

/** FP32 maxima (compares) per cycle: simdWidth.f32Max, or the FMA width where a spec does not give it. */
export function f32MaxWidth(spec: FabricSpec): number {
  return spec.simdWidth.f32Max ?? spec.simdWidth.f32;
}

/**
 * A streaming vector op: the slowest of its arithmetic, its SRAM reads and its SRAM writes, plus transcendentals
 * (serial, each spec.costs.transcendentalCycles) and spec.costs.opSetupCycles. The arithmetic is `macOps` f32 multiplies and
 * multiply-adds at simdWidth.f32 (`@fmacs`; a vector multiply `@fmuls` is not listed either, docs/hardware.md#simd-widths, so it is
 * charged the same), `addOps` adds, subtractions, scalings by one scalar and conversions at f32AddWidth (`@fadds`,
 * `@fscales`), `halfMacOps` 16-bit multiply-adds into f32 at f16Acc32Width (`@fmachs`), and `maxOps` compares (maxima) at
 * f32MaxWidth (`@fmaxs`).
 */
function vectorCost(spec: FabricSpec, macOps: number, addOps: number, readBytes: number, writeBytes: number, transcendentals = 0, halfMacOps = 0, maxOps = 0): OpCost {
  const arith = Math.ceil(macOps / spec.simdWidth.f32) + Math.ceil(addOps / f32AddWidth(spec)) + Math.ceil(halfMacOps / f16Acc32Width(spec)) + Math.ceil(maxOps / f32MaxWidth(spec));
  const reads = readCycles(spec, readBytes);
  const writes = Math.ceil(writeBytes / sramWriteBytesPerCycle(spec));
  return {
    cycles: spec.costs.opSetupCycles + Math.max(arith, reads, writes) + transcendentals * spec.costs.transcendentalCycles,
    arithCycles: arith,
    sramCycles: Math.max(reads, writes),
    fmacOps: macOps + addOps + halfMacOps + maxOps + transcendentals,
    sramReadBytes: readBytes,
    sramWriteBytes: writeBytes,
  };
}

/**
 * Matvec y (+)= W·x of (rows, cols) weights in `dtype`, charged for the numerics the engine computes
 * (kernels/matvec.ts MATVEC_OPERAND, docs/hardware.md#simd-widths):
 * - bf16 and f16 weights multiply x rounded to the same 16-bit format and sum the products in f32: `@fmachs`
 *   (FP16 × FP16 accumulated in FP32) at f16Acc32Width, after x is converted to 16 bits once per op (cols
 *   conversions at the f32 add width: the f32-to-16-bit conversion is not in the SDK's table, an assumption);
 * - f32 weights: `@fmacs` at simdWidth.f32;
 * - int8 weights multiply x quantised once to int16 and sum exactly (simdWidth.int8, an assumption: no integer MAC is
 *   listed), then scale each row's sum (rows scalings at the f32 add width) — the decode of int8 is that scaling.
 * The SRAM side (docs/hardware.md#sram-banks, two reads and one write per cycle): the weight stream, x reread for every
 * row in its operand width (x of 0.5–2 kB does not stay in the 256-byte cache), and with `accumulate` the partial sums
 * read back; the writes are y (and x's converted copy). The op takes the slower of the arithmetic and the SRAM
 * streams, plus spec.costs.matvecRowOverheadCycles per row and setup.
 */
export function matvecCost(spec: FabricSpec, rows: number, cols: number, dtype: BufferDtype, accumulate = false, format?: 'mxfp4'): OpCost {
  if (format === 'mxfp4') return mxfp4MatvecCost(spec, rows, cols, accumulate);
  const macs = rows * cols;
  const operand = matvecOperandBytes(dtype);
  const sixteen = dtype === 'bf16' || dtype === 'f16';
  const weightBytes = macs * elemBytes(dtype) + (dtype === 'int8' ? rows * 4 : 0);
  const macWidth = sixteen ? f16Acc32Width(spec) : simdFor(spec, dtype);
  // x converted once (16-bit weights: to the weights' format; int8: quantised to int16) and int8 rows scaled.
  const conversions = dtype === 'f32' ? 0 : cols;
  const scalings = dtype === 'int8' ? rows : 0;
  const compute = Math.ceil(macs / macWidth) + Math.ceil((conversions + scalings) / f32AddWidth(spec));
  return streamedMatvec(spec, rows, compute, weightBytes, macs * operand, conversions, operand, accumulate, macs + conversions + scalings);
}

/**
 * An MXFP4 matvec (the engine decodes it as kernels/mxfp4.ts does): every weight decoded to bf16 (spec.costs.mxfp4DecodeOpsPerWeight 16-bit
 * operations at simdWidth.f16, the `@mov16`/`@faddh` width of docs/hardware.md#simd-widths; the count is an
 * assumption, no MX decode is documented for the wafer), then as a bf16 matvec — 16-bit products into f32 at
 * f16Acc32Width with x converted to bf16 once — over spec.costs.mxfp4BitsPerWeight bits of weight per MAC.
 */
function mxfp4MatvecCost(spec: FabricSpec, rows: number, cols: number, accumulate: boolean): OpCost {
  const macs = rows * cols;
  const decodeOps = macs * spec.costs.mxfp4DecodeOpsPerWeight;
  const decode = Math.ceil(decodeOps / spec.simdWidth.f16);
  const compute = decode + Math.ceil(macs / f16Acc32Width(spec)) + Math.ceil(cols / f32AddWidth(spec));
  const weightBytes = Math.ceil((macs * spec.costs.mxfp4BitsPerWeight) / 8);
  return streamedMatvec(spec, rows, compute, weightBytes, macs * 2, cols, 2, accumulate, macs + decodeOps + cols);
}

/** A matvec's cost from its arithmetic cycles and its SRAM streams: weights, x per row, x converted once, partial sums. */
function streamedMatvec(spec: FabricSpec, rows: number, compute: number, weightBytes: number, xBytes: number, conversions: number, operand: number, accumulate: boolean, fmacOps: number): OpCost {
  const readBytes = weightBytes + xBytes + conversions * 4 + (accumulate ? rows * 4 : 0);
  const writeBytes = rows * 4 + conversions * operand;
  const memory = Math.max(readCycles(spec, readBytes), Math.ceil(writeBytes / sramWriteBytesPerCycle(spec)));
  return {
    cycles: spec.costs.opSetupCycles + Math.max(compute, memory) + rows * spec.costs.matvecRowOverheadCycles,
    arithCycles: compute,
    sramCycles: memory,
    fmacOps,
    sramReadBytes: readBytes,
    sramWriteBytes: writeBytes,
  };
}

/**
 * The fewest cycles per multiply-accumulate any matvec block in `dtype` (or `format`) is charged by matvecCost: the
 * slower of its arithmetic and its SRAM reads per MAC (a weight and x's operand), without the setup, row overheads and
 * conversions a block adds. So rows × cols × this never exceeds matvecCost(rows, cols).cycles.
 */
export function matvecCyclesPerMac(spec: FabricSpec, dtype: BufferDtype, format?: 'mxfp4'): number {
  const port = sramReadBytesPerCycle(spec);
  if (format === 'mxfp4') return Math.max(spec.costs.mxfp4DecodeOpsPerWeight / spec.simdWidth.f16 + 1 / f16Acc32Width(spec), (spec.costs.mxfp4BitsPerWeight / 8 + 2) / port);
  const sixteen = dtype === 'bf16' || dtype === 'f16';
  const width = sixteen ? f16Acc32Width(spec) : simdFor(spec, dtype);
  return Math.max(1 / width, (elemBytes(dtype) + matvecOperandBytes(dtype)) / port);
}

/** Bytes of x per multiply-accumulate: the operand the engine's kernels multiply W by (kernels/matvec.ts MATVEC_OPERAND). */
function matvecOperandBytes(dtype: BufferDtype): number {
  switch (dtype) {
    case 'f32':
    case 'i32':
      return 4;
    case 'bf16':
    case 'f16':
    case 'int8':
      return OPERAND_BYTES[MATVEC_OPERAND[dtype]];
  }
}

const OPERAND_BYTES = { f32: 4, bf16: 2, f16: 2, int16: 2 } as const;

/** Cost of one op. `ctx.position` matters for attention (it reads position + 1 cache rows). */
export function opCost(spec: FabricSpec, op: Op, ctx: OpContext): OpCost {
  switch (op.op) {
    case 'matvec':
      return matvecCost(spec, op.rows, op.cols, ctx.dtypeOf(op.w), op.accumulate, op.format);
    case 'send':
      // The CE only issues; the wavelets drain through the ramp at one per cycle (the engine's timing model).
      return { cycles: spec.costs.sendIssueCycles, arithCycles: 0, sramCycles: readCycles(spec, op.src.length * 4), fmacOps: 0, sramReadBytes: op.src.length * 4, sramWriteBytes: 0 };
    case 'add':
      return vectorCost(spec, 0, op.a.length, op.a.length * 8, op.a.length * 4);
    case 'copy':
      return vectorCost(spec, 0, 0, op.src.length * 4, op.src.length * 4);
    case 'axpy':
      return vectorCost(spec, op.a.length, 0, op.a.length * 8 + 4, op.a.length * 4);
    case 'rmsnorm': {
      // Sum of squares (n FMAs), one rsqrt, x · inv (n scalings), then · w (n multiplies).
      const n = op.x.length;
      return vectorCost(spec, 2 * n, n, n * 4 + n * 8, n * 4, 1);
    }
    case 'sumsq': {
      // rmsnorm's first half: n FMAs over x, one float out.
      const n = op.x.length;
      return vectorCost(spec, n, 0, n * 4, 4);
    }
    case 'normScale': {
      // rmsnorm's second half: one rsqrt, x · inv (n scalings), then · w (n multiplies); reads x, w and the sum.
      const n = op.x.length;
      return vectorCost(spec, n, n, n * 8 + 4, n * 4, 1);
    }
    case 'rope': {
      // headDim/2 angles (a sin and a cos each) unless ropeAngles wrote them (then read), then 4 multiply-adds per
      // pair per head.
      const n = op.numHeads * op.headDim;
      return op.angles ? vectorCost(spec, 2 * n, 0, n * 4 + op.headDim * 4, n * 4) : vectorCost(spec, 2 * n, 0, n * 4, n * 4, op.headDim);
    }
    case 'ropeAngles':
      // headDim/2 angles (a multiply by the position each), a sin and a cos of each, written out.
      return vectorCost(spec, op.headDim / 2, 0, 0, op.headDim * 4, op.headDim);
    case 'kvAppend': {
      // A chunk tile whose window does not hold the step's position only tests it (the op's setup).
      if (op.window && !inWindow(op.window, ctx.position)) return vectorCost(spec, 0, 0, 0, 0);
      // A 16-bit cache converts the new k and v rows on the way in.
      const kv = elemBytes(ctx.dtypeOf(op.kCache));
      return vectorCost(spec, 0, kv === 4 ? 0 : 2 * op.rowLength, op.rowLength * 8, op.rowLength * 2 * kv);
    }
    case 'attention': {
      // Per query head over seq = position + 1 rows (a chunk tile: its window's rows up to the position): q·K
      // (seq·headDim MACs), each score scaled, their maximum (seq compares), each score less it, seq exps and their
      // sum, p·V (seq·headDim), and, unless a partial for a combine (`stats`), each output divided by the sum (a
      // reciprocal per head, a scaling per output, as attnFinish) — as kernels/attention.ts computes it. Over a
      // 16-bit cache the MACs are `@fmachs` (16-bit operands, f32 sums), after q and the probabilities are converted
      // to 16 bits (headDim + seq conversions per head).
      const seq = windowRows(op.window, ctx.position);
      // A chunk tile whose window starts after the position writes an empty partial (a max and a sum per head).
      if (seq === 0) return vectorCost(spec, 0, 0, 0, op.numHeads * 8);
      const kv = elemBytes(ctx.dtypeOf(op.kCache));
      const macs = 2 * op.numHeads * seq * op.headDim;
      const conversions = kv === 4 ? 0 : op.numHeads * (op.headDim + seq);
      const reads = op.numHeads * op.headDim * 4 + 2 * op.numHeads * seq * op.headDim * kv;
      const writes = op.numHeads * (seq + op.headDim) * 4;
      const scores = op.numHeads * seq;
      const finish = op.stats ? 0 : op.numHeads * op.headDim;
      const reciprocals = op.stats ? 0 : op.numHeads;
      return kv === 4
        ? vectorCost(spec, macs, 3 * scores + finish, reads, writes, scores + reciprocals, 0, scores)
        : vectorCost(spec, 0, 3 * scores + finish + conversions, reads, writes, scores + reciprocals, macs, scores);
    }
    case 'attnMerge': {
      // Per head, as kernels/attention.ts mergeAttentionStats: the larger max (a compare), each max less it (two
      // subtractions), two exponentials (the factors), the merged sum (two multiply-adds).
      const h = op.numHeads;
      return vectorCost(spec, 2 * h, 2 * h, 16 * h, 16 * h, 2 * h, 0, h);
    }
    case 'attnMergeRows': {
      // out·a + other·b: two scalings by one scalar (`@fscales`) and an add (`@fadds`) per element.
      const n = op.out.length;
      return vectorCost(spec, 0, 3 * n, n * 8 + 8 * op.numHeads, n * 4);
    }
    case 'attnFinish': {
      // A reciprocal of each head's sum (a divide), then one scaling per output.
      const n = op.numHeads * op.headDim;
      return vectorCost(spec, 0, n, n * 4 + 8 * op.numHeads, n * 4, op.numHeads);
    }
    case 'swiglu': {
      // silu(g)·u = g·u / (1 + exp(-g)): one exp and one divide per element.
      const n = op.gate.length;
      return vectorCost(spec, 2 * n, 0, n * 8, n * 4, 2 * n);
    }
    case 'topk': {
      // As kernels/gating.ts computes it: a softmax over n logits (their maximum, each less it, n exps, their sum, a
      // reciprocal and n scalings), then k passes of n compares (`@fmaxs`, docs/hardware.md#simd-widths) and, to
      // renormalise, the k weights' sum, a reciprocal and k scalings.
      const n = op.logits.length;
      const k = op.k;
      const renorm = op.renormalize ? 1 : 0;
      return vectorCost(spec, 0, 3 * n + 2 * k * renorm, n * 4 * (1 + k), k * 8 + (op.denseWeights ? n * 4 : 0), n + 1 + renorm, 0, (k + 1) * n);
    }
    case 'dispatch': {
      const k = op.indices.length;
      const reads = k * 4 + op.src.length * 4 * k;
      return { cycles: spec.costs.opSetupCycles + k * spec.costs.sendIssueCycles, arithCycles: 0, sramCycles: readCycles(spec, reads), fmacOps: 0, sramReadBytes: reads, sramWriteBytes: 0 };
    }
    case 'argmax':
      return vectorCost(spec, 0, 0, op.x.length * 4, 8, 0, 0, op.x.length);
    case 'argmaxMerge':
      return vectorCost(spec, 0, 0, 16, 8, 0, 0, 2);
    case 'embed': {
      // Read the token, decode one row to f32 (SIMD at the table dtype's width), issue one send per slice.
      const dtype = ctx.dtypeOf(op.table);
      const decode = dtype === 'f32' ? 0 : Math.ceil(op.cols / simdFor(spec, dtype));
      const reads = 4 + op.cols * elemBytes(dtype);
      return { cycles: spec.costs.opSetupCycles + decode + op.colours.length * spec.costs.sendIssueCycles, arithCycles: decode, sramCycles: readCycles(spec, reads), fmacOps: dtype === 'f32' ? 0 : op.cols, sramReadBytes: reads, sramWriteBytes: 0 };
    }
    case 'output':
      return vectorCost(spec, 0, 0, op.src.length * 4, 0);
    case 'waferLink': {
      // The link's time, not the CE's work: nothing is read or computed.
      const cycles = waferLinkCycles(spec, op.bytes);
      return { cycles, arithCycles: 0, sramCycles: 0, fmacOps: 0, sramReadBytes: 0, sramWriteBytes: 0 };
    }
  }
}

/**
 * Cycles for `bytes` to cross an inter-wafer link (spec.interWafer, docs/hardware.md#wafer-chip "System I/O"): its
 * latency plus the bytes at its bandwidth, at the clock, rounded up — what the projection charges a boundary
 * (compiler/project/project.ts), as an op the mesh engine can run.
 */
export function waferLinkCycles(spec: FabricSpec, bytes: number): number {
  return Math.ceil((spec.interWafer.latencySeconds + bytes / spec.interWafer.bytesPerSecond) * spec.clockHz);
}

export function opCycles(spec: FabricSpec, op: Op, ctx: OpContext): number {
  return opCost(spec, op, ctx).cycles;
}

/**
 * A piecewise receive (Task.streams): the task's leading ops (streamedPrefix) read the received slice as a fabric-input
 * operand, one wavelet as it lands (docs/hardware.md#tasks-and-queues), so they could have begun `credit` cycles
 * before the task starts as a whole — from the latest of the first wavelet's landing, the task's other inputs being
 * ready and the CE's last work ending, to the start. Each op in turn is charged what is left of its cycles after the
 * credit, and at least opSetupCycles + 1 (its setup and the element of the last wavelet): streamed, an op ends no
 * earlier than one element after the last wavelet. Returns the op's charged cycles; the caller spends the difference
 * from its credit. (Assumption, docs/assumptions.md: a fabric-input operand runs at the ops' own widths, which at ≥ 1
 * element per cycle keep up with the one wavelet per cycle a ramp delivers.)
 */
export function streamedOpCycles(spec: FabricSpec, cycles: number, credit: number): number {
  return Math.max(Math.min(cycles, spec.costs.opSetupCycles + 1), cycles - Math.max(0, credit));
}

/**
 * A forwarding task's pace (Task.forwards): the cycles per received element of its `ops` streamed ops, whose full
 * cycles are `cycles` over `count` elements, less each op's setup (paid once as the stream starts). Its sends'
 * wavelets leave no faster than this (nor faster than one a cycle, the ramp's rate): the merge's arithmetic at its
 * SIMD width bounds the forward rate.
 */
export function forwardPace(spec: FabricSpec, cycles: number, ops: number, count: number): number {
  return Math.max(0, cycles - ops * spec.costs.opSetupCycles) / Math.max(1, count);
}

/**
 * The leading ops of a piecewise receive that stream: from the first, those that compute on (read a slice of) the
 * received buffer `buf`, up to the first that does not (or sends). The others wait for the last wavelet as usual.
 */
export function streamedPrefix(ops: readonly Op[], buf: string): number {
  let n = 0;
  for (const op of ops) {
    if (op.op === 'send' || op.op === 'dispatch' || op.op === 'embed' || op.op === 'output') break;
    if (!readsBuffer(op, buf)) break;
    n++;
  }
  return n;
}

/** Whether any of the op's slices is of `buf` (Object.values, a builtin: a cold run checks ~10^5 ops before V8 optimises this). */
function readsBuffer(op: Op, buf: string): boolean {
  for (const v of Object.values(op)) if (typeof v === 'object' && v !== null && 'buf' in v && (v as Slice).buf === buf) return true;
  return false;
}

/** A task's CE cycles with no stalls: taskStartCycles + Σ opCycles. */
export function taskCycles(spec: FabricSpec, task: Pick<Task, 'ops'>, ctx: OpContext): number {
  let c = spec.taskStartCycles;
  for (const op of task.ops) c += opCycles(spec, op, ctx);
  return c;
}

/** Cycles to cross `hops` links (plus any remap-bypass cycles on the way). */
export function hopCycles(spec: FabricSpec, hops: number, extraCycles = 0): number {
  return hops * spec.hopLatencyCycles + extraCycles;
}

/** CE <-> router, each way. */
export function rampCycles(spec: FabricSpec): number {
  return spec.rampLatencyCycles;
}

/**
 * The engine's zero-contention timing of a stream of `wavelets` sent at cycle 0 (the first wavelet enters the ramp
 * then) over `hops` links: the first arrives in the receiver's SRAM at ramp + hops·hop + ramp, one more per cycle
 * after it. Returns the cycle the last one arrives (a recv task waiting for them can start that cycle).
 */
export function streamArrivalCycles(spec: FabricSpec, hops: number, wavelets: number, extraCycles = 0): number {
  return 2 * rampCycles(spec) + hopCycles(spec, hops, extraCycles) + (wavelets - 1);
}
