import { describe, expect, it } from 'vitest';
import type { GpuProgram } from '../../../../fabric/gpu/program.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { countParameters, kvCacheElementsPerToken } from '../../../../compiler/model/config.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { computeDtypeOf, expectedDistinctExperts, lowerForGpu, validTensorParallelSizes, type GpuLowerOptions } from '../../../../compiler/gpu/lower.js';
import { catchInputError } from '../../inputError.js';
import { withFlags } from '../../../../src/wafer/setup.js';

/** The flags `wafer gpu` takes these options from. */
const GPU_FLAGS = { gpus: '--gpus', batch: '--batch', contextLength: '--context', dtype: '--dtype' };

const h100 = getGpuPreset('h100');
const base: GpuLowerOptions = { gpus: 1, batch: 1, promptLength: 128, contextLength: 128 };
const sum = (p: GpuProgram, f: (c: GpuProgram['kernels'][number]['cost']) => number): number => p.kernels.reduce((s, k) => s + f(k.cost), 0);
const weightsRead = (p: GpuProgram): number => sum(p, (c) => c.hbmReadWeightBytes);
const kvRead = (p: GpuProgram): number => sum(p, (c) => c.hbmReadKvBytes);

function inputError(fn: () => unknown): string {
  return catchInputError(fn).message;
}

describe('expected distinct experts', () => {
  it('is k for one token, approaches E for many, E·(1 − (1 − k/E)^B) between', () => {
    expect(expectedDistinctExperts(128, 4, 1)).toBeCloseTo(4, 12);
    expect(expectedDistinctExperts(8, 2, 1000)).toBeCloseTo(8, 9);
    expect(expectedDistinctExperts(128, 4, 16)).toBeCloseTo(128 * (1 - (1 - 4 / 128) ** 16), 12);
    expect(expectedDistinctExperts(128, 4, 16)).toBeLessThan(64);
  });
});

describe('GPU lowering: dense', () => {
  const cfg = getPreset('llama-3.1-8b');
  const { decode, prefill, memory } = lowerForGpu(cfg, h100, base);
  const params = countParameters(cfg);

  it('stores every parameter once (bf16) on one GPU', () => {
    expect(memory.weightBytesPerGpu).toBeCloseTo(2 * params.total, -3);
  });

  it('reads every weight once per decode step except the embedding table (one row)', () => {
    const embeddingRow = cfg.hiddenSize * 2;
    expect(weightsRead(decode)).toBe(2 * (params.total - params.byKind.embedding) + embeddingRow);
  });

  it('has 2 all-reduces per layer under tensor parallel, none on one GPU', () => {
    expect(decode.kernels.filter((k) => k.kind === 'allreduce').length).toBe(0);
    const tp = lowerForGpu(cfg, h100, { ...base, gpus: 8 }).decode;
    expect(tp.kernels.filter((k) => k.kind === 'allreduce' && k.layer !== null).length).toBe(2 * cfg.numLayers);
    expect(tp.kernels.filter((k) => k.kind === 'allgather').map((k) => k.name)).toEqual(['allgather.logits']);
    // Each GPU reads an eighth of the sharded weights.
    expect(weightsRead(tp) / weightsRead(decode)).toBeCloseTo(1 / 8, 2);
    const ar = tp.kernels.find((k) => k.name === 'L0.allreduce.attn')!;
    expect(ar.cost.collectiveBytes).toBe(cfg.hiddenSize * 2);
  });

  it('reads the KV cache over the context, growing linearly with it and with the batch', () => {
    const perToken = kvCacheElementsPerToken(cfg) * 2;
    expect(kvRead(decode)).toBe(128 * perToken);
    const long = lowerForGpu(cfg, h100, { ...base, contextLength: 4096 }).decode;
    expect(kvRead(long)).toBe(4096 * perToken);
    const batch = lowerForGpu(cfg, h100, { ...base, batch: 4 }).decode;
    expect(kvRead(batch)).toBe(4 * 128 * perToken);
    expect(memory.kvCacheBytesPerGpu).toBe(128 * perToken);
  });

  it('splits KV heads over GPUs, and replicates them past the KV-head count', () => {
    const kvPerGpu = (gpus: number): number => lowerForGpu(cfg, h100, { ...base, gpus }).memory.kvCacheBytesPerGpu;
    expect(kvPerGpu(8)).toBe(kvPerGpu(1) / 8);
    expect(kvPerGpu(16)).toBe(kvPerGpu(8));
  });

  it('counts prefill as GEMMs over the prompt: ~2 FLOPs per parameter per token', () => {
    const matmulFlops = prefill.kernels.filter((k) => k.kind === 'matmul').reduce((s, k) => s + k.cost.flops, 0);
    const linear = params.total - params.byKind.embedding - params.byKind.lmHead - params.byKind.norms;
    expect(matmulFlops).toBeCloseTo(2 * 128 * linear, -6);
    const lm = prefill.kernels.find((k) => k.kind === 'lm_head')!;
    expect(lm.cost.flops).toBe(2 * cfg.vocabSize * cfg.hiddenSize); // the last position only
  });

  it('fp8 halves and mxfp4 (on a dense MLP) quarters the weight bytes; int8 adds per-row scales', () => {
    const bf16 = lowerForGpu(cfg, h100, base).decode.kernels.find((k) => k.name === 'L0.gate_up')!.cost;
    const fp8 = lowerForGpu(cfg, h100, { ...base, dtype: 'fp8' }).decode.kernels.find((k) => k.name === 'L0.gate_up')!.cost;
    const int8 = lowerForGpu(cfg, h100, { ...base, dtype: 'int8' }).decode.kernels.find((k) => k.name === 'L0.gate_up')!.cost;
    const mx = lowerForGpu(cfg, h100, { ...base, dtype: 'mxfp4' }).decode;
    expect(fp8.hbmReadWeightBytes).toBe(bf16.hbmReadWeightBytes / 2);
    expect(int8.hbmReadWeightBytes).toBe(bf16.hbmReadWeightBytes / 2 + 2 * cfg.intermediateSize * 4);
    expect(mx.kernels.find((k) => k.name === 'L0.gate_up')!.cost.hbmReadWeightBytes).toBe((bf16.hbmReadWeightBytes * 4.25) / 16);
    expect(mx.kernels.find((k) => k.name === 'L0.qkv')!.cost.flopsDtype).toBe('bf16'); // attention stays bf16
    expect(fp8.flopsDtype).toBe('fp8');
  });

  it('runs narrow formats at their tensor rate only where the part has one', () => {
    const a100 = getGpuPreset('a100');
    const b200 = getGpuPreset('b200');
    expect(computeDtypeOf('fp8', h100)).toBe('fp8');
    expect(computeDtypeOf('fp8', a100)).toBe('bf16');
    expect(computeDtypeOf('mxfp4', h100)).toBe('bf16');
    expect(computeDtypeOf('mxfp4', b200)).toBe('fp4');
    expect(computeDtypeOf('int8', a100)).toBe('int8');
  });
});

