// Storage dtypes and their conversions. Weights may be stored narrow; arithmetic is always f32 or wider.

export type WeightDtype = 'f32' | 'bf16' | 'f16' | 'int8';
export const WEIGHT_DTYPES: readonly WeightDtype[] = Object.freeze(['f32', 'bf16', 'f16', 'int8']);

/** Bytes per stored element (int8 also carries one f32 scale per row, not counted here). */
export function bytesPerElement(dtype: WeightDtype): number {
  return dtype === 'f32' ? 4 : dtype === 'int8' ? 1 : 2;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** f32 -> bf16 bits, round to nearest even (as torch does); NaN stays NaN. */
export function f32ToBf16Bits(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0];
}

/** f32 -> IEEE half bits, round to nearest even, with subnormals and overflow to infinity. */
export function f32ToF16Bits(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function encodeBf16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  // f32ToBf16Bits on the values' own bits (a Float32Array is 4-byte aligned): no scratch round trip per element
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u.length; i++) {
    const bits = u[i];
    out[i] = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0 ? ((bits >>> 16) | 0x40) & 0xffff : ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

export function decodeBf16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/** out[i] = values[i] rounded to bf16 (nearest even) and back to f32; out may alias values. */
export function roundToBf16(values: Float32Array, out: Float32Array): Float32Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const o = new Uint32Array(out.buffer, out.byteOffset, values.length);
  for (let i = 0; i < u.length; i++) {
    const bits = u[i];
    o[i] = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0 ? (bits | 0x00400000) & 0xffff0000 : (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
  }
  return out;
}

/** out[i] = values[i] rounded to IEEE half (nearest even, overflow to infinity) and back to f32; out may alias values. */
export function roundToF16(values: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) out[i] = f16BitsToF32(f32ToF16Bits(values[i]));
  return out;
}

export function encodeF16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

export function decodeF16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
  return out;
}

/** Symmetric per-row int8: w[r][c] ≈ q[r][c] * scales[r], scale = max|w[r]| / 127 (1 for an all-zero row). */
export function quantizeInt8Rows(w: Float32Array, rows: number, cols: number): { data: Int8Array; scales: Float32Array } {
  const data = new Int8Array(rows * cols);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[base + c]));
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[r] = scale;
    for (let c = 0; c < cols; c++) data[base + c] = Math.max(-127, Math.min(127, Math.round(w[base + c] / scale)));
  }
  return { data, scales };
}
