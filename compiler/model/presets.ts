// Model presets, stored as the Hugging Face config.json they stand for (so `wafer model init` can write it out) and
// normalised through parseModelConfig like any user file. Real-size presets are config-only (no weights): each cites
// docs/models.md or the public config.json it was copied from; values the cited sources do
// not give are marked "public config" (transformers/HF hub defaults of that model) and are assumptions here.
import { InputError } from '../../fabric/errors.js';
import { parseModelConfig, type ModelConfig } from './config.js';

export interface ModelPreset {
  readonly name: string;
  readonly description: string;
  /** Where the numbers come from. */
  readonly source: string;
  /** True for toy models meant to run with synthetic weights; false for config-only real-size models. */
  readonly runnable: boolean;
  /** The Hugging Face config.json. */
  readonly hfConfig: Readonly<Record<string, unknown>>;
}

const llama31 = (hidden: number, inter: number, layers: number, heads: number): Record<string, unknown> => ({
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: hidden,
  intermediate_size: inter,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 128256,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  torch_dtype: 'bfloat16',
});

const gptOss = (layers: number, experts: number): Record<string, unknown> => ({
  architectures: ['GptOssForCausalLM'],
  model_type: 'gpt_oss',
  hidden_size: 2880,
  intermediate_size: 2880,
  num_hidden_layers: layers,
  num_attention_heads: 64,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 201088,
  num_local_experts: experts,
  num_experts_per_tok: 4,
  sliding_window: 128,
  layer_types: Array.from({ length: layers }, (_, l) => (l % 2 === 0 ? 'sliding_attention' : 'full_attention')),
  rms_norm_eps: 1e-5,
  rope_theta: 150000,
  rope_scaling: { rope_type: 'yarn', factor: 32, original_max_position_embeddings: 4096, beta_fast: 32, beta_slow: 1 },
  max_position_embeddings: 131072,
  attention_bias: true,
  tie_word_embeddings: false,
  hidden_act: 'silu',
  swiglu_limit: 7,
  quantization_config: { quant_method: 'mxfp4', modules_to_not_convert: ['model.layers.*.self_attn', 'model.layers.*.mlp.router', 'model.embed_tokens', 'lm_head'] },
  torch_dtype: 'bfloat16',
});

const qwen3Dense = (hidden: number, inter: number, layers: number, heads: number, tied: boolean): Record<string, unknown> => ({
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  hidden_size: hidden,
  intermediate_size: inter,
  num_hidden_layers: layers,
  num_attention_heads: heads,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 151936,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  max_position_embeddings: 32768,
  tie_word_embeddings: tied,
  attention_bias: false,
  hidden_act: 'silu',
  torch_dtype: 'bfloat16',
});

