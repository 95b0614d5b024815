import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir, resolveModelConfig, resolveModelWeights } from '../../../../src/io/loadModel.js';
import { listPresets } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { getPreset } from '../../../../compiler/model/presets.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadModelDir', () => {
  it('loads a fixture directory', () => {
    const w = loadModelDir('test/fixtures/tiny-mixtral');
    expect(w.config.family).toBe('mixtral');
    expect(w.config.name).toBe('test/fixtures/tiny-mixtral/config.json');
    expect(w.tensors.get('model.layers.1.block_sparse_moe.experts.3.w2.weight')!.shape).toEqual([32, 48]);
  });

  it('a missing directory, config.json or model.safetensors is an InputError', () => {
    expect(() => loadModelDir(join(root, 'nope'))).toThrow(`model directory not found (${join(root, 'nope')}): give a directory holding config.json and model.safetensors`);
    const d = join(root, 'partial');
    mkdirSync(d);
    expect(() => loadModelDir(d)).toThrow(
      `config.json not found (${join(d, 'config.json')}): a model directory holds config.json and model.safetensors (create one with: wafer model init toy-dense --out DIR)`,
    );
    copyFileSync('test/fixtures/tiny-llama/config.json', join(d, 'config.json'));
    expect(() => loadModelDir(d)).toThrow(`model.safetensors not found (${join(d, 'model.safetensors')})`);
  });

  it('malformed config JSON is an InputError naming the file', () => {
    const d = join(root, 'badjson');
    mkdirSync(d);
    writeFileSync(join(d, 'config.json'), '{"model_type": ');
    expect(() => loadModelDir(d)).toThrow(new RegExp(`^malformed JSON: .* \\(${join(d, 'config.json').replace(/[.\\/]/g, '\\$&')}\\): fix the JSON syntax$`));
  });
});

describe('resolving --model', () => {
  it('a runnable preset gets the synthetic weights of the seed', () => {
    const r = resolveModelWeights('toy-dense', { seed: 3 });
    expect(r.origin).toEqual({ kind: 'preset', preset: 'toy-dense', seed: 3 });
    const direct = syntheticWeights(getPreset('toy-dense'), 3);
    expect(Array.from(r.weights.tensors.get('lm_head.weight')!.data.subarray(0, 16))).toEqual(Array.from(direct.tensors.get('lm_head.weight')!.data.subarray(0, 16)));
  });

  it('a directory loads its checkpoint', () => {
    expect(resolveModelWeights('test/fixtures/tiny-llama').origin).toEqual({ kind: 'dir', dir: 'test/fixtures/tiny-llama' });
  });

  it('a config-only preset or an unknown name is an InputError', () => {
    expect(() => resolveModelWeights('llama-3.1-70b')).toThrow(
      'preset llama-3.1-70b is config-only (70.6B parameters, no weights) (--model): use toy-dense, toy-moe, gpt2-small-dense, tinyllama-1b-dense, or a model directory',
    );
    expect(() => resolveModelWeights('gpt5')).toThrow(
      `"gpt5" is neither a model directory nor a preset (--model): give a directory with config.json and model.safetensors, or one of ${listPresets().map((p) => p.name).join(', ')}`,
    );
  });

  it('configs resolve from presets (config-only too), directories and config.json files', () => {
    expect(resolveModelConfig('kimi-k2').family).toBe('kimi_k2');
    expect(resolveModelConfig('test/fixtures/tiny-llama').vocabSize).toBe(64);
    expect(resolveModelConfig('test/fixtures/tiny-mixtral/config.json').moe!.numExperts).toBe(4);
  });
});
