// Fast matvec y = W·x in WebAssembly SIMD (kernels/wasm/matvec.wat), over a SHARED WebAssembly.Memory that callers
// may hand to worker threads. Each thread makes its own WasmKernels over the same Memory; allocation goes through a
// bump allocator whose state lives in the first 64 bytes of the memory (updated with Atomics), so instances in
// different threads never hand out the same bytes.
//
// The module comes in two builds of the same .wat (scripts/build-wasm.mjs): 'portable' (SIMD 128: f32x4.mul then
// f32x4.add) and 'relaxed' (each such pair is one relaxed-SIMD f32x4.relaxed_madd, an FMA instruction on CPUs that have
// one). The bf16 and f16 kernels are bound by instruction throughput more than by memory here, and FMA saves one
// instruction per 4 weights (bench/results/kernels*.json have the figures of both builds). 'relaxed' is the default where the engine
// runs it: Node 22+ does by default, Node 20 behind a V8 flag that relaxedSimdSupported() switches on. Its results
// may differ from 'portable' in the last bits (one rounding per multiply-add instead of two); both builds meet the
// tolerances below, and every thread of a process picks the same build, so results do not depend on thread count.
//
// Accuracy (vs matvecReference, which sums in f64), per output row, as the tests hold it:
//   f32, bf16, f16: |y - ref| <= 1e-5 · sum_c |w_c·x_c|
//   int8:           |y - ref| <= 1e-5 · sum_c |w_c·x_c| + max|x| · sum_c |w_c| / 65534
// f32, bf16 and f16 multiply the exactly decoded weight by x and accumulate in f32 (4 or 8 lanes per row, then a
// horizontal sum). int8 quantises x once per call to int16 with one scale (xq = round(x·32767/max|x|)) and sums the
// integer products exactly in i32 (blocks of 1024 columns, then f32): the extra error is at most half a step of x per
// element, the second term above (about 3e-5 of sum |w·x| for x without outliers). Quantising x to int16 rather than
// int8 keeps that error 256× smaller at the same speed (the weights are widened to i16 for i32x4.dot_i16x8_s anyway).
// Non-finite x (int8) or |x| >= 2^70 (f16) take an exact scalar path; infinite/NaN f16 weights are detected in the
// loop and their rows redone exactly. Rows of a matvec are independent: splitting the rows over threads gives the same
// bits as one call.
//
// reset() frees for every thread sharing the memory: call it only when no other thread is allocating or computing.
import { wasmBase64, wasmRelaxedBase64 } from './wasm/matvec.wasm.gen.js';
import type { Matrix } from './matvec.js';
import type { WeightDtype } from './dtype.js';

export const WASM_PAGE_BYTES = 65536;
/** The most pages a kernel memory may have (the module declares this maximum: 4 GiB). */
export const WASM_MAX_PAGES = 65536;
/** Bytes reserved at the start of the memory for the allocator's header. */
export const WASM_HEAP_START = 64;

const HDR_MAGIC = 0;
const HDR_BUMP = 1;
const HDR_GENERATION = 2;
const MAGIC = 0x52464157; // 'WAFR'
const F16_MAX_SAFE_X = 2 ** 70;

