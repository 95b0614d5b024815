// The GPU timing model's fitted parameters as one flat, ordered table: where each lives in a GpuSpec, its physical
// range (the fit works in an unbounded transform of it, so a fitted value can never leave the range), and the value
// assumed before any fit (the fit's starting point and its weak prior). docs/gpu-calibration.md describes each term.

/** 'fraction': (0, 1]; 'share': [0, 1]; 'positive': ≥ 0 (seconds, bytes, rows). */
export type FitParamRange = 'fraction' | 'share' | 'positive';

export interface FitParamDef {
  readonly name: GpuFitParam;
  readonly range: FitParamRange;
  /** Assumed value before calibration (cited or named as an assumption in docs/gpu-calibration.md). */
  readonly assumed: number;
  /** The rows that inform it, as a filter name the calibration knows ('all', 'fp8', 'tp', 'concurrent', 'prefill'). */
  readonly informedBy: 'all' | 'fp8' | 'tp' | 'concurrent';
  readonly what: string;
}

export const GPU_FIT_PARAM_NAMES = [
  'hbmFraction',
  'hbmHalfBytes',
  'kvHbmFraction',
  'kvFp8HbmFraction',
  'overlapLoss',
  'minKernelSeconds',
  'graphKernelLaunchSeconds',
  'flopsFraction',
  'gemmHalfRows',
  'attentionFlopsFraction',
  'fp8FlopsFraction',
  'nvlinkFraction',
  'allReduceLatencySeconds',
  'allReduceStepLatencySeconds',
  'stepOverheadSeconds',
  'requestOverheadSeconds',
  'prefillInterference',
  'prefillQueueing',
  'lockstepBatch',
] as const;

export type GpuFitParam = (typeof GPU_FIT_PARAM_NAMES)[number];
export type GpuFitValues = Readonly<Record<GpuFitParam, number>>;

export const GPU_FIT_PARAMS: readonly FitParamDef[] = Object.freeze([
  { name: 'hbmFraction', range: 'fraction', assumed: 0.92, informedBy: 'all', what: 'achievable fraction of peak HBM bandwidth for large bf16 kernels' },
  { name: 'hbmHalfBytes', range: 'positive', assumed: 1e6, informedBy: 'all', what: 'bytes per kernel at which achieved HBM bandwidth is half the achievable figure' },
  { name: 'kvHbmFraction', range: 'fraction', assumed: 0.92, informedBy: 'all', what: 'achievable HBM fraction of the KV-cache read of decode attention' },
  { name: 'kvFp8HbmFraction', range: 'fraction', assumed: 0.92, informedBy: 'fp8', what: 'achievable HBM fraction of decode attention over an fp8 KV cache' },
  { name: 'overlapLoss', range: 'share', assumed: 0.1, informedBy: 'concurrent', what: 'share of the shorter of compute and memory time a kernel fails to hide under the longer' },
  { name: 'minKernelSeconds', range: 'positive', assumed: 2e-6, informedBy: 'all', what: 'minimum kernel time' },
  { name: 'graphKernelLaunchSeconds', range: 'positive', assumed: 1.5e-6, informedBy: 'all', what: 'gap per kernel inside a CUDA graph' },
  { name: 'flopsFraction', range: 'fraction', assumed: 0.75, informedBy: 'all', what: 'achievable fraction of the bf16 tensor peak for large GEMMs' },
  { name: 'gemmHalfRows', range: 'positive', assumed: 32, informedBy: 'all', what: 'GEMM rows at which the tensor rate is half the achievable figure' },
  { name: 'attentionFlopsFraction', range: 'fraction', assumed: 0.5, informedBy: 'all', what: 'fraction of the bf16 peak attention reaches over a prompt' },
  { name: 'fp8FlopsFraction', range: 'fraction', assumed: 0.75, informedBy: 'fp8', what: 'achievable fraction of the narrow tensor peak' },
  { name: 'nvlinkFraction', range: 'fraction', assumed: 0.8, informedBy: 'tp', what: 'achievable fraction of per-direction NVLink bandwidth in a ring' },
  { name: 'allReduceLatencySeconds', range: 'positive', assumed: 2e-6, informedBy: 'tp', what: 'fixed latency of one all-reduce' },
  { name: 'allReduceStepLatencySeconds', range: 'positive', assumed: 0.5e-6, informedBy: 'tp', what: 'latency per ring step of an all-reduce' },
  { name: 'stepOverheadSeconds', range: 'positive', assumed: 1e-4, informedBy: 'all', what: 'fixed cost per engine iteration (sampling, scheduling, host)' },
  { name: 'requestOverheadSeconds', range: 'positive', assumed: 2e-3, informedBy: 'all', what: 'fixed cost a first token pays once (HTTP, tokenisation, streaming)' },
  { name: 'prefillInterference', range: 'share', assumed: 0.5, informedBy: 'concurrent', what: "share of other requests' prefills inside a request's decode phase" },
  { name: 'prefillQueueing', range: 'share', assumed: 0.5, informedBy: 'concurrent', what: "share of other requests' prefills a new prompt waits behind while requests run in step" },
  { name: 'lockstepBatch', range: 'positive', assumed: 50, informedBy: 'concurrent', what: 'running batch at which half the requests have fallen out of step' },
] satisfies FitParamDef[]);

/** The assumed values, as a record. */
export function assumedFitValues(): GpuFitValues {
  return Object.freeze(Object.fromEntries(GPU_FIT_PARAMS.map((p) => [p.name, p.assumed]))) as GpuFitValues;
}

/** True when `v` lies in the physical range of `range`. */
export function inFitRange(range: FitParamRange, v: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (range === 'fraction') return v > 0 && v <= 1;
  if (range === 'share') return v >= 0 && v <= 1;
  return v >= 0;
}
