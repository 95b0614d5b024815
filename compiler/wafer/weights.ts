// Fills tile SRAM at load: the bytes of each buffer's BufferInit, cut from model weights already cast to the
// program's dtype (so int8 scales are those of whole rows, exactly as the reference in int8 uses them).
import type { BufferDecl, BufferInit } from '../../fabric/isa/types.js';
import { dtypeBytes } from '../../fabric/isa/sram.js';
import { getVector, toF32, type ModelWeights, type Tensor } from '../model/weights.js';
import { MXFP4_BLOCK, decodeMxfp4ToBf16, encodeMxfp4, mxfp4Bytes } from '../../kernels/mxfp4.js';
import { bf16BitsToF32 } from '../../kernels/dtype.js';

export function weightProvider(weights: ModelWeights): (init: BufferInit, decl: BufferDecl) => Uint8Array {
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
    if (init.format === 'mxfp4') return mxfp4Block(t, init, decl, out);
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

/**
 * A block of `t` encoded as MXFP4 into `out`. The block's rows are first rounded to MXFP4 whole (blocks of 32 from
 * column 0, as mxfp4Experts rounds the reference's weights), then its columns encoded again after c0 mod 32 columns of
 * zeros (the matvec's blockOffset), so each of its blocks lies inside one of the tensor's. A value already MXFP4
 * re-encodes exactly under a block that holds a subset of its own block (the scale only falls as the largest value
 * does, and E2M1 times 2, 4 or 8 stays E2M1 up to the smaller largest value), so the tile multiplies the reference's
 * weights.
 */
function mxfp4Block(t: Tensor, init: Extract<BufferInit, { kind: 'weights' }>, decl: BufferDecl, out: Uint8Array): Uint8Array {
  const [r0, r1] = init.rows;
  const [c0, c1] = init.cols;
  const rows = r1 - r0;
  const cols = c1 - c0;
  const width = t.shape[1];
  const offset = c0 % MXFP4_BLOCK;
  const bytes = mxfp4Bytes(rows, cols, offset);
  if (out.length < bytes) throw new Error(`weights: buffer ${decl.name} holds ${out.length} bytes, MXFP4 ${rows}×${cols} after ${offset} columns needs ${bytes}`);
  const whole = toF32(t).subarray(r0 * width, r1 * width);
  const rounded = decodeMxfp4ToBf16(encodeMxfp4(whole, rows, width), rows, width, new Uint16Array(rows * width));
  const block = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) block[r * cols + c] = bf16BitsToF32(rounded[r * width + c0 + c]);
  out.set(encodeMxfp4(block, rows, cols, offset));
  return out;
}