interface MatvecExports {
  sum_f32(p: number, bytes: number, gap: number): number;
  sum_f32_1(p: number, bytes: number): number;
  sum_f32_8(p: number, bytes: number, gap: number): number;
  matvec_f32(w: number, x: number, y: number, rows: number, cols: number): void;
  prep_x(x: number, xs: number, cols: number, scale: number): number;
  matvec_bf16(w: number, xs: number, x: number, y: number, rows: number, cols: number): void;
  matvec_f16(w: number, xs: number, x: number, y: number, rows: number, cols: number): void;
  matvec_f16_exact(w: number, x: number, y: number, rows: number, cols: number): void;
  quantize_x_i16(x: number, xq: number, cols: number): number;
  matvec_i8(w: number, scales: number, xq: number, xscale: number, x: number, y: number, rows: number, cols: number): void;
  matvec_i8_exact(w: number, scales: number, x: number, y: number, rows: number, cols: number): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The builds of the kernel module (see the top of this file), the default first where supported. */
export const WASM_SIMD_BUILDS = ['relaxed', 'portable'] as const;
export type WasmSimd = (typeof WASM_SIMD_BUILDS)[number];

const compiledModules = new Map<WasmSimd, WebAssembly.Module>();
let relaxedBytes: Uint8Array<ArrayBuffer> | null | undefined;
let relaxedSupported: boolean | undefined;

/**
 * Whether this engine runs the relaxed-SIMD build. On Node 20 relaxed SIMD sits behind V8's
 * --experimental-wasm-relaxed-simd, which this turns on for the process (it only adds instructions; set before the
 * first relaxed compile, in every thread that asks) when the build does not validate without it.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupported !== undefined) return relaxedSupported;
  relaxedBytes ??= wasmRelaxedBase64 === null ? null : decodeBase64(wasmRelaxedBase64);
  if (relaxedBytes === null) return (relaxedSupported = false);
  if (!WebAssembly.validate(relaxedBytes)) {
    const v8 = globalThis.process?.getBuiltinModule?.('node:v8') as typeof import('node:v8') | undefined;
    v8?.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  return (relaxedSupported = WebAssembly.validate(relaxedBytes));
}

/** The build WasmKernels uses when not told: 'relaxed' where supported. */
export function defaultWasmSimd(): WasmSimd {
  return relaxedSimdSupported() ? 'relaxed' : 'portable';
}

/** The compiled kernel module of one build (synchronous compile, once per thread and build). */
export function matvecWasmModule(simd: WasmSimd = defaultWasmSimd()): WebAssembly.Module {
  let mod = compiledModules.get(simd);
  if (!mod) {
    if (simd === 'relaxed' && !relaxedSimdSupported()) throw new Error('WasmKernels: this JavaScript engine does not run relaxed SIMD; use the \'portable\' build');
    mod = new WebAssembly.Module(simd === 'relaxed' ? (relaxedBytes as Uint8Array<ArrayBuffer>) : decodeBase64(wasmBase64));
    compiledModules.set(simd, mod);
  }
  return mod;
}

/** A new shared memory for WasmKernels. Sizes in bytes, rounded up to 64 KiB pages. */
export function createKernelMemory(initialBytes = 1 << 20, maximumBytes = WASM_MAX_PAGES * WASM_PAGE_BYTES): WebAssembly.Memory {
  const initial = Math.max(1, Math.ceil(initialBytes / WASM_PAGE_BYTES));
  const maximum = Math.min(WASM_MAX_PAGES, Math.max(initial, Math.ceil(maximumBytes / WASM_PAGE_BYTES)));
  return new WebAssembly.Memory({ initial, maximum, shared: true });
}

/**
 * By its tag, not instanceof: a page that is not cross-origin isolated has shared wasm memories but no
 * SharedArrayBuffer global to compare with.
 */
function isSharedBuffer(b: ArrayBufferLike): boolean {
  return Object.prototype.toString.call(b) === '[object SharedArrayBuffer]';
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`WasmKernels: ${name} must be a non-negative integer, got ${v}`);
}

function nextPow2(n: number): number {
  let p = 64;
  while (p < n) p *= 2;
  return p;
}

type ScratchSlot = 'w' | 'scales' | 'x' | 'y' | 'xs' | 'xq';
interface Scratch {
  offset: number;
  bytes: number;
  generation: number;
}

/** The WebAssembly SIMD matvec kernels bound to one shared memory (one instance per thread). */
export class WasmKernels {
  readonly memory: WebAssembly.Memory;
  /** The build of the kernel module these kernels run. */
  readonly simd: WasmSimd;
  private readonly k: MatvecExports;
  private readonly header: Uint32Array;
  private readonly seenBuffers = new WeakSet<ArrayBufferLike>();
  private readonly scratch = new Map<ScratchSlot, Scratch>();

