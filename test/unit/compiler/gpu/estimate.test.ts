// The GPU emulator held to physics: the memory wall, the batch knee, bandwidth scaling, tensor-parallel cost.
import { describe, expect, it } from 'vitest';
import { getGpuPreset, parseGpuSpec } from '../../../../fabric/gpu/spec.js';
import { estimateGpu, gpuBatchSweep, gpuStepTime } from '../../../../compiler/gpu/estimate.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { countParameters } from '../../../../compiler/model/config.js';

const h100 = getGpuPreset('h100');

describe('the memory wall', () => {
  const cases: [string, string, number][] = [
    ['llama-3.1-8b', 'h100', 1],
    ['llama-3.1-8b', 'a100', 1],
    ['llama-3.1-8b', 'b200', 4],
    ['llama-3.1-70b', 'h100', 8],
    ['qwen3-32b', 'h200', 1],
    ['mixtral-8x7b', 'h100', 2],
    ['gpt-oss-120b', 'h100', 1],
    ['kimi-k2', 'b200', 16],
  ];
  it.each(cases)('%s on %s ×%i: batch-1 tokens/s never exceeds HBM bandwidth ÷ bytes moved per token', (model, gpu, gpus) => {
    const spec = getGpuPreset(gpu);
    const r = estimateGpu(getPreset(model), spec, { gpus });
    const bytesPerToken = r.decode.hbmBytesPerGpu;
    expect(bytesPerToken).toBeGreaterThan(0);
    expect(r.decodeTokensPerSecond).toBeLessThanOrEqual(spec.hbmBytesPerSecond / bytesPerToken);
    expect(r.hbmRooflineTokensPerSecond).toBeCloseTo(spec.hbmBytesPerSecond / bytesPerToken, 6);
    // ... and the weights alone already set a wall no faster.
    expect(r.decodeTokensPerSecond).toBeLessThan(spec.hbmBytesPerSecond / r.decode.weightBytesReadPerGpu);
    expect(r.aggregateTokensPerSecond).toBe(r.decodeTokensPerSecond);
  });

  it('llama-3.1-8b bf16 batch 1 on h100 lands below the docs/hardware.md#roofline-decode-bound roofline (209 tokens/s), near the measured 135 tokens/s', () => {
    const r = estimateGpu(getPreset('llama-3.1-8b'), h100, {});
    expect(r.decodeTokensPerSecond).toBeLessThan(209);
    // data/gpu-measured/nim-llama3.csv line 530: NIM on one H100, fp16, concurrency 1, ITL 7.386 ms (in the fit's data).
    expect(Math.abs(r.decodeTokensPerSecond / (1000 / 7.386) - 1)).toBeLessThan(0.1);
    expect(r.boundBy.memory).toBeGreaterThan(0.6);
    expect(r.boundBy.communication).toBe(0);
  });

  it('doubling HBM bandwidth halves the memory-bound share of a batch-1 step of a memory-bound model', () => {
    const fast = parseGpuSpec({ extends: 'h100', hbmBytesPerSecond: 2 * h100.hbmBytesPerSecond }, 'test');
    for (const model of ['llama-3.1-8b', 'qwen3-32b']) {
      const a = estimateGpu(getPreset(model), h100, {});
      const b = estimateGpu(getPreset(model), fast, {});
      const ratio = b.decodeTokensPerSecond / a.decodeTokensPerSecond;
      expect(a.boundBy.memory).toBeGreaterThan(0.8);
      // The memory time halves, launches and host costs stay: 1 / (1 − memory share / 2), a little less where a
      // halved kernel falls under the minimum kernel time; never more than 2.
      expect(ratio).toBeLessThanOrEqual(2);
      expect(ratio).toBeLessThanOrEqual(1 / (1 - a.boundBy.memory / 2) + 1e-12);
      expect(ratio).toBeGreaterThan(0.98 / (1 - a.boundBy.memory / 2));
    }
  });

  it('a toy model is not HBM-bound at all: it lives in L2 and pays kernel launches', () => {
    const r = estimateGpu(getPreset('toy-dense'), h100, {});
    expect(r.hbmRooflineTokensPerSecond).toBeNull();
    expect(r.boundBy.launch).toBeGreaterThan(0.5);
  });
});

