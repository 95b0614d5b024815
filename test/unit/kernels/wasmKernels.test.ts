import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../../kernels/index.js';
import { f32ToF16Bits, f32ToBf16Bits, matrixElement, matvecReference } from '../../../kernels/index.js';
import type { WasmSimd } from '../../../kernels/wasmKernels.js';
import { WASM_HEAP_START, WasmKernels, createKernelMemory, defaultWasmKernels, defaultWasmSimd, matvecFast, relaxedSimdSupported } from '../../../kernels/wasmKernels.js';
import { SHAPES, expectClose, tolerance } from './matvecCheck.js';
import { randomF32, randomMatrices } from './testRandom.js';

const DTYPES = ['f32', 'bf16', 'f16', 'int8'] as const;
// both builds of the module where this engine runs relaxed SIMD (Node 20 through the V8 flag, Node 22+ by default)
const BUILDS: WasmSimd[] = relaxedSimdSupported() ? ['portable', 'relaxed'] : ['portable'];

describe('WasmKernels builds', () => {
  it('the default is the relaxed build exactly where the engine runs it', () => {
    expect(defaultWasmSimd()).toBe(relaxedSimdSupported() ? 'relaxed' : 'portable');
    expect(new WasmKernels().simd).toBe(defaultWasmSimd());
    expect(new WasmKernels(undefined, 'portable').simd).toBe('portable');
  });

  it.runIf(relaxedSimdSupported())('the relaxed build gives results within a few f32 roundings of the portable one', () => {
    const rows = 64;
    const cols = 300;
    const portable = new WasmKernels(undefined, 'portable');
    const relaxed = new WasmKernels(undefined, 'relaxed');
    for (const dtype of DTYPES) {
      const w = randomMatrices(rows, cols, 31)[dtype];
      const x = randomF32(cols, 32);
      const [a, b] = [new Float32Array(rows), new Float32Array(rows)];
      portable.matvec(w, x, a);
      relaxed.matvec(w, x, b);
      for (let r = 0; r < rows; r++) expect(Math.abs(a[r] - b[r]), `${dtype} row ${r}`).toBeLessThanOrEqual(2 * tolerance(w, x, r));
    }
  });
});

