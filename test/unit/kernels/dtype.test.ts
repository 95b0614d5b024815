import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  quantizeInt8Rows,
} from '../../../kernels/index.js';
import { randomF32 } from './testRandom.js';

const f32FromBits = (bits: number): number => new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];

describe('bf16 conversion (round to nearest even)', () => {
  it('hand-computed values', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(0)).toBe(0x0000);
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(f32ToBf16Bits(-Infinity)).toBe(0xff80);
    // 1/3 = 0x3eaaaaab -> 0x3eab (the dropped half 0xaaab is above the tie)
    expect(f32ToBf16Bits(1 / 3)).toBe(0x3eab);
  });

  it('ties go to even, just above a tie goes up', () => {
    expect(f32ToBf16Bits(f32FromBits(0x3f808000))).toBe(0x3f80); // 1 + 2^-8: between 0x3f80 (even) and 0x3f81
    expect(f32ToBf16Bits(f32FromBits(0x3f818000))).toBe(0x3f82); // between 0x3f81 and 0x3f82 (even)
    expect(f32ToBf16Bits(f32FromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16Bits(f32FromBits(0x3f807fff))).toBe(0x3f80);
    expect(f32ToBf16Bits(f32FromBits(0xbf818000))).toBe(0xbf82); // negative tie
  });

  it('the largest finite f32 rounds to infinity; NaN stays NaN', () => {
    expect(f32ToBf16Bits(f32FromBits(0x7f7fffff))).toBe(0x7f80);
    const nan = f32ToBf16Bits(NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x007f).not.toBe(0);
    // a NaN whose payload sits only in the low 16 bits must not become infinity
    const lowPayloadNaN = f32ToBf16Bits(f32FromBits(0x7f800001));
    expect(Number.isNaN(bf16BitsToF32(lowPayloadNaN))).toBe(true);
  });

  it('decodes by shifting left 16 and round-trips every non-NaN pattern', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0x0001)).toBe(f32FromBits(0x00010000)); // subnormal
    for (let b = 0; b < 0x10000; b++) {
      const v = bf16BitsToF32(b);
      if (Number.isNaN(v)) continue;
      if (f32ToBf16Bits(v) !== b) expect.fail(`bf16 0x${b.toString(16)} -> ${v} -> 0x${f32ToBf16Bits(v).toString(16)}`);
    }
    const values = new Float32Array([1, -0.5, 3.140625, 65280]);
    expect(Array.from(decodeBf16(encodeBf16(values)))).toEqual([1, -0.5, 3.140625, 65280]);
  });

  it('encodeBf16 (which reads the bits in place) gives f32ToBf16Bits of every element, specials and a sub-array too', () => {
    const bits = new Uint32Array(1 << 16);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bits[i] = Math.imul(s, 2654435761) >>> 0;
    }
    // ties, carries into the exponent, ±0, ±inf, NaNs with low and high payloads, the largest finite
    bits.set([0x3f808000, 0x3f818000, 0x3f7fffff, 0x7f7fffff, 0xff7fffff, 0, 0x80000000, 0x7f800000, 0xff800000, 0x7f800001, 0xffc00000, 0x7fbfffff]);
    const values = new Float32Array(bits.buffer);
    const got = encodeBf16(values);
    for (let i = 0; i < values.length; i++) if (got[i] !== f32ToBf16Bits(values[i])) expect.fail(`0x${bits[i].toString(16)}: 0x${got[i].toString(16)} vs 0x${f32ToBf16Bits(values[i]).toString(16)}`);
    const sub = values.subarray(3, 11);
    expect(Array.from(encodeBf16(sub))).toEqual(Array.from(sub, (v) => f32ToBf16Bits(v)));
  });
});

describe('f16 conversion', () => {
  it('hand-computed normal values', () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(0.5)).toBe(0x3800);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
  });

  it('rounds to nearest even', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie between 0x3c01 and 0x3c02 -> even
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
  });

  it('overflows to infinity past the largest half (65504) under round to nearest even', () => {
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the tie between 65504 and 65536 goes to even: infinity
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e6)).toBe(0xfc00);
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
  });

  it('subnormals: exact values, ties to even, and underflow to zero', () => {
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(1023 * 2 ** -24)).toBe(0x03ff);
    expect(f32ToF16Bits(-3 * 2 ** -24)).toBe(0x8003);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie between 0 and 2^-24 -> 0 (even)
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002); // tie between 1 and 2 (x 2^-24) -> 2
    expect(f32ToF16Bits(2.5 * 2 ** -24)).toBe(0x0002); // tie between 2 and 3 -> 2
    expect(f32ToF16Bits(1.25 * 2 ** -25)).toBe(0x0001); // above the tie
    expect(f32ToF16Bits(2 ** -26)).toBe(0x0000);
    expect(f32ToF16Bits(1023.5 * 2 ** -24)).toBe(0x0400); // rounds up into the smallest normal
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x83ff)).toBe(-1023 * 2 ** -24);
  });

  it('NaN and infinities', () => {
    const nan = f32ToF16Bits(NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x03ff).not.toBe(0);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(f16BitsToF32(0x7c01))).toBe(true);
    expect(Number.isNaN(f16BitsToF32(0xfe00))).toBe(true);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
  });

  it('round-trips every non-NaN half', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) continue;
      if (f32ToF16Bits(v) !== h) expect.fail(`f16 0x${h.toString(16)} -> ${v} -> 0x${f32ToF16Bits(v).toString(16)}`);
    }
    const values = new Float32Array([1, -0.5, 2 ** -24, 65504]);
    expect(Array.from(decodeF16(encodeF16(values)))).toEqual([1, -0.5, 2 ** -24, 65504]);
  });
});

describe('int8 per-row quantisation', () => {
  it('round trip error is at most half a step (scale / 2) per element; scale = max|row| / 127', () => {
    const rows = 17;
    const cols = 101;
    const w = randomF32(rows * cols, 99);
    for (let c = 0; c < cols; c++) w[3 * cols + c] = 0; // an all-zero row
    for (let c = 0; c < cols; c++) w[5 * cols + c] *= 1000; // a large row
    const { data, scales } = quantizeInt8Rows(w, rows, cols);
    for (let r = 0; r < rows; r++) {
      let maxAbs = 0;
      for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[r * cols + c]));
      expect(scales[r]).toBeCloseTo(maxAbs > 0 ? maxAbs / 127 : 1, 6);
      for (let c = 0; c < cols; c++) {
        const q = data[r * cols + c];
        expect(Math.abs(q)).toBeLessThanOrEqual(127);
        const err = Math.abs(q * scales[r] - w[r * cols + c]);
        if (err > scales[r] / 2 + 1e-6 * scales[r]) expect.fail(`row ${r} col ${c}: error ${err} > scale/2 = ${scales[r] / 2}`);
      }
    }
    expect(scales[3]).toBe(1);
    expect(Array.from(data.subarray(3 * cols, 4 * cols)).every((q) => q === 0)).toBe(true);
  });

  it('the largest element of each row maps to ±127', () => {
    const { data } = quantizeInt8Rows(new Float32Array([0.5, -1, 0.25, 2, -0.1, 0]), 2, 3);
    expect(Array.from(data)).toEqual([64, -127, 32, 127, -6, 0]);
  });
});
