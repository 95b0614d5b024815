// The HBM-GPU spec: what one GPU of a tensor-parallel group is. Validated strictly (unknown keys rejected, every size
// and rate positive); presets are frozen, and every number is cited to docs/hardware.md#gpus or marked
// as an assumption. NVIDIA datasheets quote tensor FLOP/s "with sparsity"; every figure here is DENSE (docs/hardware.md#dense-and-sparse-figures note).
// What a datasheet cannot give (achieved bandwidth and tensor rate, per-kernel, per-step and all-reduce costs, the
// serving terms) is fitted to measured runs (docs/gpu-calibration.md): a100 and h100 hold their fits (fitted.ts),
// h200 and b200 inherit h100's, and every spec says which in calibration.provenance.
import { z } from 'zod';
import { InputError, OptionError, inputErrorFromZod } from '../errors.js';
import { assumedFitValues, type GpuFitValues } from './fitParams.js';
import { FITTED_GPUS, GPU_FIT_COMMAND, GPU_FIT_DATA } from './fitted.js';

const positive = z.number().positive();
const positiveInt = z.number().int().positive();
const fraction = z.number().positive().max(1);
const nonNegative = z.number().nonnegative();
/** A latency in seconds: never negative, and a second per kernel or step is already far outside physics. */
const latencySeconds = z.number().nonnegative().max(1);
const share = z.number().min(0).max(1);
/**
 * Upper bounds a GPU spec file may not pass (docs/robustness.md#bounds-in-every-schema): each is about a thousand times today's largest
 * part, so no plausible future GPU is refused, while a typo of many zeros is named instead of carried into every figure.
 */
const MAX_BYTES = 2 ** 50; // 1 PiB of HBM or L2 on one GPU
const MAX_BYTES_PER_SECOND = 1e16; // 10 PB/s (B200's HBM: 8 TB/s)
const MAX_FLOPS = 1e19; // 10 EFLOP/s (B200's dense FP4: ~9 PFLOP/s)
const MAX_CLOCK_HZ = 1e11;
const MAX_SMS = 100_000;
const MAX_ROWS = 1e9; // tokens in one GEMM or one running batch
const bytes = z.number().positive().max(MAX_BYTES);
const bytesPerSecond = z.number().positive().max(MAX_BYTES_PER_SECOND);
const flops = z.number().positive().max(MAX_FLOPS);

/** Dense tensor-core (or vector, for fp32) peak per dtype; null where the part has no such path. */
export const gpuFlopsSchema = z.strictObject({
  bf16: flops,
  fp8: flops.nullable(),
  fp4: flops.nullable(),
  int8: flops.nullable(),
  tf32: flops,
  fp32: flops,
});

/** HBM and tensor efficiency of kernels whose weights are stored narrower than bf16 (they differ from bf16's). */
const narrowEfficiencySchema = z.strictObject({ hbmFraction: fraction, flopsFraction: fraction });

/** Where a spec's calibrated terms come from: fitted to measured runs, inherited from a fitted part, or assumed. */
export const gpuProvenanceSchema = z.strictObject({
  source: z.enum(['fitted', 'inherited', 'assumed']),
  /** The command that produced the values (fitted), or what they were scaled from (inherited). */
  command: z.string(),
  /** Measured rows the fit used (0 when not fitted). */
  rows: z.number().int().nonnegative(),
  note: z.string(),
});