describe.each(BUILDS)('WasmKernels matvec vs matvecReference (random seeded matrices), %s build', (simd) => {
  const k = new WasmKernels(undefined, simd);

  describe.each(DTYPES)('%s', (dtype) => {
    it.each(SHAPES)('%i×%i through typed arrays (copied into wasm memory)', (rows, cols) => {
      const w = randomMatrices(rows, cols, rows * 1000 + cols)[dtype];
      const x = randomF32(cols, cols + 7);
      const y = new Float32Array(rows).fill(NaN);
      k.matvec(w, x, y);
      expectClose(w, x, y, `${dtype} ${rows}×${cols}`);
    });

    it.each(SHAPES)('%i×%i in wasm memory (raw offsets, no copy)', (rows, cols) => {
      const mark = k.mark();
      const src = randomMatrices(rows, cols, rows * 77 + cols)[dtype];
      const w = k.copyMatrix(src);
      const x = k.allocF32(cols);
      x.set(randomF32(cols, 3 * cols + 1));
      const y = k.allocF32(rows).fill(NaN);
      expect(k.isInMemory(w.data)).toBe(true);
      switch (w.dtype) {
        case 'f32':
          k.matvecF32(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
          break;
        case 'bf16':
          k.matvecBf16(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
          break;
        case 'f16':
          k.matvecF16(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
          break;
        case 'int8':
          k.matvecInt8(w.data.byteOffset, w.scales.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
          break;
      }
      expectClose(src, x, y, `${dtype} ${rows}×${cols} raw`);
      // the convenience path reads arrays already in memory in place and gives the same bits
      const y2 = k.allocF32(rows);
      k.matvec(w, x, y2);
      expect(Array.from(y2)).toEqual(Array.from(y));
      k.reset(mark);
    });
  });

  it('matvecFast uses a lazily created per-thread instance and matches the reference', () => {
    const { bf16 } = randomMatrices(33, 65, 5);
    const x = randomF32(65, 6);
    const y = new Float32Array(33);
    matvecFast(bf16, x, y);
    expectClose(bf16, x, y, 'matvecFast bf16');
    expect(defaultWasmKernels()).toBe(defaultWasmKernels());
  });

  it('zero columns give zeros; zero rows write nothing', () => {
    const y = new Float32Array([5, 5]);
    k.matvec({ dtype: 'f16', rows: 2, cols: 0, data: new Uint16Array(0) }, new Float32Array(0), y);
    expect(Array.from(y)).toEqual([0, 0]);
    const y0 = new Float32Array([7]);
    k.matvec({ dtype: 'int8', rows: 0, cols: 3, data: new Int8Array(0), scales: new Float32Array(0) }, new Float32Array(3), y0);
    expect(y0[0]).toBe(7);
  });
});

describe.each(BUILDS)('WasmKernels special values, %s build', (simd) => {
  const k = new WasmKernels(undefined, simd);

  it('f16 subnormal, signed-zero and largest weights decode exactly', () => {
    const halves = [0x0001, 0x03ff, 0x8001, 0x0400, 0x7bff, 0xfbff, 0x8000, 0x3c00, 0x3555];
    // one weight per row, repeated over 24 columns with x = 1 in a single column: y = that weight exactly
    const cols = 24;
    const data = new Uint16Array(halves.length * cols);
    halves.forEach((h, r) => data.fill(h, r * cols, (r + 1) * cols));
    const w: Matrix = { dtype: 'f16', rows: halves.length, cols, data };
    for (const c of [0, 5, 17, 23]) {
      const x = new Float32Array(cols);
      x[c] = 1;
      const y = new Float32Array(halves.length);
      k.matvec(w, x, y);
      const ref = new Float32Array(halves.length);
      matvecReference(w, x, ref);
      expect(Array.from(y)).toEqual(Array.from(ref));
    }
    expect(matrixElement(w, 0, 0)).toBe(2 ** -24);
  });

  it('f16 rows holding an infinity or NaN weight give Infinity/NaN like the reference; other rows are unaffected', () => {
    const rows = 9;
    const cols = 40;
    const f = randomF32(rows * cols, 11);
    const data = new Uint16Array(rows * cols);
    for (let i = 0; i < f.length; i++) data[i] = f32ToF16Bits(f[i]);
    data[1 * cols + 3] = 0x7c00; // +inf, in the vector part
    data[5 * cols + 38] = 0xfc00; // -inf, in the scalar tail
    data[8 * cols + 20] = 0x7e00; // NaN
    const w: Matrix = { dtype: 'f16', rows, cols, data };
    const x = new Float32Array(cols).fill(0.5);
    const y = new Float32Array(rows);
    k.matvec(w, x, y);
    expect(y[1]).toBe(Infinity);
    expect(y[5]).toBe(-Infinity);
    expect(Number.isNaN(y[8])).toBe(true);
    const clean = [0, 2, 3, 4, 6, 7];
    const ref = new Float32Array(rows);
    matvecReference(w, x, ref);
    for (const r of clean) expect(Math.abs(y[r] - ref[r])).toBeLessThanOrEqual(tolerance(w, x, r));
  });

  it('f16 with huge x (|x| >= 2^70) takes the exact path and still matches', () => {
    const { f16 } = randomMatrices(6, 50, 12);
    const x = randomF32(50, 13);
    x[7] = 3e30;
    const y = new Float32Array(6);
    k.matvec(f16, x, y);
    expectClose(f16, x, y, 'f16 huge x');
  });

  it('bf16 infinity weights propagate; NaN in x propagates', () => {
    const cols = 20;
    const data = new Uint16Array(2 * cols).fill(f32ToBf16Bits(0.25));
    data[2] = 0x7f80; // +inf
    const x = new Float32Array(cols).fill(1);
    const y = new Float32Array(2);
    k.matvec({ dtype: 'bf16', rows: 2, cols, data }, x, y);
    expect(y[0]).toBe(Infinity);
    expect(y[1]).toBe(5);
    x[4] = NaN;
    k.matvec({ dtype: 'bf16', rows: 2, cols, data }, x, y);
    expect(Number.isNaN(y[1])).toBe(true);
  });

  it('int8 with a non-finite x takes the exact path (NaN/Infinity like the reference)', () => {
    const { int8 } = randomMatrices(5, 40, 14);
    const x = randomF32(40, 15);
    x[3] = Infinity;
    const y = new Float32Array(5);
    const ref = new Float32Array(5);
    k.matvec(int8, x, y);
    matvecReference(int8, x, ref);
    expect(Array.from(y)).toEqual(Array.from(ref).map((v) => (Number.isFinite(v) ? expect.closeTo(v, 4) : v)));
    expect(y.some((v) => !Number.isFinite(v))).toBe(true);
  });

  it('int8 at full scale (all ±128/127 against max x, 3000 columns) does not overflow the i32 accumulators', () => {
    const rows = 4;
    const cols = 3000;
    const data = new Int8Array(rows * cols);
    data.fill(-128, 0, cols); // row 0: -128 everywhere
    data.fill(127, cols, 2 * cols); // row 1: +127
    for (let c = 0; c < cols; c++) data[2 * cols + c] = c % 2 ? 127 : -128; // row 2 alternates
    const x = new Float32Array(cols).fill(-2.5);
    const w: Matrix = { dtype: 'int8', rows, cols, data, scales: new Float32Array([1, 0.5, 2, 1]) };
    const y = new Float32Array(rows);
    k.matvec(w, x, y);
    expectClose(w, x, y, 'int8 full scale');
    expect(y[0]).toBeCloseTo(128 * 2.5 * cols, 0);
  });
});

describe('WasmKernels memory and allocator', () => {
  it('alloc aligns, never overlaps, grows the memory, and reset(mark) frees', () => {
    const k = new WasmKernels(createKernelMemory(64 * 1024));
    const a = k.alloc(10, 8);
    const b = k.alloc(100, 64);
    expect(a).toBeGreaterThanOrEqual(WASM_HEAP_START);
    expect(a % 8).toBe(0);
    expect(b % 64).toBe(0);
    expect(b).toBeGreaterThanOrEqual(a + 10);
    const mark = k.mark();
    const big = k.alloc(3 * 1024 * 1024);
    expect(k.memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 3 * 1024 * 1024);
    k.reset(mark);
    expect(k.alloc(16, 4)).toBe(mark);
    k.reset();
    expect(k.mark()).toBe(WASM_HEAP_START);
  });

  it('two instances over one memory share the allocator', () => {
    const memory = createKernelMemory();
    const k1 = new WasmKernels(memory);
    const a = k1.alloc(1000);
    const k2 = new WasmKernels(memory);
    const b = k2.alloc(1000);
    expect(b).toBeGreaterThanOrEqual(a + 1000);
  });

  it('rejects bad arguments with clear messages', () => {
    const k = new WasmKernels();
    expect(() => k.alloc(-1)).toThrow('WasmKernels: bytes must be a non-negative integer, got -1');
    expect(() => k.alloc(8, 3)).toThrow('WasmKernels.alloc: align must be a power of two, got 3');
    expect(() => k.alloc(2 ** 33)).toThrow(/do not fit in a 4 GiB wasm memory/);
    expect(() => k.reset(0)).toThrow('WasmKernels.reset: mark must be an integer >= 64, got 0');
    expect(() => k.matvecF32(64, 64, 1 << 30, 4, 4)).toThrow(/WasmKernels: y \[1073741824, 1073741840\) is outside the allocated memory/);
    expect(() => k.matvecF32(64, 64, 64, 1.5, 4)).toThrow('WasmKernels: rows must be a non-negative integer, got 1.5');
    expect(() => k.sumF32(64, 100)).toThrow('WasmKernels.sumF32: bytes must be a multiple of 128, got 100');
    expect(() => k.matvec({ dtype: 'f32', rows: 2, cols: 3, data: new Float32Array(6) }, new Float32Array(2), new Float32Array(2))).toThrow(
      'matvec: x has 2 (needs 3), y has 2 (needs 2)',
    );
    expect(() => new WasmKernels(new WebAssembly.Memory({ initial: 1, maximum: 2 }))).toThrow(/the memory must be shared/);
    const foreign = createKernelMemory();
    new Uint32Array(foreign.buffer)[0] = 12345;
    expect(() => new WasmKernels(foreign)).toThrow(/this memory holds other data at offset 0/);
  });

  it('sumF32 adds every float (read-bandwidth probe)', () => {
    const k = new WasmKernels();
    const a = k.allocF32(1024).fill(0.5);
    a[1023] = 100;
    expect(k.sumF32(a.byteOffset, 4096)).toBe(1023 * 0.5 + 100);
    expect(k.sumF32(a.byteOffset, 4096, 1)).toBe(1023 * 0.5 + 100);
    expect(k.sumF32(a.byteOffset, 4096, 8)).toBe(1023 * 0.5 + 100);
    expect(k.sumF32(a.byteOffset, 128, 1)).toBe(16);
    // eight streams of 16 bytes: every eighth is read once
    const b = k.allocF32(32);
    for (let i = 0; i < 32; i++) b[i] = i + 1;
    expect(k.sumF32(b.byteOffset, 128, 8)).toBe((32 * 33) / 2);
    // with gaps: streams of 32 bytes (4 streams) or 16 bytes (8 streams), the gaps between them skipped
    const g = k.allocF32(64).fill(1000);
    for (let s = 0; s < 4; s++) g.fill(s + 1, s * 16, s * 16 + 8); // 4 streams of 8 floats, 8-float gaps
    expect(k.sumF32(g.byteOffset, 128, 4, 32)).toBe(8 * (1 + 2 + 3 + 4));
    g.fill(1000);
    for (let s = 0; s < 8; s++) g.fill(s + 1, s * 8, s * 8 + 4); // 8 streams of 4 floats, 4-float gaps
    expect(k.sumF32(g.byteOffset, 128, 8, 16)).toBe(4 * 36);
    expect(() => k.sumF32(g.byteOffset, 128, 4, 8)).toThrow('WasmKernels.sumF32: gapBytes must be a non-negative multiple of 16, got 8');
    expect(() => k.sumF32(g.byteOffset, 128, 1, 16)).toThrow('WasmKernels.sumF32: one stream has no gaps');
  });
});
