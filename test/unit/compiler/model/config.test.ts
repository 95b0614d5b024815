import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { countParameters, isMoeLayer, kvCacheElementsPerToken, parseModelConfig, SUPPORTED_MODEL_TYPES } from '../../../../compiler/model/config.js';
import { findPreset, getPreset, listPresets } from '../../../../compiler/model/presets.js';
import { catchInputError } from '../../inputError.js';

const base = { model_type: 'llama', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 48, vocab_size: 64 };

function message(json: unknown): string {
  return catchInputError(() => parseModelConfig(json, 'c.json')).message;
}

describe('parseModelConfig validation messages', () => {
  it.each([
    [{ ...base, model_type: undefined }, 'missing required field (c.json: model_type): add "model_type"'],
    [
      { ...base, model_type: 'gpt2' },
      'unsupported model_type "gpt2" (c.json: model_type): use one of "llama", "mistral", "qwen2", "qwen3", "mixtral", "qwen3_moe", "gpt_oss", "kimi_k2", "deepseek_v3"',
    ],
    [{ ...base, model_type: 7 }, 'unsupported model_type 7 (c.json: model_type): use one of "llama", "mistral", "qwen2", "qwen3", "mixtral", "qwen3_moe", "gpt_oss", "kimi_k2", "deepseek_v3"'],
    [{ ...base, vocab_size: undefined }, 'missing required field (c.json: vocab_size): add "vocab_size"'],
    [{ ...base, hidden_size: '32' }, 'expected number, got string (c.json: hidden_size): give a number'],
    [{ ...base, hidden_size: 2.5 }, 'expected an integer, got 2.5 (c.json: hidden_size): give a whole number'],
    [{ ...base, hidden_size: -1 }, 'Too small: expected number to be >0 (c.json: hidden_size): make it >0'],
    [{ ...base, rms_norm_eps: 0 }, 'Too small: expected number to be >0 (c.json: rms_norm_eps): make it >0'],
    [{ ...base, tie_word_embeddings: 'yes' }, 'expected boolean, got string (c.json: tie_word_embeddings): give a boolean'],
    [{ ...base, num_key_value_heads: 3 }, 'num_attention_heads 4 is not a multiple of num_key_value_heads 3 (c.json: num_key_value_heads): give a divisor of num_attention_heads'],
    [{ ...base, hidden_size: 30 }, 'hidden_size 30 is not a multiple of num_attention_heads 4 (c.json: hidden_size): make it divide evenly'],
    [{ ...base, hidden_act: 'gelu' }, 'unsupported hidden_act "gelu" (c.json: hidden_act): use "silu" (SwiGLU MLP)'],
    [{ ...base, mlp_bias: true }, 'mlp_bias true is not supported (c.json: mlp_bias): remove it or set it to false'],
    [{ ...base, model_type: 'mixtral', num_local_experts: 2, num_experts_per_tok: 3 }, 'num_experts_per_tok 3 exceeds num_local_experts 2 (c.json: num_experts_per_tok): give at most 2'],
    [{ ...base, model_type: 'mixtral', num_local_experts: 0 }, 'Too small: expected number to be >0 (c.json: num_local_experts): make it >0'],
    [{ ...base, model_type: 'qwen3_moe', mlp_only_layers: [1] }, 'mlp_only_layers is not supported (c.json: mlp_only_layers): remove it or make it []'],
    [{ ...base, model_type: 'qwen3_moe', decoder_sparse_step: 2 }, 'decoder_sparse_step other than 1 is not supported (c.json: decoder_sparse_step): set it to 1'],
    [{ ...base, model_type: 'gpt_oss', layer_types: ['full_attention'] }, 'layer_types has 1 entries for 2 layers (c.json: layer_types): give one entry per layer'],
    [{ ...base, model_type: 'gpt_oss', layer_types: ['full_attention', 'local'] }, 'unsupported value (c.json: layer_types.1): use one of "sliding_attention", "full_attention"'],
    [{ ...base, model_type: 'kimi_k2' }, 'missing required field (c.json: moe_intermediate_size): add "moe_intermediate_size"'],
    [[1], 'config is not a JSON object (c.json): give a Hugging Face config.json object'],
    [null, 'config is not a JSON object (c.json): give a Hugging Face config.json object'],
  ])('%j -> %s', (json, expected) => {
    expect(message(json)).toBe(expected);
  });

  it('accepts the extra keys Hugging Face writes', () => {
    const cfg = parseModelConfig({ ...base, architectures: ['LlamaForCausalLM'], torch_dtype: 'bfloat16', transformers_version: '4.44', bos_token_id: 1 }, 'c.json');
    expect(cfg.hiddenSize).toBe(32);
  });

  it('lists every supported model type', () => {
    expect(SUPPORTED_MODEL_TYPES).toEqual(expect.arrayContaining(['llama', 'mistral', 'qwen2', 'qwen3', 'mixtral', 'qwen3_moe', 'gpt_oss']));
  });
});

