// The precision the mesh engine computes in is the one the cost functions charge (fabric/mesh/cost.ts matvecCost):
// a 16-bit matvec multiplies x rounded to the weights' format and sums in f32 (`@fmachs`), as the reference forward
// pass does (kernels/matvec.ts MATVEC_OPERAND).
import { describe, expect, it } from 'vitest';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { matvecCost } from '../../../../fabric/mesh/cost.js';
import { seededValues } from '../../../../fabric/mesh/workloads.js';
import { ISA_VERSION, type BufferDecl, type BufferInit, type Program } from '../../../../fabric/isa/types.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { encodeBf16, encodeF16, matvecReference, matvecOperand, matvecRowTolerance, roundToBf16, type Matrix } from '../../../../kernels/index.js';

const spec = getFabricPreset('mini-4');

describe('engine numerics are the charged numerics', () => {
  it('matvecOperand rounds x to bf16 for bf16 weights and changes the product', () => {
    const x = new Float32Array([1 + 2 ** -12, 3.14159, -2.5e-3]);
    const r = matvecOperand('bf16', x, new Float32Array(3));
    expect([...r]).toEqual([...roundToBf16(x, new Float32Array(3))]);
    expect(r[0]).toBe(1);
    expect(matvecOperand('f32', x, new Float32Array(3))).toBe(x);
    const w = { dtype: 'bf16' as const, rows: 1, cols: 3, data: new Uint16Array([0x3f80, 0x3f80, 0x3f80]) };
    const a = new Float32Array(1);
    const b = new Float32Array(1);
    matvecReference(w, x, a);
    matvecReference(w, r, b);
    expect(a[0]).not.toBe(b[0]);
  });

  it.each(['bf16', 'f16'] as const)('a %s matvec on the engine multiplies x rounded to its format, summed in f32, and is charged at @fmachs', async (dtype) => {
    const rows = 24;
    const cols = 40;
    const wValues = seededValues(rows * cols, 7);
    const xValues = seededValues(cols, 8);
    const bits = dtype === 'bf16' ? encodeBf16(wValues) : encodeF16(wValues);
    const weights: Matrix = { dtype, rows, cols, data: bits };
    const program: Program = {
      isaVersion: ISA_VERSION,
      fabric: spec.name,
      widthTiles: 1,
      heightTiles: 1,
      maxSeq: 1,
      tiles: [
        {
          x: 0,
          y: 0,
          role: 'test',
          routes: [],
          buffers: [
            { name: 'w', dtype, length: rows * cols, init: { kind: 'weights', tensor: 'W', rows: [0, rows], cols: [0, cols] }, role: 'weights' },
            { name: 'x', dtype: 'f32', length: cols, init: { kind: 'vector', tensor: 'x', range: [0, cols] }, role: 'activation' },
            { name: 'y', dtype: 'f32', length: rows, init: { kind: 'zeros' }, role: 'activation' },
          ],
          tasks: [{ id: 0, trigger: { on: 'start' }, ops: [{ op: 'matvec', w: 'w', rows, cols, x: { buf: 'x', offset: 0, length: cols }, y: { buf: 'y', offset: 0, length: rows }, accumulate: false }, { op: 'output', name: 'y', src: { buf: 'y', offset: 0, length: rows } }] }],
        },
      ],
      hostInputs: [],
      tokenOutput: 'y',
      logitOutputs: [],
    };
    const provider = (init: BufferInit, decl: BufferDecl): Uint8Array => {
      if (init.kind === 'weights') return new Uint8Array(bits.buffer.slice(0));
      if (init.kind === 'vector') return new Uint8Array(xValues.slice(0).buffer);
      return new Uint8Array(decl.length * 4);
    };
    const engine = await MeshEngine.create(spec, program, provider);
    try {
      const step = await engine.step({ token: 0, position: 0 });
      const y = step.outputs.get('y')!;
      const rounded = new Float32Array(cols);
      const charged = matvecOperand(dtype, xValues, rounded);
      const want = new Float32Array(rows);
      const unrounded = new Float32Array(rows);
      matvecReference(weights, charged, want);
      matvecReference(weights, xValues, unrounded);
      let apart = 0;
      for (let r = 0; r < rows; r++) {
        const tol = matvecRowTolerance(weights, charged, r);
        expect(Math.abs(y[r] - want[r])).toBeLessThanOrEqual(tol);
        if (Math.abs(unrounded[r] - want[r]) > 2 * tol) apart++;
      }
      // The rounding is visible: the engine could not pass the check above by multiplying x unrounded.
      expect(apart).toBeGreaterThan(rows / 2);
      // And the cycles are those of 16-bit products into f32 sums.
      const cost = matvecCost(spec, rows, cols, dtype);
      expect(cost.arithCycles).toBe(Math.ceil((rows * cols) / spec.simdWidth.f16Acc32!) + Math.ceil(cols / spec.simdWidth.f32Add!));
      expect(step.cycles).toBeGreaterThanOrEqual(cost.cycles);
    } finally {
      await engine.close();
    }
  });
});