describe('GPU lowering: MoE', () => {
  it('reads only the routed experts (gpt-oss-120b ships MXFP4 experts at 4.25 bits)', () => {
    const cfg = getPreset('gpt-oss-120b');
    const m = cfg.moe!;
    const { decode, memory } = lowerForGpu(cfg, h100, base);
    const experts = decode.kernels.filter((k) => k.kind === 'experts');
    const expertRead = experts.reduce((s, k) => s + k.cost.hbmReadWeightBytes, 0);
    const perExpert = (3 * cfg.hiddenSize * m.expertIntermediateSize * 4.25) / 8;
    expect(expertRead).toBeCloseTo(cfg.numLayers * m.topK * perExpert, -3);
    expect(decode.expertDtype).toBe('mxfp4');
    // All 128 experts are stored.
    expect(memory.weightBytesPerGpu).toBeGreaterThan(cfg.numLayers * m.numExperts * perExpert);
    expect(memory.weightBytesPerGpu).toBeLessThan(72e9); // fits one 80 GB GPU, as docs/models.md#gpt-oss says
  });

  it('reads the expected distinct experts for a batch', () => {
    const cfg = getPreset('mixtral-8x7b');
    const read = (batch: number): number =>
      lowerForGpu(cfg, h100, { ...base, gpus: 2, batch })
        .decode.kernels.filter((k) => k.kind === 'experts')
        .reduce((s, k) => s + k.cost.hbmReadWeightBytes, 0);
    expect(read(4) / read(1)).toBeCloseTo(expectedDistinctExperts(8, 2, 4) / 2, 9);
    expect(read(64) / read(1)).toBeCloseTo(4, 3); // all 8 experts: 4× the top-2
  });

  it('costs MLA with its compressed KV cache, replicated on every GPU (kimi-k2)', () => {
    const cfg = getPreset('kimi-k2');
    const mla = cfg.mla!;
    const opts = { ...base, gpus: 32, contextLength: 1024 };
    const { decode, memory } = lowerForGpu(cfg, h100, opts);
    const latentBytes = (mla.kvLoraRank + mla.qkRopeHeadDim) * 2;
    expect(kvRead(decode)).toBe(cfg.numLayers * 1024 * latentBytes);
    expect(memory.kvCacheBytesPerGpu).toBe(cfg.numLayers * 1024 * latentBytes);
    expect(decode.kernels.some((k) => k.name === 'L0.q_absorb')).toBe(true);
    // A GQA cache of the same heads would be 2·64·192 values per token per layer: MLA's is 21× smaller.
    expect((2 * cfg.numHeads * cfg.headDim * 2) / latentBytes).toBeGreaterThan(20);
  });

  it('caps sliding-window layers at the window (gpt-oss: 128)', () => {
    const cfg = getPreset('gpt-oss-20b');
    const kv = (context: number): number => lowerForGpu(cfg, h100, { ...base, promptLength: 64, contextLength: context }).memory.kvCacheBytesPerGpu;
    const perLayerToken = 2 * cfg.numKvHeads * cfg.headDim * 2;
    const sliding = cfg.layerTypes.filter((t) => t === 'sliding').length;
    expect(kv(4096)).toBe(perLayerToken * (sliding * 128 + (cfg.numLayers - sliding) * 4096));
  });
});