describe('normalised config', () => {
  it('applies the transformers defaults to the tiny-llama fixture and freezes the result', () => {
    const cfg = parseModelConfig(JSON.parse(readFileSync('test/fixtures/tiny-llama/config.json', 'utf8')), 'tiny-llama');
    expect(cfg).toMatchObject({
      family: 'llama', hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, intermediateSize: 48, vocabSize: 64,
      rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false, qkNorm: false, attentionBias: false, maxPositionEmbeddings: 2048,
      moe: null, mla: null, slidingWindow: null,
    });
    expect(cfg.layerTypes).toEqual(['full', 'full']);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.layerTypes)).toBe(true);
  });

  it('reads Mixtral routing from the tiny-mixtral fixture', () => {
    const cfg = parseModelConfig(JSON.parse(readFileSync('test/fixtures/tiny-mixtral/config.json', 'utf8')), 'tiny-mixtral');
    expect(cfg.moe).toMatchObject({ numExperts: 4, topK: 2, expertIntermediateSize: 48, normTopkProb: true, numSharedExperts: 0, firstDenseLayers: 0 });
    expect(Object.isFrozen(cfg.moe)).toBe(true);
    expect(isMoeLayer(cfg, 0)).toBe(true);
  });

  it('num_key_value_heads defaults to num_attention_heads', () => {
    expect(parseModelConfig(base, 'c').numKvHeads).toBe(4);
  });

  it('qwen2 has q/k/v biases, qwen3 q/k norms and head_dim 128 by default', () => {
    const q2 = parseModelConfig({ ...base, model_type: 'qwen2' }, 'c');
    expect([q2.attentionBias, q2.attentionOutputBias, q2.qkNorm]).toEqual([true, false, false]);
    const q3 = parseModelConfig({ ...base, model_type: 'qwen3' }, 'c');
    expect([q3.attentionBias, q3.qkNorm, q3.headDim]).toEqual([false, true, 128]);
  });

  it('mistral slides a 4096 window over every layer unless sliding_window is null', () => {
    const m = parseModelConfig({ ...base, model_type: 'mistral' }, 'c');
    expect(m.slidingWindow).toBe(4096);
    expect(m.layerTypes).toEqual(['sliding', 'sliding']);
    const full = parseModelConfig({ ...base, model_type: 'mistral', sliding_window: null }, 'c');
    expect(full.slidingWindow).toBeNull();
    expect(full.layerTypes).toEqual(['full', 'full']);
  });

  it('qwen3_moe keeps norm_topk_prob (default false) and the expert size', () => {
    const c = parseModelConfig({ ...base, model_type: 'qwen3_moe', num_experts: 8, num_experts_per_tok: 2, moe_intermediate_size: 16 }, 'c');
    expect(c.moe).toMatchObject({ numExperts: 8, topK: 2, expertIntermediateSize: 16, normTopkProb: false, denseIntermediateSize: 48 });
  });

  it('gpt-oss alternates sliding and full attention and records MXFP4 experts', () => {
    const c = getPreset('gpt-oss-120b');
    expect(c.layerTypes.slice(0, 4)).toEqual(['sliding', 'full', 'sliding', 'full']);
    expect(c.slidingWindow).toBe(128);
    expect(c.expertDtype).toBe('mxfp4');
    expect(c.attentionBias && c.attentionOutputBias).toBe(true);
  });

  it('kimi-k2 carries its MLA dimensions, shared expert and leading dense layer', () => {
    const c = getPreset('kimi-k2');
    expect(c.mla).toEqual({ qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 });
    expect(c.moe).toMatchObject({ numExperts: 384, topK: 8, expertIntermediateSize: 2048, numSharedExperts: 1, sharedIntermediateSize: 2048, firstDenseLayers: 1, denseIntermediateSize: 18432 });
    expect(isMoeLayer(c, 0)).toBe(false);
    expect(isMoeLayer(c, 1)).toBe(true);
    expect(kvCacheElementsPerToken(c)).toBe(61 * (512 + 64));
  });
});

