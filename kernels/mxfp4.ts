// MXFP4 (OCP Microscaling Formats v1.0, "MXFP4"): blocks of 32 FP4 E2M1 elements sharing one E8M0 scale. An element
// is sign, 2 exponent bits (bias 1) and 1 mantissa bit: ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}; the scale byte e is 2^(e − 127)
// (255 is NaN). Stored here row by row, each row cut into blocks of 32 columns (a short last block padded with zeros):
// a block is its scale byte, then 16 bytes of elements, element 2i in the low nibble of byte i, 2i + 1 in the high.
// That is 17 bytes per 32 weights: 4.25 bits. A block of a larger matrix whose columns start inside one of its blocks
// of 32 is stored with `offset` columns of zeros before each row, so its blocks are the matrix's blocks (cut to it). The wafer multiplies MXFP4 weights as bf16 (docs/precision.md): every
// value an MXFP4 element times a scale in [2^-127, 2^127] can take is exact in bf16 (8 exponent bits, and E2M1's one
// mantissa bit), so decoding to bf16 loses nothing.
import { f32ToBf16Bits } from './dtype.js';

/** Elements per block sharing one scale. */
export const MXFP4_BLOCK = 32;
/** Bytes of one block: its E8M0 scale and 32 four-bit elements. */
export const MXFP4_BLOCK_BYTES = 1 + MXFP4_BLOCK / 2;

/** The value of each 4-bit E2M1 code (bit 3 the sign). */
export const E2M1_VALUES: readonly number[] = Object.freeze([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);

/** E2M1's largest magnitude is 6 = 1.5 · 2^2: emax 2. */
const E2M1_EMAX = 2;
const SCALE_BIAS = 127;

/** Bytes a (rows, cols) matrix takes in MXFP4, each row after `offset` columns of zeros. */
export function mxfp4Bytes(rows: number, cols: number, offset = 0): number {
  return rows * Math.ceil((offset + cols) / MXFP4_BLOCK) * MXFP4_BLOCK_BYTES;
}

/**
 * The E2M1 code nearest to v (ties to the even code, as the spec's round-to-nearest-even), saturating at ±6: the
 * magnitude against the midpoints of 0, 0.5, 1, 1.5, 2, 3, 4, 6, a tie going to the even code on its side.
 */
function e2m1Code(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 8 : 0;
  const a = Math.abs(v);
  let c: number;
  if (a <= 0.25) c = 0;
  else if (a < 0.75) c = 1;
  else if (a <= 1.25) c = 2;
  else if (a < 1.75) c = 3;
  else if (a <= 2.5) c = 4;
  else if (a < 3.5) c = 5;
  else if (a <= 5) c = 6;
  else c = 7;
  return sign | c;
}

/**
 * Encodes a (rows, cols) row-major matrix as MXFP4 (the OCP spec's conversion): each block's scale is
 * 2^(⌊log2 max|v|⌋ − 2), so its largest element lands in [4, 8) before rounding; elements round to the nearest E2M1
 * value, saturating at ±6. An all-zero block gets the smallest scale. Each row is preceded by `offset` zeros (header).
 */
export function encodeMxfp4(values: Float32Array, rows: number, cols: number, offset = 0): Uint8Array {
  const blocks = Math.ceil((offset + cols) / MXFP4_BLOCK);
  const out = new Uint8Array(mxfp4Bytes(rows, cols, offset));
  const at = (r: number, i: number) => (i < offset || i >= offset + cols ? 0 : values[r * cols + i - offset]);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const c0 = b * MXFP4_BLOCK;
      let amax = 0;
      for (let i = 0; i < MXFP4_BLOCK; i++) amax = Math.max(amax, Math.abs(at(r, c0 + i)));
      const exp = amax > 0 ? Math.min(SCALE_BIAS, Math.max(-SCALE_BIAS, Math.floor(Math.log2(amax)) - E2M1_EMAX)) : -SCALE_BIAS;
      const byte = (r * blocks + b) * MXFP4_BLOCK_BYTES;
      out[byte] = exp + SCALE_BIAS;
      const scale = 2 ** exp;
      for (let i = 0; i < MXFP4_BLOCK; i++) {
        const code = e2m1Code(at(r, c0 + i) / scale);
        out[byte + 1 + (i >> 1)] |= i % 2 === 0 ? code : code << 4;
      }
    }
  }
  return out;
}

/** Decodes an MXFP4 (rows, cols) matrix, each row after `offset` columns of zeros, to bf16 bits, row-major (exact: see the header). */
export function decodeMxfp4ToBf16(packed: Uint8Array, rows: number, cols: number, out: Uint16Array, offset = 0): Uint16Array {
  const blocks = Math.ceil((offset + cols) / MXFP4_BLOCK);
  const table = new Uint16Array(16);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const at = (r * blocks + b) * MXFP4_BLOCK_BYTES;
      const e = packed[at];
      const scale = e === 255 ? NaN : 2 ** (e - SCALE_BIAS);
      // The block's 16 values once, then each element a lookup.
      for (let c = 0; c < 16; c++) table[c] = f32ToBf16Bits(E2M1_VALUES[c] * scale);
      const first = Math.max(0, offset - b * MXFP4_BLOCK);
      const last = Math.min(MXFP4_BLOCK, offset + cols - b * MXFP4_BLOCK);
      const base = r * cols + b * MXFP4_BLOCK - offset;
      for (let i = first; i < last; i++) {
        const byte = packed[at + 1 + (i >> 1)];
        out[base + i] = table[i % 2 === 0 ? byte & 15 : byte >> 4];
      }
    }
  }
  return out;
}