export const gpuCalibrationSchema = z.strictObject({
  /** Bytes per kernel at which achieved HBM bandwidth is half the achievable figure: small kernels do not reach peak. */
  hbmHalfBytes: nonNegative.max(MAX_BYTES),
  /** What decode attention's KV-cache read reaches of the HBM peak (paged blocks, one query per sequence). */
  kvHbmFraction: fraction,
  /**
   * The same for an fp8 KV cache, against its fp8 bytes: the kernel converts every element back to 16 bits, so it
   * need not run twice as fast as the bf16 cache's.
   */
  kvFp8HbmFraction: fraction,
  /** Share of the shorter of a kernel's compute and memory time that is not hidden under the longer. */
  overlapLoss: share,
  /** No kernel finishes faster than this, however little it does. */
  minKernelSeconds: latencySeconds,
  /** GEMM rows (tokens) at which the tensor rate is half the achievable figure: skinny GEMMs waste tensor tiles. */
  gemmHalfRows: nonNegative.max(MAX_ROWS),
  /** What attention (flash attention over a prompt) reaches of the bf16 tensor peak. */
  attentionFlopsFraction: fraction,
  narrow: z.strictObject({ fp8: narrowEfficiencySchema, int8: narrowEfficiencySchema, mxfp4: narrowEfficiencySchema }),
  /** Fixed cost of every engine iteration (decode step or prefill): sampling, scheduling, host work. */
  stepOverheadSeconds: latencySeconds,
  /** Fixed cost a request's first token pays once (HTTP, tokenisation, streaming) — the serving model only. */
  requestOverheadSeconds: latencySeconds,
  /** Serving: share of the other running requests' prefills that lands inside a request's decode phase. */
  prefillInterference: share,
  /** Serving: share of the other running requests' prefills a new prompt waits behind while requests run in step. */
  prefillQueueing: share,
  /** Serving: the running batch at which half the requests have fallen out of step (arrive apart, not together). */
  lockstepBatch: positive.max(MAX_ROWS),
  provenance: gpuProvenanceSchema,
});

export type GpuCalibration = z.infer<typeof gpuCalibrationSchema>;

export const gpuSpecSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.literal('gpu'),
  description: z.string(),
  /** HBM capacity of one GPU. */
  hbmBytes: bytes,
  /** Fraction of hbmBytes a serving engine may fill with weights and KV cache (CUDA context, allocator slack). */
  hbmUsableFraction: fraction,
  hbmBytesPerSecond: bytesPerSecond,
  smCount: positiveInt.max(MAX_SMS),
  l2Bytes: bytes,
  /** L2 read bandwidth, for working sets that stay L2-resident. */
  l2BytesPerSecond: bytesPerSecond,
  clockHz: positive.max(MAX_CLOCK_HZ),
  /** Dense peak FLOP/s (int8: OP/s) per dtype. */
  flopsPerSecond: gpuFlopsSchema,
  /** NVLink bandwidth per GPU, both directions together (as NVIDIA quotes it); a ring uses half each way. */
  nvlinkBytesPerSecond: bytesPerSecond,
  /** What a well-tuned kernel reaches of each peak. */
  achievable: z.strictObject({
    hbmFraction: fraction,
    l2Fraction: fraction,
    flopsFraction: fraction,
    nvlinkFraction: fraction,
  }),
  /** Extra per-kernel cost of a launch from the host stream, without CUDA graphs (on top of the gap between kernels). */
  kernelLaunchSeconds: latencySeconds,
  /** Gap every kernel pays between kernels, as inside a captured CUDA graph (the decode path of TensorRT-LLM / vLLM). */
  graphKernelLaunchSeconds: latencySeconds,
  /** Fixed latency of one NVLink all-reduce (synchronisation, protocol), whatever the GPU count. */
  allReduceLatencySeconds: latencySeconds,
  /** Extra latency per ring step; a ring all-reduce over N GPUs takes 2(N−1) steps. */
  allReduceStepLatencySeconds: latencySeconds,
  /** The terms measured GPUs show beyond the datasheet (docs/gpu-calibration.md), fitted or inherited. */
  calibration: gpuCalibrationSchema,
});

export type GpuSpec = z.infer<typeof gpuSpecSchema>;
export type GpuFlopsDtype = keyof GpuSpec['flopsPerSecond'];

// Assumed defaults shared by every preset (not in docs/hardware.md; documented here, overridable per spec file). The
// terms the measured runs determine (HBM and tensor efficiency, per-kernel and per-step costs, all-reduce cost) are
// not here: they come from the fit (fitted.ts, fitParams.ts for their assumed starting values).
const ASSUMED = Object.freeze({
  /** Assumption: L2-resident streams reach 80% of the L2 bandwidth figure. */
  l2Fraction: 0.8,
  /** Assumption: vLLM's default gpu_memory_utilization is 0.9; the rest is CUDA context and allocator slack. */
  hbmUsableFraction: 0.9,
  /** Assumption: cudaLaunchKernel from a host stream costs ~4–5 µs per kernel, which a decode step cannot hide
   *  because its kernels are shorter than that. */
  kernelLaunchSeconds: 4.5e-6,
});

