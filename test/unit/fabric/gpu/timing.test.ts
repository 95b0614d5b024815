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
    cost: { flops: 0, flopsDtype: 'bf16', rows: 0, weightFormat: 'bf16', kvFormat: 'bf16', hbmReadWeightBytes: 0, hbmReadKvBytes: 0, hbmReadActivationBytes: 0, hbmWriteBytes: 0, l2Bytes: 0, collectiveBytes: 0, ...cost },
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
  it('a weight stream is memory-bound and never beats the HBM peak; small kernels reach less of it than large ones', () => {
    const achieved = [1e5, 1e6, 1e7, 1e8, 2e9].map((bytes) => {
      const t = timeKernel(kernel('w', 'matmul', { flops: bytes, hbmReadWeightBytes: bytes, rows: 1 }), h100, 1, graphs);
      expect(t.bound).toBe('memory');
      expect(t.seconds).toBeGreaterThanOrEqual(t.memorySeconds + h100.graphKernelLaunchSeconds);
      return bytes / t.memorySeconds;
    });
    for (let i = 1; i < achieved.length; i++) expect(achieved[i]).toBeGreaterThan(achieved[i - 1]);
    expect(achieved.at(-1)!).toBeLessThan(h100.hbmBytesPerSecond * h100.achievable.hbmFraction);
    expect(achieved.at(-1)!).toBeGreaterThan(0.9 * h100.hbmBytesPerSecond * h100.achievable.hbmFraction);
    // hbmHalfBytes is the size at which a kernel reaches half the achievable bandwidth.
    const half = timeKernel(kernel('h', 'rmsnorm', { hbmReadActivationBytes: h100.calibration.hbmHalfBytes }), h100, 1, graphs);
    expect(h100.calibration.hbmHalfBytes / half.memorySeconds).toBeCloseTo((h100.hbmBytesPerSecond * h100.achievable.hbmFraction) / 2, 0);
  });

  it('the KV-cache read of attention (bf16 or fp8 cache) and fp8 weight streams run at their own HBM fractions', () => {
    const bytes = 1e9;
    const frac = (k: GpuKernel) => bytes / timeKernel(k, h100, 1, graphs).memorySeconds / h100.hbmBytesPerSecond;
    const big = (f: number) => (f * bytes) / (bytes + h100.calibration.hbmHalfBytes);
    expect(frac(kernel('a', 'attention', { hbmReadKvBytes: bytes }))).toBeCloseTo(big(h100.calibration.kvHbmFraction), 9);
    expect(frac(kernel('a', 'attention', { hbmReadKvBytes: bytes, kvFormat: 'fp8' }))).toBeCloseTo(big(h100.calibration.kvFp8HbmFraction), 9);
    expect(frac(kernel('w', 'matmul', { hbmReadWeightBytes: bytes, weightFormat: 'fp8' }))).toBeCloseTo(big(h100.calibration.narrow.fp8.hbmFraction), 9);
    expect(frac(kernel('w', 'matmul', { hbmReadWeightBytes: bytes }))).toBeCloseTo(big(h100.achievable.hbmFraction), 9);
  });

  it('a large GEMM is compute-bound at the dtype peak × its efficiency, below the peak', () => {
    const k = kernel('g', 'matmul', { flops: 1e15, hbmReadWeightBytes: 1e9, flopsDtype: 'fp8', weightFormat: 'fp8', rows: 8192 });
    const t = timeKernel(k, h100, 1, graphs);
    expect(t.bound).toBe('compute');
    expect(1e15 / t.computeSeconds).toBeLessThan(1978.9e12 * h100.calibration.narrow.fp8.flopsFraction);
    expect(1e15 / t.computeSeconds).toBeGreaterThan(0.95 * 1978.9e12 * h100.calibration.narrow.fp8.flopsFraction);
    const bf16 = timeKernel({ ...k, cost: { ...k.cost, flopsDtype: 'bf16', weightFormat: 'bf16' } }, h100, 1, graphs);
    expect(bf16.computeSeconds / t.computeSeconds).toBeCloseTo((2 * h100.calibration.narrow.fp8.flopsFraction) / h100.achievable.flopsFraction, 3);
  });

  it('a GEMM fills its tensor tiles as its rows grow, but never runs slower than the vector units', () => {
    const rate = (rows: number) => {
      const t = timeKernel(kernel('g', 'matmul', { flops: 2e12 * rows, rows }), h100, 1, graphs);
      return (2e12 * rows) / t.computeSeconds;
    };
    const rates = [1, 8, 64, 256, 1024, 8192].map(rate);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThanOrEqual(rates[i - 1] * (1 - 1e-12));
    expect(rates[0] / (h100.flopsPerSecond.fp32 * h100.achievable.flopsFraction)).toBeGreaterThan(1 - 1e-12);
    expect(rates.at(-1)!).toBeLessThan(h100.flopsPerSecond.bf16 * h100.achievable.flopsFraction);
  });

  it('no kernel finishes under the minimum kernel time', () => {
    const t = timeKernel(kernel('tiny', 'rmsnorm', { l2Bytes: 64 }), h100, 1, graphs);
    expect(t.seconds).toBeGreaterThanOrEqual(h100.calibration.minKernelSeconds + h100.graphKernelLaunchSeconds - 1e-15);
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
    expect(ar.launchSeconds).toBe(h100.kernelLaunchSeconds + h100.graphKernelLaunchSeconds);
    expect(ar.seconds).toBeCloseTo(ar.communicationSeconds + ar.launchSeconds, 15);
    const graphed = timeKernel(kernel('ar', 'allreduce', { collectiveBytes: 16384 }), h100, 4, { cudaGraphs: true });
    expect(graphed.seconds).toBeLessThan(ar.seconds);
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
    expect(t.seconds).toBeCloseTo(t.kernels.reduce((s, k) => s + k.seconds, 0) + h100.calibration.stepOverheadSeconds, 15);
    expect(t.stepOverheadSeconds).toBe(h100.calibration.stepOverheadSeconds);
    const b = t.boundBy;
    expect(b.memory + b.compute + b.communication + b.launch).toBeCloseTo(1, 12);
    expect(b.memory).toBeGreaterThan(0);
    expect(b.compute).toBeGreaterThan(0);
    expect(b.communication).toBeGreaterThan(0);
    expect(t.secondsBy.launch).toBeCloseTo(t.kernels.reduce((s, k) => s + k.launchSeconds, 0) + h100.calibration.stepOverheadSeconds, 15);
    expect(t.secondsBy.launch).toBeGreaterThanOrEqual(3 * h100.graphKernelLaunchSeconds + h100.calibration.stepOverheadSeconds - 1e-15);
    expect(t.hbmBytes).toBe(2e9);
    expect(t.flops).toBe(2e9 + 2e14);
  });
});
