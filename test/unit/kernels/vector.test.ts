import { describe, expect, it } from 'vitest';
import { argmax, rmsnorm, ropeInPlace, softmaxInPlace, swiglu, silu, topKGating, decodeAttention } from '../../../kernels/index.js';

describe('vector kernels', () => {
  it('rmsnorm scales to unit RMS times the weight', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const out = rmsnorm(x, new Float32Array([1, 1, 1, 2]), 0);
    const rms = Math.sqrt((1 + 4 + 9 + 16) / 4);
    expect(out[0]).toBeCloseTo(1 / rms, 6);
    expect(out[3]).toBeCloseTo((2 * 4) / rms, 6);
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