describe('batching', () => {
  it('raises aggregate tokens/s while memory-bound, until compute bounds it (the knee)', () => {
    const cfg = getPreset('llama-3.1-8b');
    const batches = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
    const { points, computeKneeBatch } = gpuBatchSweep(cfg, h100, { promptLength: 16 }, batches);
    expect(computeKneeBatch).not.toBeNull();
    const knee = computeKneeBatch!;
    // The achieved bf16 ridge: peak × flopsFraction ÷ (HBM × hbmFraction) FLOP/byte, i.e. tokens per weight read (2
    // FLOPs per 2-byte weight); skinny GEMMs reach less than the peak, so the knee comes at or before the ridge.
    const ridge = (h100.flopsPerSecond.bf16 * h100.achievable.flopsFraction) / (h100.hbmBytesPerSecond * h100.achievable.hbmFraction);
    expect(knee).toBeLessThanOrEqual(2 * ridge);
    expect(knee).toBeGreaterThanOrEqual(ridge / 8);
    for (let i = 1; i < points.length; i++) {
      const gain = points[i].aggregateTokensPerSecond / points[i - 1].aggregateTokensPerSecond;
      expect(gain).toBeGreaterThan(1);
      if (points[i].batch < knee / 2) expect(gain).toBeGreaterThan(1.8); // memory-bound: doubling the batch is nearly free
      // Compute-bound: what is left to gain is the GEMMs filling their tensor tiles, far from doubling.
      if (points[i - 1].batch >= knee) expect(gain).toBeLessThan(1.5);
      // Per-user speed never rises with the batch.
      expect(points[i].decodeTokensPerSecond).toBeLessThanOrEqual(points[i - 1].decodeTokensPerSecond);
    }
  });

  it('a long context makes large batches KV-bound: attention reads grow with batch × context', () => {
    const cfg = getPreset('llama-3.1-8b');
    const short = estimateGpu(cfg, h100, { batch: 32, promptLength: 128 });
    const long = estimateGpu(cfg, h100, { batch: 32, promptLength: 8192 });
    expect(long.decode.kvBytesReadPerGpu / short.decode.kvBytesReadPerGpu).toBeCloseTo(64, 6);
    expect(long.aggregateTokensPerSecond).toBeLessThan(short.aggregateTokensPerSecond / 2);
    const att = long.kernels.find((k) => k.group === 'attention')!;
    expect(att.bound).toBe('memory');
    expect(att.fraction).toBeGreaterThan(0.5);
  });

  it('prefill is compute-bound; time to first token grows with the prompt', () => {
    const cfg = getPreset('llama-3.1-8b');
    const r = estimateGpu(cfg, h100, { promptLength: 2048 });
    expect(r.prefill.boundBy.compute).toBeGreaterThan(0.8);
    const shorter = estimateGpu(cfg, h100, { promptLength: 1024 });
    expect(r.timeToFirstTokenSeconds / shorter.timeToFirstTokenSeconds).toBeGreaterThan(1.8);
    // ~2 FLOPs per parameter per prompt token: never faster than the achievable tensor rate, and not far from it.
    const k = countParameters(cfg).byKind;
    const atPeak = (2 * (k.attention + k.mlp) * 2048) / (h100.flopsPerSecond.bf16 * h100.achievable.flopsFraction);
    expect(r.timeToFirstTokenSeconds).toBeGreaterThan(atPeak);
    expect(r.timeToFirstTokenSeconds).toBeLessThan(1.6 * atPeak);
  });
});

