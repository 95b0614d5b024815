import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import fc from 'fast-check';
import { f32AddWidth, f32MaxWidth, hopCycles, matvecCost, opCost, rampCycles, streamArrivalCycles, streamedOpCycles, streamedPrefix, taskCycles, tileOpContext } from '../../../../fabric/mesh/cost.js';
import type { Op } from '../../../../fabric/isa/types.js';
import { MATVEC_OPERAND } from '../../../../kernels/matvec.js';

const wse2 = getFabricPreset('wse2');
const wse3 = getFabricPreset('wse3');
// The assumed constants the presets share (spec.costs), as the formulas below name them.
const { opSetupCycles: OP_SETUP_CYCLES, matvecRowOverheadCycles: MATVEC_ROW_OVERHEAD_CYCLES, transcendentalCycles: TRANSCENDENTAL_CYCLES, sendIssueCycles: SEND_ISSUE_CYCLES } = wse3.costs;

describe('cost functions', () => {
  it('matvec is the slower of its arithmetic and its SRAM streams (weights, x reread per row), plus row overhead and setup', () => {
    const rows = 64;
    const cols = 64;
    const macs = rows * cols;
    const port = wse3.sramReadsPerCycle * wse3.sramAccessBytes;
    // f32 weights: 1 FMAC per cycle (simdWidth.f32 = 1); the reads (4 B of W and 4 B of x per MAC) take half that.
    expect(matvecCost(wse3, rows, cols, 'f32').cycles).toBe(OP_SETUP_CYCLES + macs + rows * MATVEC_ROW_OVERHEAD_CYCLES);
    expect(matvecCost(wse3, rows, cols, 'f32').sramReadBytes).toBe(macs * 8);
    // bf16 on WSE-3: 4 products into f32 per cycle (`@fmachs`, not the 8 of `@fmach`) after x is converted to bf16
    // (cols conversions at 4 per cycle); the reads (2 B of W and 2 B of x per MAC, x read once in f32) take as long.
    const bf16 = matvecCost(wse3, rows, cols, 'bf16');
    expect(bf16.arithCycles).toBe(macs / 4 + cols / 4);
    expect(bf16.sramReadBytes).toBe(macs * 4 + cols * 4);
    expect(bf16.sramCycles).toBe((macs * 4 + cols * 4) / port);
    expect(bf16.cycles).toBe(OP_SETUP_CYCLES + macs / 4 + cols / 4 + rows);
    // bf16 on WSE-2: `@fmachs` is 2 wide.
    expect(matvecCost(wse2, rows, cols, 'bf16').arithCycles).toBe(macs / 2 + cols / 2);
    // int8 on WSE-3: 8 MACs/cycle (assumption) on x quantised to int16, each row's sum scaled: the reads of 1 B of W
    // and 2 B of x per MAC (and the row scales and x in f32) are slower than the arithmetic.
    const int8 = matvecCost(wse3, rows, cols, 'int8');
    expect(int8.sramReadBytes).toBe(macs * 3 + rows * 4 + cols * 4);
    expect(int8.cycles).toBe(OP_SETUP_CYCLES + (macs * 3 + rows * 4 + cols * 4) / port + rows);
    expect(int8.arithCycles).toBe(macs / 8 + (cols + rows) / 4);
    // accumulating into y reads the partial sums back
    expect(matvecCost(wse3, rows, cols, 'bf16', true).sramReadBytes - bf16.sramReadBytes).toBe(rows * 4);
    expect(matvecCost(wse3, 3, 5, 'f32').fmacOps).toBe(15);
  });

  it('an MXFP4 matvec reads 4.25 bits per weight and pays its decode to bf16 before the bf16 products', () => {
    const rows = 64;
    const cols = 256;
    const macs = rows * cols;
    const mx = matvecCost(wse3, rows, cols, 'int8', false, 'mxfp4');
    const bf16 = matvecCost(wse3, rows, cols, 'bf16');
    expect(mx.sramReadBytes - bf16.sramReadBytes).toBe((macs * 4.25) / 8 - macs * 2);
    expect(mx.arithCycles - bf16.arithCycles).toBe((macs * wse3.costs.mxfp4DecodeOpsPerWeight) / wse3.simdWidth.f16);
    expect(mx.cycles).toBeGreaterThan(bf16.cycles);
  });

  it("flash-decoding's combine pays two exponentials per head for its statistics and a divide per head to finish", () => {
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 4096, init: { kind: 'zeros' as const }, role: 'activation' as const }] };
    const ctx = tileOpContext(tile, 0);
    const s = (length: number) => ({ buf: 'a', offset: 0, length });
    const h = 8;
    const merge = opCost(wse3, { op: 'attnMerge', stats: s(2 * h), other: s(2 * h), factors: s(2 * h), numHeads: h }, ctx);
    expect(merge.cycles).toBeGreaterThanOrEqual(2 * h * TRANSCENDENTAL_CYCLES);
    const finish = opCost(wse3, { op: 'attnFinish', stats: s(2 * h), rows: s(h * 64), out: s(h * 64), numHeads: h, headDim: 64 }, ctx);
    expect(finish.cycles).toBeGreaterThanOrEqual(h * TRANSCENDENTAL_CYCLES + (h * 64) / f32AddWidth(wse3));
    // rescaling rows: two scalings and an add per element at the f32 add width
    const rows = opCost(wse3, { op: 'attnMergeRows', out: s(128), other: s(128), factors: s(2 * h), numHeads: h, headDim: 64, first: 0 }, ctx);
    expect(rows.arithCycles).toBe((3 * 128) / f32AddWidth(wse3));
  });

  it('a KV chunk tile pays attention over its window up to the position, and appends only a position of its window', () => {
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 4096, init: { kind: 'zeros' as const }, role: 'activation' as const }, { name: 'kc', dtype: 'bf16' as const, length: 4096, init: { kind: 'zeros' as const }, role: 'kv-cache' as const }] };
    const s = (length: number) => ({ buf: 'a', offset: 0, length });
    const window = { first: 8, positions: 4 };
    const attend = (position: number, w?: typeof window) => opCost(wse3, { op: 'attention', q: s(128), kCache: 'kc', vCache: 'kc', out: s(128), numHeads: 2, numKvHeads: 1, headDim: 64, stats: s(4), window: w }, tileOpContext(tile, position)).cycles;
    // Inside the window: the rows from its first position to the step's, as the whole cache over that many rows.
    expect(attend(9, window)).toBe(attend(1));
    expect(attend(100, window)).toBe(attend(3));
    // Before the window: an empty partial, cheaper than any attention over one row.
    expect(attend(7, window)).toBeLessThan(attend(0));
    const append = (position: number) => opCost(wse3, { op: 'kvAppend', k: s(64), v: s(64), kCache: 'kc', vCache: 'kc', rowLength: 64, window }, tileOpContext(tile, position)).cycles;
    expect(append(8)).toBe(append(11));
    expect(append(7)).toBe(OP_SETUP_CYCLES);
    expect(append(12)).toBe(OP_SETUP_CYCLES);
    expect(append(8)).toBeGreaterThan(OP_SETUP_CYCLES);
  });

  it("an inter-wafer link's op takes the link's latency and its bytes at its bandwidth", () => {
    const link = (bytes: number) => opCost(wse3, { op: 'waferLink', bytes }, tileOpContext({ buffers: [] }, 0)).cycles;
    const { latencySeconds, bytesPerSecond } = wse3.interWafer;
    expect(link(1)).toBe(Math.ceil((latencySeconds + 1 / bytesPerSecond) * wse3.clockHz));
    // 1 MB at 150 GB/s is ~6.7 µs on top of the latency.
    expect(Math.abs(link(1e6) / wse3.clockHz - (latencySeconds + 1e6 / bytesPerSecond))).toBeLessThan(1 / wse3.clockHz);
  });

  it('the matvec width charged is that of the operands the kernels multiply (kernels/matvec.ts MATVEC_OPERAND)', () => {
    // The SDK builtin that multiplies each operand pair, by its formats (docs/hardware.md#simd-widths): two 16-bit
    // floats summed in f32 are `@fmachs`; f32 by f32 `@fmacs`; integers the int8 width.
    const builtinWidth = (spec: typeof wse3, weights: 'f32' | 'bf16' | 'f16' | 'int8') => {
      const operand = MATVEC_OPERAND[weights];
      if (weights === 'f32' && operand === 'f32') return spec.simdWidth.f32;
      if ((weights === 'bf16' || weights === 'f16') && operand === weights) return spec.simdWidth.f16Acc32!;
      if (weights === 'int8' && operand === 'int16') return spec.simdWidth.int8;
      throw new Error(`no builtin charged for ${weights} weights times ${operand} x`);
    };
    // A wide port and fast conversions leave only the MACs: cycles - setup - rows = macs / width.
    const fast = { ...wse3, sramReadsPerCycle: 4096, sramWritesPerCycle: 4096, simdWidth: { ...wse3.simdWidth, f32Add: 4096 } };
    for (const dtype of ['f32', 'bf16', 'f16', 'int8'] as const) {
      const c = matvecCost(fast, 64, 256, dtype);
      expect(c.cycles - OP_SETUP_CYCLES - 64 * MATVEC_ROW_OVERHEAD_CYCLES - (dtype === 'f32' ? 0 : 1)).toBe((64 * 256) / builtinWidth(fast, dtype));
    }
  });

  it('f32 adds and scalings run at simdWidth.f32Add, multiplies at the FMA width; a spec without f32Add adds at the FMA width', () => {
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 8192, init: { kind: 'zeros' as const }, role: 'activation' as const }] };
    const ctx = tileOpContext(tile, 0);
    const s = (length: number) => ({ buf: 'a', offset: 0, length });
    const n = 4096;
    const add: Op = { op: 'add', a: s(n), b: s(n), out: s(n) };
    const norm: Op = { op: 'rmsnorm', x: s(n), weight: s(n), out: s(n), eps: 1e-5 };
    expect([f32AddWidth(wse2), f32AddWidth(wse3)]).toEqual([2, 4]);
    // WSE-3: 4 adds per cycle, but the 4 B results leave through one 8 B write per cycle: write-bound at n/2.
    expect(opCost(wse3, add, ctx)).toMatchObject({ cycles: OP_SETUP_CYCLES + n / 2, arithCycles: n / 4, sramCycles: n / 2, fmacOps: n });
    // WSE-2: 2 adds per cycle, as fast as the writes.
    expect(opCost(wse2, add, ctx)).toMatchObject({ cycles: OP_SETUP_CYCLES + n / 2, arithCycles: n / 2 });
    // rmsnorm: n FMAs (sum of squares) and n multiplies (· w) at width 1, n scalings (· 1/rms) at f32Add, one rsqrt.
    expect(opCost(wse3, norm, ctx)).toMatchObject({ cycles: OP_SETUP_CYCLES + 2 * n + n / 4 + TRANSCENDENTAL_CYCLES, arithCycles: 2 * n + n / 4 });
    const fmaOnly = { ...wse3, simdWidth: { f16: 8, f32: 1, int8: 8 } };
    expect(f32AddWidth(fmaOnly)).toBe(1);
    expect(opCost(fmaOnly, add, ctx).cycles).toBe(OP_SETUP_CYCLES + n);
    expect(opCost(fmaOnly, norm, ctx).cycles).toBe(OP_SETUP_CYCLES + 3 * n + TRANSCENDENTAL_CYCLES);
  });

  it('compares (top-k, argmax) run at simdWidth.f32Max (`@fmaxs`: 1 on WSE-2, 4 on WSE-3); a spec without it at the FMA width', () => {
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 8192, init: { kind: 'zeros' as const }, role: 'activation' as const }] };
    const ctx = tileOpContext(tile, 0);
    const s = (offset: number, length: number) => ({ buf: 'a', offset, length });
    const n = 128;
    const k = 8;
    const topk: Op = { op: 'topk', logits: s(0, n), k, renormalize: true, indices: s(n, k), weights: s(n + k, k) };
    const argmax: Op = { op: 'argmax', x: s(0, 4096), indexBase: 0, out: s(4096, 2) };
    expect([f32MaxWidth(wse2), f32MaxWidth(wse3)]).toEqual([1, 4]);
    // top-k, as kernels/gating.ts computes it: per logit a subtraction, an add to the sum and a scaling at the add
    // width, and a compare for the maximum; k·n compares to select; to renormalise, 2k adds and scalings.
    const adds = 3 * n + 2 * k;
    const compares = (k + 1) * n;
    expect(opCost(wse2, topk, ctx).arithCycles).toBe(adds / 2 + compares);
    expect(opCost(wse3, topk, ctx).arithCycles).toBe(adds / 4 + compares / 4);
    expect(opCost(wse3, argmax, ctx).arithCycles).toBe(4096 / 4);
    const noMax = { ...wse3, simdWidth: { ...wse3.simdWidth, f32Max: undefined } };
    expect(f32MaxWidth(noMax)).toBe(wse3.simdWidth.f32);
    expect(opCost(noMax, argmax, ctx).arithCycles).toBe(4096 / wse3.simdWidth.f32);
  });

  it('attention over a bf16 KV cache multiplies at the @fmachs width and reads half the bytes', () => {
    const tile = (kv: 'f32' | 'bf16') => ({
      buffers: [
        { name: 'a', dtype: 'f32' as const, length: 4096, init: { kind: 'zeros' as const }, role: 'activation' as const },
        { name: 'kc', dtype: kv, length: 4096, init: { kind: 'zeros' as const }, role: 'kv-cache' as const },
        { name: 'vc', dtype: kv, length: 4096, init: { kind: 'zeros' as const }, role: 'kv-cache' as const },
      ],
    });
    const s = (length: number) => ({ buf: 'a', offset: 0, length });
    const att: Op = { op: 'attention', q: s(128), kCache: 'kc', vCache: 'vc', out: s(128), numHeads: 2, numKvHeads: 1, headDim: 64 };
    const app: Op = { op: 'kvAppend', k: s(64), v: s(64), kCache: 'kc', vCache: 'vc', rowLength: 64 };
    const position = 31;
    const f32 = opCost(wse3, att, tileOpContext(tile('f32'), position));
    const bf16 = opCost(wse3, att, tileOpContext(tile('bf16'), position));
    const macs = 2 * 2 * 32 * 64;
    // What kernels/attention.ts does besides the MACs, per score (2 heads × 32 positions): a scaling, a compare for
    // the maximum, a subtraction and an add to the sum; per output (2 × 64), the division by the sum, a scaling.
    const scores = 2 * 32;
    const adds = 3 * scores + 2 * 64;
    expect(f32.arithCycles).toBe(macs / wse3.simdWidth.f32 + adds / 4 + scores / 4);
    // 16-bit products at 4 per cycle, plus the same adds and the q and p conversions at the add width
    expect(bf16.arithCycles).toBe(macs / 4 + Math.ceil((adds + 2 * (64 + 32)) / 4) + scores / 4);
    expect(f32.sramReadBytes - bf16.sramReadBytes).toBe(2 * 2 * 32 * 64 * 2);
    expect(bf16.cycles).toBeLessThan(f32.cycles / 2);
    expect(opCost(wse3, app, tileOpContext(tile('bf16'), 0)).sramWriteBytes).toBe(2 * 64 * 2);
    expect(opCost(wse3, app, tileOpContext(tile('f32'), 0)).sramWriteBytes).toBe(2 * 64 * 4);
  });

  it('every op has a positive cost; attention grows with the position; sends cost only their issue', () => {
    const tile = {
      buffers: [
        { name: 'a', dtype: 'f32' as const, length: 4096, init: { kind: 'zeros' as const }, role: 'activation' as const },
        { name: 'i', dtype: 'i32' as const, length: 8, init: { kind: 'zeros' as const }, role: 'activation' as const },
        { name: 't', dtype: 'bf16' as const, length: 256, init: { kind: 'zeros' as const }, role: 'weights' as const },
      ],
    };
    const s = (length: number, offset = 0) => ({ buf: 'a', offset, length });
    const ops: Op[] = [
      { op: 'matvec', w: 't', rows: 16, cols: 16, x: s(16), y: s(16, 16), accumulate: true },
      { op: 'send', colour: 0, src: s(100) },
      { op: 'add', a: s(64), b: s(64), out: s(64) },
      { op: 'copy', src: s(64), out: s(64, 64) },
      { op: 'axpy', a: s(64), weight: s(2), index: 1, out: s(64) },
      { op: 'rmsnorm', x: s(64), weight: s(64), out: s(64), eps: 1e-5 },
      { op: 'rope', x: s(64), numHeads: 2, headDim: 32, theta: 1e4 },
      { op: 'kvAppend', k: s(32), v: s(32), kCache: 'a', vCache: 'a', rowLength: 32 },
      { op: 'attention', q: s(64), kCache: 'a', vCache: 'a', out: s(64), numHeads: 2, numKvHeads: 1, headDim: 32 },
      { op: 'swiglu', gate: s(64), up: s(64), out: s(64) },
      { op: 'topk', logits: s(8), k: 2, renormalize: true, indices: { buf: 'i', offset: 0, length: 2 }, weights: s(2) },
      { op: 'dispatch', indices: { buf: 'i', offset: 0, length: 2 }, colours: [1, 2], src: s(64) },
      { op: 'argmax', x: s(64), indexBase: 0, out: s(2) },
      { op: 'argmaxMerge', a: s(2), b: s(2), out: s(2) },
      { op: 'embed', table: 't', rowBase: 0, rows: 16, cols: 16, token: { buf: 'i', offset: 0, length: 1 }, colours: [3], sliceCols: 16 },
      { op: 'output', name: 'o', src: s(64) },
      { op: 'sumsq', x: s(64), out: s(1, 64) },
      { op: 'normScale', x: s(64), sumsq: s(1, 64), count: 128, weight: s(64), out: s(64), eps: 1e-5 },
      { op: 'ropeAngles', out: s(32), headDim: 32, theta: 1e4 },
      { op: 'rope', x: s(64), numHeads: 2, headDim: 32, theta: 1e4, angles: s(32, 64) },
    ];
    for (const op of ops) expect(opCost(wse3, op, tileOpContext(tile, 0)).cycles, op.op).toBeGreaterThan(0);
    // RoPE on angles written ahead: the rotation alone (its 32 sin/cos gone to ropeAngles, which pays them).
    const cyc = (op: Op) => opCost(wse3, op, tileOpContext(tile, 0)).cycles;
    expect(cyc(ops[6]) - cyc(ops[ops.length - 1])).toBe(32 * TRANSCENDENTAL_CYCLES);
    expect(cyc(ops[ops.length - 2])).toBeGreaterThan(32 * TRANSCENDENTAL_CYCLES);
    const att = ops[8];
    const c0 = opCost(wse3, att, tileOpContext(tile, 0)).cycles;
    const c9 = opCost(wse3, att, tileOpContext(tile, 9)).cycles;
    expect(c9).toBeGreaterThan(c0);
    // Ten times the rows: the exps alone add 9 rows × 2 heads × TRANSCENDENTAL_CYCLES.
    expect(c9 - c0).toBeGreaterThanOrEqual(9 * 2 * TRANSCENDENTAL_CYCLES);
    expect(opCost(wse3, ops[1], tileOpContext(tile, 0)).cycles).toBe(SEND_ISSUE_CYCLES);
    expect(taskCycles(wse3, { ops: [ops[1], ops[2]] }, tileOpContext(tile, 0))).toBe(wse3.taskStartCycles + SEND_ISSUE_CYCLES + opCost(wse3, ops[2], tileOpContext(tile, 0)).cycles);
    expect(() => opCost(wse3, { op: 'matvec', w: 'nope', rows: 1, cols: 1, x: s(1), y: s(1), accumulate: false }, tileOpContext(tile, 0))).toThrow('cost: no buffer "nope" on this tile');
  });

  it('sumsq + normScale charge the arithmetic of rmsnorm, split in two ops', () => {
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 256, init: { kind: 'zeros' as const }, role: 'activation' as const }] };
    const ctx = tileOpContext(tile, 0);
    const s = (length: number, offset = 0) => ({ buf: 'a', offset, length });
    const n = 64;
    const whole = opCost(wse3, { op: 'rmsnorm', x: s(n), weight: s(n, n), out: s(n, 2 * n), eps: 1e-5 }, ctx);
    const ss = opCost(wse3, { op: 'sumsq', x: s(n), out: s(1, 3 * n) }, ctx);
    const ns = opCost(wse3, { op: 'normScale', x: s(n), sumsq: s(1, 3 * n), count: n, weight: s(n, n), out: s(n, 2 * n), eps: 1e-5 }, ctx);
    // WSE-3: n FMAs at 1/cycle over 4n bytes at 16 B/cycle; then n multiplies (1/cycle) + n scalings (4/cycle), one rsqrt.
    expect(ss.cycles).toBe(OP_SETUP_CYCLES + n);
    expect(ns.cycles).toBe(OP_SETUP_CYCLES + n + n / f32AddWidth(wse3) + TRANSCENDENTAL_CYCLES);
    expect(whole.cycles).toBe(OP_SETUP_CYCLES + 2 * n + n / f32AddWidth(wse3) + TRANSCENDENTAL_CYCLES);
    // The same arithmetic as rmsnorm; the split costs one more setup and moves the one-float sum through SRAM.
    expect(ss.fmacOps + ns.fmacOps).toBe(whole.fmacOps);
    expect(ss.arithCycles + ns.arithCycles).toBe(whole.arithCycles);
    expect(ss.cycles + ns.cycles).toBe(whole.cycles + OP_SETUP_CYCLES);
    expect(ss.sramReadBytes + ns.sramReadBytes).toBe(whole.sramReadBytes + 4);
    expect(ss.sramWriteBytes + ns.sramWriteBytes).toBe(whole.sramWriteBytes + 4);
  });

  it('an embed issues one send per slice', () => {
    const tile = {
      buffers: [
        { name: 'i', dtype: 'i32' as const, length: 1, init: { kind: 'zeros' as const }, role: 'activation' as const },
        { name: 't', dtype: 'f32' as const, length: 256, init: { kind: 'zeros' as const }, role: 'weights' as const },
      ],
    };
    const ctx = tileOpContext(tile, 0);
    const embed = (colours: number[], sliceCols: number): Op => ({ op: 'embed', table: 't', rowBase: 0, rows: 16, cols: 16, token: { buf: 'i', offset: 0, length: 1 }, colours, sliceCols });
    const one = opCost(wse3, embed([0], 16), ctx);
    expect(one.cycles).toBe(OP_SETUP_CYCLES + SEND_ISSUE_CYCLES);
    expect(opCost(wse3, embed([0, 1, 2], 6), ctx).cycles).toBe(one.cycles + 2 * SEND_ISSUE_CYCLES);
    expect(opCost(wse3, embed([0, 1, 2], 6), ctx).sramReadBytes).toBe(one.sramReadBytes);
  });

  it('latency helpers', () => {
    expect(hopCycles(wse3, 5)).toBe(5 * wse3.hopLatencyCycles);
    expect(hopCycles(wse3, 5, 3)).toBe(5 * wse3.hopLatencyCycles + 3);
    expect(rampCycles(wse3)).toBe(wse3.rampLatencyCycles);
    expect(streamArrivalCycles(wse3, 3, 10)).toBe(2 * wse3.rampLatencyCycles + 3 * wse3.hopLatencyCycles + 9);
  });
});