/** Writes fitted (or assumed) values into a spec's fields. */
export function withFitValues(spec: GpuSpec, v: GpuFitValues, provenance: GpuCalibration['provenance']): GpuSpec {
  // A weight stream reaches the same share of the HBM bandwidth whatever the format of its bytes (the measured fp8 runs
  // save their weight bytes at bf16's rate, docs/gpu-calibration.md#the-models-terms): only the tensor rate of narrow math differs.
  const narrow = { hbmFraction: v.hbmFraction, flopsFraction: v.fp8FlopsFraction };
  return {
    ...spec,
    achievable: { ...spec.achievable, hbmFraction: v.hbmFraction, flopsFraction: v.flopsFraction, nvlinkFraction: v.nvlinkFraction },
    graphKernelLaunchSeconds: v.graphKernelLaunchSeconds,
    allReduceLatencySeconds: v.allReduceLatencySeconds,
    allReduceStepLatencySeconds: v.allReduceStepLatencySeconds,
    calibration: {
      hbmHalfBytes: v.hbmHalfBytes,
      kvHbmFraction: v.kvHbmFraction,
      kvFp8HbmFraction: v.kvFp8HbmFraction,
      overlapLoss: v.overlapLoss,
      minKernelSeconds: v.minKernelSeconds,
      gemmHalfRows: v.gemmHalfRows,
      attentionFlopsFraction: v.attentionFlopsFraction,
      // int8 and MXFP4 are not in the measured runs: they take fp8's efficiencies (an assumption the note repeats).
      narrow: { fp8: { ...narrow }, int8: { ...narrow }, mxfp4: { ...narrow } },
      stepOverheadSeconds: v.stepOverheadSeconds,
      requestOverheadSeconds: v.requestOverheadSeconds,
      prefillInterference: v.prefillInterference,
      prefillQueueing: v.prefillQueueing,
      lockstepBatch: v.lockstepBatch,
      provenance,
    },
  };
}

/** The fitted values a spec holds (the inverse of withFitValues; int8 / MXFP4 follow fp8). */
export function fitValuesOf(spec: GpuSpec): GpuFitValues {
  const c = spec.calibration;
  return {
    hbmFraction: spec.achievable.hbmFraction,
    hbmHalfBytes: c.hbmHalfBytes,
    kvHbmFraction: c.kvHbmFraction,
    kvFp8HbmFraction: c.kvFp8HbmFraction,
    overlapLoss: c.overlapLoss,
    minKernelSeconds: c.minKernelSeconds,
    graphKernelLaunchSeconds: spec.graphKernelLaunchSeconds,
    flopsFraction: spec.achievable.flopsFraction,
    gemmHalfRows: c.gemmHalfRows,
    attentionFlopsFraction: c.attentionFlopsFraction,
    fp8FlopsFraction: c.narrow.fp8.flopsFraction,
    nvlinkFraction: spec.achievable.nvlinkFraction,
    allReduceLatencySeconds: spec.allReduceLatencySeconds,
    allReduceStepLatencySeconds: spec.allReduceStepLatencySeconds,
    stepOverheadSeconds: c.stepOverheadSeconds,
    requestOverheadSeconds: c.requestOverheadSeconds,
    prefillInterference: c.prefillInterference,
    prefillQueueing: c.prefillQueueing,
    lockstepBatch: c.lockstepBatch,
  };
}

const ASSUMED_PROVENANCE = Object.freeze({ source: 'assumed', command: '', rows: 0, note: 'assumed values (fitParams.ts), not fitted' } as const);

const GB = 1e9;
const TB = 1e12;
const TFLOPS = 1e12;
const MB = 1e6;

type Datasheet = Omit<GpuSpec, 'kind' | 'achievable' | 'hbmUsableFraction' | 'kernelLaunchSeconds' | 'graphKernelLaunchSeconds' | 'allReduceLatencySeconds' | 'allReduceStepLatencySeconds' | 'calibration'>;

