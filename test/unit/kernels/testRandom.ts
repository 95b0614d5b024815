// Seeded random data for the kernel tests (mulberry32): the same matrices on every run.
import type { Matrix } from '../../../kernels/index.js';
import { encodeBf16, encodeF16, quantizeInt8Rows } from '../../../kernels/index.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [-1, 1). */
export function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * 2 - 1;
  return out;
}

/** The same random (rows, cols) weights stored in each dtype. */
export function randomMatrices(rows: number, cols: number, seed: number): Record<'f32' | 'bf16' | 'f16' | 'int8', Matrix> {
  const f = randomF32(rows * cols, seed);
  const q = quantizeInt8Rows(f, rows, cols);
  return {
    f32: { dtype: 'f32', rows, cols, data: f },
    bf16: { dtype: 'bf16', rows, cols, data: encodeBf16(f) },
    f16: { dtype: 'f16', rows, cols, data: encodeF16(f) },
    int8: { dtype: 'int8', rows, cols, data: q.data, scales: q.scales },
  };
}
