// Runs a small model's GPU kernel list with real numbers on its real weights (fabric/gpu/engine.ts): the lowering's
// decode list for `gpus` tensor-parallel GPUs at batch 1, weights split as the list says, greedy tokens out.
import { OptionError } from '../../fabric/errors.js';
import { gpuGenerate, type GpuGenerateResult, type GpuTensorSource } from '../../fabric/gpu/engine.js';
import type { GpuSpec } from '../../fabric/gpu/spec.js';
import { assertRunnableFamily, getMatrix, getVector, type ModelWeights } from '../model/weights.js';
import { lowerForGpu, type GpuWeightDtype } from './lower.js';

export interface GpuRunOptions {
  gpus: number;
  /** Cost-model dtype of the lowering; the numbers use the weights as stored. */
  dtype?: GpuWeightDtype;
  /** Matvec kernel (default: the reference). */
  matvec?: 'reference' | 'fast';
}

export function tensorSource(weights: ModelWeights): GpuTensorSource {
  return { matrix: (name) => getMatrix(weights, name), vector: (name) => getVector(weights, name) };
}

/** Greedy-decodes `maxNewTokens` after `prompt` by executing the GPU kernel list over `opts.gpus` simulated GPUs. */
export function runOnGpu(weights: ModelWeights, gpu: GpuSpec, prompt: readonly number[], maxNewTokens: number, opts: GpuRunOptions): GpuGenerateResult {
  const cfg = weights.config;
  assertRunnableFamily(cfg, `model ${cfg.name}`);
  if (prompt.length === 0) throw new OptionError('prompt', 'empty prompt', 'give at least one token id');
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new OptionError('maxNewTokens', `cannot generate ${maxNewTokens} tokens`, 'give a whole number ≥ 1');
  const bad = prompt.find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocabSize);
  if (bad !== undefined) throw new OptionError('prompt', `token id ${bad} is outside the vocabulary of ${cfg.vocabSize}`, `use ids below ${cfg.vocabSize}`);
  const context = prompt.length + maxNewTokens;
  const lowered = lowerForGpu(cfg, gpu, { gpus: opts.gpus, batch: 1, promptLength: prompt.length, contextLength: context, ...(opts.dtype ? { dtype: opts.dtype } : {}) });
  return gpuGenerate(lowered.decode, tensorSource(weights), prompt, maxNewTokens, opts.matvec ?? 'reference');
}
