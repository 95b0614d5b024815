// Fills tile SRAM at load: the bytes of each buffer's BufferInit, cut from model weights already cast to the
// program's dtype (so int8 scales are those of whole rows, exactly as the reference in int8 uses them).
import type { BufferDecl, BufferInit } from '../../fabric/isa/types.js';
import { dtypeBytes } from '../../fabric/isa/sram.js';
import { getVector, toF32, type ModelWeights, type Tensor } from '../model/weights.js';
import { MXFP4_BLOCK, decodeMxfp4ToBf16, encodeMxfp4, mxfp4Bytes } from '../../kernels/mxfp4.js';
import { bf16BitsToF32 } from '../../kernels/dtype.js';

export function weightProvider(weights: ModelWeights): (init: BufferInit, decl: BufferDecl) => Uint8Array {
  // Each MXFP4 tensor rounded once, for all the tiles that hold a block of it.
  const rounded = new Map<string, Float32Array>();
  const mxfp4Rounded = (name: string, t: Tensor) => {
    let r = rounded.get(name);
    if (!r) rounded.set(name, (r = roundMxfp4(t)));
    return r;
  };
  return (init, decl) => {
    const out = new Uint8Array(decl.length * dtypeBytes(decl.dtype));
    if (init.kind === 'zeros') return out;
    if (init.kind === 'vector') {
      const v = getVector(weights, init.tensor).subarray(init.range[0], init.range[1]);
      out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return out;
    }
    const t = weights.tensors.get(init.tensor);
    if (!t) throw new Error(`weights: no tensor ${init.tensor}`);
    const [r0, r1] = init.rows;
    if (init.kind === 'scales') {
      if (!t.scales) throw new Error(`weights: ${init.tensor} has no int8 scales`);
      const s = t.scales.subarray(r0, r1);
      out.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
      return out;
    }
    if (init.format === 'mxfp4') return mxfp4Block(mxfp4Rounded(init.tensor, t), t.shape[1], init, decl, out);
    if (t.dtype !== decl.dtype) throw new Error(`weights: ${init.tensor} is ${t.dtype} but buffer ${decl.name} is ${decl.dtype}; cast the weights first`);
    const [c0, c1] = init.cols;
    const cols = t.shape[1];
    const el = t.data.BYTES_PER_ELEMENT;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const rowBytes = (c1 - c0) * el;
    for (let r = r0; r < r1; r++) out.set(bytes.subarray((r * cols + c0) * el, (r * cols + c1) * el), (r - r0) * rowBytes);
    return out;
  };
}

/** A matrix's values rounded to MXFP4 (blocks of 32 along each row from column 0, as mxfp4Experts rounds them). */
function roundMxfp4(t: Tensor): Float32Array {
  const [rows, cols] = t.shape;
  const bits = decodeMxfp4ToBf16(encodeMxfp4(toF32(t), rows, cols), rows, cols, new Uint16Array(rows * cols));
  return Float32Array.from(bits, bf16BitsToF32);
}

/**
 * A block of a matrix (`rounded`: its values rounded to MXFP4, rows of `width`) encoded as MXFP4 into `out`, its
 * columns after c0 mod 32 columns of zeros (the matvec's blockOffset), so each of its blocks lies inside one of the
 * matrix's. A value already MXFP4 re-encodes exactly under a block that holds a subset of its own block (the scale
 * only falls as the largest value does, and E2M1 times 2, 4 or 8 stays E2M1 up to the smaller largest value), so the
 * tile multiplies the reference's weights.
 */
function mxfp4Block(rounded: Float32Array, width: number, init: Extract<BufferInit, { kind: 'weights' }>, decl: BufferDecl, out: Uint8Array): Uint8Array {
  const [r0, r1] = init.rows;
  const [c0, c1] = init.cols;
  const rows = r1 - r0;
  const cols = c1 - c0;
  const offset = c0 % MXFP4_BLOCK;
  const bytes = mxfp4Bytes(rows, cols, offset);
  if (out.length < bytes) throw new Error(`weights: buffer ${decl.name} holds ${out.length} bytes, MXFP4 ${rows}×${cols} after ${offset} columns needs ${bytes}`);
  const block = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) block.set(rounded.subarray((r0 + r) * width + c0, (r0 + r) * width + c1), r * cols);
  out.set(encodeMxfp4(block, rows, cols, offset));
  return out;
}