/** A datasheet with the assumed (unfitted) values of every calibrated term. */
export function assumedSpec(p: Datasheet): GpuSpec {
  const v = assumedFitValues();
  const spec = {
    ...p,
    kind: 'gpu',
    hbmUsableFraction: ASSUMED.hbmUsableFraction,
    achievable: { hbmFraction: v.hbmFraction, l2Fraction: ASSUMED.l2Fraction, flopsFraction: v.flopsFraction, nvlinkFraction: v.nvlinkFraction },
    kernelLaunchSeconds: ASSUMED.kernelLaunchSeconds,
  } as Omit<GpuSpec, 'graphKernelLaunchSeconds' | 'allReduceLatencySeconds' | 'allReduceStepLatencySeconds' | 'calibration'>;
  return withFitValues(spec as GpuSpec, v, { ...ASSUMED_PROVENANCE });
}

/** A measured part: the datasheet with the fit's values (fitted.ts) where the fit covered it. */
function fittedPreset(p: Datasheet): GpuSpec {
  const fit = FITTED_GPUS[p.name];
  const base = assumedSpec(p);
  if (!fit) return deepFreeze(gpuSpecSchema.parse(base));
  const note = `fitted to ${fit.rows} measured runs of ${GPU_FIT_DATA}; int8 and MXFP4 kernels take the fp8 efficiencies (not measured)`;
  return deepFreeze(gpuSpecSchema.parse(withFitValues(base, fit.values, { source: 'fitted', command: GPU_FIT_COMMAND, rows: fit.rows, note })));
}

/**
 * A part the measured runs do not cover: the fitted part's efficiencies and host-side latencies, with the HBM
 * half-bandwidth size scaled by the HBM bandwidth ratio (the same start-up time per kernel at the faster stream).
 */
export function inheritedPreset(p: Datasheet, from: GpuSpec): GpuSpec {
  const v = fitValuesOf(from);
  const scale = p.hbmBytesPerSecond / from.hbmBytesPerSecond;
  const values: GpuFitValues = { ...v, hbmHalfBytes: v.hbmHalfBytes * scale };
  const provenance = {
    source: from.calibration.provenance.source === 'fitted' ? ('inherited' as const) : ('assumed' as const),
    command: from.calibration.provenance.command,
    rows: 0,
    note: `not measured: ${from.name}'s fitted efficiencies and latencies, hbmHalfBytes scaled by the HBM bandwidth ratio ${scale.toFixed(3)} (datasheet figures)`,
  };
  return deepFreeze(gpuSpecSchema.parse(withFitValues(assumedSpec(p), values, provenance)));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

const A100: Datasheet = {
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
};

const H100: Datasheet = {
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
};

const H200: Datasheet = {
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
};

const B200: Datasheet = {
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
};

const H100_FITTED = fittedPreset(H100);

const PRESETS: Readonly<Record<string, GpuSpec>> = Object.freeze({
  a100: fittedPreset(A100),
  h100: H100_FITTED,
  h200: inheritedPreset(H200, H100_FITTED),
  b200: inheritedPreset(B200, H100_FITTED),
});

const DATASHEETS: Readonly<Record<string, Datasheet>> = Object.freeze({ a100: A100, h100: H100, h200: H200, b200: B200 });

/** A preset's datasheet with the assumed (unfitted) calibration: the calibration's starting point. */
export function assumedGpuSpec(name: string): GpuSpec {
  const d = DATASHEETS[name.toLowerCase()];
  if (!d) throw new InputError(`unknown GPU preset "${name}"`, 'gpu', `use one of ${Object.keys(DATASHEETS).join(', ')}`);
  return deepFreeze(gpuSpecSchema.parse(assumedSpec(d)));
}

export function listGpuPresets(): readonly GpuSpec[] {
  return Object.values(PRESETS);
}

/** The preset `name`; an unknown name is an InputError at `where`, or an OptionError of the `gpu` option. */
export function getGpuPreset(name: string, where?: string): GpuSpec {
  const p = PRESETS[name.toLowerCase()];
  if (!p) {
    const what = `unknown GPU preset "${name}"`;
    const fix = `use one of ${Object.keys(PRESETS).join(', ')}, or a GPU spec JSON file`;
    throw where === undefined ? new OptionError('gpu', what, fix) : new InputError(what, where, fix);
  }
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
