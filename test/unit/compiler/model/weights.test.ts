import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseModelConfig } from '../../../../compiler/model/config.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { readSafetensors, writeSafetensors } from '../../../../compiler/model/safetensors.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import {
  castWeights,
  getMatrix,
  getVector,
  tensorNames,
  weightsFromSafetensors,
  weightsToSafetensors,
  type ModelWeights,
} from '../../../../compiler/model/weights.js';
import { InputError } from '../../../../fabric/errors.js';
import { bf16BitsToF32, f32ToBf16Bits, matrixElement } from '../../../../kernels/index.js';

const fixture = (name: string): { json: unknown; bytes: Uint8Array } => ({
  json: JSON.parse(readFileSync(`test/fixtures/${name}/config.json`, 'utf8')),
  bytes: new Uint8Array(readFileSync(`test/fixtures/${name}/model.safetensors`)),
});

const small = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, vocab_size: 64 };

describe('tensorNames', () => {
  it('lists exactly the tensors of the tiny-llama and tiny-mixtral fixtures, with their shapes', () => {
    for (const name of ['tiny-llama', 'tiny-mixtral']) {
      const f = fixture(name);
      const cfg = parseModelConfig(f.json, name);
      const st = readSafetensors(f.bytes, name);
      const specs = tensorNames(cfg);
      expect(specs.map((s) => s.name).sort()).toEqual(Array.from(st.tensors.keys()).sort());
      for (const s of specs) expect(st.tensors.get(s.name)!.shape).toEqual(s.shape);
    }
  });

  it('names Qwen3 q/k norms, qwen2 biases and qwen3_moe experts the Hugging Face way', () => {
    const q3 = tensorNames(parseModelConfig({ ...small, model_type: 'qwen3', head_dim: 16 }, 'c'));
    expect(q3.find((s) => s.name === 'model.layers.0.self_attn.q_norm.weight')!.shape).toEqual([16]);
    expect(q3.find((s) => s.name === 'model.layers.1.self_attn.q_proj.weight')!.shape).toEqual([64, 32]);
    expect(q3.find((s) => s.name === 'model.layers.1.self_attn.o_proj.weight')!.shape).toEqual([32, 64]);
    const q2 = tensorNames(parseModelConfig({ ...small, model_type: 'qwen2' }, 'c')).map((s) => s.name);
    expect(q2).toContain('model.layers.0.self_attn.k_proj.bias');
    expect(q2).not.toContain('model.layers.0.self_attn.o_proj.bias');
    const moe = tensorNames(parseModelConfig({ ...small, model_type: 'qwen3_moe', num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 8 }, 'c'));
    expect(moe.find((s) => s.name === 'model.layers.0.mlp.gate.weight')).toMatchObject({ shape: [4, 32], kind: 'router', layer: 0 });
    expect(moe.find((s) => s.name === 'model.layers.1.mlp.experts.3.down_proj.weight')).toMatchObject({ shape: [32, 8], kind: 'expert', layer: 1, expert: 3 });
  });

  it('leaves lm_head out of a tied model', () => {
    expect(tensorNames(parseModelConfig({ ...small, model_type: 'llama', tie_word_embeddings: true }, 'c')).map((s) => s.name)).not.toContain('lm_head.weight');
  });

  it('refuses config-only families', () => {
    expect(() => tensorNames(getPreset('gpt-oss-20b'))).toThrow(
      'model family gpt_oss is config-only (no weights layout or forward pass) (model gpt-oss-20b): use a model of family llama, mistral, qwen2, qwen3, mixtral, qwen3_moe; gpt_oss works for projections',
    );
  });
});

