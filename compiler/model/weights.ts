// In-memory model weights under their Hugging Face tensor names, the list of tensors each family expects, and
// conversion between storage dtypes. Matrices keep their stored dtype (f32, bf16, f16 or int8 with per-row scales);
// 1-D tensors (norms, biases) are always held as f32.
import { InputError } from '../../fabric/errors.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16, quantizeInt8Rows, type Matrix, type WeightDtype } from '../../kernels/index.js';
import type { ModelConfig } from './config.js';
import { isMoeLayer } from './config.js';
import { decodeMxfp4ToBf16, encodeMxfp4 } from '../../kernels/mxfp4.js';
import { readSafetensors, writeSafetensors, type SafetensorsDtype, type SafetensorsWriteEntry } from './safetensors.js';

export interface Tensor {
  dtype: WeightDtype;
  shape: number[];
  /** row-major; f32 -> Float32Array, bf16/f16 -> Uint16Array bits, int8 -> Int8Array. */
  data: Float32Array | Uint16Array | Int8Array;
  /** int8 only: one f32 scale per row (first dimension). */
  scales?: Float32Array;
}

export interface ModelWeights {
  config: ModelConfig;
  tensors: Map<string, Tensor>;
}

export type TensorKind = 'embedding' | 'norm' | 'attention' | 'attentionBias' | 'mlp' | 'router' | 'expert' | 'lmHead';

export interface TensorSpec {
  readonly name: string;
  /** (outDim, inDim) for matrices, as in the checkpoint. */
  readonly shape: readonly number[];
  readonly kind: TensorKind;
  /** Decoder layer, null for embedding, final norm and lm_head. */
  readonly layer: number | null;
  /** Routed expert index for kind 'expert'. */
  readonly expert?: number;
}

/** The Hugging Face names of a layer's tensors (prefix `model.layers.N.`). */
export function layerPrefix(l: number): string {
  return `model.layers.${l}.`;
}

/** Name of the output projection: lm_head.weight, or the embedding when tied. */
export function lmHeadName(cfg: ModelConfig): string {
  return cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}

/** Names of one routed expert's (gate, up, down) matrices in this family's checkpoint layout. */
export function expertNames(cfg: ModelConfig, l: number, e: number): { gate: string; up: string; down: string } {
  const p = layerPrefix(l);
  if (cfg.family === 'mixtral') {
    const q = `${p}block_sparse_moe.experts.${e}.`;
    return { gate: `${q}w1.weight`, up: `${q}w3.weight`, down: `${q}w2.weight` };
  }
  const q = `${p}mlp.experts.${e}.`;
  return { gate: `${q}gate_proj.weight`, up: `${q}up_proj.weight`, down: `${q}down_proj.weight` };
}

/** Name of a MoE layer's router matrix (numExperts, hidden). */
export function routerName(cfg: ModelConfig, l: number): string {
  return cfg.family === 'mixtral' ? `${layerPrefix(l)}block_sparse_moe.gate.weight` : `${layerPrefix(l)}mlp.gate.weight`;
}

/** Families whose checkpoints wafer can load and run (the others are config-only: MXFP4 fused experts, MLA). */
export const RUNNABLE_FAMILIES = Object.freeze(['llama', 'mistral', 'qwen2', 'qwen3', 'mixtral', 'qwen3_moe'] as const);

export function assertRunnableFamily(cfg: ModelConfig, where: string): void {
  if (!(RUNNABLE_FAMILIES as readonly string[]).includes(cfg.family)) {
    throw new InputError(
      `model family ${cfg.family} is config-only (no weights layout or forward pass)`,
      where,
      `use a model of family ${RUNNABLE_FAMILIES.join(', ')}; ${cfg.family} works for projections`,
    );
  }
}