describe('GPU lowering: small models stay in L2', () => {
  it('moves a toy model’s whole step into L2', () => {
    const { decode } = lowerForGpu(getPreset('toy-dense'), h100, base);
    expect(sum(decode, (c) => c.hbmReadWeightBytes + c.hbmReadKvBytes + c.hbmReadActivationBytes + c.hbmWriteBytes)).toBe(0);
    expect(sum(decode, (c) => c.l2Bytes)).toBeGreaterThan(0);
  });
});

describe('GPU lowering: options and capacity', () => {
  const cfg = getPreset('llama-3.1-8b');
  it('lists the tensor-parallel sizes the heads allow', () => {
    expect(validTensorParallelSizes(cfg)).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it('rejects bad options naming the option (and, at the command line, its flag)', () => {
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, gpus: 3 }))).toBe(
      'tensor parallel over 3 GPUs: the 32 attention heads do not split evenly over 3 GPUs (gpus): use one of 1, 2, 4, 8, 16, 32',
    );
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, batch: 0 }))).toBe('batch must be a whole number ≥ 1, got 0 (batch): give a whole number ≥ 1');
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, contextLength: 64 }))).toBe(
      'context 64 is shorter than the prompt (128) (contextLength): give contextLength ≥ 128, or leave it out (it defaults to the prompt length)',
    );
    expect(inputError(() => withFlags(GPU_FLAGS, () => lowerForGpu(cfg, h100, { ...base, contextLength: 64 })))).toBe(
      'context 64 is shorter than the prompt (128) (--context): give --context ≥ 128, or leave it out (it defaults to the prompt length)',
    );
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, dtype: 'fp16' as never }))).toBe('unsupported weight dtype "fp16" (dtype): use one of bf16, fp8, int8, mxfp4');
  });

  it('says how many GPUs a model needs when it does not fit', () => {
    const big = getPreset('llama-3.1-70b');
    expect(inputError(() => lowerForGpu(big, h100, base))).toMatch(
      /^llama-3\.1-70b needs 141\.\d GB per GPU over 1 × h100 \(weights 141\.1 GB \+ KV cache 0\.0 GB for batch 1 × context 128 \+ workspace 0\.\d GB\), more than the 72\.0 GB usable of 80\.0 GB \(gpus\): use gpus 2 or more .*, a smaller batch\/contextLength, or a narrower dtype$/,
    );
    expect(inputError(() => withFlags(GPU_FLAGS, () => lowerForGpu(big, h100, base)))).toMatch(/\(--gpus\): use --gpus 2 or more .*, a smaller --batch\/--context, or a narrower --dtype$/);
    // ... and it does fit the two it names.
    expect(() => lowerForGpu(big, h100, { ...base, gpus: 2 })).not.toThrow();
    // The KV cache counts too: a long context at a large batch needs more GPUs.
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, batch: 64, contextLength: 32768 }))).toMatch(/use gpus 8 or more/);
  });

  it('says when no tensor-parallel size is enough', () => {
    expect(inputError(() => lowerForGpu(cfg, h100, { ...base, batch: 1024, contextLength: 131072 }))).toMatch(
      /it does not fit even on 32 GPUs \(one head each; pipeline parallel is not modelled\)/,
    );
  });
});