describe('weightsFromSafetensors', () => {
  const cfg = parseModelConfig(fixture('tiny-llama').json, 'tiny-llama');

  it('loads the fixture with matrices as kernels Matrix views (no copy)', () => {
    const w = weightsFromSafetensors(cfg, fixture('tiny-llama').bytes, 'tiny');
    const m = getMatrix(w, 'model.layers.0.self_attn.k_proj.weight');
    expect(m).toMatchObject({ dtype: 'f32', rows: 16, cols: 32 });
    expect(m.data).toBe(w.tensors.get('model.layers.0.self_attn.k_proj.weight')!.data);
    expect(getVector(w, 'model.norm.weight').length).toBe(32);
  });

  it('a missing tensor is an InputError naming it and its shape', () => {
    const entries = tensorNames(cfg)
      .filter((s) => s.name !== 'model.layers.1.mlp.up_proj.weight')
      .map((s) => ({ name: s.name, dtype: 'F32' as const, shape: s.shape, data: new Float32Array(s.shape.reduce((a, b) => a * b, 1)) }));
    expect(() => weightsFromSafetensors(cfg, writeSafetensors(entries), 'm.st')).toThrow(
      'missing tensor (m.st: tensor "model.layers.1.mlp.up_proj.weight"): the checkpoint must hold it with shape [48,32]',
    );
  });

  it('a tensor of the wrong shape is an InputError', () => {
    const other = parseModelConfig({ ...(fixture('tiny-llama').json as object), intermediate_size: 40 }, 'c');
    expect(() => weightsFromSafetensors(other, fixture('tiny-llama').bytes, 'm.st')).toThrow(
      'shape [48,32] does not match the config (m.st: tensor "model.layers.0.mlp.gate_proj.weight"): expected [40,32] (check config.json)',
    );
  });

  it('an I8 matrix needs its .scales companion', () => {
    const entries = tensorNames(cfg).map((s) =>
      s.shape.length === 2
        ? { name: s.name, dtype: 'I8' as const, shape: s.shape, data: new Int8Array(s.shape[0] * s.shape[1]) }
        : { name: s.name, dtype: 'F32' as const, shape: s.shape, data: new Float32Array(s.shape[0]) },
    );
    expect(() => weightsFromSafetensors(cfg, writeSafetensors(entries), 'm.st')).toThrow(
      'I8 matrix without per-row scales (m.st: tensor "model.embed_tokens.weight"): add an F32 tensor "model.embed_tokens.weight.scales" of shape [64]',
    );
  });
});

describe('castWeights', () => {
  const w: ModelWeights = syntheticWeights(parseModelConfig({ ...small, model_type: 'llama' }, 'c'), 3);

  it('casts matrices to bf16 with round-to-nearest-even and keeps norms f32', () => {
    const b = castWeights(w, 'bf16');
    const name = 'model.layers.0.self_attn.q_proj.weight';
    const src = w.tensors.get(name)!.data as Float32Array;
    const m = getMatrix(b, name);
    expect(m.dtype).toBe('bf16');
    for (let i = 0; i < 50; i++) expect(m.data[i]).toBe(f32ToBf16Bits(src[i]));
    expect(Math.abs(bf16BitsToF32(m.data[0] as number) - src[0])).toBeLessThanOrEqual(Math.abs(src[0]) * 2 ** -8);
    expect(b.tensors.get('model.layers.0.input_layernorm.weight')!.dtype).toBe('f32');
    expect(b.tensors.get('model.layers.0.input_layernorm.weight')).toBe(w.tensors.get('model.layers.0.input_layernorm.weight'));
  });

  it('casts matrices to int8 with per-row scales within half a step', () => {
    const q = castWeights(w, 'int8');
    const name = 'model.layers.1.mlp.down_proj.weight';
    const m = getMatrix(q, name);
    expect(m.dtype).toBe('int8');
    const src = w.tensors.get(name)!.data as Float32Array;
    for (let r = 0; r < m.rows; r++) {
      const scale = (m as { scales: Float32Array }).scales[r];
      for (let c = 0; c < m.cols; c++) expect(Math.abs(matrixElement(m, r, c) - src[r * m.cols + c])).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
  });

  it('int8 and bf16 weights survive a safetensors round trip', () => {
    for (const dtype of ['int8', 'bf16', 'f16'] as const) {
      const c = castWeights(w, dtype);
      const back = weightsFromSafetensors(c.config, weightsToSafetensors(c), 'x');
      for (const [name, t] of c.tensors) {
        const u = back.tensors.get(name)!;
        expect(u.dtype).toBe(t.dtype);
        expect(Array.from(u.data)).toEqual(Array.from(t.data));
        if (t.scales) expect(Array.from(u.scales!)).toEqual(Array.from(t.scales));
      }
    }
  });

  it('a bf16 checkpoint loads its norms as f32', () => {
    const file = writeSafetensors(
      tensorNames(w.config).map((s) => ({ name: s.name, dtype: 'BF16' as const, shape: s.shape, data: new Uint16Array(s.shape.reduce((a, b) => a * b, 1)).fill(0x3f80) })),
    );
    const back = weightsFromSafetensors(w.config, file, 'x');
    expect(back.tensors.get('model.norm.weight')).toMatchObject({ dtype: 'f32' });
    expect(getVector(back, 'model.norm.weight')[5]).toBe(1);
    expect(getMatrix(back, 'lm_head.weight').dtype).toBe('bf16');
  });

  it('getMatrix and getVector refuse the wrong rank', () => {
    expect(() => getMatrix(w, 'model.norm.weight')).toThrow(RangeError);
    expect(() => getVector(w, 'lm_head.weight')).toThrow(RangeError);
    expect(() => getVector(w, 'nope')).toThrow(RangeError);
  });
});

describe('InputError type', () => {
  it('is what the loader throws', () => {
    expect(() => weightsFromSafetensors(getPreset('toy-dense'), new Uint8Array(4), 'x')).toThrow(InputError);
  });
});
