// The HBM-GPU spec: what one GPU of a tensor-parallel group is. Validated strictly (unknown keys rejected, every size
// and rate positive); presets are frozen, and every number is cited to docs/hardware.md#gpus or marked
// as an assumption. NVIDIA datasheets quote tensor FLOP/s "with sparsity"; every figure here is DENSE (docs/hardware.md#dense-and-sparse-figures note).
import { z } from 'zod';
import { InputError, inputErrorFromZod } from '../errors.js';

const positive = z.number().positive();
const positiveInt = z.number().int().positive();
const fraction = z.number().positive().max(1);
const nonNegative = z.number().nonnegative();

/** Dense tensor-core (or vector, for fp32) peak per dtype; null where the part has no such path. */
export const gpuFlopsSchema = z.strictObject({
  bf16: positive,
  fp8: positive.nullable(),
  fp4: positive.nullable(),
  int8: positive.nullable(),
  tf32: positive,
  fp32: positive,
});

export const gpuSpecSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('gpu'),
  description: z.string(),
  /** HBM capacity of one GPU. */
  hbmBytes: positive,
  /** Fraction of hbmBytes a serving engine may fill with weights and KV cache (CUDA context, allocator slack). */
  hbmUsableFraction: fraction,
  hbmBytesPerSecond: positive,
  smCount: positiveInt,
  l2Bytes: positive,
  /** L2 read bandwidth, for working sets that stay L2-resident. */
  l2BytesPerSecond: positive,
  clockHz: positive,
  /** Dense peak FLOP/s (int8: OP/s) per dtype. */
  flopsPerSecond: gpuFlopsSchema,
  /** NVLink bandwidth per GPU, both directions together (as NVIDIA quotes it); a ring uses half each way. */
  nvlinkBytesPerSecond: positive,
  /** What a well-tuned kernel reaches of each peak. */
  achievable: z.strictObject({
    hbmFraction: fraction,
    l2Fraction: fraction,
    flopsFraction: fraction,
    nvlinkFraction: fraction,
  }),
  /** Per-kernel launch cost issued from the host stream, without CUDA graphs. */
  kernelLaunchSeconds: nonNegative,
  /** Per-kernel cost inside a captured CUDA graph (the decode path of vLLM / TensorRT-LLM). */
  graphKernelLaunchSeconds: nonNegative,
  /** Fixed latency of one NVLink all-reduce (synchronisation, protocol), whatever the GPU count. */
  allReduceLatencySeconds: nonNegative,
  /** Extra latency per ring step; a ring all-reduce over N GPUs takes 2(N−1) steps. */
  allReduceStepLatencySeconds: nonNegative,
});

export type GpuSpec = z.infer<typeof gpuSpecSchema>;
export type GpuFlopsDtype = keyof GpuSpec['flopsPerSecond'];

// Assumed defaults shared by every preset (not in docs/hardware.md; documented here, overridable per spec file).
const ASSUMED = Object.freeze({
  /** docs/hardware.md#achievable-hbm-bandwidth: Azure measured 7.35 TB/s of HBM on GB200 = 92% of peak — used as the achievable HBM fraction of
   *  every part (assumption: a streaming GEMV reaches what a bandwidth benchmark reaches). */
  hbmFraction: 0.92,
  /** Assumption: L2-resident streams reach 80% of the L2 bandwidth figure. */
  l2Fraction: 0.8,
  /** Assumption: a large dense GEMM reaches ~75% of the dense tensor peak (cuBLAS-class). */
  flopsFraction: 0.75,
  /** Assumption: NCCL-class ring bus bandwidth reaches ~80% of the NVLink per-direction figure. */
  nvlinkFraction: 0.8,
  /** Assumption: vLLM's default gpu_memory_utilization is 0.9; the rest is CUDA context and allocator slack. */
  hbmUsableFraction: 0.9,
  /** Assumption: cudaLaunchKernel from a host stream costs ~4–5 µs per kernel, which a decode step cannot hide
   *  because its kernels are shorter than that. */
  kernelLaunchSeconds: 4.5e-6,
  /** Assumption: inside a CUDA graph the per-kernel gap (launch + tail) falls to ~1–2 µs. */
  graphKernelLaunchSeconds: 1.5e-6,
  /** Assumption: a small-message NVLink all-reduce has a ~2 µs fixed cost plus ~0.5 µs per ring step. */
  allReduceLatencySeconds: 2e-6,
  allReduceStepLatencySeconds: 0.5e-6,
});

