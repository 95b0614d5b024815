import { afterAll, describe, expect, it } from 'vitest';
import type { GpuJsMatvec } from '../../../kernels/gpujs.js';
import { createGpuJsMatvec, loadGpuJs } from '../../../kernels/gpujs.js';
import { SHAPES, expectClose } from './matvecCheck.js';
import { randomF32, randomMatrices } from './testRandom.js';

// gpu.js is an optional dependency: without it these tests are skipped, not failed. Mode 'cpu' always exists where
// gpu.js loads; mode 'gpu' takes the best GPU backend gpu.js finds (WebGL where there is a GPU; on this project's
// machines, its WebAssembly backend) and is skipped where it finds none.
const available = (await loadGpuJs()) !== null;
const gpuMode = available ? await createGpuJsMatvec('gpu').then((m) => (m.destroy(), true), () => false) : false;
const modes = [
  ['cpu', available],
  ['gpu', gpuMode],
] as const;

describe.each(modes)('gpu.js matvec in mode %s vs matvecReference', (mode, runs) => {
  let m: GpuJsMatvec;
  afterAll(() => m?.destroy());

  it.skipIf(!runs)('creates the kernel', async () => {
    m = await createGpuJsMatvec(mode);
    expect(m.mode).toBe(mode);
    if (mode === 'cpu') expect(m.backend).toBe('cpu');
    else expect(m.backend).not.toBe('cpu');
  });

  describe.each(['f32', 'bf16', 'f16', 'int8'] as const)('%s', (dtype) => {
    it.skipIf(!runs).each(SHAPES)('%i×%i', (rows, cols) => {
      const w = randomMatrices(rows, cols, rows * 31 + cols)[dtype];
      const x = randomF32(cols, cols + 3);
      const y = new Float32Array(rows).fill(NaN);
      m.matvec(w, x, y);
      expectClose(w, x, y, `gpu.js ${mode} ${dtype} ${rows}×${cols}`);
    });
  });

  it.skipIf(!runs)('zero columns give zeros; a short x is refused', () => {
    const y = new Float32Array([3, 3]);
    m.matvec({ dtype: 'f32', rows: 2, cols: 0, data: new Float32Array(0) }, new Float32Array(0), y);
    expect(Array.from(y)).toEqual([0, 0]);
    expect(() => m.matvec({ dtype: 'f32', rows: 1, cols: 4, data: new Float32Array(4) }, new Float32Array(3), y)).toThrow('matvec: x has 3 (needs 4), y has 2 (needs 1)');
  });
});

describe('gpu.js loading', () => {
  it('loadGpuJs resolves to the module or to null, never throws', async () => {
    const g = await loadGpuJs();
    expect(g === null || typeof g.GPU === 'function').toBe(true);
  });
});
