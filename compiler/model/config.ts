// Hugging Face config.json -> the normalised, frozen ModelConfig every other part of wafer uses.
// Extra keys Hugging Face writes are accepted (z.looseObject); the fields we read are checked for presence and type.
// Defaults follow the transformers library's config classes (LlamaConfig, Qwen3Config, MixtralConfig, ...).
import { z } from 'zod';
import { InputError, inputErrorFromZod, quoteInput } from '../../fabric/errors.js';

export type ModelFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'mixtral' | 'qwen3_moe' | 'gpt_oss' | 'kimi_k2';

export interface MoeConfig {
  readonly numExperts: number;
  readonly topK: number;
  /** Intermediate size of one routed expert. */
  readonly expertIntermediateSize: number;
  /** Renormalise the top-k weights to sum to 1 (Mixtral and gpt-oss always; Qwen3-MoE/Kimi per config). */
  readonly normTopkProb: boolean;
  readonly numSharedExperts: number;
  /** Intermediate size of the shared expert block (all shared experts together), 0 without. */
  readonly sharedIntermediateSize: number;
  /** Leading dense layers before the MoE layers (Kimi/DeepSeek `first_k_dense_replace`), 0 for most. */
  readonly firstDenseLayers: number;
  /** Intermediate size of those leading dense layers. */
  readonly denseIntermediateSize: number;
  /** Scale applied to the routed experts' sum (Kimi `routed_scaling_factor`), 1 for most. */
  readonly routedScalingFactor: number;
}

export interface MlaConfig {
  readonly qLoraRank: number;
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number;
  readonly vHeadDim: number;
}

export interface ModelConfig {
  readonly name: string;
  readonly family: ModelFamily;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  /** Per-head dimension of q and k (for MLA: qkNopeHeadDim + qkRopeHeadDim). */
  readonly headDim: number;
  /** Dense MLP intermediate size (for Mixtral and gpt-oss the same as the expert's). */
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  /** Qwen3: per-head RMSNorm of q and k before RoPE (`self_attn.q_norm`, `self_attn.k_norm`). */
  readonly qkNorm: boolean;
  /** Bias on q/k/v projections (qwen2: q,k,v; llama attention_bias: q,k,v,o; gpt-oss: q,k,v,o). */
  readonly attentionBias: boolean;
  /** Bias on o_proj as well (llama attention_bias, gpt-oss); false for qwen2. */
  readonly attentionOutputBias: boolean;
  readonly maxPositionEmbeddings: number;
  readonly moe: MoeConfig | null;
  readonly mla: MlaConfig | null;
  /** Sliding-window size in positions, for the layers whose layerTypes entry is 'sliding'; null = none. */
  readonly slidingWindow: number | null;
  /** Attention kind per layer (length numLayers): 'sliding' layers see only the last slidingWindow positions. */
  readonly layerTypes: readonly ('full' | 'sliding')[];
  /** Storage format of the routed experts in the released checkpoint (gpt-oss MXFP4, Kimi K2.5+ INT4). */
  readonly expertDtype?: 'mxfp4' | 'int4' | null;
}

export const SUPPORTED_MODEL_TYPES = Object.freeze([
  'llama',
  'mistral',
  'qwen2',
  'qwen3',
  'mixtral',
  'qwen3_moe',
  'gpt_oss',
  'kimi_k2',
  'deepseek_v3',
] as const);
export type HfModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const posNum = z.number().positive();

