// A serving engine in steady state (docs/gpu-calibration.md#the-serving-model): `concurrency` clients each keep one
// request in flight (the closed loop of a load generator such as genai-perf), every request a prompt of
// `inputTokens` and an answer of `outputTokens`. What a client sees — the mean inter-token latency and time to first
// token — follows from the emulator's decode step and prefill times:
//
//   running batch b   = min(concurrency, the sequences whose whole KV cache fits: kvCapacitySequences)
//   decode step τ     = the decode kernel list at batch b, context input + output/2 (+ the step's host cost)
//   prefill P         = the prefill kernel list of one prompt (+ the step's host cost)
//   out of step d     = (b − 1) / (lockstepBatch + b − 1)
//                       (requests that start together, with the same lengths, stay together: their prompts are
//                       prefilled as one burst; past a few dozen they drift apart and arrive one by one)
//   ITL               = τ + prefillInterference · (b − 1) · P / (output − 1)
//                       (a share of the other requests' prefills lands between a request's tokens, spread over them)
//   TTFT (service)    = requestOverhead + P · (1 + prefillQueueing · (1 − d) · (b − 1))
//                       (its own prefill, behind a share of the burst of the requests still in step)
//   TTFT              = service + (concurrency − b) / b · (service + (output − 1) · ITL) when requests wait for a slot
//                       (Little's law: the clients beyond the running batch queue for a whole request each)
//
// A shape (the lowered kernel lists) does not depend on the fitted terms, so the calibration lowers each row once and
// re-times it for every trial of the fit.
import type { GpuKernel } from '../../fabric/gpu/program.js';
import type { GpuSpec } from '../../fabric/gpu/spec.js';
import { stepSeconds, type GpuKernelCount } from '../../fabric/gpu/timing.js';
import { OptionError } from '../../fabric/errors.js';
import type { ModelConfig } from '../model/config.js';
import { describeModel, type ModelDesc } from './layers.js';
import { kvCapacitySequences, lowerPhase, type GpuWeightDtype } from './lower.js';

export interface ServingCase {
  cfg: ModelConfig;
  /** Tensor-parallel GPUs. */
  gpus: number;
  dtype: GpuWeightDtype;
  /** Requests in flight. */
  concurrency: number;
  inputTokens: number;
  outputTokens: number;
}

/** A serving case lowered: the running batch and the two kernel lists, identical kernels counted once. */
export interface ServingShape {
  gpus: number;
  concurrency: number;
  inputTokens: number;
  outputTokens: number;
  /** Sequences of input + output positions whose KV cache fits. */
  capacity: number;
  batch: number;
  decode: GpuKernelCount[];
  prefill: GpuKernelCount[];
}

export interface ServingPrediction {
  batch: number;
  capacity: number;
  decodeStepSeconds: number;
  prefillSeconds: number;
  itlSeconds: number;
  ttftSeconds: number;
  /** Output tokens/s of all requests together (concurrency requests, each taking TTFT + (output − 1) · ITL). */
  tokensPerSecondTotal: number;
}

/** Identical kernels (the same layer repeated) as one entry with a count, in first-seen order. */
export function countKernels(kernels: readonly GpuKernel[]): GpuKernelCount[] {
  const byKey = new Map<string, GpuKernelCount>();
  for (const k of kernels) {
    const key = `${k.kind}|${JSON.stringify(k.cost)}`;
    const e = byKey.get(key);
    if (e) e.count++;
    else byKey.set(key, { kernel: k, count: 1 });
  }
  return [...byKey.values()];
}

/** Lowers a serving case on `gpu` (a described model may be passed in when many cases share it). */
export function servingShape(c: ServingCase, gpu: GpuSpec, desc: ModelDesc = describeModel(c.cfg)): ServingShape {
  // An fp8 serving profile keeps its KV cache in fp8 too (assumption, docs/gpu-calibration.md: the measured fp8 runs
  // hold about twice the sequences of the bf16 ones before requests queue).
  const base = { gpus: c.gpus, dtype: c.dtype, promptLength: c.inputTokens, kvDtype: c.dtype === 'fp8' ? ('fp8' as const) : ('bf16' as const) };
  const capacity = kvCapacitySequences(c.cfg, gpu, { ...base, contextLength: c.inputTokens + c.outputTokens });
  if (capacity < 1) {
    throw new OptionError('gpus', `${c.cfg.name} with a ${c.inputTokens} + ${c.outputTokens}-token request does not fit ${c.gpus} × ${gpu.name}`, 'use more GPUs or shorter requests');
  }
  const batch = Math.min(c.concurrency, capacity);
  const context = c.inputTokens + Math.floor(c.outputTokens / 2);
  const decode = countKernels(lowerPhase(desc, gpu, 'decode', { ...base, batch, contextLength: context }));
  const prefill = countKernels(lowerPhase(desc, gpu, 'prefill', { ...base, batch: 1, contextLength: c.inputTokens }));
  return { gpus: c.gpus, concurrency: c.concurrency, inputTokens: c.inputTokens, outputTokens: c.outputTokens, capacity, batch, decode, prefill };
}

/** The client-side figures of a lowered serving case under `gpu`'s timing terms (the formulas at the top). */
export function predictServing(s: ServingShape, gpu: GpuSpec): ServingPrediction {
  const cal = gpu.calibration;
  const b = s.batch;
  const decodeStepSeconds = stepSeconds(s.decode, s.gpus, gpu, { cudaGraphs: true });
  // Prefill shapes vary, so engines launch them without a captured graph.
  const prefillSeconds = stepSeconds(s.prefill, s.gpus, gpu, { cudaGraphs: false });
  const gaps = Math.max(1, s.outputTokens - 1);
  const apart = (b - 1) / (cal.lockstepBatch + b - 1);
  const itlSeconds = decodeStepSeconds + (cal.prefillInterference * (b - 1) * prefillSeconds) / gaps;
  const service = cal.requestOverheadSeconds + prefillSeconds * (1 + cal.prefillQueueing * (1 - apart) * (b - 1));
  const waiting = s.concurrency > b ? ((s.concurrency - b) / b) * (service + gaps * itlSeconds) : 0;
  const ttftSeconds = service + waiting;
  const requestSeconds = ttftSeconds + gaps * itlSeconds;
  return { batch: b, capacity: s.capacity, decodeStepSeconds, prefillSeconds, itlSeconds, ttftSeconds, tokensPerSecondTotal: (s.concurrency * s.outputTokens) / requestSeconds };
}

/** servingShape then predictServing: one serving case on `gpu`. */
export function estimateServing(c: ServingCase, gpu: GpuSpec): ServingPrediction {
  return predictServing(servingShape(c, gpu), gpu);
}