/** Every tensor a checkpoint of this config must hold, in checkpoint order, with its shape. */
export function tensorNames(cfg: ModelConfig): TensorSpec[] {
  assertRunnableFamily(cfg, `model ${cfg.name}`);
  const h = cfg.hiddenSize;
  const qDim = cfg.numHeads * cfg.headDim;
  const kvDim = cfg.numKvHeads * cfg.headDim;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [cfg.vocabSize, h], kind: 'embedding', layer: null }];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = layerPrefix(l);
    const add = (name: string, shape: number[], kind: TensorKind, expert?: number): void => {
      out.push(expert === undefined ? { name: p + name, shape, kind, layer: l } : { name: p + name, shape, kind, layer: l, expert });
    };
    add('input_layernorm.weight', [h], 'norm');
    add('self_attn.q_proj.weight', [qDim, h], 'attention');
    add('self_attn.k_proj.weight', [kvDim, h], 'attention');
    add('self_attn.v_proj.weight', [kvDim, h], 'attention');
    add('self_attn.o_proj.weight', [h, qDim], 'attention');
    if (cfg.attentionBias) {
      add('self_attn.q_proj.bias', [qDim], 'attentionBias');
      add('self_attn.k_proj.bias', [kvDim], 'attentionBias');
      add('self_attn.v_proj.bias', [kvDim], 'attentionBias');
    }
    if (cfg.attentionOutputBias) add('self_attn.o_proj.bias', [h], 'attentionBias');
    if (cfg.qkNorm) {
      add('self_attn.q_norm.weight', [cfg.headDim], 'norm');
      add('self_attn.k_norm.weight', [cfg.headDim], 'norm');
    }
    add('post_attention_layernorm.weight', [h], 'norm');
    if (isMoeLayer(cfg, l)) {
      const m = cfg.moe!;
      const r = routerName(cfg, l).slice(p.length);
      add(r, [m.numExperts, h], 'router');
      for (let e = 0; e < m.numExperts; e++) {
        const n = expertNames(cfg, l, e);
        add(n.gate.slice(p.length), [m.expertIntermediateSize, h], 'expert', e);
        add(n.up.slice(p.length), [m.expertIntermediateSize, h], 'expert', e);
        add(n.down.slice(p.length), [h, m.expertIntermediateSize], 'expert', e);
      }
    } else {
      add('mlp.gate_proj.weight', [cfg.intermediateSize, h], 'mlp');
      add('mlp.up_proj.weight', [cfg.intermediateSize, h], 'mlp');
      add('mlp.down_proj.weight', [h, cfg.intermediateSize], 'mlp');
    }
  }
  out.push({ name: 'model.norm.weight', shape: [h], kind: 'norm', layer: null });
  if (!cfg.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [cfg.vocabSize, h], kind: 'lmHead', layer: null });
  return out;
}

const ST_OF: Record<WeightDtype, SafetensorsDtype> = { f32: 'F32', bf16: 'BF16', f16: 'F16', int8: 'I8' };

/** Suffix of the f32 companion tensor that carries an I8 matrix's per-row scales in wafer's files. */
export const INT8_SCALES_SUFFIX = '.scales';

/**
 * Builds ModelWeights from a parsed config and the bytes of a safetensors file, checking every expected tensor is
 * present with the expected shape. 1-D tensors are converted to f32; matrices keep their dtype. Extra tensors
 * (e.g. rotary inv_freq buffers, a redundant lm_head of a tied model) are ignored.
 */
export function weightsFromSafetensors(config: ModelConfig, file: Uint8Array, source: string): ModelWeights {
  const specs = tensorNames(config);
  const st = readSafetensors(file, source);
  const tensors = new Map<string, Tensor>();
  for (const spec of specs) {
    const raw = st.tensors.get(spec.name);
    const where = `${source}: tensor "${spec.name}"`;
    if (!raw) throw new InputError('missing tensor', where, `the checkpoint must hold it with shape ${JSON.stringify(spec.shape)}`);
    if (raw.shape.length !== spec.shape.length || raw.shape.some((d, i) => d !== spec.shape[i])) {
      throw new InputError(`shape ${JSON.stringify(raw.shape)} does not match the config`, where, `expected ${JSON.stringify(spec.shape)} (check config.json)`);
    }
    const shape = [...raw.shape];
    let t: Tensor;
    switch (raw.dtype) {
      case 'F32':
        t = { dtype: 'f32', shape, data: raw.data as Float32Array };
        break;
      case 'F64':
        t = { dtype: 'f32', shape, data: Float32Array.from(raw.data as Float64Array) };
        break;
      case 'BF16':
        t = { dtype: 'bf16', shape, data: raw.data as Uint16Array };
        break;
      case 'F16':
        t = { dtype: 'f16', shape, data: raw.data as Uint16Array };
        break;
      case 'I8': {
        const s = st.tensors.get(spec.name + INT8_SCALES_SUFFIX);
        if (!s || s.dtype !== 'F32' || s.shape.length !== 1 || s.shape[0] !== shape[0] || shape.length !== 2) {
          throw new InputError('I8 matrix without per-row scales', where, `add an F32 tensor "${spec.name}${INT8_SCALES_SUFFIX}" of shape [${shape[0]}]`);
        }
        t = { dtype: 'int8', shape, data: raw.data as Int8Array, scales: s.data as Float32Array };
        break;
      }
      default:
        throw new InputError(`dtype ${raw.dtype} is not supported for weights`, where, 'store weights as F32, F16, BF16 or I8');
    }
    if (shape.length === 1) t = { dtype: 'f32', shape, data: toF32(t) };
    tensors.set(spec.name, t);
  }
  return { config, tensors };
}

/** Serialises weights in checkpoint order (int8 matrices with their `.scales` companions). */
export function weightsToSafetensors(weights: ModelWeights, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const entries: SafetensorsWriteEntry[] = [];
  for (const spec of tensorNames(weights.config)) {
    const t = requireTensor(weights, spec.name);
    entries.push({ name: spec.name, dtype: ST_OF[t.dtype], shape: t.shape, data: t.data });
    if (t.dtype === 'int8') entries.push({ name: spec.name + INT8_SCALES_SUFFIX, dtype: 'F32', shape: [t.shape[0]], data: t.scales! });
  }
  return writeSafetensors(entries, { format: 'pt', ...metadata });
}