describe('tensor parallel', () => {
  it('adds communication time that grows with the GPU count', () => {
    const cfg = getPreset('llama-3.1-8b');
    const comm = [1, 2, 4, 8].map((gpus) => {
      const r = estimateGpu(cfg, h100, { gpus });
      return r.boundBy.communication * r.decodeStepSeconds;
    });
    expect(comm[0]).toBe(0);
    for (let i = 1; i < comm.length; i++) expect(comm[i]).toBeGreaterThan(comm[i - 1]);
  });

  it('splits the weight stream, so per-user tokens/s rises, but less than linearly', () => {
    const cfg = getPreset('llama-3.1-70b');
    const r2 = estimateGpu(cfg, h100, { gpus: 2 });
    const r8 = estimateGpu(cfg, h100, { gpus: 8 });
    expect(r8.decode.weightBytesReadPerGpu / r2.decode.weightBytesReadPerGpu).toBeCloseTo(0.25, 2);
    expect(r8.decodeTokensPerSecond).toBeGreaterThan(r2.decodeTokensPerSecond);
    expect(r8.decodeTokensPerSecond).toBeLessThan(4 * r2.decodeTokensPerSecond);
  });
});

describe('report', () => {
  it('carries the fields compare and the CLI read', () => {
    const r = estimateGpu(getPreset('llama-3.1-8b'), h100, { gpus: 8 });
    expect(r.gpus).toBe(8);
    expect(r.gpu).toBe('h100');
    for (const k of ['memory', 'compute', 'communication', 'launch'] as const) {
      expect(r.boundBy[k]).toBeGreaterThanOrEqual(0);
      expect(r.boundBy[k]).toBeLessThanOrEqual(1);
    }
    expect(r.boundBy.memory + r.boundBy.compute + r.boundBy.communication + r.boundBy.launch).toBeCloseTo(1, 9);
    expect(r.kernels.map((k) => k.group)).toContain('allreduce.attn');
    // The kernels and the step's fixed host cost make up the step.
    expect(r.kernels.reduce((s, k) => s + k.fraction, 0) + r.decode.stepOverheadSeconds / r.decodeStepSeconds).toBeCloseTo(1, 9);
    expect(r.kernels.find((k) => k.group === 'gate_up')!.count).toBe(32);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('launching from a host stream instead of a CUDA graph costs tokens/s', () => {
    const cfg = getPreset('llama-3.1-8b');
    expect(estimateGpu(cfg, h100, { cudaGraphs: false }).decodeTokensPerSecond).toBeLessThan(estimateGpu(cfg, h100, {}).decodeTokensPerSecond);
  });
});

describe('gpuStepTime (one step of any shape)', () => {
  const cfg = getPreset('llama-3.1-8b');

  it('one position is the decode step estimateGpu reports', () => {
    const r = estimateGpu(cfg, h100, { batch: 4, promptLength: 1024, contextLength: 1024 });
    expect(gpuStepTime(cfg, h100, { batch: 4, context: 1024, gpus: 1 }).seconds).toBe(r.decodeStepSeconds);
  });

  it('a multi-position pass reads the weights and the KV cache once, so q positions cost far less than q steps', () => {
    const one = gpuStepTime(cfg, h100, { batch: 1, context: 2048, gpus: 1 });
    const eight = gpuStepTime(cfg, h100, { batch: 1, positions: 8, context: 2048, gpus: 1 });
    expect(eight.weightBytesReadPerGpu / one.weightBytesReadPerGpu).toBeCloseTo(1, 4); // (8 embedding rows instead of 1)
    expect(eight.kvBytesReadPerGpu).toBe(one.kvBytesReadPerGpu);
    expect(eight.flopsPerGpu / one.flopsPerGpu).toBeGreaterThan(7.5);
    expect(eight.seconds).toBeGreaterThan(one.seconds);
    expect(eight.seconds).toBeLessThan(2 * one.seconds);
    // ... and q positions of one sequence cost about what q sequences of one position do (the same GEMM rows).
    const batch8 = gpuStepTime(cfg, h100, { batch: 8, context: 2048, gpus: 1 });
    expect(eight.seconds).toBeLessThan(batch8.seconds);
  });
});
