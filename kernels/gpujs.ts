// matvec y = W·x on gpu.js: its WebGL/WebGPU backends where a GPU exists, its CPU (or WebAssembly) backend here.
// gpu.js is an optional dependency, loaded on demand: loadGpuJs() resolves to null when it cannot be loaded, and
// createGpuJsMatvec() then throws. The kernel sees f32 weights: bf16/f16 are decoded on the host (decodeBf16/decodeF16)
// and int8 values are passed as numbers with the per-row scales applied in the kernel, so every dtype gives the same
// y as matvecReference within f32 rounding (GPU backends accumulate in f32; the CPU backend in f64).
import type { Matrix } from './matvec.js';
import { decodeBf16, decodeF16 } from './dtype.js';

/** Where the kernel runs: 'gpu' picks the best GPU backend gpu.js finds (WebGL, else its WebAssembly one). */
export type GpuJsMode = 'cpu' | 'gpu' | 'webgl' | 'webgl2' | 'headlessgl' | 'webgpu' | 'webasm';

// The part of gpu.js' API used here (typed locally so that this file compiles without the optional package).
interface GpuJsKernelThis {
  thread: { x: number };
  constants: { cols: number };
}
interface GpuJsKernel {
  (...args: unknown[]): unknown;
  destroy?(removeCanvasReferences?: boolean): void;
}
interface GpuJsInstance {
  readonly mode: string;
  readonly Kernel?: { name?: string; mode?: string };
  createKernel(fn: (this: GpuJsKernelThis, ...args: never[]) => number, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): void;
}
export interface GpuJsModule {
  GPU: new (settings?: { mode?: string }) => GpuJsInstance;
}

let loading: Promise<GpuJsModule | null> | undefined;

/** gpu.js, or null where the optional package is absent or fails to load. */
export function loadGpuJs(): Promise<GpuJsModule | null> {
  const specifier = 'gpu.js';
  loading ??= import(specifier).then(
    (m: { GPU?: unknown; default?: { GPU?: unknown } }) => ((m.GPU ?? m.default?.GPU) ? ({ GPU: (m.GPU ?? m.default!.GPU) as GpuJsModule['GPU'] } as GpuJsModule) : null),
    () => null,
  );
  return loading;
}

export interface GpuJsMatvec {
  /** The mode asked for. */
  readonly mode: string;
  /** The backend gpu.js chose for it ('cpu', 'webgl2', 'headlessgl', 'webasm', …). */
  readonly backend: string;
  /** y = W·x (any dtype); kernels are compiled once per (rows, cols, int8-or-not). */
  matvec(w: Matrix, x: Float32Array, y: Float32Array): void;
  /** Releases the kernels and the GPU context. */
  destroy(): void;
}

// Kernel bodies: gpu.js compiles these from their source text, so they stay plain functions of its JS subset.
function matvecKernel(this: GpuJsKernelThis, w: number[], x: number[]): number {
  let s = 0;
  const base = this.thread.x * this.constants.cols;
  for (let c = 0; c < this.constants.cols; c++) {
    s += w[base + c] * x[c];
  }
  return s;
}

function matvecScaledKernel(this: GpuJsKernelThis, w: number[], x: number[], scales: number[]): number {
  let s = 0;
  const base = this.thread.x * this.constants.cols;
  for (let c = 0; c < this.constants.cols; c++) {
    s += w[base + c] * x[c];
  }
  return s * scales[this.thread.x];
}

/** The backend gpu.js picked, from its kernel class (WebGL2Kernel → 'webgl2', CPUKernel → 'cpu'); else the mode. */
function backendName(gpu: GpuJsInstance): string {
  const name = /^(\w+)Kernel$/.exec(gpu.Kernel?.name ?? '')?.[1];
  return name ? name.toLowerCase() : (gpu.Kernel?.mode ?? gpu.mode);
}

/**
 * A gpu.js matvec in the given mode (default 'cpu'). Throws if gpu.js cannot be loaded or the mode is unsupported.
 * `gpujs`: the module itself, for a page that bundles gpu.js' browser build (a bare import() does not resolve there).
 */
export async function createGpuJsMatvec(mode: GpuJsMode = 'cpu', gpujs: GpuJsModule | null = null): Promise<GpuJsMatvec> {
  gpujs ??= await loadGpuJs();
  if (!gpujs) throw new Error('gpu.js is not available (it is an optional dependency: npm install gpu.js)');
  const gpu = new gpujs.GPU({ mode });
  const kernels = new Map<string, GpuJsKernel>();
  const kernelFor = (rows: number, cols: number, scaled: boolean): GpuJsKernel => {
    const key = `${rows}x${cols}${scaled ? 's' : ''}`;
    let k = kernels.get(key);
    if (!k) {
      k = gpu.createKernel(scaled ? matvecScaledKernel : matvecKernel, {
        output: [rows],
        constants: { cols },
        precision: 'single',
        tactic: 'precision',
        loopMaxIterations: Math.max(1, cols),
      });
      kernels.set(key, k);
    }
    return k;
  };
  return {
    mode,
    backend: backendName(gpu),
    matvec(w, x, y) {
      const { rows, cols } = w;
      if (x.length < cols || y.length < rows) throw new RangeError(`matvec: x has ${x.length} (needs ${cols}), y has ${y.length} (needs ${rows})`);
      if (rows === 0) return;
      if (cols === 0) {
        y.fill(0, 0, rows);
        return;
      }
      const xs = x.length === cols ? x : x.subarray(0, cols);
      let out: unknown;
      switch (w.dtype) {
        case 'f32':
          out = kernelFor(rows, cols, false)(w.data.subarray(0, rows * cols), xs);
          break;
        case 'bf16':
          out = kernelFor(rows, cols, false)(decodeBf16(w.data.subarray(0, rows * cols)), xs);
          break;
        case 'f16':
          out = kernelFor(rows, cols, false)(decodeF16(w.data.subarray(0, rows * cols)), xs);
          break;
        case 'int8':
          out = kernelFor(rows, cols, true)(Float32Array.from(w.data.subarray(0, rows * cols)), xs, w.scales.subarray(0, rows));
          break;
      }
      const values = out as ArrayLike<number>;
      for (let r = 0; r < rows; r++) y[r] = values[r];
    },
    destroy() {
      for (const k of kernels.values()) k.destroy?.();
      kernels.clear();
      gpu.destroy();
    },
  };
}