  /**
   * Binds the kernels to `memory` (a shared WebAssembly.Memory, e.g. one received from another thread) or a new one,
   * running the `simd` build of the module (default: defaultWasmSimd()).
   */
  constructor(memory: WebAssembly.Memory = createKernelMemory(), simd: WasmSimd = defaultWasmSimd()) {
    if (!isSharedBuffer(memory.buffer)) throw new TypeError('WasmKernels: the memory must be shared (new WebAssembly.Memory({ initial, maximum, shared: true }))');
    this.memory = memory;
    this.simd = simd;
    const instance = new WebAssembly.Instance(matvecWasmModule(simd), { env: { memory } });
    this.k = instance.exports as unknown as MatvecExports;
    this.header = new Uint32Array(memory.buffer, 0, WASM_HEAP_START / 4);
    const magic = Atomics.compareExchange(this.header, HDR_MAGIC, 0, MAGIC);
    if (magic !== 0 && magic !== MAGIC) throw new Error('WasmKernels: this memory holds other data at offset 0 (no allocator header); give a memory made by createKernelMemory()');
    Atomics.compareExchange(this.header, HDR_BUMP, 0, WASM_HEAP_START);
  }

  /** The memory's current buffer (a SharedArrayBuffer; it is replaced when the memory grows, old views stay valid). */
  get buffer(): SharedArrayBuffer {
    const b = this.memory.buffer as unknown as SharedArrayBuffer;
    this.seenBuffers.add(b);
    return b;
  }

  /** Reserves `bytes` bytes aligned to `align` (a power of two) and returns their byte offset; grows the memory as needed. */
  alloc(bytes: number, align = 16): number {
    checkCount('bytes', bytes);
    if (!(align > 0 && (align & (align - 1)) === 0)) throw new RangeError(`WasmKernels.alloc: align must be a power of two, got ${align}`);
    for (;;) {
      const cur = Atomics.load(this.header, HDR_BUMP);
      const start = Math.ceil(cur / align) * align;
      const end = start + bytes;
      if (end > WASM_MAX_PAGES * WASM_PAGE_BYTES) throw new RangeError(`WasmKernels.alloc: ${bytes} bytes do not fit in a 4 GiB wasm memory (${cur} in use)`);
      if (Atomics.compareExchange(this.header, HDR_BUMP, cur, end) === cur) {
        this.ensureBytes(end);
        return start;
      }
    }
  }

  /** The allocator's current position: pass it to reset() to free everything allocated after it. */
  mark(): number {
    return Atomics.load(this.header, HDR_BUMP);
  }

  /** Frees everything allocated after `mark` (default: everything). Views into freed memory must no longer be used. */
  reset(mark = WASM_HEAP_START): void {
    if (!Number.isInteger(mark) || mark < WASM_HEAP_START) throw new RangeError(`WasmKernels.reset: mark must be an integer >= ${WASM_HEAP_START}, got ${mark}`);
    Atomics.store(this.header, HDR_BUMP, mark);
    Atomics.add(this.header, HDR_GENERATION, 1);
  }

  private ensureBytes(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    try {
      this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
    } catch (e) {
      // Another thread may have grown it meanwhile.
      if (this.memory.buffer.byteLength >= end) return;
      throw new RangeError(`WasmKernels: cannot grow the memory to ${end} bytes (${(e as Error).message})`);
    }
  }

  /** A Float32Array of n elements in wasm memory (16-byte aligned); its byteOffset is what the raw kernels take. */
  allocF32(n: number): Float32Array {
    checkCount('n', n);
    const off = this.alloc(n * 4);
    return new Float32Array(this.buffer, off, n);
  }

  /** An uninitialised matrix of the given dtype whose data (and scales) live in wasm memory. */
  allocMatrix(dtype: WeightDtype, rows: number, cols: number): Matrix {
    checkCount('rows', rows);
    checkCount('cols', cols);
    const n = rows * cols;
    // (allocate before taking this.buffer: an allocation may grow the memory and replace the buffer)
    switch (dtype) {
      case 'f32': {
        const off = this.alloc(n * 4);
        return { dtype, rows, cols, data: new Float32Array(this.buffer, off, n) };
      }
      case 'bf16':
      case 'f16': {
        const off = this.alloc(n * 2);
        return { dtype, rows, cols, data: new Uint16Array(this.buffer, off, n) };
      }
      case 'int8': {
        const sOff = this.alloc(rows * 4);
        const off = this.alloc(n);
        return { dtype, rows, cols, data: new Int8Array(this.buffer, off, n), scales: new Float32Array(this.buffer, sOff, rows) };
      }
    }
  }

