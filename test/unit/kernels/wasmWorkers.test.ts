import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../../kernels/index.js';
import { matvecReference } from '../../../kernels/index.js';
import { WasmKernels } from '../../../kernels/wasmKernels.js';
import type { MatvecJob } from './matvecWorker.js';
import { randomF32, randomMatrices } from './testRandom.js';

function runWorker(memory: WebAssembly.Memory, jobs: MatvecJob[]): Promise<{ allocated: number }> {
  const worker = new Worker(new URL('./workerBootstrap.mjs', import.meta.url), {
    workerData: { entry: new URL('./matvecWorker.ts', import.meta.url).href, memory, jobs },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { allocated: number }) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before reporting`)));
  });
}

describe('WasmKernels across worker threads', () => {
  it('two workers compute halves of each matvec in the SAME shared memory and agree bit for bit with the main thread', async () => {
    const k = new WasmKernels();
    const rows = 67;
    const cols = 301;
    const split = 30;
    const mats = randomMatrices(rows, cols, 2024);
    const x = k.allocF32(cols);
    x.set(randomF32(cols, 2025));
    const placed: { w: Matrix; yWorkers: Float32Array; job: Omit<MatvecJob, 'r0' | 'r1'> }[] = [];
    for (const dtype of ['f32', 'bf16', 'f16', 'int8'] as const) {
      const w = k.copyMatrix(mats[dtype]);
      const yWorkers = k.allocF32(rows).fill(NaN);
      const scalesOff = w.dtype === 'int8' ? w.scales.byteOffset : 0;
      placed.push({ w, yWorkers, job: { dtype, wOff: w.data.byteOffset, scalesOff, xOff: x.byteOffset, yOff: yWorkers.byteOffset, rows, cols } });
    }
    const mainAlloc = k.alloc(4096);
    const [a, b] = await Promise.all([
      runWorker(k.memory, placed.map((p) => ({ ...p.job, r0: 0, r1: split }))),
      runWorker(k.memory, placed.map((p) => ({ ...p.job, r0: split, r1: rows }))),
    ]);
    // the allocator state is shared: three 4096-byte blocks, pairwise disjoint
    const blocks = [mainAlloc, a.allocated, b.allocated].sort((p, q) => p - q);
    expect(blocks[1]).toBeGreaterThanOrEqual(blocks[0] + 4096);
    expect(blocks[2]).toBeGreaterThanOrEqual(blocks[1] + 4096);
    for (const { w, yWorkers } of placed) {
      const yMain = new Float32Array(rows);
      k.matvec(w, x, yMain);
      expect(Array.from(yWorkers), w.dtype).toEqual(Array.from(yMain));
      const ref = new Float32Array(rows);
      matvecReference(w, x, ref);
      for (let r = 0; r < rows; r++) expect(Math.abs(yMain[r] - ref[r])).toBeLessThan(1e-3);
    }
  });
});
