import { describe, expect, it } from 'vitest';
import { hash32, streamFor, Xoshiro128 } from '../../../../compiler/model/random.js';

describe('Xoshiro128', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    const c = new Xoshiro128(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    for (const x of xs) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it('matches the reference xoshiro128** (values from a Python transcription of the C code, splitmix32 seeding)', () => {
    const r = new Xoshiro128(0);
    expect(Array.from({ length: 4 }, () => r.nextU32())).toEqual([3809008728, 1133695204, 53579671, 2891528803]);
  });

  it('nextSigned is uniform on [-1, 1) with mean ~0 and variance ~1/3', () => {
    const r = new Xoshiro128(7);
    let sum = 0;
    let sq = 0;
    let min = 1;
    let max = -1;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const v = r.nextSigned();
      sum += v;
      sq += v * v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1 / 3)).toBeLessThan(0.01);
    expect(min).toBeGreaterThanOrEqual(-1);
    expect(max).toBeLessThan(1);
  });

  it('nextInt stays in range and hits every value', () => {
    const r = new Xoshiro128(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r.nextInt(10);
      expect(v >= 0 && v < 10).toBe(true);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });
});

describe('streams', () => {
  it('depend on seed and name only', () => {
    expect(streamFor(1, 'a').nextU32()).toBe(streamFor(1, 'a').nextU32());
    expect(streamFor(1, 'a').nextU32()).not.toBe(streamFor(1, 'b').nextU32());
    expect(streamFor(1, 'a').nextU32()).not.toBe(streamFor(2, 'a').nextU32());
  });

  it('hash32 is FNV-1a', () => {
    expect(hash32('')).toBe(0x811c9dc5);
    expect(hash32('a')).toBe(0xe40c292c);
  });
});

describe('fillSigned', () => {
  it('gives exactly the values of nextSigned in a loop, and leaves the generator in the same state', () => {
    const a = new Xoshiro128(99);
    const b = new Xoshiro128(99);
    const filled = a.fillSigned(new Float32Array(1000), 0.75);
    const looped = Float32Array.from({ length: 1000 }, () => 0.75 * b.nextSigned());
    expect(Array.from(filled)).toEqual(Array.from(looped));
    expect(a.nextU32()).toBe(b.nextU32());
  });
});