// Upper bounds. Every dimension and count a config.json may give has one, so no file makes wafer allocate or loop
// without bound (layer tables, expert lists and per-layer graphs are sized by them). Each is several times the largest
// released model of the families here (docs/robustness.md lists them): Llama 3.1 405B has hidden 16384, 126 layers,
// 128 heads, intermediate 53248; Kimi K2 has 384 experts (8 per token), 61 layers; vocabularies reach ~262k;
// contexts reach ~10M positions.
export const MODEL_LIMITS = Object.freeze({
  hiddenSize: 65536,
  layers: 1024,
  heads: 1024,
  headDim: 1024,
  intermediateSize: 262144,
  /** 2^21: token ids stay far inside the i32 the mesh and the GPU emulator carry them in. */
  vocabSize: 1 << 21,
  /** 2^24 positions. */
  positions: 1 << 24,
  experts: 4096,
  /** Routed experts over all layers (Kimi K2: 61 × 384 = 23,424): the graph holds a node for each. */
  layerExperts: 1 << 17,
  loraRank: 65536,
  /** Parameters in all: 10^14, 100× the largest released model (Kimi K2, ~1T). */
  parameters: 1e14,
  /** RoPE bases reach 5·10^5 (Llama 3) to 5·10^7; 10^12 is far above. */
  ropeTheta: 1e12,
  nameChars: 256,
});
const dim = (max: number) => posInt.max(max);
const optPosInt = dim(MODEL_LIMITS.positions).nullish();

/** Keys every decoder-only family here shares. */
const baseShape = {
  model_type: z.string(),
  hidden_size: dim(MODEL_LIMITS.hiddenSize),
  num_hidden_layers: dim(MODEL_LIMITS.layers),
  num_attention_heads: dim(MODEL_LIMITS.heads),
  num_key_value_heads: dim(MODEL_LIMITS.heads).nullish(),
  head_dim: dim(MODEL_LIMITS.headDim).nullish(),
  intermediate_size: dim(MODEL_LIMITS.intermediateSize),
  vocab_size: dim(MODEL_LIMITS.vocabSize),
  rms_norm_eps: posNum.max(1).optional(),
  rope_theta: posNum.max(MODEL_LIMITS.ropeTheta).optional(),
  tie_word_embeddings: z.boolean().optional(),
  max_position_embeddings: dim(MODEL_LIMITS.positions).optional(),
  hidden_act: z.string().optional(),
  name_or_path: z.string().max(MODEL_LIMITS.nameChars).optional(),
  _name_or_path: z.string().max(MODEL_LIMITS.nameChars).optional(),
};
const baseSchema = z.looseObject(baseShape);
const experts = dim(MODEL_LIMITS.experts);
const moeInter = dim(MODEL_LIMITS.intermediateSize);

const llamaSchema = z.looseObject({ ...baseShape, attention_bias: z.boolean().optional(), mlp_bias: z.boolean().optional() });
const mistralSchema = z.looseObject({ ...baseShape, sliding_window: optPosInt });
const qwen2Schema = z.looseObject({ ...baseShape, use_sliding_window: z.boolean().optional(), sliding_window: optPosInt, max_window_layers: nonNegInt.max(MODEL_LIMITS.layers).optional() });
const qwen3Schema = z.looseObject({ ...baseShape, attention_bias: z.boolean().optional(), use_sliding_window: z.boolean().optional(), sliding_window: optPosInt, max_window_layers: nonNegInt.max(MODEL_LIMITS.layers).optional() });
const mixtralSchema = z.looseObject({ ...baseShape, num_local_experts: experts.optional(), num_experts_per_tok: experts.optional(), sliding_window: optPosInt });
const qwen3MoeSchema = z.looseObject({
  ...baseShape,
  attention_bias: z.boolean().optional(),
  num_experts: experts.optional(),
  num_experts_per_tok: experts.optional(),
  moe_intermediate_size: moeInter.optional(),
  norm_topk_prob: z.boolean().optional(),
  decoder_sparse_step: dim(MODEL_LIMITS.layers).optional(),
  mlp_only_layers: z.array(nonNegInt.max(MODEL_LIMITS.layers)).max(MODEL_LIMITS.layers).optional(),
  use_sliding_window: z.boolean().optional(),
  sliding_window: optPosInt,
});
const gptOssSchema = z.looseObject({
  ...baseShape,
  num_local_experts: experts.optional(),
  num_experts_per_tok: experts.optional(),
  sliding_window: optPosInt,
  layer_types: z.array(z.enum(['sliding_attention', 'full_attention'])).max(MODEL_LIMITS.layers).optional(),
  attention_bias: z.boolean().optional(),
  quantization_config: z.looseObject({ quant_method: z.string().optional() }).nullish(),
});
const kimiSchema = z.looseObject({
  ...baseShape,
  moe_intermediate_size: moeInter,
  n_routed_experts: experts,
  num_experts_per_tok: experts,
  n_shared_experts: nonNegInt.max(MODEL_LIMITS.experts).nullish(),
  first_k_dense_replace: nonNegInt.max(MODEL_LIMITS.layers).optional(),
  moe_layer_freq: dim(MODEL_LIMITS.layers).optional(),
  q_lora_rank: dim(MODEL_LIMITS.loraRank).nullish(),
  kv_lora_rank: dim(MODEL_LIMITS.loraRank),
  qk_nope_head_dim: dim(MODEL_LIMITS.headDim),
  qk_rope_head_dim: dim(MODEL_LIMITS.headDim),
  v_head_dim: dim(MODEL_LIMITS.headDim),
  norm_topk_prob: z.boolean().optional(),
  routed_scaling_factor: posNum.max(1e6).optional(),
  attention_bias: z.boolean().optional(),
  quantization_config: z.looseObject({ quant_method: z.string().optional() }).nullish(),
});

