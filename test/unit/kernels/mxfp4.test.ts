// MXFP4 against the OCP Microscaling Formats v1.0 spec, computed independently: an E2M1 element is 1 sign, 2 exponent
// (bias 1) and 1 mantissa bit — subnormal (exponent 0) m·0.5, else 2^(e−1)·(1 + m/2) — and an E8M0 scale 2^(e − 127).
import { describe, expect, it } from 'vitest';
import { E2M1_VALUES, MXFP4_BLOCK_BYTES, decodeMxfp4ToBf16, encodeMxfp4, mxfp4Bytes } from '../../../kernels/mxfp4.js';
import { bf16BitsToF32 } from '../../../kernels/dtype.js';
import { seededValues } from '../../../fabric/mesh/workloads.js';

/** The spec's E2M1 decoding, from the bit fields. */
function e2m1(code: number): number {
  const sign = code & 8 ? -1 : 1;
  const e = (code >> 1) & 3;
  const m = code & 1;
  return sign * (e === 0 ? m * 0.5 : 2 ** (e - 1) * (1 + m / 2));
}

const decode = (packed: Uint8Array, rows: number, cols: number) => Array.from(decodeMxfp4ToBf16(packed, rows, cols, new Uint16Array(rows * cols)), bf16BitsToF32);

describe('MXFP4 (OCP MX v1.0)', () => {
  it('E2M1 codes decode as the spec defines them', () => {
    for (let c = 0; c < 16; c++) expect(Object.is(E2M1_VALUES[c], e2m1(c)) || E2M1_VALUES[c] === e2m1(c)).toBe(true);
    expect(E2M1_VALUES.slice(0, 8)).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
  });

  it('a block is its scale byte then 16 bytes of elements, low nibble first: 17 bytes per 32 weights (4.25 bits)', () => {
    // Largest magnitude 48 = 1.5·2^5: scale 2^(5 − 2) = 8 (byte 130); elements 6, −3, 0.5, 1 (·8).
    const v = new Float32Array(32);
    v.set([48, -24, 4, 8]);
    const packed = encodeMxfp4(v, 1, 32);
    expect(packed.length).toBe(17);
    expect(mxfp4Bytes(4, 64)).toBe((4 * 64 * 4.25) / 8);
    expect(packed[0]).toBe(127 + 3);
    expect(packed[1]).toBe(0b0111 | (0b1101 << 4));
    expect(packed[2]).toBe(0b0001 | (0b0010 << 4));
    expect(packed.slice(3).every((b) => b === 0)).toBe(true);
    expect(decode(packed, 1, 32).slice(0, 4)).toEqual([48, -24, 4, 8]);
  });

  it('rounds each value to the nearest multiple of its block scale that E2M1 holds, ties to the even code, saturating', () => {
    // Scale 1 (max 6): 0.25 ties 0 and 0.5 → 0; 1.25 ties 1 and 1.5 → 1; 5 ties 4 and 6 → 4; 2.6 → 3; 5.9 → 6.
    const v = new Float32Array(32);
    v.set([6, 0.25, 1.25, 5, 2.6, 5.9, -0.75, -2.5]);
    expect(decode(encodeMxfp4(v, 1, 32), 1, 32).slice(0, 8)).toEqual([6, 0, 1, 4, 3, 6, -1, -2]);
    // 7.9 sets the scale to 2^(2 − 2) = 1 and saturates at 6.
    v[0] = 7.9;
    expect(decode(encodeMxfp4(v, 1, 32), 1, 32)[0]).toBe(6);
  });

  it("random rows: every value E2M1 times its block's scale, within one scale of where it was; encoding again changes nothing", () => {
    const rows = 3;
    const cols = 80; // two whole blocks and a short one (padded)
    const v = seededValues(rows * cols, 7).map((x) => 10 * x);
    const packed = encodeMxfp4(v, rows, cols);
    expect(packed.length).toBe(rows * 3 * MXFP4_BLOCK_BYTES);
    const q = decode(packed, rows, cols);
    for (let r = 0; r < rows; r++) {
      for (let b = 0; b < 3; b++) {
        const idx = Array.from({ length: Math.min(32, cols - 32 * b) }, (_, i) => r * cols + 32 * b + i);
        const amax = Math.max(...idx.map((i) => Math.abs(v[i])));
        const scale = 2 ** (Math.floor(Math.log2(amax)) - 2);
        for (const i of idx) {
          // The widest gap between E2M1 values is 2 (4 to 6), so no value moves more than one scale.
          expect(Math.abs(q[i] - v[i])).toBeLessThanOrEqual(scale);
          expect(E2M1_VALUES).toContain(Math.abs(q[i] / scale));
        }
      }
    }
    expect(decode(encodeMxfp4(Float32Array.from(q), rows, cols), rows, cols)).toEqual(q);
  });

  it('a block cut from a rounded matrix at any columns, held after its offset in a block of 32, decodes to the same values', () => {
    const rows = 2;
    const width = 96;
    const v = seededValues(rows * width, 3).map((x, i) => x * 2 ** (i % 7));
    const rounded = decode(encodeMxfp4(v, rows, width), rows, width);
    for (const [c0, c1] of [[4, 45], [33, 96], [50, 60], [0, 96], [31, 33]]) {
      const cols = c1 - c0;
      const offset = c0 % 32;
      const cut = Float32Array.from({ length: rows * cols }, (_, i) => rounded[Math.floor(i / cols) * width + c0 + (i % cols)]);
      const packed = encodeMxfp4(cut, rows, cols, offset);
      expect(packed.length).toBe(mxfp4Bytes(rows, cols, offset));
      expect(packed.length).toBe(rows * (Math.floor((c1 - 1) / 32) - Math.floor(c0 / 32) + 1) * MXFP4_BLOCK_BYTES);
      expect(Array.from(decodeMxfp4ToBf16(packed, rows, cols, new Uint16Array(rows * cols), offset), bf16BitsToF32)).toEqual(Array.from(cut));
    }
  });

  it('every element rounds to the nearest E2M1 value times the scale, a tie to the even code (brute force)', () => {
    // Scale 1 (a 6 in the block); the others on a fine grid over [-7, 7], ties included.
    const grid = Array.from({ length: 31 }, (_, i) => -7 + (14 * i) / 30).concat([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, -5, -0.75]);
    for (let k = 0; k < grid.length; k += 31) {
      const v = new Float32Array(32);
      v[0] = 6;
      v.set(grid.slice(k, k + 31), 1);
      const q = decode(encodeMxfp4(v, 1, 32), 1, 32);
      for (let i = 1; i < 32; i++) {
        const a = Math.abs(v[i]);
        let best = 0;
        for (let c = 1; c < 8; c++) {
          const d = Math.abs(E2M1_VALUES[c] - a) - Math.abs(E2M1_VALUES[best] - a);
          if (d < 0 || (d === 0 && c % 2 === 0)) best = c;
        }
        expect(Math.abs(q[i])).toBe(E2M1_VALUES[best]);
      }
    }
  });
});