  /** A copy of w whose data live in wasm memory (then matvec() reads it in place, with no copy per call). */
  copyMatrix(w: Matrix): Matrix {
    const m = this.allocMatrix(w.dtype, w.rows, w.cols);
    (m.data as Float32Array).set(w.data as Float32Array);
    if (m.dtype === 'int8' && w.dtype === 'int8') m.scales.set(w.scales);
    return m;
  }

  /** Whether a typed array is a view into this kernel memory (so its byteOffset can be passed to the raw kernels). */
  isInMemory(a: ArrayBufferView): boolean {
    return a.buffer === this.buffer || this.seenBuffers.has(a.buffer);
  }

  private scratchOffset(slot: ScratchSlot, bytes: number): number {
    const generation = Atomics.load(this.header, HDR_GENERATION);
    const s = this.scratch.get(slot);
    if (s && s.generation === generation && s.bytes >= bytes) return s.offset;
    const size = nextPow2(bytes);
    const offset = this.alloc(size, 64);
    this.scratch.set(slot, { offset, bytes: size, generation });
    return offset;
  }

  private checkRange(what: string, offset: number, bytes: number): void {
    if (!Number.isInteger(offset) || offset < WASM_HEAP_START || offset + bytes > this.memory.buffer.byteLength)
      throw new RangeError(`WasmKernels: ${what} [${offset}, ${offset + bytes}) is outside the allocated memory (${this.memory.buffer.byteLength} bytes)`);
  }

  /** A matvec's shape and operands: W (rows·cols of `wBytes` bytes), the int8 scales if any, x and y. */
  private checkMatvec(rows: number, cols: number, wOff: number, wBytes: number, xOff: number, yOff: number, scalesOff?: number): void {
    checkCount('rows', rows);
    checkCount('cols', cols);
    this.checkRange('W', wOff, rows * cols * wBytes);
    if (scalesOff !== undefined) this.checkRange('scales', scalesOff, rows * 4);
    this.checkRange('x', xOff, cols * 4);
    this.checkRange('y', yOff, rows * 4);
  }

  // ---- raw kernels over byte offsets (W: (rows, cols) row-major; x: cols f32; y: rows f32; scales: rows f32) ----

  matvecF32(wOff: number, xOff: number, yOff: number, rows: number, cols: number): void {
    this.checkMatvec(rows, cols, wOff, 4, xOff, yOff);
    this.k.matvec_f32(wOff, xOff, yOff, rows, cols);
  }

  matvecBf16(wOff: number, xOff: number, yOff: number, rows: number, cols: number): void {
    this.checkMatvec(rows, cols, wOff, 2, xOff, yOff);
    if (rows === 0) return;
    const xs = this.scratchOffset('xs', (cols & ~7) * 4);
    this.k.prep_x(xOff, xs, cols, 1);
    this.k.matvec_bf16(wOff, xs, xOff, yOff, rows, cols);
  }

  matvecF16(wOff: number, xOff: number, yOff: number, rows: number, cols: number): void {
    this.checkMatvec(rows, cols, wOff, 2, xOff, yOff);
    if (rows === 0) return;
    const xs = this.scratchOffset('xs', (cols & ~7) * 4);
    const maxAbsX = this.k.prep_x(xOff, xs, cols, 2 ** 56);
    // |x| >= 2^70 (or NaN) would overflow x·2^56: exact scalar path (so does every tail column).
    if (maxAbsX < F16_MAX_SAFE_X) this.k.matvec_f16(wOff, xs, xOff, yOff, rows, cols);
    else this.k.matvec_f16_exact(wOff, xOff, yOff, rows, cols);
  }

  matvecInt8(wOff: number, scalesOff: number, xOff: number, yOff: number, rows: number, cols: number): void {
    this.checkMatvec(rows, cols, wOff, 1, xOff, yOff, scalesOff);
    if (rows === 0) return;
    const xq = this.scratchOffset('xq', (cols & ~15) * 2);
    const xscale = this.k.quantize_x_i16(xOff, xq, cols);
    if (Number.isFinite(xscale)) this.k.matvec_i8(wOff, scalesOff, xq, xscale, xOff, yOff, rows, cols);
    else this.k.matvec_i8_exact(wOff, scalesOff, xOff, yOff, rows, cols);
  }

