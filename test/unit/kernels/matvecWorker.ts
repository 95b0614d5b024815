// Worker side of wasmWorkers.test.ts: binds WasmKernels to the shared memory it was given, allocates a block through
// the shared allocator, runs the matvecs it was asked for (rows [r0, r1) of each), and reports back.
import { parentPort, workerData } from 'node:worker_threads';
import { WasmKernels } from '../../../kernels/wasmKernels.js';

export interface MatvecJob {
  dtype: 'f32' | 'bf16' | 'f16' | 'int8';
  wOff: number;
  scalesOff: number;
  xOff: number;
  yOff: number;
  rows: number;
  cols: number;
  r0: number;
  r1: number;
}

const { memory, jobs } = workerData as { memory: WebAssembly.Memory; jobs: MatvecJob[] };
const k = new WasmKernels(memory);
const allocated = k.alloc(4096);
for (const j of jobs) {
  const n = j.r1 - j.r0;
  switch (j.dtype) {
    case 'f32':
      k.matvecF32(j.wOff + j.r0 * j.cols * 4, j.xOff, j.yOff + j.r0 * 4, n, j.cols);
      break;
    case 'bf16':
      k.matvecBf16(j.wOff + j.r0 * j.cols * 2, j.xOff, j.yOff + j.r0 * 4, n, j.cols);
      break;
    case 'f16':
      k.matvecF16(j.wOff + j.r0 * j.cols * 2, j.xOff, j.yOff + j.r0 * 4, n, j.cols);
      break;
    case 'int8':
      k.matvecInt8(j.wOff + j.r0 * j.cols, j.scalesOff + j.r0 * 4, j.xOff, j.yOff + j.r0 * 4, n, j.cols);
      break;
  }
}
parentPort!.postMessage({ allocated, bytes: memory.buffer.byteLength });
