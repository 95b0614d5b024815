// Timing of a GPU kernel list (a roofline per kernel): each kernel takes max(compute time, memory time) under the
// spec's achievable fractions, collectives take the ring cost over NVLink, and every kernel pays a launch overhead.
// The kernels of one step run back to back on each GPU (tensor parallel is SPMD), so a step's time is their sum.
import type { GpuBound, GpuKernel, GpuKernelKind, GpuProgram } from './program.js';
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

/** Fractions of a step's time; they sum to 1. `launch` is the kernel-launch overhead, which no resource explains. */
export interface GpuBoundBy {
  memory: number;
  compute: number;
  communication: number;
  launch: number;
}

export interface GpuProgramTiming {
  seconds: number;
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

export function timeKernel(k: GpuKernel, gpu: GpuSpec, gpus: number, opts: GpuTimingOptions): GpuKernelTiming {
  const c = k.cost;
  const peak = gpu.flopsPerSecond[c.flopsDtype];
  if (peak === null) throw new Error(`GPU ${gpu.name} has no ${c.flopsDtype} rate but kernel ${k.name} asks for it (lowering bug)`);
  const computeSeconds = c.flops / (peak * gpu.achievable.flopsFraction);
  const hbmBytes = c.hbmReadWeightBytes + c.hbmReadKvBytes + c.hbmReadActivationBytes + c.hbmWriteBytes;
  const memorySeconds = hbmBytes / (gpu.hbmBytesPerSecond * gpu.achievable.hbmFraction) + c.l2Bytes / (gpu.l2BytesPerSecond * gpu.achievable.l2Fraction);
  let communicationSeconds = 0;
  if (k.kind === 'allreduce') communicationSeconds = allReduceSeconds(c.collectiveBytes, gpus, gpu);
  else if (k.kind === 'allgather') communicationSeconds = allGatherSeconds(c.collectiveBytes, gpus, gpu);
  const launchSeconds = opts.cudaGraphs ? gpu.graphKernelLaunchSeconds : gpu.kernelLaunchSeconds;
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
    seconds: Math.max(computeSeconds, memorySeconds) + communicationSeconds + launchSeconds,
    bound,
  };
}

export function timeProgram(p: GpuProgram, gpu: GpuSpec, opts: GpuTimingOptions): GpuProgramTiming {
  const kernels = p.kernels.map((k) => timeKernel(k, gpu, p.gpus, opts));
  const secondsBy: GpuBoundBy = { memory: 0, compute: 0, communication: 0, launch: 0 };
  let seconds = 0;
  for (const t of kernels) {
    seconds += t.seconds;
    secondsBy.launch += t.launchSeconds;
    secondsBy.communication += t.communicationSeconds;
    if (t.computeSeconds > t.memorySeconds) secondsBy.compute += t.computeSeconds;
    else secondsBy.memory += t.memorySeconds;
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
    hbmBytes += k.cost.hbmReadWeightBytes + k.cost.hbmReadKvBytes + k.cost.hbmReadActivationBytes + k.cost.hbmWriteBytes;
    l2Bytes += k.cost.l2Bytes;
    collectiveBytes += k.cost.collectiveBytes;
  }
  return { seconds, kernels, secondsBy, boundBy, flops, hbmBytes, l2Bytes, collectiveBytes };
}