  /**
   * Read-bandwidth probe: the f32 sum of `bytes` bytes (a multiple of 128) read as 1 stream, or as 4 or 8 streams side
   * by side (the quarters or eighths of the bytes, as the matvec kernels read their row bands). With `gapBytes`, stream
   * k starts at offset + k·(bytes/streams + gapBytes) and the gaps are not read: 64 KiB keeps the streams from being a
   * power of two apart, which costs ~15% here (DRAM bank conflicts). Reads [offset, offset + bytes + (streams-1)·gap).
   */
  sumF32(offset: number, bytes: number, streams: 1 | 4 | 8 = 4, gapBytes = 0): number {
    if (bytes % 128 !== 0) throw new RangeError(`WasmKernels.sumF32: bytes must be a multiple of 128, got ${bytes}`);
    if (!Number.isInteger(gapBytes) || gapBytes < 0 || gapBytes % 16 !== 0)
      throw new RangeError(`WasmKernels.sumF32: gapBytes must be a non-negative multiple of 16, got ${gapBytes}`);
    if (streams === 1 && gapBytes !== 0) throw new RangeError('WasmKernels.sumF32: one stream has no gaps');
    this.checkRange('sum', offset, bytes + (streams - 1) * gapBytes);
    if (streams === 1) return this.k.sum_f32_1(offset, bytes);
    return streams === 8 ? this.k.sum_f32_8(offset, bytes, gapBytes) : this.k.sum_f32(offset, bytes, gapBytes);
  }

  // ---- convenience over typed arrays: arrays already in this memory are used in place, others are copied ----

  private place(slot: ScratchSlot, a: Float32Array | Uint16Array | Int8Array, bytes: number): number {
    if (this.isInMemory(a)) return a.byteOffset;
    const off = this.scratchOffset(slot, bytes);
    new Uint8Array(this.buffer, off, bytes).set(new Uint8Array(a.buffer, a.byteOffset, bytes));
    return off;
  }

  /** y = W·x for a Matrix and typed arrays anywhere (copied into cached scratch unless already in this memory). */
  matvec(w: Matrix, x: Float32Array, y: Float32Array): void {
    const { rows, cols } = w;
    if (x.length < cols || y.length < rows) throw new RangeError(`matvec: x has ${x.length} (needs ${cols}), y has ${y.length} (needs ${rows})`);
    if (w.data.length < rows * cols) throw new RangeError(`matvec: W data has ${w.data.length} elements, needs ${rows}×${cols}`);
    if (rows === 0) return;
    const wOff = this.place('w', w.data, rows * cols * w.data.BYTES_PER_ELEMENT);
    const xOff = this.place('x', x, cols * 4);
    const yInPlace = this.isInMemory(y);
    const yOff = yInPlace ? y.byteOffset : this.scratchOffset('y', rows * 4);
    switch (w.dtype) {
      case 'f32':
        this.matvecF32(wOff, xOff, yOff, rows, cols);
        break;
      case 'bf16':
        this.matvecBf16(wOff, xOff, yOff, rows, cols);
        break;
      case 'f16':
        this.matvecF16(wOff, xOff, yOff, rows, cols);
        break;
      case 'int8': {
        if (w.scales.length < rows) throw new RangeError(`matvec: int8 W has ${w.scales.length} scales, needs ${rows}`);
        const sOff = this.place('scales', w.scales, rows * 4);
        this.matvecInt8(wOff, sOff, xOff, yOff, rows, cols);
        break;
      }
    }
    if (!yInPlace) y.set(new Float32Array(this.buffer, yOff, rows));
  }
}

let defaultKernels: WasmKernels | undefined;

/** This thread's default WasmKernels (its own memory), created on first use. */
export function defaultWasmKernels(): WasmKernels {
  defaultKernels ??= new WasmKernels();
  return defaultKernels;
}

/** y = W·x with the WebAssembly SIMD kernels (this thread's default instance; inputs copied into its memory). */
export function matvecFast(w: Matrix, x: Float32Array, y: Float32Array): void {
  defaultWasmKernels().matvec(w, x, y);
}
