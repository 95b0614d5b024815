// Timing of a GPU kernel list (a roofline per kernel, with the terms measured GPUs show; docs/gpu-calibration.md):
// each kernel takes max(compute time, memory time, the minimum kernel time); memory time is the HBM bytes over a
// bandwidth that small kernels do not reach ((bytes + hbmHalfBytes) at the achievable rate), compute time the FLOPs
// at a tensor rate skinny GEMMs do not reach (rows / (rows + gemmHalfRows) of the achievable rate), with narrow
// formats and attention at their own efficiencies; collectives take the ring cost over NVLink, every kernel pays a
// launch gap, and every step (one engine iteration) a fixed host cost. The kernels of one step run back to back on
// each GPU (tensor parallel is SPMD), so a step's time is their sum.
import type { GpuBound, GpuKernel, GpuKernelCost, GpuKernelKind, GpuProgram } from './program.js';
import type { GpuSpec } from './spec.js';

export interface GpuTimingOptions {
  /** Kernels launched from a captured CUDA graph (graphKernelLaunchSeconds) instead of a host stream (kernelLaunchSeconds). */
  cudaGraphs: boolean;
}

export interface GpuKernelTiming {
  name: string;
  group: string;
  kind: GpuKernelKind;
  layer: number | null;
  computeSeconds: number;
  memorySeconds: number;
  communicationSeconds: number;
  launchSeconds: number;
  /** max(compute, memory) + communication + launch. */
  seconds: number;
  bound: GpuBound;
}

/**
 * Fractions of a step's time; they sum to 1. `launch` is what no resource explains: kernel-launch gaps, kernels held
 * to the minimum kernel time, and the step's fixed host cost.
 */
export interface GpuBoundBy {
  memory: number;
  compute: number;
  communication: number;
  launch: number;
}

export interface GpuProgramTiming {
  /** The kernels' time plus the step's fixed host cost. */
  seconds: number;
  /** The step's fixed cost (sampling, scheduling, host), counted in secondsBy.launch. */
  stepOverheadSeconds: number;
  kernels: GpuKernelTiming[];
  /** Seconds of the step attributed to each resource (each kernel's bounding time to its bound). */
  secondsBy: GpuBoundBy;
  boundBy: GpuBoundBy;
  flops: number;
  hbmBytes: number;
  l2Bytes: number;
  collectiveBytes: number;
}

/** NVLink bandwidth one way (a ring sends and receives at once), under the achievable fraction. */
function ringBytesPerSecond(gpu: GpuSpec): number {
  return (gpu.nvlinkBytesPerSecond / 2) * gpu.achievable.nvlinkFraction;
}

/**
 * Ring all-reduce of `bytes` (the vector each GPU holds) over `gpus` GPUs: 2(N−1)/N × bytes over the per-direction
 * NVLink bandwidth, plus the fixed latency and 2(N−1) ring steps. 0 on one GPU.
 */
export function allReduceSeconds(bytes: number, gpus: number, gpu: GpuSpec): number {
  if (gpus <= 1) return 0;
  const steps = 2 * (gpus - 1);
  return ((steps / gpus) * bytes) / ringBytesPerSecond(gpu) + gpu.allReduceLatencySeconds + steps * gpu.allReduceStepLatencySeconds;
}

/** Ring all-gather producing `bytes` in total on every GPU: (N−1)/N × bytes, N−1 steps. */
export function allGatherSeconds(bytes: number, gpus: number, gpu: GpuSpec): number {
  if (gpus <= 1) return 0;
  const steps = gpus - 1;
  return ((steps / gpus) * bytes) / ringBytesPerSecond(gpu) + gpu.allReduceLatencySeconds + steps * gpu.allReduceStepLatencySeconds;
}

const GEMM_KINDS: ReadonlySet<GpuKernelKind> = new Set(['matmul', 'lm_head', 'experts', 'router']);

/** Achieved tensor rate of a kernel: the dtype's peak × its efficiency × (for a GEMM) the fill of its rows. */
function flopsPerSecond(k: GpuKernel, gpu: GpuSpec): number {
  const c = k.cost;
  const peak = gpu.flopsPerSecond[c.flopsDtype];
  if (peak === null) throw new Error(`GPU ${gpu.name} has no ${c.flopsDtype} rate but kernel ${k.name} asks for it (lowering bug)`);
  const cal = gpu.calibration;
  let fraction = gpu.achievable.flopsFraction;
  if (k.kind === 'attention') fraction = cal.attentionFlopsFraction;
  else if (c.flopsDtype === 'fp8') fraction = cal.narrow.fp8.flopsFraction;
  else if (c.flopsDtype === 'int8') fraction = cal.narrow.int8.flopsFraction;
  else if (c.flopsDtype === 'fp4') fraction = cal.narrow.mxfp4.flopsFraction;
  if (!GEMM_KINDS.has(k.kind) || c.rows <= 0) return peak * fraction;
  // A skinny GEMM fills few tensor tiles; below some rows an engine runs it as a GEMV on the vector units instead,
  // so its rate never falls under the fp32 vector rate.
  const tensor = peak * fraction * (c.rows / (c.rows + cal.gemmHalfRows));
  return Math.max(tensor, gpu.flopsPerSecond.fp32 * gpu.achievable.flopsFraction);
}