describe('countParameters', () => {
  it('matches the published sizes of Llama-3.1-8B, Qwen3-4B and Mixtral-8x7B exactly', () => {
    expect(countParameters(getPreset('llama-3.1-8b')).total).toBe(8_030_261_248);
    expect(countParameters(getPreset('qwen3-4b')).total).toBe(4_022_468_096);
    const mix = countParameters(getPreset('mixtral-8x7b'));
    expect(mix.total).toBe(46_702_792_704);
    expect(mix.activePerToken).toBe(12_879_925_248);
  });

  it('is close to the docs/models.md#model-table totals of the large models', () => {
    const within = (name: string, total: number, active: number, tol: number): void => {
      const n = countParameters(getPreset(name));
      expect(Math.abs(n.total / total - 1)).toBeLessThan(tol);
      expect(Math.abs(n.activePerToken / active - 1)).toBeLessThan(tol);
    };
    within('llama-3.1-70b', 70.6e9, 70.6e9, 0.01);
    within('llama-3.1-405b', 405.9e9, 405.9e9, 0.01);
    within('qwen3-235b-a22b', 235e9, 22e9, 0.02);
    within('kimi-k2', 1.04e12, 32e9, 0.03);
    // gpt-oss: the model card's active count leaves out the 0.58B embedding table (see countParameters).
    expect(countParameters(getPreset('gpt-oss-120b')).total).toBeCloseTo(116.83e9, -8);
    expect(countParameters(getPreset('gpt-oss-20b')).total).toBeCloseTo(20.91e9, -8);
  });

  it('adds up by kind for toy-moe', () => {
    const c = getPreset('toy-moe');
    const n = countParameters(c);
    const h = 256;
    expect(n.byKind).toEqual({
      embedding: 512 * h,
      attention: 4 * (h * 256 + 2 * h * 128 + 256 * h),
      mlp: 0,
      experts: 4 * 8 * 3 * h * 256,
      router: 4 * 8 * h,
      norms: 4 * 2 * h + h,
      lmHead: 512 * h,
    });
    expect(n.total).toBe(Object.values(n.byKind).reduce((a, b) => a + b, 0));
    expect(n.activePerToken).toBe(n.total - 4 * 6 * 3 * h * 256);
  });

  it('counts tied embeddings once', () => {
    const n = countParameters(getPreset('gpt2-small-dense'));
    expect(n.byKind.lmHead).toBe(0);
    expect(n.total).toBeGreaterThan(100e6);
    expect(n.total).toBeLessThan(150e6);
  });
});

describe('the scale preset', () => {
  it('tinyllama-1b-dense is a ~1B-parameter runnable model', () => {
    const n = countParameters(getPreset('tinyllama-1b-dense'));
    expect(findPreset('tinyllama-1b-dense')!.runnable).toBe(true);
    expect(n.total).toBeGreaterThan(0.9e9);
    expect(n.total).toBeLessThan(1.1e9);
  });
});

describe('presets', () => {
  it('has every required preset, each citing a source', () => {
    const names = listPresets().map((p) => p.name);
    for (const n of ['toy-dense', 'toy-moe', 'gpt2-small-dense', 'tinyllama-1b-dense', 'llama-3.1-8b', 'llama-3.1-70b', 'llama-3.1-405b', 'qwen3-4b', 'qwen3-32b', 'qwen3-235b-a22b', 'gpt-oss-20b', 'gpt-oss-120b', 'mixtral-8x7b', 'kimi-k2']) {
      expect(names).toContain(n);
    }
    for (const p of listPresets()) {
      expect(p.source.length).toBeGreaterThan(10);
      expect(getPreset(p.name).name).toBe(p.name);
    }
  });

  it('toy presets have the agreed shapes', () => {
    expect(getPreset('toy-dense')).toMatchObject({ family: 'llama', numLayers: 4, hiddenSize: 256, numHeads: 8, numKvHeads: 4, intermediateSize: 688, vocabSize: 512 });
    expect(getPreset('toy-moe')).toMatchObject({ family: 'mixtral', numLayers: 4, hiddenSize: 256, numHeads: 8, numKvHeads: 4, vocabSize: 512, moe: { numExperts: 8, topK: 2 } });
    expect(findPreset('toy-moe')!.runnable).toBe(true);
    expect(findPreset('llama-3.1-8b')!.runnable).toBe(false);
  });

  it('an unknown preset is an InputError listing the presets', () => {
    expect(() => getPreset('llama-9')).toThrow(
      `unknown model preset "llama-9" (model preset): use one of ${listPresets().map((p) => p.name).join(', ')}, or a model directory`,
    );
  });
});
