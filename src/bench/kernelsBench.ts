// `wafer bench kernels`: this machine's read bandwidth, then each WebAssembly SIMD matvec dtype at 4096² and 8192²
// on one thread, as GB/s of weight bytes read and as a fraction of the read bandwidth.
//
// Method. Read bandwidth: the wasm-SIMD f32 sum over 256 MiB, timed as an 8-stream and a 4-stream read (eighths or
// quarters side by side, 64 KiB further apart than a power of two, like the matvecs' row bands), as the plain
// 4-stream quarter split (the quarters a power of two apart: 10-15% slower here, DRAM bank conflicts) and as a 1-stream
// read, first (1.5 s each) and again after every kernel (0.5 s each); the fastest of all these is the figure (stricter
// than any one probe, and robust to neighbours that slow one of them). Every matvec is run once and checked against
// matvecReference on 8 rows before it is timed. Timing: tinybench, 1 s per kernel in each of two rounds over all
// kernels; GB/s uses the fastest run of each kernel (this machine is shared, and slower runs measure the neighbours,
// not the kernel); the text output also gives the mean. Before every timed run a 64 MiB buffer is read, so no run
// finds its weights in the last-level cache (32 MiB here; 4096² int8 is only 16 MiB): the figures are memory reads,
// as for a model's weights during decoding. Memory: one 256 MiB region is reused for the probe and for every matrix
// (8192² f32 is 256 MiB), so the process stays near 350 MiB. --verbose also prints the fractions of the plain sum,
// and of the probe read right after each round (like with like on a busy host).
// Last, each kernel runs on 192 KiB of weights that stay in L2 (`cacheResident`, the fastest of three shapes): the
// ceiling its instructions set. Where that ceiling is near the read bandwidth, the kernel is instruction-bound.
// The kernels run in the build WasmKernels picks by default (relaxed SIMD where the engine runs it) unless `simd` says.
import { Bench } from 'tinybench';
import type { Matrix, WasmSimd, WeightDtype } from '../../kernels/index.js';
import { WEIGHT_DTYPES, WasmKernels, bytesPerElement, createKernelMemory, matvecReference, matvecRowTolerance, sliceMatrix } from '../../kernels/index.js';

export interface KernelsBenchResult {
  kernel: 'matvec';
  dtype: WeightDtype;
  rows: number;
  cols: number;
  gbps: number;
  fractionOfReadBandwidth: number;
}

export interface KernelsBenchReport {
  readBandwidthGBps: number;
  results: KernelsBenchResult[];
  /**
   * Each kernel on weights that stay in the core's L2 cache (CACHE_RESIDENT_BYTES, run back to back): what its
   * instructions alone allow. A kernel whose figure here is near the read bandwidth is bound by its instructions,
   * and no memory access pattern brings it near a fraction of 1 from DRAM.
   */
  cacheResident: KernelsBenchResult[];
}

/** Weight bytes of the cache-resident runs: inside any current core's L2 (512 KiB here) with x beside them. */
export const CACHE_RESIDENT_BYTES = 192 * 1024;
/** A cache-resident figure below this multiple of the read bandwidth marks a kernel bound by its instructions. */
export const INSTRUCTION_BOUND_MARGIN = 1.15;

export interface KernelsBenchOptions {
  /** Small sizes and short timings, for smoke tests; the figures are not meaningful. */
  quick?: boolean;
  /** Progress and method notes (one line each), e.g. for stderr. */
  onProgress?: (line: string) => void;
  /** The build of the kernel module to time (default: defaultWasmSimd()). */
  simd?: WasmSimd;
}

/** Targets (fraction of the measured read bandwidth). */
export const KERNEL_TARGETS: Readonly<Record<WeightDtype, number>> = Object.freeze({ f32: 0.85, int8: 0.85, bf16: 0.8, f16: 0.55 });

const MIB = 1024 * 1024;

/** xorshift32 stream, seeded: the benchmark matrices are the same on every run. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Fills W (already in wasm memory) with seeded values typical of weights: |w| in [2^-6, 1), random signs. */
function fillMatrix(w: Matrix, seed: number): void {
  const next = xorshift(seed);
  const n = w.rows * w.cols;
  switch (w.dtype) {
    case 'f32': {
      for (let i = 0; i < n; i++) w.data[i] = (next() / 2 ** 31 - 1) * 0.999;
      break;
    }
    case 'bf16': {
      // sign, exponent 121..126, 7 mantissa bits
      for (let i = 0; i < n; i++) {
        const r = next();
        w.data[i] = ((r & 1) << 15) | ((121 + ((r >>> 1) % 6)) << 7) | ((r >>> 8) & 0x7f);
      }
      break;
    }
    case 'f16': {
      // sign, exponent 9..14, 10 mantissa bits
      for (let i = 0; i < n; i++) {
        const r = next();
        w.data[i] = ((r & 1) << 15) | ((9 + ((r >>> 1) % 6)) << 10) | ((r >>> 8) & 0x3ff);
      }
      break;
    }
    case 'int8': {
      for (let i = 0; i < n; i++) w.data[i] = (next() % 255) - 127;
      for (let r = 0; r < w.rows; r++) w.scales[r] = 0.001 + (next() % 1000) * 1e-5;
      break;
    }
  }
}


