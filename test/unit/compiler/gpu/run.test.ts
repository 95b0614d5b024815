import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { runOnGpu } from '../../../../compiler/gpu/run.js';
import { loadModelDir } from '../../../../src/io/loadModel.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { catchInputError } from '../../inputError.js';

const h100 = getGpuPreset('h100');
const fixture = (name: string): string => new URL(`../../../fixtures/${name}`, import.meta.url).pathname;

describe('the GPU kernel list, executed with real numbers', () => {
  describe.each(['tiny-llama', 'tiny-mixtral'])('%s', (name) => {
    const weights = loadModelDir(fixture(name));
    const expected = JSON.parse(readFileSync(`${fixture(name)}/expected.json`, 'utf8')) as { prompt: number[]; generated: number[] };
    // 4 heads, 2 KV heads: 4 GPUs split the query heads one each and replicate the KV heads.
    it.each([1, 2, 4])('reproduces expected.json on %i GPU(s)', (gpus) => {
      const r = runOnGpu(weights, h100, expected.prompt, expected.generated.length, { gpus });
      expect(r.tokens).toEqual(expected.generated);
    });
    it('reproduces expected.json on 2 GPUs with the WebAssembly SIMD matvec', () => {
      const r = runOnGpu(weights, h100, expected.prompt, expected.generated.length, { gpus: 2, matvec: 'fast' });
      expect(r.tokens).toEqual(expected.generated);
    });
  });

  describe.each(['toy-dense', 'toy-moe'])('%s (synthetic weights)', (name) => {
    const weights = syntheticWeights(getPreset(name), 7);
    const prompt = [5, 17, 3, 101];
    const ref = generate(weights, prompt, 8);
    it.each([1, 2, 8])('matches the reference forward pass on %i GPU(s)', (gpus) => {
      const r = runOnGpu(weights, h100, prompt, 8, { gpus });
      expect(r.tokens).toEqual(ref.tokens);
      // Split sums round differently, but the logits agree to f32 accuracy.
      let maxDiff = 0;
      for (let i = 0; i < r.lastLogits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(r.lastLogits[i] - ref.lastLogits[i]));
      expect(maxDiff).toBeLessThan(1e-3);
    });
    it('matches it with the WebAssembly SIMD matvec on 4 GPUs', () => {
      expect(runOnGpu(weights, h100, prompt, 8, { gpus: 4, matvec: 'fast' }).tokens).toEqual(ref.tokens);
    });
  });

  it('validates its inputs', () => {
    const weights = syntheticWeights(getPreset('toy-dense'), 0);
    const msg = (fn: () => unknown): string => catchInputError(fn).message;
    expect(msg(() => runOnGpu(weights, h100, [], 4, { gpus: 1 }))).toBe('empty prompt (prompt): give at least one token id');
    expect(msg(() => runOnGpu(weights, h100, [1], 0, { gpus: 1 }))).toBe('cannot generate 0 tokens (maxNewTokens): give a whole number ≥ 1');
    expect(msg(() => runOnGpu(weights, h100, [512], 2, { gpus: 1 }))).toBe('token id 512 is outside the vocabulary of 512 (prompt): use ids below 512');
    expect(msg(() => runOnGpu(weights, h100, [1], 2, { gpus: 3 }))).toBe('tensor parallel over 3 GPUs: the 8 attention heads do not split evenly over 3 GPUs (gpus): use one of 1, 2, 4, 8');
  });
});