/** Achievable HBM fraction of a kernel: attention's KV-cache read, or a stream of weights of this format. */
function hbmFraction(k: GpuKernel, gpu: GpuSpec): number {
  if (k.kind === 'attention') return k.cost.kvFormat === 'fp8' ? gpu.calibration.kvFp8HbmFraction : gpu.calibration.kvHbmFraction;
  const c = k.cost;
  const n = gpu.calibration.narrow;
  switch (c.weightFormat) {
    case 'fp8':
      return n.fp8.hbmFraction;
    case 'int8':
      return n.int8.hbmFraction;
    case 'mxfp4':
    case 'int4':
      return n.mxfp4.hbmFraction;
    default:
      return gpu.achievable.hbmFraction;
  }
}

/** HBM bytes a kernel reads and writes. */
export function kernelHbmBytes(c: GpuKernelCost): number {
  return c.hbmReadWeightBytes + c.hbmReadKvBytes + c.hbmReadActivationBytes + c.hbmWriteBytes;
}

export function timeKernel(k: GpuKernel, gpu: GpuSpec, gpus: number, opts: GpuTimingOptions): GpuKernelTiming {
  const c = k.cost;
  const computeSeconds = c.flops > 0 ? c.flops / flopsPerSecond(k, gpu) : 0;
  const hbmBytes = kernelHbmBytes(c);
  // Achieved bandwidth bytes / (bytes + half) of the achievable: the same as a start-up time of half / rate per kernel.
  const hbmSeconds = hbmBytes > 0 ? (hbmBytes + gpu.calibration.hbmHalfBytes) / (gpu.hbmBytesPerSecond * hbmFraction(k, gpu)) : 0;
  const memorySeconds = hbmSeconds + c.l2Bytes / (gpu.l2BytesPerSecond * gpu.achievable.l2Fraction);
  let communicationSeconds = 0;
  if (k.kind === 'allreduce') communicationSeconds = allReduceSeconds(c.collectiveBytes, gpus, gpu);
  else if (k.kind === 'allgather') communicationSeconds = allGatherSeconds(c.collectiveBytes, gpus, gpu);
  // Compute and memory overlap imperfectly: a share of the shorter one shows.
  const busy = Math.max(computeSeconds, memorySeconds) + gpu.calibration.overlapLoss * Math.min(computeSeconds, memorySeconds);
  // A kernel shorter than the minimum kernel time is held to it; the difference is launch-like time.
  const floor = communicationSeconds > 0 ? 0 : Math.max(0, gpu.calibration.minKernelSeconds - busy);
  // Every kernel pays the gap between kernels; launched from a host stream it pays the host's launch on top.
  const launchSeconds = gpu.graphKernelLaunchSeconds + (opts.cudaGraphs ? 0 : gpu.kernelLaunchSeconds) + floor;
  const bound: GpuBound = communicationSeconds > 0 ? 'communication' : computeSeconds > memorySeconds ? 'compute' : 'memory';
  return {
    name: k.name,
    group: k.group,
    kind: k.kind,
    layer: k.layer,
    computeSeconds,
    memorySeconds,
    communicationSeconds,
    launchSeconds,
    seconds: busy + communicationSeconds + launchSeconds,
    bound,
  };
}

/** A kernel and how many times a step runs it (identical layers collapsed), for callers that time many steps. */
export interface GpuKernelCount {
  kernel: GpuKernel;
  count: number;
}

/** Seconds of a step given as counted kernels: the same sum timeProgram makes, without the per-kernel records. */
export function stepSeconds(kernels: readonly GpuKernelCount[], gpus: number, gpu: GpuSpec, opts: GpuTimingOptions): number {
  let s = gpu.calibration.stepOverheadSeconds;
  for (const { kernel, count } of kernels) s += count * timeKernel(kernel, gpu, gpus, opts).seconds;
  return s;
}

export function timeProgram(p: GpuProgram, gpu: GpuSpec, opts: GpuTimingOptions): GpuProgramTiming {
  const kernels = p.kernels.map((k) => timeKernel(k, gpu, p.gpus, opts));
  const stepOverheadSeconds = gpu.calibration.stepOverheadSeconds;
  const secondsBy: GpuBoundBy = { memory: 0, compute: 0, communication: 0, launch: stepOverheadSeconds };
  let seconds = stepOverheadSeconds;
  for (const t of kernels) {
    seconds += t.seconds;
    secondsBy.launch += t.launchSeconds;
    secondsBy.communication += t.communicationSeconds;
    // The busy time (the longer of compute and memory, plus what of the shorter is not hidden) goes to the longer.
    const busy = t.seconds - t.communicationSeconds - t.launchSeconds;
    if (t.computeSeconds > t.memorySeconds) secondsBy.compute += busy;
    else secondsBy.memory += busy;
  }
  const boundBy: GpuBoundBy = {
    memory: secondsBy.memory / seconds,
    compute: secondsBy.compute / seconds,
    communication: secondsBy.communication / seconds,
    launch: secondsBy.launch / seconds,
  };
  let flops = 0;
  let hbmBytes = 0;
  let l2Bytes = 0;
  let collectiveBytes = 0;
  for (const k of p.kernels) {
    flops += k.cost.flops;
    hbmBytes += kernelHbmBytes(k.cost);
    l2Bytes += k.cost.l2Bytes;
    collectiveBytes += k.cost.collectiveBytes;
  }
  return { seconds, stepOverheadSeconds, kernels, secondsBy, boundBy, flops, hbmBytes, l2Bytes, collectiveBytes };
}