/**
 * A seeded (rows, cols) matrix at the start of `region` (the probe's: the allocator is reset to `mark` first), x and
 * y after it, and one run checked against matvecReference: ready to time.
 */
function checkedMatvec(k: WasmKernels, mark: number, region: number, dtype: WeightDtype, rows: number, cols: number, seed: number, xSeed: number): { w: Matrix; x: Float32Array; y: Float32Array } {
  k.reset(mark);
  const w = matrixAt(k, region, dtype, rows, cols);
  fillMatrix(w, seed);
  const x = k.allocF32(cols);
  const nextX = xorshift(xSeed);
  for (let i = 0; i < cols; i++) x[i] = nextX() / 2 ** 31 - 1;
  const y = k.allocF32(rows);
  checkMatvec(k, w, x, y);
  return { w, x, y };
}

function runMatvec(k: WasmKernels, w: Matrix, x: Float32Array, y: Float32Array): void {
  const { rows, cols } = w;
  switch (w.dtype) {
    case 'f32':
      return k.matvecF32(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
    case 'bf16':
      return k.matvecBf16(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
    case 'f16':
      return k.matvecF16(w.data.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
    case 'int8':
      return k.matvecInt8(w.data.byteOffset, w.scales.byteOffset, x.byteOffset, y.byteOffset, rows, cols);
  }
}

/** Runs W·x once and holds 8 rows (first, last, and spread between) to matvecReference; throws on a mismatch. */
function checkMatvec(k: WasmKernels, w: Matrix, x: Float32Array, y: Float32Array): void {
  y.fill(NaN);
  runMatvec(k, w, x, y);
  const picks = new Set([0, 1, w.rows - 1, w.rows >> 1, (w.rows >> 2) + 3, (3 * w.rows) >> 2, w.rows - 5, 7].filter((r) => r >= 0 && r < w.rows));
  const ref = new Float32Array(1);
  for (const r of picks) {
    matvecReference(sliceMatrix(w, r, r + 1, 0, w.cols), x, ref);
    const tol = matvecRowTolerance(w, x, r);
    if (!(Math.abs(y[r] - ref[0]) <= tol))
      throw new Error(`bench kernels: ${w.dtype} ${w.rows}×${w.cols} row ${r} gives ${y[r]}, reference ${ref[0]} (tolerance ${tol}); not timing a wrong kernel`);
  }
}

interface Timing {
  minMs: number;
  meanMs: number;
  samples: number;
}

/** Times fn with tinybench for about `ms` milliseconds (at least 3 runs), reading the eviction buffer before each run. */
async function time(fn: () => void, ms: number, evictCache: () => void): Promise<Timing> {
  const bench = new Bench({ time: ms, warmupTime: Math.min(150, ms / 5), iterations: 3 });
  bench.add('task', fn, { beforeEach: evictCache });
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') throw new Error(`bench kernels: timing did not complete (${result.state})`);
  return { minMs: result.latency.min, meanMs: result.latency.mean, samples: result.latency.samplesCount };
}

const gbps = (bytes: number, ms: number): number => bytes / (ms * 1e6);

/** Measures the read bandwidth, then checks and times every matvec dtype at 4096² and 8192² (quick: 512², 1024²). */
export async function runKernelsBench(opts: KernelsBenchOptions = {}): Promise<KernelsBenchReport> {
  const quick = opts.quick === true;
  const note = opts.onProgress ?? (() => {});
  const sizes = quick ? [512, 1024] : [4096, 8192];
  const probeBytes = quick ? 32 * MIB : 256 * MIB;
  const maxN = sizes[sizes.length - 1];
  // the 4- and 8-stream probes leave 64 KiB gaps between their streams (see WasmKernels.sumF32)
  const gapBytes = 64 * 1024;
  const regionBytes = Math.max(probeBytes + 7 * gapBytes, maxN * maxN * 4);

  const evictBytes = quick ? 4 * MIB : 64 * MIB;
  const k = new WasmKernels(createKernelMemory(regionBytes + evictBytes + 4 * MIB), opts.simd);
  note(`kernel module: the ${k.simd} SIMD build`);
  const region = k.alloc(regionBytes, 64);
  const evict = k.alloc(evictBytes, 64);
  new Float32Array(k.buffer, evict, evictBytes / 4).fill(1);
  const evictCache = (): void => void k.sumF32(evict, evictBytes);
  const mark = k.mark();

  // read bandwidth: f32 sum over probeBytes, every value 0.5 (the f32 sum is then exact: checked)
  new Float32Array(k.buffer, region, (probeBytes + 7 * gapBytes) / 4).fill(0.5);
  // gapped 8- and 4-stream sums, the plain quarter split (no gaps: the streams are a power of two apart) and one stream
  const PROBES: { label: string; streams: 1 | 4 | 8; gap: number }[] = [
    { label: '8 gapped streams', streams: 8, gap: gapBytes },
    { label: '4 gapped streams', streams: 4, gap: gapBytes },
    { label: '4 plain streams', streams: 4, gap: 0 },
    { label: '1 stream', streams: 1, gap: 0 },
  ];
  for (const p of PROBES) {
    const got = k.sumF32(region, probeBytes, p.streams, p.gap);
    if (got !== (probeBytes / 4) * 0.5) throw new Error(`bench kernels: the ${p.label} bandwidth probe summed to ${got}, expected ${(probeBytes / 4) * 0.5}`);
  }
  note(`read bandwidth: wasm-SIMD f32 sum over ${probeBytes / MIB} MiB`);
  const best = new Map<string, number>(PROBES.map((p) => [p.label, 0]));
  // the probe region is overwritten by the matrices: re-probing reads whatever is there (the sum's value is not used)
  /** Times every probe (updating `best`); returns the fastest of this round. */
  const probeBandwidth = async (long: boolean): Promise<number> => {
    let fastest = 0;
    for (const p of PROBES) {
      const t = await time(() => k.sumF32(region, probeBytes, p.streams, p.gap), quick ? 50 : long ? 1500 : 500, evictCache);
      const g = gbps(probeBytes, t.minMs);
      best.set(p.label, Math.max(best.get(p.label) ?? 0, g));
      fastest = Math.max(fastest, g);
    }
    return fastest;
  };
  const probeNote = (): string => PROBES.map((p) => `${(best.get(p.label) ?? 0).toFixed(2)} GB/s as ${p.label}`).join(', ');
  await probeBandwidth(true);
  note(`read bandwidth: ${probeNote()} (fastest runs)`);

  // every kernel is timed once per round, the rounds spread over the whole run: a neighbour that loads the machine for
  // a while slows one round of a kernel, not all of them (the figure is the fastest run over all rounds)
  const rounds = quick ? 1 : 2;
  const measured: { dtype: WeightDtype; n: number; gbps: number }[] = [];
  const paired: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const n of sizes) {
      for (const dtype of WEIGHT_DTYPES) {
        const bytes = n * n * bytesPerElement(dtype);
        const { w, x, y } = checkedMatvec(k, mark, region, dtype, n, n, 1000 + n + dtype.length, 7 + n);
        note(`matvec ${dtype} ${n}×${n}, round ${round}/${rounds}: checked against matvecReference on 8 rows; timing`);
        const t = await time(() => runMatvec(k, w, x, y), quick ? 50 : 1000, evictCache);
        const g = gbps(bytes, t.minMs);
        const seen = measured.find((m) => m.dtype === dtype && m.n === n);
        if (seen) seen.gbps = Math.max(seen.gbps, g);
        else measured.push({ dtype, n, gbps: g });
        note(`matvec ${dtype} ${n}×${n}, round ${round}/${rounds}: ${g.toFixed(2)} GB/s fastest, ${gbps(bytes, t.meanMs).toFixed(2)} GB/s mean over ${t.samples} runs`);
        // the probe right after this run, for a fraction that compares like with like on a busy host
        const after = await probeBandwidth(false);
        paired.push(`${dtype} ${n}² r${round} ${(g / after).toFixed(3)}`);
      }
    }
  }
  const readBandwidthGBps = Math.max(...best.values());
  note(`read bandwidth, fastest over all probes: ${probeNote()}; using ${readBandwidthGBps.toFixed(2)}`);
  // The figure divides by the fastest of every probe run (~17 rounds) and a kernel gets two: on a busy host that is
  // biased against the kernel. Each round against the probe taken right after it, for comparison:
  note(`fractions of the probe read right after each round: ${paired.join(', ')}`);
  // for comparison with figures taken against a plain streaming sum (which loses to DRAM bank conflicts here)
  const plain = best.get('4 plain streams') ?? 0;
  note(`fractions of the plain 4-stream sum (${plain.toFixed(2)} GB/s): ${measured.map((m) => `${m.dtype} ${m.n}² ${(m.gbps / plain).toFixed(3)}`).join(', ')}`);
  // Compute ceilings: the same kernels on weights resident in L2, called back to back with no eviction in between.
  // A call's x preparation weighs more with few rows, a row's epilogue with few columns: the fastest of three shapes
  // (1024, 2048 and 4096 columns over the same bytes) is the ceiling.
  const cacheBytes = quick ? 16 * 1024 : CACHE_RESIDENT_BYTES;
  const cacheShapes = quick ? [256] : [1024, 2048, 4096];
  const reps = quick ? 4 : 64;
  const cacheResident: KernelsBenchResult[] = [];
  for (const dtype of WEIGHT_DTYPES) {
    let fastest: KernelsBenchResult | null = null;
    for (const cols of cacheShapes) {
      const rows = cacheBytes / (cols * bytesPerElement(dtype));
      const { w, x, y } = checkedMatvec(k, mark, region, dtype, rows, cols, 2000 + cols + dtype.length, 11 + cols);
      const t = await time(
        () => {
          for (let i = 0; i < reps; i++) runMatvec(k, w, x, y);
        },
        quick ? 50 : 400,
        () => {},
      );
      const g = gbps(reps * cacheBytes, t.minMs);
      note(`matvec ${dtype} ${rows}×${cols} resident in cache: checked; ${g.toFixed(2)} GB/s fastest`);
      if (!fastest || g > fastest.gbps) fastest = { kernel: 'matvec', dtype, rows, cols, gbps: g, fractionOfReadBandwidth: 0 };
    }
    cacheResident.push({ ...fastest!, gbps: round(fastest!.gbps), fractionOfReadBandwidth: round(fastest!.gbps / readBandwidthGBps, 3) });
  }
  const results: KernelsBenchResult[] = measured.map((m) => ({
    kernel: 'matvec',
    dtype: m.dtype,
    rows: m.n,
    cols: m.n,
    gbps: round(m.gbps),
    fractionOfReadBandwidth: round(m.gbps / readBandwidthGBps, 3),
  }));
  return { readBandwidthGBps: round(readBandwidthGBps), results, cacheResident };
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A matrix whose data start at `offset` (inside a region the caller owns); int8 scales are allocated after it. */
function matrixAt(k: WasmKernels, offset: number, dtype: WeightDtype, rows: number, cols: number): Matrix {
  const n = rows * cols;
  switch (dtype) {
    case 'f32':
      return { dtype, rows, cols, data: new Float32Array(k.buffer, offset, n) };
    case 'bf16':
    case 'f16':
      return { dtype, rows, cols, data: new Uint16Array(k.buffer, offset, n) };
    case 'int8': {
      const scales = k.allocF32(rows);
      return { dtype, rows, cols, data: new Int8Array(k.buffer, offset, n), scales };
    }
  }
}

/** The report as a text table with the targets; `simd` names the kernel build that was timed. */
export function formatKernelsBench(r: KernelsBenchReport, simd: WasmSimd): string {
  const lines = [
    `read bandwidth (one thread, wasm-SIMD f32 streaming sum, fastest 8-, 4- or 1-stream read of all probes): ${r.readBandwidthGBps.toFixed(2)} GB/s`,
    `kernels: the ${simd} SIMD build of kernels/wasm/matvec.wat`,
    '',
    'kernel  dtype  rows×cols    GB/s  fraction  target',
  ];
  for (const x of r.results) {
    const target = KERNEL_TARGETS[x.dtype];
    const verdict = x.fractionOfReadBandwidth >= target ? 'met' : 'MISSED';
    lines.push(
      `${x.kernel.padEnd(7)} ${x.dtype.padEnd(6)} ${`${x.rows}×${x.cols}`.padEnd(11)} ${x.gbps.toFixed(2).padStart(6)}  ${x.fractionOfReadBandwidth.toFixed(3).padStart(8)}  >= ${target.toFixed(2)} ${verdict}`,
    );
  }
  lines.push('', 'From cache (the weights resident in L2, the kernel called back to back): what its instructions alone allow.');
  for (const x of r.cacheResident) {
    const bound = x.fractionOfReadBandwidth < INSTRUCTION_BOUND_MARGIN ? ' — bound by its instructions: from DRAM it cannot read much faster than this' : '';
    lines.push(`${x.kernel.padEnd(7)} ${x.dtype.padEnd(6)} ${`${x.rows}×${x.cols}`.padEnd(11)} ${x.gbps.toFixed(2).padStart(6)}  ${x.fractionOfReadBandwidth.toFixed(3).padStart(8)}${bound}`);
  }
  lines.push('', 'GB/s: weight bytes read per second (int8 scales not counted), from the fastest run of each kernel;', 'every kernel was checked against matvecReference before it was timed.');
  return lines.join('\n');
}
