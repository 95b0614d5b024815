import { describe, expect, it } from 'vitest';
import type { GpuKernel, GpuKernelCost, GpuProgram } from '../../../../fabric/gpu/program.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { allGatherSeconds, allReduceSeconds, timeKernel, timeProgram } from '../../../../fabric/gpu/timing.js';

const h100 = getGpuPreset('h100');
const graphs = { cudaGraphs: true };

function kernel(name: string, kind: GpuKernel['kind'], cost: Partial<GpuKernelCost>): GpuKernel {
  return {
    name,
    group: name,
    layer: null,
    kind,
    exec: { op: 'none', why: 'test' },
    cost: { flops: 0, flopsDtype: 'bf16', rows: 0, weightFormat: 'bf16', hbmReadWeightBytes: 0, hbmReadKvBytes: 0, hbmReadActivationBytes: 0, hbmWriteBytes: 0, l2Bytes: 0, collectiveBytes: 0, ...cost },
  };
}

function program(kernels: GpuKernel[], gpus = 1): GpuProgram {
  const memory = { weightBytesPerGpu: 0, kvCacheBytesPerGpu: 0, workspaceBytesPerGpu: 0, totalBytesPerGpu: 0, usableBytesPerGpu: 1 };
  return { model: 't', phase: 'decode', gpus, batch: 1, tokensPerSequence: 1, contextLength: 1, weightDtype: 'bf16', expertDtype: 'bf16', kernels, memory };
}

describe('collectives', () => {
  it('ring all-reduce: 2(N−1)/N × bytes over the one-way NVLink bandwidth, plus latency per step', () => {
    expect(allReduceSeconds(1e6, 1, h100)).toBe(0);
    const oneWay = (h100.nvlinkBytesPerSecond / 2) * h100.achievable.nvlinkFraction;
    const expected = ((2 * 7) / 8) * (1e6 / oneWay) + h100.allReduceLatencySeconds + 14 * h100.allReduceStepLatencySeconds;
    expect(allReduceSeconds(1e6, 8, h100)).toBeCloseTo(expected, 15);
  });

  it('grows with the GPU count for a fixed payload, small or large', () => {
    for (const bytes of [8192, 64e6]) {
      const t = [2, 4, 8, 16].map((n) => allReduceSeconds(bytes, n, h100));
      for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThan(t[i - 1]);
    }
  });

  it('all-gather moves half what an all-reduce does', () => {
    const oneWay = (h100.nvlinkBytesPerSecond / 2) * h100.achievable.nvlinkFraction;
    expect(allGatherSeconds(1e9, 4, h100) - h100.allReduceLatencySeconds - 3 * h100.allReduceStepLatencySeconds).toBeCloseTo((0.75 * 1e9) / oneWay, 12);
    expect(allGatherSeconds(1e9, 1, h100)).toBe(0);
  });
});

describe('timeKernel', () => {
  it('a weight stream is memory-bound: bytes over the achievable HBM bandwidth, plus launch', () => {
    const t = timeKernel(kernel('w', 'matmul', { flops: 2e9, hbmReadWeightBytes: 2e9 }), h100, 1, graphs);
    expect(t.bound).toBe('memory');
    expect(t.memorySeconds).toBeCloseTo(2e9 / (3.35e12 * 0.92), 12);
    expect(t.seconds).toBeCloseTo(t.memorySeconds + h100.graphKernelLaunchSeconds, 12);
  });

  it('a large GEMM is compute-bound at the dtype peak × achievable fraction', () => {
    const k = kernel('g', 'matmul', { flops: 1e15, hbmReadWeightBytes: 1e9, flopsDtype: 'fp8' });
    const t = timeKernel(k, h100, 1, graphs);
    expect(t.bound).toBe('compute');
    expect(t.computeSeconds).toBeCloseTo(1e15 / (1978.9e12 * h100.achievable.flopsFraction), 9);
    const bf16 = timeKernel({ ...k, cost: { ...k.cost, flopsDtype: 'bf16' } }, h100, 1, graphs);
    expect(bf16.computeSeconds / t.computeSeconds).toBeCloseTo(2, 3);
  });

  it('refuses a dtype the part does not have (a lowering bug)', () => {
    expect(() => timeKernel(kernel('g', 'matmul', { flops: 1, flopsDtype: 'fp4' }), h100, 1, graphs)).toThrow(/no fp4 rate/);
  });

  it('L2 traffic is charged at the L2 bandwidth', () => {
    const t = timeKernel(kernel('a', 'rmsnorm', { l2Bytes: 1e6 }), h100, 1, graphs);
    expect(t.memorySeconds).toBeCloseTo(1e6 / (h100.l2BytesPerSecond * h100.achievable.l2Fraction), 15);
  });

  it('collectives are communication-bound; launch overhead depends on CUDA graphs', () => {
    const ar = timeKernel(kernel('ar', 'allreduce', { collectiveBytes: 16384 }), h100, 4, { cudaGraphs: false });
    expect(ar.bound).toBe('communication');
    expect(ar.communicationSeconds).toBeCloseTo(allReduceSeconds(16384, 4, h100), 15);
    expect(ar.launchSeconds).toBe(h100.kernelLaunchSeconds);
    expect(ar.seconds).toBeCloseTo(ar.communicationSeconds + h100.kernelLaunchSeconds, 15);
  });
});

describe('timeProgram', () => {
  it('sums kernels; boundBy splits the step into fractions that sum to 1', () => {
    const p = program(
      [
        kernel('w', 'matmul', { flops: 2e9, hbmReadWeightBytes: 2e9 }),
        kernel('g', 'matmul', { flops: 2e14 }),
        kernel('ar', 'allreduce', { collectiveBytes: 16384 }),
      ],
      2,
    );
    const t = timeProgram(p, h100, graphs);
    expect(t.seconds).toBeCloseTo(t.kernels.reduce((s, k) => s + k.seconds, 0), 15);
    const b = t.boundBy;
    expect(b.memory + b.compute + b.communication + b.launch).toBeCloseTo(1, 12);
    expect(b.memory).toBeGreaterThan(0);
    expect(b.compute).toBeGreaterThan(0);
    expect(b.communication).toBeGreaterThan(0);
    expect(t.secondsBy.launch).toBeCloseTo(3 * h100.graphKernelLaunchSeconds, 15);
    expect(t.hbmBytes).toBe(2e9);
    expect(t.flops).toBe(2e9 + 2e14);
  });
});
