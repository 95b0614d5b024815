// The differential check every fast matvec is held to. Tolerance per output row r (stated in kernels/wasmKernels.ts):
//   f32, bf16, f16: |y - ref| <= 1e-5 · sum_c |W[r][c]·x[c]|
//   int8:           |y - ref| <= 1e-5 · sum_c |W[r][c]·x[c]| + max|x| · sum_c |W[r][c]| / 65534   (x quantised to int16)
import { expect } from 'vitest';
import type { Matrix } from '../../../kernels/index.js';
import { matvecReference, matvecRowTolerance } from '../../../kernels/index.js';

/** The kernels' stated per-row tolerance (kernels/matvec.ts). */
export const tolerance = matvecRowTolerance;

export function expectClose(w: Matrix, x: Float32Array, y: Float32Array, label: string): void {
  const ref = new Float32Array(w.rows);
  matvecReference(w, x, ref);
  for (let r = 0; r < w.rows; r++) {
    const err = Math.abs(y[r] - ref[r]);
    const tol = tolerance(w, x, r);
    if (!(err <= tol)) expect.fail(`${label}: row ${r}: got ${y[r]}, reference ${ref[r]}, |error| ${err} > tolerance ${tol}`);
  }
}

export const SHAPES: [number, number][] = [
  [1, 1],
  [3, 5],
  [7, 33],
  [64, 4096],
  [129, 257],
  // more awkward tails: every cols mod 16, a single row, an int8 block of columns past 1024 and past 2048
  [4, 15],
  [5, 24],
  [6, 2217],
  [1, 1031],
  [9, 4099],
  // row bands of unequal fill (the drivers give each of their 4, 6 or 8 streams ceil(rows / streams) rows)
  [17, 40],
  [50, 24],
];
