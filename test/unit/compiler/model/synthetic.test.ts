import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../../../compiler/model/config.js';
import { findPreset, getPreset } from '../../../../compiler/model/presets.js';
import { LOGIT_STD, NORM_JITTER, syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights, tensorNames } from '../../../../compiler/model/weights.js';

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function std(a: Float32Array): number {
  let s = 0;
  let q = 0;
  for (const v of a) {
    s += v;
    q += v * v;
  }
  return Math.sqrt(q / a.length - (s / a.length) ** 2);
}

describe('syntheticWeights', () => {
  const cfg = getPreset('toy-dense');

  it('holds every tensor of the config in f32 with its shape', () => {
    const w = syntheticWeights(cfg, 0);
    const specs = tensorNames(cfg);
    expect(w.tensors.size).toBe(specs.length);
    for (const s of specs) {
      const t = w.tensors.get(s.name)!;
      expect(t.dtype).toBe('f32');
      expect(t.shape).toEqual(s.shape);
      expect(t.data.length).toBe(s.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('drawn in a dtype, are the f32 weights cast to it (matrices cast, vectors kept in f32)', () => {
    const moe = getPreset('toy-moe');
    for (const dtype of ['bf16', 'int8'] as const) {
      const direct = syntheticWeights(moe, 3, dtype);
      const cast = castWeights(syntheticWeights(moe, 3), dtype);
      expect([...direct.tensors.keys()]).toEqual([...cast.tensors.keys()]);
      for (const [name, t] of direct.tensors) {
        const u = cast.tensors.get(name)!;
        expect(t.dtype).toBe(t.shape.length === 2 ? dtype : 'f32');
        expect({ dtype: t.dtype, shape: t.shape }).toEqual({ dtype: u.dtype, shape: u.shape });
        expect(sameBytes(t.data, u.data)).toBe(true);
        expect(t.scales === undefined ? u.scales === undefined : u.scales !== undefined && sameBytes(t.scales, u.scales)).toBe(true);
      }
    }
  });

  it('is identical for a seed, different for another seed', () => {
    const a = syntheticWeights(cfg, 11);
    const b = syntheticWeights(cfg, 11);
    const c = syntheticWeights(cfg, 12);
    for (const [name, t] of a.tensors) expect(Buffer.from(t.data.buffer).equals(Buffer.from(b.tensors.get(name)!.data.buffer))).toBe(true);
    expect(Array.from(c.tensors.get('lm_head.weight')!.data.subarray(0, 8))).not.toEqual(Array.from(a.tensors.get('lm_head.weight')!.data.subarray(0, 8)));
  });

  it("a tensor's values depend only on (seed, name), not on the rest of the model", () => {
    const twoLayers = parseModelConfig({ ...findPreset('toy-dense')!.hfConfig, num_hidden_layers: 2 }, 'c');
    const name = 'model.layers.1.mlp.up_proj.weight';
    expect(Array.from(syntheticWeights(twoLayers, 4).tensors.get(name)!.data)).toEqual(Array.from(syntheticWeights(cfg, 4).tensors.get(name)!.data));
  });

  it('scales projections by 1/sqrt(fan-in), the lm_head for logits of std LOGIT_STD, norms to 1 ± jitter', () => {
    const w = syntheticWeights(cfg, 0);
    const rel = (name: string, expected: number): void => {
      expect(Math.abs(std(w.tensors.get(name)!.data as Float32Array) / expected - 1)).toBeLessThan(0.03);
    };
    rel('model.layers.0.self_attn.q_proj.weight', 1 / 16);
    rel('model.layers.2.mlp.down_proj.weight', 1 / Math.sqrt(688));
    rel('model.embed_tokens.weight', 1);
    rel('lm_head.weight', LOGIT_STD / 16);
    for (const v of w.tensors.get('model.layers.3.input_layernorm.weight')!.data) expect(Math.abs(v - 1)).toBeLessThanOrEqual(NORM_JITTER);
  });

  it('gives a tied model a final norm of both signs', () => {
    const w = syntheticWeights(parseModelConfig({ ...findPreset('toy-dense')!.hfConfig, tie_word_embeddings: true }, 'c'), 0);
    const g = w.tensors.get('model.norm.weight')!.data as Float32Array;
    expect(g.some((v) => v > 0) && g.some((v) => v < 0)).toBe(true);
    for (const v of g) expect(Math.abs(Math.abs(v) - LOGIT_STD / 16)).toBeLessThanOrEqual((LOGIT_STD / 16) * NORM_JITTER + 1e-7);
  });

  it('refuses config-only families', () => {
    expect(() => syntheticWeights(getPreset('kimi-k2'), 0)).toThrow(/model family kimi_k2 is config-only/);
  });
});