const GB = 1e9;
const TB = 1e12;
const TFLOPS = 1e12;
const MB = 1e6;

function preset(p: Omit<GpuSpec, 'kind' | 'achievable' | 'hbmUsableFraction' | 'kernelLaunchSeconds' | 'graphKernelLaunchSeconds' | 'allReduceLatencySeconds' | 'allReduceStepLatencySeconds'>): GpuSpec {
  const spec: GpuSpec = {
    ...p,
    kind: 'gpu',
    hbmUsableFraction: ASSUMED.hbmUsableFraction,
    achievable: {
      hbmFraction: ASSUMED.hbmFraction,
      l2Fraction: ASSUMED.l2Fraction,
      flopsFraction: ASSUMED.flopsFraction,
      nvlinkFraction: ASSUMED.nvlinkFraction,
    },
    kernelLaunchSeconds: ASSUMED.kernelLaunchSeconds,
    graphKernelLaunchSeconds: ASSUMED.graphKernelLaunchSeconds,
    allReduceLatencySeconds: ASSUMED.allReduceLatencySeconds,
    allReduceStepLatencySeconds: ASSUMED.allReduceStepLatencySeconds,
  };
  return deepFreeze(gpuSpecSchema.parse(spec));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

const PRESETS: Readonly<Record<string, GpuSpec>> = Object.freeze({
  a100: preset({
    name: 'a100',
    description: 'NVIDIA A100 80GB SXM4 (docs/hardware.md#gpus)',
    hbmBytes: 80 * GB, // docs/hardware.md#gpus: 80 GB HBM2e
    hbmBytesPerSecond: 2039 * GB, // docs/hardware.md#gpus: 2,039 GB/s
    smCount: 108, // docs/hardware.md#gpus
    l2Bytes: 40 * MB, // docs/hardware.md#gpus: 40 MB
    l2BytesPerSecond: 5 * TB, // assumption: ~2.5× HBM bandwidth (not in docs/hardware.md)
    clockHz: 1410e6, // docs/hardware.md#gpus: 1410 MHz boost
    flopsPerSecond: {
      bf16: 312 * TFLOPS, // docs/hardware.md#gpus: FP16/BF16 dense
      fp8: null, // docs/hardware.md#gpus: no FP8 on Ampere
      fp4: null, // docs/hardware.md#gpus: no FP4
      int8: 624 * TFLOPS, // assumption: 2× BF16 dense (INT8 tensor cores; not in docs/hardware.md)
      tf32: 156 * TFLOPS, // docs/hardware.md#gpus: TF32 dense
      fp32: 19.5 * TFLOPS, // docs/hardware.md#gpus: FP32 vector
    },
    nvlinkBytesPerSecond: 600 * GB, // docs/hardware.md#gpus: NVLink 600 GB/s
  }),
  h100: preset({
    name: 'h100',
    description: 'NVIDIA H100 SXM5 80GB (docs/hardware.md#gpus)',
    hbmBytes: 80 * GB, // docs/hardware.md#gpus: 80 GB HBM3
    hbmBytesPerSecond: 3.35 * TB, // docs/hardware.md#gpus: 3.35 TB/s
    smCount: 132, // docs/hardware.md#gpus: 132 of 144
    l2Bytes: 50 * MB, // docs/hardware.md#gpus: 50 MB
    l2BytesPerSecond: 8 * TB, // assumption: ~2.5× HBM bandwidth (not in docs/hardware.md)
    clockHz: 1830e6, // docs/hardware.md#gpus: datasheet-derived boost 1830 MHz [D]
    flopsPerSecond: {
      bf16: 989.4 * TFLOPS, // docs/hardware.md#gpus: 989.4 dense (1978.9 sparse)
      fp8: 1978.9 * TFLOPS, // docs/hardware.md#gpus: FP8 dense
      fp4: null, // docs/hardware.md#gpus: no FP4 on Hopper
      int8: 1978.9 * TFLOPS, // assumption: as FP8 dense (not in docs/hardware.md)
      tf32: 494.7 * TFLOPS, // docs/hardware.md#gpus: TF32 dense
      fp32: 66.9 * TFLOPS, // docs/hardware.md#gpus: FP32 vector
    },
    nvlinkBytesPerSecond: 900 * GB, // docs/hardware.md#gpus: NVLink 900 GB/s
  }),
  h200: preset({
    name: 'h200',
    description: 'NVIDIA H200 SXM 141GB (docs/hardware.md#gpus)',
    hbmBytes: 141 * GB, // docs/hardware.md#gpus: 141 GB HBM3e
    hbmBytesPerSecond: 4.8 * TB, // docs/hardware.md#gpus: 4.8 TB/s
    smCount: 132, // docs/hardware.md#gpus
    l2Bytes: 50 * MB, // docs/hardware.md#gpus: 50 MB (same die as H100)
    l2BytesPerSecond: 8 * TB, // assumption: same die as H100, so H100's assumed L2 bandwidth
    clockHz: 1830e6, // docs/hardware.md#gpus: "~same" as H100
    flopsPerSecond: {
      bf16: 989 * TFLOPS, // docs/hardware.md#gpus
      fp8: 1979 * TFLOPS, // docs/hardware.md#gpus
      fp4: null, // docs/hardware.md#gpus: none
      int8: 1979 * TFLOPS, // assumption: as FP8 dense (not in docs/hardware.md)
      tf32: 494.7 * TFLOPS, // assumption: H100's (docs/hardware.md#gpus gives "–"; same die, "same compute")
      fp32: 67 * TFLOPS, // docs/hardware.md#gpus
    },
    nvlinkBytesPerSecond: 900 * GB, // docs/hardware.md#gpus
  }),
  b200: preset({
    name: 'b200',
    description: 'NVIDIA B200 in a DGX/HGX B200, 180 GB (docs/hardware.md#gpus)',
    hbmBytes: 180 * GB, // docs/hardware.md#gpus: 180 GB per GPU in DGX B200 (192 GB raw)
    hbmBytesPerSecond: 8 * TB, // docs/hardware.md#gpus: 8 TB/s
    smCount: 148, // docs/hardware.md#gpus: 148 [S][?]
    l2Bytes: 65.5 * MB, // docs/hardware.md#gpus: 65.5 MB [S][?]
    l2BytesPerSecond: 16 * TB, // assumption: ~2× HBM bandwidth (not in docs/hardware.md)
    clockHz: 1860e6, // docs/hardware.md#gpus: tensor clock 1.86 GHz [S][?]
    flopsPerSecond: {
      bf16: 2250 * TFLOPS, // docs/hardware.md#gpus: 2,250 dense (HGX, 1000 W)
      fp8: 4500 * TFLOPS, // docs/hardware.md#gpus
      fp4: 9000 * TFLOPS, // docs/hardware.md#gpus
      int8: 4500 * TFLOPS, // assumption: as FP8 dense (not in docs/hardware.md)
      tf32: 1100 * TFLOPS, // docs/hardware.md#gpus
      fp32: 80 * TFLOPS, // docs/hardware.md#gpus
    },
    nvlinkBytesPerSecond: 1.8 * TB, // docs/hardware.md#gpus: NVLink 1.8 TB/s
  }),
});

export function listGpuPresets(): readonly GpuSpec[] {
  return Object.values(PRESETS);
}

export function getGpuPreset(name: string, where = '--gpu'): GpuSpec {
  const p = PRESETS[name.toLowerCase()];
  if (!p) throw new InputError(`unknown GPU preset "${name}"`, where, `use one of ${Object.keys(PRESETS).join(', ')}, or a GPU spec JSON file`);
  return p;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Validates a user's GPU spec (parsed JSON). A spec may be complete, or name a preset in `"extends"` and give only the
 * fields it changes (nested objects merge field by field). Unknown keys, missing fields, zero or negative sizes and
 * fractions outside (0, 1] are InputErrors naming the field path inside `source`.
 */
export function parseGpuSpec(json: unknown, source: string): GpuSpec {
  if (!isPlainObject(json)) throw new InputError('GPU spec is not a JSON object', source, 'give an object such as {"extends": "h100", "hbmBytesPerSecond": 6.7e12}');
  let merged: Record<string, unknown> = json;
  if ('extends' in json) {
    const base = json.extends;
    if (typeof base !== 'string') throw new InputError('expected string', `${source}: extends`, `name a preset: ${Object.keys(PRESETS).join(', ')}`);
    const parent = getGpuPreset(base, `${source}: extends`);
    const rest = { ...json };
    delete rest.extends;
    merged = mergeDeep(parent as unknown as Record<string, unknown>, rest);
    if (!('name' in rest)) merged.name = `${parent.name}-custom`;
  }
  const r = gpuSpecSchema.safeParse(merged);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, merged);
  return deepFreeze(r.data);
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeDeep(b, v) : v;
  }
  return out;
}
