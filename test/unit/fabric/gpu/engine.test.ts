import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../fabric/errors.js';
import { GpuEngine, gpuGenerate, type GpuTensorSource } from '../../../../fabric/gpu/engine.js';
import type { GpuKernel, GpuProgram } from '../../../../fabric/gpu/program.js';
import { shardRange, shardSize } from '../../../../fabric/gpu/program.js';

describe('shardRange', () => {
  it('splits whole units contiguously over the GPUs and covers the dimension once', () => {
    const ranges = [0, 1, 2, 3].map((r) => shardRange(32 * 128, 128, r, 4));
    expect(ranges).toEqual([
      [0, 1024],
      [1024, 2048],
      [2048, 3072],
      [3072, 4096],
    ]);
    // Uneven (vocab 50257 over 8): contiguous, disjoint, complete.
    let next = 0;
    for (let r = 0; r < 8; r++) {
      const [a, b] = shardRange(50257, 1, r, 8);
      expect(a).toBe(next);
      next = b;
    }
    expect(next).toBe(50257);
    expect(shardSize(50257, 1, 8)).toBe(6283);
  });

  it('replicates units when there are fewer units than GPUs: GPU r holds unit ⌊r·units/N⌋', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((r) => shardRange(4 * 64, 64, r, 8)[0] / 64)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(shardSize(4 * 64, 64, 8)).toBe(64);
  });

  it('refuses a dimension that is not whole units', () => {
    expect(() => shardRange(100, 64, 0, 2)).toThrow(RangeError);
  });
});

// A hand-built two-GPU kernel list: y = allreduce(row-parallel W·x) then a column-parallel V·y gathered, argmax.
// Checks that shards are really cut and the collectives really sum and concatenate.
describe('GpuEngine', () => {
  const W = Float32Array.from({ length: 4 * 6 }, (_, i) => ((i * 7) % 11) - 5); // (4, 6)
  const V = Float32Array.from({ length: 6 * 4 }, (_, i) => ((i * 5) % 13) - 6); // (6, 4)
  const E = Float32Array.from({ length: 10 * 6 }, (_, i) => ((i * 3) % 7) / 7 - 0.4); // (10, 6) embedding
  const tensors: GpuTensorSource = {
    matrix: (n) => (n === 'W' ? { dtype: 'f32', rows: 4, cols: 6, data: W } : n === 'V' ? { dtype: 'f32', rows: 6, cols: 4, data: V } : { dtype: 'f32', rows: 10, cols: 6, data: E }),
    vector: () => new Float32Array(0),
  };
  const zero = { flops: 0, flopsDtype: 'bf16' as const, rows: 0, weightFormat: 'bf16' as const, kvFormat: 'bf16' as const, hbmReadWeightBytes: 0, hbmReadKvBytes: 0, hbmReadActivationBytes: 0, hbmWriteBytes: 0, l2Bytes: 0, collectiveBytes: 0 };
  const k = (name: string, kind: GpuKernel['kind'], exec: GpuKernel['exec']): GpuKernel => ({ name, group: name, layer: null, kind, exec, cost: zero });
  const prog = (gpus: number, batch = 1, extra: GpuKernel[] = []): GpuProgram => ({
    model: 'hand',
    phase: 'decode',
    gpus,
    batch,
    tokensPerSequence: 1,
    contextLength: 4,
    weightDtype: 'bf16',
    expertDtype: 'bf16',
    memory: { weightBytesPerGpu: 0, kvCacheBytesPerGpu: 0, workspaceBytesPerGpu: 0, totalBytesPerGpu: 0, usableBytesPerGpu: 1 },
    kernels: [
      k('embed', 'embedding', { op: 'embed', tensor: 'E', vocab: 10, hidden: 6, out: 'x' }),
      ...(gpus > 1 ? [k('ar0', 'allreduce', { op: 'allreduce', buf: 'x' })] : []),
      k('w', 'matmul', { op: 'matmul', input: 'x', parts: [{ tensor: 'W', rows: 4, cols: 6, split: 'none', unit: 1, out: 'y' }] }),
      k('v', 'matmul', { op: 'matmul', input: 'y', parts: [{ tensor: 'V', rows: 6, cols: 4, split: 'rows', unit: 1, out: gpus > 1 ? 'l' : 'logits' }] }),
      ...(gpus > 1 ? [k('ag', 'allgather', { op: 'allgather', buf: 'l', out: 'logits' })] : []),
      k('s', 'sample', { op: 'argmax', buf: 'logits' }),
      ...extra,
    ],
  });

  it('gives the same logits on 1, 2 and 3 GPUs as a direct computation', () => {
    const x = E.slice(3 * 6, 4 * 6);
    const y = new Float64Array(4);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 6; c++) y[r] += W[r * 6 + c] * x[c];
    const logits = new Float64Array(6);
    for (let r = 0; r < 6; r++) for (let c = 0; c < 4; c++) logits[r] += V[r * 4 + c] * y[c];
    for (const gpus of [1, 2, 3]) {
      const e = new GpuEngine(prog(gpus), tensors, { maxSeq: 4 });
      const out = e.step(3);
      expect(out.length).toBe(6);
      for (let i = 0; i < 6; i++) expect(out[i]).toBeCloseTo(logits[i], 4);
      let best = 0;
      for (let i = 1; i < 6; i++) if (logits[i] > logits[best]) best = i;
      expect(e.sampled).toBe(best);
    }
  });

  it('generates through its own sample kernel', () => {
    const r = gpuGenerate(prog(2), tensors, [1, 2], 3);
    expect(r.tokens.length).toBe(3);
    expect(r.tokens.every((t) => t >= 0 && t < 6)).toBe(true);
  });

  it('refuses batch > 1 and costed-only kernels', () => {
    expect(() => new GpuEngine(prog(1, 2), tensors, { maxSeq: 4 })).toThrow(InputError);
    expect(() => new GpuEngine(prog(1, 2), tensors, { maxSeq: 4 })).toThrow('the GPU engine runs batch 1 with real numbers, got batch 2 (batch): use batch 1 with run');
    const mla = prog(1, 1, [k('L0.q_absorb', 'matmul', { op: 'none', why: 'MLA q absorb is costed, not executed' })]);
    expect(() => new GpuEngine(mla, tensors, { maxSeq: 4 })).toThrow(
      'kernel L0.q_absorb cannot run with real numbers: MLA q absorb is costed, not executed (model hand): run it without run (estimates only)',
    );
  });

  it('stops at a full KV cache', () => {
    const e = new GpuEngine(prog(1), tensors, { maxSeq: 1 });
    e.step(0);
    expect(() => e.step(1)).toThrow(/KV cache full/);
  });
});