function parseWith<S extends z.ZodType>(schema: S, json: unknown, source: string): z.infer<S> {
  const r = schema.safeParse(json);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, json);
  return r.data;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

function requireDivisible(a: number, b: number, source: string, field: string, what: string): void {
  if (a % b !== 0) throw new InputError(`${what}`, `${source}: ${field}`, 'make it divide evenly');
}

/** What every family's parser starts from: the config, the keys all families share, and the defaults they derive. */
interface FamilyInput {
  json: unknown;
  source: string;
  modelType: HfModelType;
  base: z.infer<typeof baseSchema>;
  common: Pick<ModelConfig, 'name' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'intermediateSize' | 'vocabSize' | 'tieWordEmbeddings'>;
  /** hidden_size / num_attention_heads, checked to divide (only where a family derives head_dim). */
  defaultHeadDim: () => number;
  allFull: () => ('full' | 'sliding')[];
  allSliding: () => ('full' | 'sliding')[];
}

/**
 * Validates a Hugging Face config.json object and normalises it. `source` names where it came from (a file path or a
 * preset name); it prefixes the field path in every error and becomes the model's name unless the config names one.
 */
export function parseModelConfig(json: unknown, source: string, name?: string): ModelConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InputError('config is not a JSON object', source, 'give a Hugging Face config.json object');
  }
  const mt = (json as Record<string, unknown>).model_type;
  if (mt === undefined) throw new InputError('missing required field', `${source}: model_type`, 'add "model_type"');
  if (typeof mt !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(mt)) {
    throw new InputError(
      `unsupported model_type ${quoteInput(mt)}`,
      `${source}: model_type`,
      `use one of ${SUPPORTED_MODEL_TYPES.map((t) => JSON.stringify(t)).join(', ')}`,
    );
  }
  const modelType = mt as HfModelType;
  const base = parseWith(baseSchema, json, source);
  const numHeads = base.num_attention_heads;
  const numKvHeads = base.num_key_value_heads ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new InputError(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`, `${source}: num_key_value_heads`, 'give a divisor of num_attention_heads');
  }
  const defaultHeadDim = (): number => {
    requireDivisible(base.hidden_size, numHeads, source, 'hidden_size', `hidden_size ${base.hidden_size} is not a multiple of num_attention_heads ${numHeads}`);
    return base.hidden_size / numHeads;
  };
  if (base.hidden_act !== undefined && base.hidden_act !== 'silu') {
    throw new InputError(`unsupported hidden_act ${quoteInput(base.hidden_act)}`, `${source}: hidden_act`, 'use "silu" (SwiGLU MLP)');
  }
  const modelName = name ?? base._name_or_path ?? base.name_or_path ?? source;
  const common = {
    name: modelName,
    hiddenSize: base.hidden_size,
    numLayers: base.num_hidden_layers,
    numHeads,
    numKvHeads,
    intermediateSize: base.intermediate_size,
    vocabSize: base.vocab_size,
    tieWordEmbeddings: base.tie_word_embeddings ?? false,
  };
  const allFull = (): ('full' | 'sliding')[] => Array.from({ length: base.num_hidden_layers }, () => 'full' as const);
  const allSliding = (): ('full' | 'sliding')[] => Array.from({ length: base.num_hidden_layers }, () => 'sliding' as const);
  const cfg = FAMILY_PARSERS[modelType]({ json, source, modelType, base, common, defaultHeadDim, allFull, allSliding });
  checkTotals(cfg, source);
  return deepFreeze(cfg);
}

function parseLlama(f: FamilyInput): ModelConfig {
  const { json, source, common, defaultHeadDim, allFull } = f;
  const c = parseWith(llamaSchema, json, source);
  if (c.mlp_bias === true) throw new InputError('mlp_bias true is not supported', `${source}: mlp_bias`, 'remove it or set it to false');
  return {
    ...common,
    family: 'llama',
    headDim: c.head_dim ?? defaultHeadDim(),
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    qkNorm: false,
    attentionBias: c.attention_bias ?? false,
    attentionOutputBias: c.attention_bias ?? false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 2048,
    moe: null,
    mla: null,
    slidingWindow: null,
    layerTypes: allFull(),
    expertDtype: null,
  };
}

function parseMistral(f: FamilyInput): ModelConfig {
  const { json, source, common, defaultHeadDim, allFull, allSliding } = f;
  const c = parseWith(mistralSchema, json, source);
  const sw = c.sliding_window === undefined ? 4096 : c.sliding_window;
  return {
    ...common,
    family: 'mistral',
    headDim: c.head_dim ?? defaultHeadDim(),
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    qkNorm: false,
    attentionBias: false,
    attentionOutputBias: false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 4096 * 32,
    moe: null,
    mla: null,
    slidingWindow: sw ?? null,
    layerTypes: sw ? allSliding() : allFull(),
    expertDtype: null,
  };
}

function parseQwen(f: FamilyInput): ModelConfig {
  const { json, source, modelType, base, common, defaultHeadDim } = f;
  const c = parseWith(modelType === 'qwen2' ? qwen2Schema : qwen3Schema, json, source);
  const useSw = c.use_sliding_window === true && c.sliding_window != null;
  const maxWindowLayers = c.max_window_layers ?? base.num_hidden_layers;
  let cfg: ModelConfig = {
    ...common,
    family: modelType === 'qwen2' ? 'qwen2' : 'qwen3',
    // Qwen3Config defaults head_dim to 128; Qwen2 derives it.
    headDim: c.head_dim ?? (modelType === 'qwen3' ? 128 : defaultHeadDim()),
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    qkNorm: modelType === 'qwen3',
    attentionBias: modelType === 'qwen2' ? true : (((c as { attention_bias?: boolean }).attention_bias) ?? false),
    attentionOutputBias: false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 32768,
    moe: null,
    mla: null,
    slidingWindow: useSw ? c.sliding_window! : null,
    // transformers: layers with index >= max_window_layers use the sliding window when use_sliding_window.
    layerTypes: Array.from({ length: base.num_hidden_layers }, (_, l) => (useSw && l >= maxWindowLayers ? 'sliding' : 'full')),
    expertDtype: null,
  };
  if (useSw && !cfg.layerTypes.includes('sliding')) cfg = { ...cfg, slidingWindow: null };
  if (modelType === 'qwen3' && cfg.attentionBias) cfg = { ...cfg, attentionOutputBias: true };
  return cfg;
}

function parseMixtral(f: FamilyInput): ModelConfig {
  const { json, source, common, defaultHeadDim, allFull, allSliding } = f;
  const c = parseWith(mixtralSchema, json, source);
  const numExperts = c.num_local_experts ?? 8;
  const topK = c.num_experts_per_tok ?? 2;
  checkTopK(topK, numExperts, source, 'num_local_experts');
  return {
    ...common,
    family: 'mixtral',
    headDim: c.head_dim ?? defaultHeadDim(),
    rmsNormEps: c.rms_norm_eps ?? 1e-5,
    ropeTheta: c.rope_theta ?? 1e6,
    qkNorm: false,
    attentionBias: false,
    attentionOutputBias: false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 4096 * 32,
    moe: moeOf({ numExperts, topK, expertIntermediateSize: c.intermediate_size, normTopkProb: true }, c.intermediate_size),
    mla: null,
    slidingWindow: c.sliding_window ?? null,
    layerTypes: c.sliding_window ? allSliding() : allFull(),
    expertDtype: null,
  };
}

function parseQwen3Moe(f: FamilyInput): ModelConfig {
  const { json, source, common, defaultHeadDim, allFull, allSliding } = f;
  const c = parseWith(qwen3MoeSchema, json, source);
  const numExperts = c.num_experts ?? 128;
  const topK = c.num_experts_per_tok ?? 8;
  checkTopK(topK, numExperts, source, 'num_experts');
  if ((c.decoder_sparse_step ?? 1) !== 1) {
    throw new InputError('decoder_sparse_step other than 1 is not supported', `${source}: decoder_sparse_step`, 'set it to 1');
  }
  if ((c.mlp_only_layers ?? []).length > 0) {
    throw new InputError('mlp_only_layers is not supported', `${source}: mlp_only_layers`, 'remove it or make it []');
  }
  const useSw = c.use_sliding_window === true && c.sliding_window != null;
  return {
    ...common,
    family: 'qwen3_moe',
    headDim: c.head_dim ?? defaultHeadDim(),
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    qkNorm: true,
    attentionBias: c.attention_bias ?? false,
    attentionOutputBias: c.attention_bias ?? false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 32768,
    moe: moeOf({ numExperts, topK, expertIntermediateSize: c.moe_intermediate_size ?? 768, normTopkProb: c.norm_topk_prob ?? false }, c.intermediate_size),
    mla: null,
    slidingWindow: useSw ? c.sliding_window! : null,
    layerTypes: useSw ? allSliding() : allFull(),
    expertDtype: null,
  };
}

function parseGptOss(f: FamilyInput): ModelConfig {
  const { json, source, base, common, allFull } = f;
  const c = parseWith(gptOssSchema, json, source);
  const numExperts = c.num_local_experts ?? 128;
  const topK = c.num_experts_per_tok ?? 4;
  checkTopK(topK, numExperts, source, 'num_local_experts');
  const layerTypes: ('full' | 'sliding')[] = c.layer_types
    ? c.layer_types.map((t) => (t === 'sliding_attention' ? 'sliding' : 'full'))
    : Array.from({ length: base.num_hidden_layers }, (_, l) => (l % 2 === 0 ? 'sliding' : 'full'));
  if (layerTypes.length !== base.num_hidden_layers) {
    throw new InputError(`layer_types has ${layerTypes.length} entries for ${base.num_hidden_layers} layers`, `${source}: layer_types`, 'give one entry per layer');
  }
  let cfg: ModelConfig = {
    ...common,
    family: 'gpt_oss',
    headDim: c.head_dim ?? 64,
    rmsNormEps: c.rms_norm_eps ?? 1e-5,
    ropeTheta: c.rope_theta ?? 150000,
    qkNorm: false,
    attentionBias: c.attention_bias ?? true,
    attentionOutputBias: c.attention_bias ?? true,
    maxPositionEmbeddings: c.max_position_embeddings ?? 131072,
    moe: moeOf({ numExperts, topK, expertIntermediateSize: c.intermediate_size, normTopkProb: true }, c.intermediate_size),
    mla: null,
    slidingWindow: c.sliding_window === undefined ? 128 : c.sliding_window,
    layerTypes,
    expertDtype: c.quantization_config?.quant_method === 'mxfp4' ? 'mxfp4' : null,
  };
  if (cfg.slidingWindow === null) cfg = { ...cfg, layerTypes: allFull() };
  return cfg;
}

function parseKimi(f: FamilyInput): ModelConfig {
  const { json, source, base, common, allFull } = f;
  const c = parseWith(kimiSchema, json, source);
  checkTopK(c.num_experts_per_tok, c.n_routed_experts, source, 'n_routed_experts');
  if ((c.moe_layer_freq ?? 1) !== 1) throw new InputError('moe_layer_freq other than 1 is not supported', `${source}: moe_layer_freq`, 'set it to 1');
  const firstDense = c.first_k_dense_replace ?? 0;
  if (firstDense > base.num_hidden_layers) {
    throw new InputError(`first_k_dense_replace ${firstDense} exceeds num_hidden_layers ${base.num_hidden_layers}`, `${source}: first_k_dense_replace`, 'give at most num_hidden_layers');
  }
  const numShared = c.n_shared_experts ?? 0;
  const qm = c.quantization_config as { quant_method?: string; config_groups?: Record<string, { weights?: { num_bits?: number } }> } | null | undefined;
  const int4 = qm?.quant_method === 'compressed-tensors' && Object.values(qm.config_groups ?? {}).some((g) => g.weights?.num_bits === 4);
  return {
    ...common,
    family: 'kimi_k2',
    headDim: c.qk_nope_head_dim + c.qk_rope_head_dim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta: c.rope_theta ?? 10000,
    qkNorm: false,
    attentionBias: c.attention_bias ?? false,
    attentionOutputBias: false,
    maxPositionEmbeddings: c.max_position_embeddings ?? 4096,
    moe: {
      numExperts: c.n_routed_experts,
      topK: c.num_experts_per_tok,
      expertIntermediateSize: c.moe_intermediate_size,
      normTopkProb: c.norm_topk_prob ?? false,
      numSharedExperts: numShared,
      sharedIntermediateSize: numShared * c.moe_intermediate_size,
      firstDenseLayers: firstDense,
      denseIntermediateSize: c.intermediate_size,
      routedScalingFactor: c.routed_scaling_factor ?? 1,
    },
    mla: {
      qLoraRank: c.q_lora_rank ?? 0,
      kvLoraRank: c.kv_lora_rank,
      qkNopeHeadDim: c.qk_nope_head_dim,
      qkRopeHeadDim: c.qk_rope_head_dim,
      vHeadDim: c.v_head_dim,
    },
    slidingWindow: null,
    layerTypes: allFull(),
    expertDtype: int4 ? 'int4' : null,
  };
}

const FAMILY_PARSERS: Readonly<Record<HfModelType, (f: FamilyInput) => ModelConfig>> = {
  llama: parseLlama,
  mistral: parseMistral,
  qwen2: parseQwen,
  qwen3: parseQwen,
  mixtral: parseMixtral,
  qwen3_moe: parseQwen3Moe,
  gpt_oss: parseGptOss,
  kimi_k2: parseKimi,
  deepseek_v3: parseKimi,
};

/** Cross-field bounds no single field shows: routed experts over all layers, and parameters in all. */
function checkTotals(cfg: ModelConfig, source: string): void {
  if (cfg.moe && cfg.numLayers * cfg.moe.numExperts > MODEL_LIMITS.layerExperts) {
    throw new InputError(
      `${cfg.numLayers} layers × ${cfg.moe.numExperts} experts is more than ${MODEL_LIMITS.layerExperts} routed experts in all`,
      `${source}: num_hidden_layers`,
      'give fewer layers or experts (the largest released model has ~23,000)',
    );
  }
  const total = countParameters(cfg).total;
  if (total > MODEL_LIMITS.parameters) {
    throw new InputError(`${total.toExponential(2)} parameters is more than ${MODEL_LIMITS.parameters.toExponential(0)}`, `${source}: hidden_size`, 'give smaller dimensions (the largest released model has ~10^12)');
  }
}

function checkTopK(topK: number, numExperts: number, source: string, expertsField: string): void {
  if (topK > numExperts) {
    throw new InputError(`num_experts_per_tok ${topK} exceeds ${expertsField} ${numExperts}`, `${source}: num_experts_per_tok`, `give at most ${numExperts}`);
  }
}

function moeOf(m: { numExperts: number; topK: number; expertIntermediateSize: number; normTopkProb: boolean }, denseIntermediateSize: number): MoeConfig {
  return { ...m, numSharedExperts: 0, sharedIntermediateSize: 0, firstDenseLayers: 0, denseIntermediateSize, routedScalingFactor: 1 };
}

/** True when layer `l` has routed experts (MoE model, past the leading dense layers). */
export function isMoeLayer(cfg: ModelConfig, l: number): boolean {
  return cfg.moe !== null && l >= cfg.moe.firstDenseLayers;
}

export interface ParameterCount {
  total: number;
  activePerToken: number;
  byKind: { embedding: number; attention: number; mlp: number; experts: number; router: number; norms: number; lmHead: number };
}

/** Parameters of one layer's attention block (projections and their biases, sinks; q/k norms count as norms). */
export function attentionParameters(cfg: ModelConfig): number {
  const h = cfg.hiddenSize;
  if (cfg.mla) {
    const m = cfg.mla;
    const qHead = m.qkNopeHeadDim + m.qkRopeHeadDim;
    const q = m.qLoraRank > 0 ? h * m.qLoraRank + m.qLoraRank * cfg.numHeads * qHead : h * cfg.numHeads * qHead;
    const kvA = h * (m.kvLoraRank + m.qkRopeHeadDim);
    const kvB = m.kvLoraRank * cfg.numHeads * (m.qkNopeHeadDim + m.vHeadDim);
    const o = cfg.numHeads * m.vHeadDim * h;
    return q + kvA + kvB + o;
  }
  const qDim = cfg.numHeads * cfg.headDim;
  const kvDim = cfg.numKvHeads * cfg.headDim;
  let n = h * qDim + 2 * h * kvDim + qDim * h;
  if (cfg.attentionBias) n += qDim + 2 * kvDim;
  if (cfg.attentionOutputBias) n += h;
  if (cfg.family === 'gpt_oss') n += cfg.numHeads; // attention sinks
  return n;
}

/**
 * Parameter counts by kind. activePerToken counts everything except the routed experts not chosen (top-k of them
 * count), embedding and lm_head included: gpt-oss-120b gives 116.83B / 5.71B; its model card quotes 5.13B active,
 * which leaves out the 0.58B embedding table.
 */
export function countParameters(cfg: ModelConfig): ParameterCount {
  const h = cfg.hiddenSize;
  const L = cfg.numLayers;
  const embedding = cfg.vocabSize * h;
  const lmHead = cfg.tieWordEmbeddings ? 0 : cfg.vocabSize * h;
  const attention = L * attentionParameters(cfg);
  let normsPerLayer = 2 * h;
  if (cfg.qkNorm) normsPerLayer += 2 * cfg.headDim;
  if (cfg.mla) normsPerLayer += cfg.mla.kvLoraRank + cfg.mla.qLoraRank;
  const norms = L * normsPerLayer + h;
  let mlp = 0;
  let experts = 0;
  let activeExperts = 0;
  let router = 0;
  const gpt = cfg.family === 'gpt_oss';
  for (let l = 0; l < L; l++) {
    if (!isMoeLayer(cfg, l)) {
      const inter = cfg.moe ? cfg.moe.denseIntermediateSize : cfg.intermediateSize;
      mlp += 3 * h * inter;
      continue;
    }
    const m = cfg.moe!;
    // gpt-oss experts carry biases on gate_up (2I) and down (h); its router has a bias.
    const perExpert = 3 * h * m.expertIntermediateSize + (gpt ? 2 * m.expertIntermediateSize + h : 0);
    experts += m.numExperts * perExpert;
    activeExperts += m.topK * perExpert;
    router += m.numExperts * h + (gpt ? m.numExperts : 0);
    // Shared experts are always active: counted as mlp.
    mlp += 3 * h * m.sharedIntermediateSize;
  }
  const total = embedding + attention + mlp + experts + router + norms + lmHead;
  return { total, activePerToken: total - experts + activeExperts, byKind: { embedding, attention, mlp, experts, router, norms, lmHead } };
}

/** KV-cache elements stored per token over all layers (MLA caches the compressed latent plus the rope key). */
export function kvCacheElementsPerToken(cfg: ModelConfig): number {
  if (cfg.mla) return cfg.numLayers * (cfg.mla.kvLoraRank + cfg.mla.qkRopeHeadDim);
  return cfg.numLayers * 2 * cfg.numKvHeads * cfg.headDim;
}
