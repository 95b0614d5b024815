// y = W·x with W row-major (outDim = rows, inDim = cols). The plain reference that every fast matvec is held to.

import type { WeightDtype } from './dtype.js';
import { bf16BitsToF32, f16BitsToF32, roundToBf16, roundToF16 } from './dtype.js';

/** A weight matrix in its storage dtype. data: (rows, cols) row-major. int8 carries one f32 scale per row. */
export type Matrix =
  | { dtype: 'f32'; rows: number; cols: number; data: Float32Array }
  | { dtype: 'bf16'; rows: number; cols: number; data: Uint16Array }
  | { dtype: 'f16'; rows: number; cols: number; data: Uint16Array }
  | { dtype: 'int8'; rows: number; cols: number; data: Int8Array; scales: Float32Array };

export type MatrixOf<D extends WeightDtype> = Extract<Matrix, { dtype: D }>;

/**
 * What x is multiplied by, per weight dtype. A 16-bit model computes with 16-bit activations: x is rounded to the
 * weights' own format, the products of two 16-bit values are exact in f32 and summed in f32 (the wafer's `@fmachs`,
 * FP16 × FP16 accumulated in FP32; a GPU's bf16 GEMM takes bf16 inputs with f32 accumulation). f32 weights multiply x
 * as it is. int8 weights multiply x quantised to int16 (inside the int8 kernels, see wasmKernels.ts). The cost functions
 * (fabric/mesh/cost.ts) charge these operand widths; matvecOperand applies the rounding before a kernel runs.
 */
export const MATVEC_OPERAND = Object.freeze({ f32: 'f32', bf16: 'bf16', f16: 'f16', int8: 'int16' } as const) satisfies Record<WeightDtype, string>;

/**
 * The x a matvec over `dtype` weights multiplies (MATVEC_OPERAND): x itself, or x rounded to bf16 or f16 in `scratch`
 * (at least x.length long; its first x.length values are overwritten and returned).
 */
export function matvecOperand(dtype: WeightDtype, x: Float32Array, scratch: Float32Array): Float32Array {
  if (dtype === 'bf16') return roundToBf16(x, scratch.subarray(0, x.length));
  if (dtype === 'f16') return roundToF16(x, scratch.subarray(0, x.length));
  return x;
}

/**
 * Reference matvec: y[r] = sum_c W[r][c] * x[c]. Products and the running sum are kept in f64 and rounded to f32
 * once per row, so this is at least as accurate as any f32-accumulating fast path held to it.
 */
export function matvecReference(w: Matrix, x: Float32Array, y: Float32Array): void {
  const { rows, cols } = w;
  if (x.length < cols || y.length < rows) throw new RangeError(`matvec: x has ${x.length} (needs ${cols}), y has ${y.length} (needs ${rows})`);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let acc = 0;
    switch (w.dtype) {
      case 'f32':
        for (let c = 0; c < cols; c++) acc += w.data[base + c] * x[c];
        break;
      case 'bf16':
        for (let c = 0; c < cols; c++) acc += bf16BitsToF32(w.data[base + c]) * x[c];
        break;
      case 'f16':
        for (let c = 0; c < cols; c++) acc += f16BitsToF32(w.data[base + c]) * x[c];
        break;
      case 'int8':
        for (let c = 0; c < cols; c++) acc += w.data[base + c] * x[c];
        acc *= w.scales[r];
        break;
    }
    y[r] = acc;
  }
}

/**
 * The per-row tolerance every fast matvec is held to against matvecReference (tests and the kernel benchmark):
 *   f32, bf16, f16: |y[r] − ref[r]| ≤ 1e-5 · Σ_c |W[r][c]·x[c]|
 *   int8:           the same + max|x| · Σ_c |W[r][c]| / 65534 (the fast path quantises x to int16)
 */
export function matvecRowTolerance(w: Matrix, x: Float32Array, r: number): number {
  let sumAbs = 0;
  let sumAbsW = 0;
  let maxX = 0;
  for (let c = 0; c < w.cols; c++) {
    const e = matrixElement(w, r, c);
    sumAbs += Math.abs(e * x[c]);
    sumAbsW += Math.abs(e);
    maxX = Math.max(maxX, Math.abs(x[c]));
  }
  return 1e-5 * sumAbs + (w.dtype === 'int8' ? (maxX * sumAbsW) / 65534 : 0) + 1e-30;
}

/** One element of W as f32, whatever its storage dtype. */
export function matrixElement(w: Matrix, r: number, c: number): number {
  const i = r * w.cols + c;
  switch (w.dtype) {
    case 'f32':
      return w.data[i];
    case 'bf16':
      return bf16BitsToF32(w.data[i]);
    case 'f16':
      return f16BitsToF32(w.data[i]);
    case 'int8':
      return w.data[i] * w.scales[r];
  }
}

/** Rows [r0, r1) and columns [c0, c1) of W as a new matrix of the same dtype (a tile's block). */
export function sliceMatrix(w: Matrix, r0: number, r1: number, c0: number, c1: number): Matrix {
  const rows = r1 - r0;
  const cols = c1 - c0;
  const copyRows = <T extends Float32Array | Uint16Array | Int8Array>(src: T, dst: T): T => {
    for (let r = 0; r < rows; r++) dst.set(src.subarray((r0 + r) * w.cols + c0, (r0 + r) * w.cols + c1), r * cols);
    return dst;
  };
  switch (w.dtype) {
    case 'f32':
      return { dtype: 'f32', rows, cols, data: copyRows(w.data, new Float32Array(rows * cols)) };
    case 'bf16':
      return { dtype: 'bf16', rows, cols, data: copyRows(w.data, new Uint16Array(rows * cols)) };
    case 'f16':
      return { dtype: 'f16', rows, cols, data: copyRows(w.data, new Uint16Array(rows * cols)) };
    case 'int8':
      return { dtype: 'int8', rows, cols, data: copyRows(w.data, new Int8Array(rows * cols)), scales: w.scales.slice(r0, r1) };
  }
}