function requireTensor(weights: ModelWeights, name: string): Tensor {
  const t = weights.tensors.get(name);
  if (!t) throw new RangeError(`weights of ${weights.config.name} have no tensor "${name}"`);
  return t;
}

/** A 2-D tensor as a kernels Matrix view over the same storage (no copy). */
export function getMatrix(weights: ModelWeights, name: string): Matrix {
  const t = requireTensor(weights, name);
  if (t.shape.length !== 2) throw new RangeError(`tensor "${name}" has shape ${JSON.stringify(t.shape)}, not a matrix`);
  const [rows, cols] = t.shape;
  switch (t.dtype) {
    case 'f32':
      return { dtype: 'f32', rows, cols, data: t.data as Float32Array };
    case 'bf16':
      return { dtype: 'bf16', rows, cols, data: t.data as Uint16Array };
    case 'f16':
      return { dtype: 'f16', rows, cols, data: t.data as Uint16Array };
    case 'int8':
      if (!t.scales) throw new RangeError(`int8 tensor "${name}" has no scales`);
      return { dtype: 'int8', rows, cols, data: t.data as Int8Array, scales: t.scales };
  }
}

/** A 1-D f32 tensor (norm weight or bias), the stored array itself. */
export function getVector(weights: ModelWeights, name: string): Float32Array {
  const t = requireTensor(weights, name);
  if (t.shape.length !== 1) throw new RangeError(`tensor "${name}" has shape ${JSON.stringify(t.shape)}, not a vector`);
  return t.dtype === 'f32' ? (t.data as Float32Array) : toF32(t);
}

/** The tensor's values as f32 (a copy unless already f32). int8 values are dequantised with their row scales. */
export function toF32(t: Tensor): Float32Array {
  switch (t.dtype) {
    case 'f32':
      return t.data as Float32Array;
    case 'bf16':
      return decodeBf16(t.data as Uint16Array);
    case 'f16':
      return decodeF16(t.data as Uint16Array);
    case 'int8': {
      const cols = t.shape.length === 2 ? t.shape[1] : t.data.length;
      const out = new Float32Array(t.data.length);
      for (let i = 0; i < out.length; i++) out[i] = t.data[i] * t.scales![Math.floor(i / cols)];
      return out;
    }
  }
}

/** The tensor converted to `dtype` (bf16/f16 round to nearest even; int8 per-row symmetric via quantizeInt8Rows). */
export function castTensor(t: Tensor, dtype: WeightDtype): Tensor {
  if (t.dtype === dtype) return t;
  const f = toF32(t);
  const shape = [...t.shape];
  switch (dtype) {
    case 'f32':
      return { dtype, shape, data: f === t.data ? f.slice() : f };
    case 'bf16':
      return { dtype, shape, data: encodeBf16(f) };
    case 'f16':
      return { dtype, shape, data: encodeF16(f) };
    case 'int8': {
      const rows = shape.length === 2 ? shape[0] : 1;
      const q = quantizeInt8Rows(f, rows, f.length / rows);
      return { dtype, shape, data: q.data, scales: q.scales };
    }
  }
}

/** Weights with every matrix cast to `dtype`; 1-D tensors (norms, biases) stay f32. Shares unchanged tensors. */
export function castWeights(weights: ModelWeights, dtype: WeightDtype): ModelWeights {
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of weights.tensors) tensors.set(name, t.shape.length === 2 ? castTensor(t, dtype) : t);
  return { config: weights.config, tensors };
}

/**
 * Weights with every routed expert's matrices rounded to MXFP4 (kernels/mxfp4.ts: blocks of 32 along each row sharing
 * a power-of-two scale), held as bf16, which holds every MXFP4 value exactly; the rest unchanged. The numerics of an
 * MXFP4 expert on the wafer (decoded to bf16, multiplied as bf16), for the reference forward pass.
 */
export function mxfp4Experts(weights: ModelWeights): ModelWeights {
  const cfg = weights.config;
  const tensors = new Map(weights.tensors);
  for (let l = 0; l < cfg.numLayers; l++) {
    if (!isMoeLayer(cfg, l)) continue;
    for (let e = 0; e < cfg.moe!.numExperts; e++) {
      for (const name of Object.values(expertNames(cfg, l, e))) {
        const t = requireTensor(weights, name);
        const [rows, cols] = t.shape;
        tensors.set(name, { dtype: 'bf16', shape: [rows, cols], data: decodeMxfp4ToBf16(encodeMxfp4(toF32(t), rows, cols), rows, cols, new Uint16Array(rows * cols)) });
      }
    }
  }
  return { config: cfg, tensors };
}

/** Total bytes of stored weights (int8 scales included). */
export function weightBytes(weights: ModelWeights): number {
  let n = 0;
  for (const t of weights.tensors.values()) n += t.data.byteLength + (t.scales?.byteLength ?? 0);
  return n;
}
