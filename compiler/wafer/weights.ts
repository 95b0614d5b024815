// Fills tile SRAM at load: the bytes of each buffer's BufferInit, cut from model weights already cast to the
// program's dtype (so int8 scales are those of whole rows, exactly as the reference in int8 uses them).
import type { BufferDecl, BufferInit } from '../../fabric/isa/types.js';
import { dtypeBytes } from '../../fabric/isa/sram.js';
import { getVector, toF32, type ModelWeights, type Tensor } from '../model/weights.js';
import { encodeMxfp4, mxfp4Bytes } from '../../kernels/mxfp4.js';

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

/** A block of `t` encoded as MXFP4 into `out` (its values rounded to MXFP4 as kernels/mxfp4.ts encodes them). */
function mxfp4Block(t: Tensor, init: Extract<BufferInit, { kind: 'weights' }>, decl: BufferDecl, out: Uint8Array): Uint8Array {
  const [r0, r1] = init.rows;
  const [c0, c1] = init.cols;
  const rows = r1 - r0;
  const cols = c1 - c0;
  if (out.length < mxfp4Bytes(rows, cols)) throw new Error(`weights: buffer ${decl.name} holds ${out.length} bytes, MXFP4 ${rows}×${cols} needs ${mxfp4Bytes(rows, cols)}`);
  const all = toF32(t);
  const block = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) block.set(all.subarray((r0 + r) * t.shape[1] + c0, (r0 + r) * t.shape[1] + c1), r * cols);
  out.set(encodeMxfp4(block, rows, cols));
  return out;
}