describe('cost constants from the spec', () => {
  it('an override of spec.costs changes what an op is charged, by the overridden amount', () => {
    const slow = { ...wse3, costs: { ...wse3.costs, opSetupCycles: wse3.costs.opSetupCycles + 5, transcendentalCycles: wse3.costs.transcendentalCycles * 2 } };
    expect(matvecCost(slow, 64, 64, 'bf16').cycles - matvecCost(wse3, 64, 64, 'bf16').cycles).toBe(5);
    const n = 64;
    const tile = { buffers: [{ name: 'a', dtype: 'f32' as const, length: 4 * n, init: { kind: 'zeros' as const }, role: 'activation' as const }] };
    const s = (offset: number) => ({ buf: 'a', offset, length: n });
    const norm: Op = { op: 'rmsnorm', x: s(0), weight: s(n), out: s(2 * n), eps: 1e-5 };
    // One rsqrt: the transcendental's doubled cycles plus the setup's 5.
    expect(opCost(slow, norm, tileOpContext(tile, 0)).cycles - opCost(wse3, norm, tileOpContext(tile, 0)).cycles).toBe(5 + wse3.costs.transcendentalCycles);
  });
});

describe('piecewise receive (streamedOpCycles, streamedPrefix)', () => {
  it('never charges more than the op, never less than its setup and one element, and spends the credit cycle for cycle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (cycles, credit) => {
        const charged = streamedOpCycles(wse3, cycles, credit);
        expect(charged).toBeLessThanOrEqual(cycles);
        expect(charged).toBeGreaterThanOrEqual(Math.min(cycles, OP_SETUP_CYCLES + 1));
        // Credit beyond what the op can use is not spent; below it, every cycle of credit saves one.
        if (charged > Math.min(cycles, OP_SETUP_CYCLES + 1)) expect(cycles - charged).toBe(credit);
        expect(streamedOpCycles(wse3, cycles, credit + 1)).toBeLessThanOrEqual(charged);
      }),
    );
    expect(streamedOpCycles(wse3, 100, -5)).toBe(100);
  });
  it('streams the leading ops that read the received buffer, up to the first that does not or sends', () => {
    const s = (buf: string, length = 4) => ({ buf, offset: 0, length });
    const add: Op = { op: 'add', a: s('p'), b: s('r'), out: s('p') };
    const swiglu: Op = { op: 'swiglu', gate: s('p'), up: s('p'), out: s('p') };
    const send: Op = { op: 'send', colour: 0, src: s('r') };
    expect(streamedPrefix([add, add, swiglu, add], 'r')).toBe(2);
    expect(streamedPrefix([add, send, add], 'r')).toBe(1);
    expect(streamedPrefix([swiglu, add], 'r')).toBe(0);
  });
});
