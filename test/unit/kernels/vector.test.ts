import { describe, expect, it } from 'vitest';
import { argmax, rmsnorm, rmsnormGiven, sumSquares, ropeAngles, ropeInPlace, ropeWithAngles, softmaxInPlace, swiglu, silu, topKGating, decodeAttention } from '../../../kernels/index.js';
import { randomF32 } from './testRandom.js';

describe('vector kernels', () => {
  it('rmsnorm scales to unit RMS times the weight', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const out = rmsnorm(x, new Float32Array([1, 1, 1, 2]), 0);
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4);
    expect(out[0]).toBeCloseTo(1 / rms, 6);
    expect(out[3]).toBeCloseTo((2 * 4) / rms, 6);
  });

  it('rmsnorm is sumSquares then rmsnormGiven, bit for bit', () => {
    const x = randomF32(37, 3);
    const w = randomF32(37, 4);
    expect([...rmsnormGiven(x, w, sumSquares(x), x.length, 1e-6)]).toEqual([...rmsnorm(x, w, 1e-6)]);
    expect(sumSquares(new Float32Array([1, 2, 3]))).toBe(14);
  });

  it('rmsnorm of a vector in 3 slices: the slices’ sumSquares added, rmsnormGiven per slice, within 1e-6 relative', () => {
    const n = 100;
    const x = randomF32(n, 5).map((v) => v * 7);
    const w = randomF32(n, 6);
    const ref = rmsnorm(x, w, 1e-5);
    const cuts = [0, 33, 67, n];
    let ss = 0;
    for (let j = 0; j < 3; j++) ss += sumSquares(x.subarray(cuts[j], cuts[j + 1]));
    const out = new Float32Array(n);
    for (let j = 0; j < 3; j++) rmsnormGiven(x.subarray(cuts[j], cuts[j + 1]), w.subarray(cuts[j], cuts[j + 1]), ss, n, 1e-5, out.subarray(cuts[j], cuts[j + 1]));
    // Only the summation order differs from rmsnorm's single pass (a double sum): far below an f32 ulp.
    for (let i = 0; i < n; i++) expect(Math.abs(out[i] - ref[i]), `out[${i}]`).toBeLessThanOrEqual(1e-6 * Math.abs(ref[i]));
  });

  it('softmax is stable for large logits and sums to one', () => {
    const x = softmaxInPlace(new Float32Array([1000, 1001, 1002]));
    expect(x[0] + x[1] + x[2]).toBeCloseTo(1, 6);
    expect(x[2]).toBeGreaterThan(x[1]);
    expect(Number.isFinite(x[0])).toBe(true);
  });

  it('RoPE at position 0 is the identity and preserves each pair norm', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(ropeInPlace(x.slice(), 2, 4, 0, 10000))).toEqual(Array.from(x));
    const y = ropeInPlace(x.slice(), 2, 4, 7, 10000);
    // pairs are (i, i+half) inside each head
    expect(Math.hypot(y[0], y[2])).toBeCloseTo(Math.hypot(1, 3), 5);
    expect(Math.hypot(y[5], y[7])).toBeCloseTo(Math.hypot(6, 8), 5);
  });

  it('RoPE on angles written ahead (ropeAngles) rotates as ropeInPlace does, to f32 rounding of cos and sin', () => {
    const x = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i * 0.37) * 3);
    for (const position of [0, 1, 517, 4095]) {
      const angles = ropeAngles(new Float32Array(64), 64, position, 1e6);
      const direct = ropeInPlace(x.slice(), 3, 64, position, 1e6);
      const ahead = ropeWithAngles(x.slice(), 3, 64, angles);
      for (let i = 0; i < x.length; i++) expect(Math.abs(ahead[i] - direct[i])).toBeLessThanOrEqual(1e-6 * (Math.abs(direct[i]) + Math.abs(x[i])) + 1e-7);
      // cos² + sin² = 1 for each angle
      for (let i = 0; i < 32; i++) expect(angles[i] ** 2 + angles[32 + i] ** 2).toBeCloseTo(1, 6);
    }
  });

  it('swiglu is silu(gate)*up; argmax takes the first max', () => {
    const out = swiglu(new Float32Array([0, 1]), new Float32Array([3, 2]));
    expect(out[1]).toBeCloseTo(silu(1) * 2, 6);
    expect(argmax(new Float32Array([1, 5, 5, 2]))).toBe(1);
  });

  it('top-k gating renormalises the kept weights', () => {
    const g = topKGating(new Float32Array([0.1, 2, -1, 1.5]), 2, true);
    expect(Array.from(g.indices)).toEqual([1, 3]);
    expect(g.weights[0] + g.weights[1]).toBeCloseTo(1, 6);
    expect(g.weights[0] / g.weights[1]).toBeCloseTo(Math.exp(0.5), 5);
  });

  it('decode attention with one position returns V of the matching KV head', () => {
    const out = new Float32Array(4 * 2);
    const v = new Float32Array([1, 2, 3, 4]); // (1, 2 kv heads, 2)
    decodeAttention({ q: new Float32Array(8).fill(1), kCache: new Float32Array(4), vCache: v, seqLen: 1, numHeads: 4, numKvHeads: 2, headDim: 2, out });
    expect(Array.from(out)).toEqual([1, 2, 1, 2, 3, 4, 3, 4]);
  });
});