const PRESETS: readonly ModelPreset[] = Object.freeze([
  {
    name: 'toy-dense',
    description: 'tiny Llama-family model for mesh simulation (4 layers, hidden 256, GQA 8/4, SwiGLU 688, vocab 512)',
    source: 'wafer toy model (assumption: sized to run cycle by cycle on a small mesh)',
    runnable: true,
    hfConfig: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 256,
      intermediate_size: 688,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      vocab_size: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
      hidden_act: 'silu',
    },
  },
  {
    name: 'toy-moe',
    description: 'tiny Mixtral-family MoE (4 layers, hidden 256, GQA 8/4, 8 experts top-2 of intermediate 256, vocab 512)',
    source: 'wafer toy model (assumption: sized to run cycle by cycle on a small mesh)',
    runnable: true,
    hfConfig: {
      architectures: ['MixtralForCausalLM'],
      model_type: 'mixtral',
      hidden_size: 256,
      intermediate_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      num_local_experts: 8,
      num_experts_per_tok: 2,
      vocab_size: 512,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
      hidden_act: 'silu',
    },
  },
  {
    name: 'gpt2-small-dense',
    description: 'Llama-family model of GPT-2-small size (12 layers, hidden 768, 12 heads, SwiGLU 2048, vocab 50257, tied; ~124M params)',
    source: 'GPT-2 small dimensions (Radford et al. 2019: 12 layers, 768, 12 heads, vocab 50257, tied embeddings) with a Llama block (assumption)',
    runnable: true,
    hfConfig: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 768,
      intermediate_size: 2048,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      num_key_value_heads: 12,
      vocab_size: 50257,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: 1024,
      tie_word_embeddings: true,
      hidden_act: 'silu',
    },
  },
  {
    name: 'tinyllama-1b-dense',
    description: 'Llama-family model of TinyLlama-1.1B width (hidden 2048, 32 heads, vocab 32000) with 24 layers, multi-head attention 32/32 and SwiGLU 2816 (~0.95B params), for int8 mesh runs at 10^5 tiles',
    source: 'TinyLlama-1.1B widths (Zhang et al. 2024, arXiv 2401.02385: hidden 2048, 32 heads, vocab 32000); 24 layers, 32 KV heads and intermediate 2816 instead of 22, 4 and 5632 (assumption: shapes the tile-granular compiler partitions and colours with 24 colours in int8)',
    runnable: true,
    hfConfig: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 2048,
      intermediate_size: 2816,
      num_hidden_layers: 24,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      vocab_size: 32000,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: 2048,
      tie_word_embeddings: false,
      hidden_act: 'silu',
    },
  },
  {
    name: 'llama-3.1-8b',
    description: 'Llama 3.1 8B (dense, 32 layers, 4096, GQA 32/8)',
    source: 'docs/models.md#llama-31 (Llama-3.1-8B row: HF config / arXiv 2407.21783 Table 3); rope_scaling from the public config.json',
    runnable: false,
    hfConfig: llama31(4096, 14336, 32, 32),
  },
  {
    name: 'llama-3.1-70b',
    description: 'Llama 3.1 70B (dense, 80 layers, 8192, GQA 64/8)',
    source: 'docs/models.md#llama-31 (Llama-3.1-70B row); rope_scaling from the public config.json',
    runnable: false,
    hfConfig: llama31(8192, 28672, 80, 64),
  },
  {
    name: 'llama-3.1-405b',
    description: 'Llama 3.1 405B (dense, 126 layers, 16384, GQA 128/8)',
    source: 'docs/models.md#llama-31 (Llama-3.1-405B row); rope_scaling from the public config.json',
    runnable: false,
    hfConfig: llama31(16384, 53248, 126, 128),
  },
  {
    name: 'qwen3-4b',
    description: 'Qwen3 4B (dense, 36 layers, 2560, GQA 32/8, q/k norms, tied embeddings)',
    source: 'docs/models.md#qwen3 (Qwen3-4B row: Qwen3-4B-Base README); rope_theta 1e6 and eps 1e-6 from the public config.json',
    runnable: false,
    hfConfig: qwen3Dense(2560, 9728, 36, 32, true),
  },
  {
    name: 'qwen3-32b',
    description: 'Qwen3 32B (dense, 64 layers, 5120, GQA 64/8, q/k norms)',
    source: 'docs/models.md#qwen3 (Qwen3-32B row: config copies); rope_theta 1e6 and eps 1e-6 from the public config.json',
    runnable: false,
    hfConfig: qwen3Dense(5120, 25600, 64, 64, false),
  },
  {
    name: 'qwen3-235b-a22b',
    description: 'Qwen3 235B-A22B (MoE, 94 layers, 4096, GQA 64/4, 128 experts top-8 of 1536)',
    source: 'docs/models.md#qwen3 (Qwen3-235B-A22B row: Qwen3 tech report, MindSpeed config); intermediate_size 12288 and norm_topk_prob from the public config.json',
    runnable: false,
    hfConfig: {
      architectures: ['Qwen3MoeForCausalLM'],
      model_type: 'qwen3_moe',
      hidden_size: 4096,
      intermediate_size: 12288,
      moe_intermediate_size: 1536,
      num_hidden_layers: 94,
      num_attention_heads: 64,
      num_key_value_heads: 4,
      head_dim: 128,
      vocab_size: 151936,
      num_experts: 128,
      num_experts_per_tok: 8,
      norm_topk_prob: true,
      decoder_sparse_step: 1,
      mlp_only_layers: [],
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      max_position_embeddings: 40960,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      torch_dtype: 'bfloat16',
    },
  },
  {
    name: 'gpt-oss-20b',
    description: 'gpt-oss-20b (MoE, 24 layers, 2880, GQA 64/8, 32 experts top-4, MXFP4 experts, alternating sliding-128 attention)',
    source: 'docs/models.md#gpt-oss (gpt-oss-20b row: OpenAI model card; HF config diff)',
    runnable: false,
    hfConfig: gptOss(24, 32),
  },
  {
    name: 'gpt-oss-120b',
    description: 'gpt-oss-120b (MoE, 36 layers, 2880, GQA 64/8, 128 experts top-4, MXFP4 experts, alternating sliding-128 attention)',
    source: 'docs/models.md#gpt-oss (gpt-oss-120b row: OpenAI model card; HF config copies)',
    runnable: false,
    hfConfig: gptOss(36, 128),
  },
  {
    name: 'mixtral-8x7b',
    description: 'Mixtral 8x7B (MoE, 32 layers, 4096, GQA 32/8, 8 experts top-2 of 14336, vocab 32000)',
    source: 'public config.json of mistralai/Mixtral-8x7B-v0.1 (docs/models.md#mixtral-8x7b)',
    runnable: false,
    hfConfig: {
      architectures: ['MixtralForCausalLM'],
      model_type: 'mixtral',
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      num_local_experts: 8,
      num_experts_per_tok: 2,
      vocab_size: 32000,
      rms_norm_eps: 1e-5,
      rope_theta: 1000000,
      max_position_embeddings: 32768,
      sliding_window: null,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      torch_dtype: 'bfloat16',
    },
  },
  {
    name: 'kimi-k2',
    description: 'Kimi K2 (MLA + MoE, 61 layers = 1 dense + 60 MoE, 7168, 64 heads, 384 experts top-8 of 2048 + 1 shared)',
    source: 'docs/models.md#kimi-k2 (Kimi K2 row: model card table; config copies); rope_theta, eps and routed_scaling_factor from the public config.json',
    runnable: false,
    hfConfig: {
      architectures: ['DeepseekV3ForCausalLM'],
      model_type: 'kimi_k2',
      hidden_size: 7168,
      intermediate_size: 18432,
      moe_intermediate_size: 2048,
      num_hidden_layers: 61,
      num_attention_heads: 64,
      num_key_value_heads: 64,
      n_routed_experts: 384,
      num_experts_per_tok: 8,
      n_shared_experts: 1,
      first_k_dense_replace: 1,
      moe_layer_freq: 1,
      q_lora_rank: 1536,
      kv_lora_rank: 512,
      qk_nope_head_dim: 128,
      qk_rope_head_dim: 64,
      v_head_dim: 128,
      norm_topk_prob: true,
      routed_scaling_factor: 2.827,
      vocab_size: 163840,
      rms_norm_eps: 1e-6,
      rope_theta: 50000,
      max_position_embeddings: 131072,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      torch_dtype: 'bfloat16',
    },
  },
] satisfies ModelPreset[]);

export function listPresets(): readonly ModelPreset[] {
  return PRESETS;
}

export function findPreset(name: string): ModelPreset | undefined {
  return PRESETS.find((p) => p.name === name);
}

/** The preset's normalised config; an unknown name is an InputError listing the presets. */
export function getPreset(name: string, where = 'model preset'): ModelConfig {
  const p = findPreset(name);
  if (!p) {
    throw new InputError(`unknown model preset "${name}"`, where, `use one of ${PRESETS.map((q) => q.name).join(', ')}, or a model directory`);
  }
  return parseModelConfig(p.hfConfig, `preset ${name}`, name);
}
