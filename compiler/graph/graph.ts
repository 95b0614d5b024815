// The layer IR: one model, described as the matrices and vector ops a decode step runs, in execution order.
// Built from a normalised ModelConfig; the wafer compiler, the GPU lowering and the projection all read this one
// description, so they cannot disagree about what a model is.
import type { ModelConfig, MlaConfig } from '../model/config.js';

/** A weight matrix, (rows = outDim, cols = inDim) row-major, named by its Hugging Face tensor. */
export interface MatrixNode {
  tensor: string;
  rows: number;
  cols: number;
  /** What it does: for reports and for dtype rules (e.g. MXFP4 applies to routed experts only). */
  role: 'embedding' | 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down' | 'router' | 'lm_head' | 'mla';
  /** Routed expert index, or -1 (shared expert: -2). */
  expert: number;
}

export interface MlpNode {
  gate: MatrixNode;
  up: MatrixNode;
  down: MatrixNode;
  intermediate: number;
}

export interface MoeNode {
  router: MatrixNode;
  experts: MlpNode[];
  topK: number;
  renormalize: boolean;
  /** Shared experts, run for every token, or null. */
  shared: MlpNode | null;
  routedScale: number;
}

export interface AttentionNode {
  /** Standard attention: q, k, v, o. MLA: q is the composite, `extra` holds the low-rank factors. */
  q: MatrixNode;
  k: MatrixNode;
  v: MatrixNode;
  o: MatrixNode;
  /** MLA low-rank projections (Kimi/DeepSeek); empty otherwise. */
  extra: MatrixNode[];
  qNorm: string | null;
  kNorm: string | null;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  /** Sliding window in positions for this layer, or null for full attention. */
  window: number | null;
  mla: MlaConfig | null;
  /** f32-equivalent values the KV cache holds per token for this layer (K and V, or MLA's compressed latent). */
  kvValuesPerToken: number;
}

export interface LayerNode {
  index: number;
  inputNorm: string;
  postAttentionNorm: string;
  attention: AttentionNode;
  mlp: { kind: 'dense'; dense: MlpNode } | { kind: 'moe'; moe: MoeNode };
}

export interface ModelGraph {
  config: ModelConfig;
  hidden: number;
  eps: number;
  embedding: MatrixNode;
  layers: LayerNode[];
  finalNorm: string;
  /** (vocab, hidden); with tied embeddings the same tensor as the embedding. */
  lmHead: MatrixNode;
}

const matrix = (tensor: string, rows: number, cols: number, role: MatrixNode['role'], expert = -1): MatrixNode => ({ tensor, rows, cols, role, expert });

function mlp(prefix: string, names: [string, string, string], hidden: number, intermediate: number, expert: number): MlpNode {
  return {
    gate: matrix(`${prefix}.${names[0]}.weight`, intermediate, hidden, 'gate', expert),
    up: matrix(`${prefix}.${names[1]}.weight`, intermediate, hidden, 'up', expert),
    down: matrix(`${prefix}.${names[2]}.weight`, hidden, intermediate, 'down', expert),
    intermediate,
  };
}

function attention(cfg: ModelConfig, l: number): AttentionNode {
  const p = `model.layers.${l}.self_attn`;
  const h = cfg.hiddenSize;
  const window = cfg.layerTypes[l] === 'sliding' ? cfg.slidingWindow : null;
  const common = { numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: cfg.headDim, ropeTheta: cfg.ropeTheta, window };
  if (cfg.mla) {
    const m = cfg.mla;
    const qk = m.qkNopeHeadDim + m.qkRopeHeadDim;
    const extra = [
      matrix(`${p}.q_a_proj.weight`, m.qLoraRank, h, 'mla'),
      matrix(`${p}.kv_a_proj_with_mqa.weight`, m.kvLoraRank + m.qkRopeHeadDim, h, 'mla'),
      matrix(`${p}.kv_b_proj.weight`, cfg.numHeads * (m.qkNopeHeadDim + m.vHeadDim), m.kvLoraRank, 'mla'),
    ];
    return {
      ...common,
      q: matrix(`${p}.q_b_proj.weight`, cfg.numHeads * qk, m.qLoraRank, 'q'),
      // MLA has no separate k/v projections: they come out of kv_b_proj (in `extra`); zero-size placeholders keep one shape.
      k: matrix(`${p}.k_proj.absent`, 0, h, 'k'),
      v: matrix(`${p}.v_proj.absent`, 0, h, 'v'),
      o: matrix(`${p}.o_proj.weight`, h, cfg.numHeads * m.vHeadDim, 'o'),
      extra,
      qNorm: null,
      kNorm: null,
      mla: m,
      // The compressed latent and the shared rope key are what MLA caches per token.
      kvValuesPerToken: m.kvLoraRank + m.qkRopeHeadDim,
    };
  }
  const qRows = cfg.numHeads * cfg.headDim;
  const kvRows = cfg.numKvHeads * cfg.headDim;
  return {
    ...common,
    q: matrix(`${p}.q_proj.weight`, qRows, h, 'q'),
    k: matrix(`${p}.k_proj.weight`, kvRows, h, 'k'),
    v: matrix(`${p}.v_proj.weight`, kvRows, h, 'v'),
    o: matrix(`${p}.o_proj.weight`, h, qRows, 'o'),
    extra: [],
    qNorm: cfg.qkNorm ? `${p}.q_norm.weight` : null,
    kNorm: cfg.qkNorm ? `${p}.k_norm.weight` : null,
    mla: null,
    kvValuesPerToken: 2 * kvRows,
  };
}

function mlpOf(cfg: ModelConfig, l: number): LayerNode['mlp'] {
  const h = cfg.hiddenSize;
  const moe = cfg.moe;
  if (!moe || l < moe.firstDenseLayers) {
    const inter = moe ? moe.denseIntermediateSize : cfg.intermediateSize;
    return { kind: 'dense', dense: mlp(`model.layers.${l}.mlp`, ['gate_proj', 'up_proj', 'down_proj'], h, inter, -1) };
  }
  const mixtral = cfg.family === 'mixtral';
  const base = mixtral ? `model.layers.${l}.block_sparse_moe` : `model.layers.${l}.mlp`;
  const names: [string, string, string] = mixtral ? ['w1', 'w3', 'w2'] : ['gate_proj', 'up_proj', 'down_proj'];
  const experts = Array.from({ length: moe.numExperts }, (_, e) => mlp(`${base}.experts.${e}`, names, h, moe.expertIntermediateSize, e));
  const shared =
    moe.numSharedExperts > 0 ? mlp(`${base}.shared_experts`, ['gate_proj', 'up_proj', 'down_proj'], h, moe.sharedIntermediateSize, -2) : null;
  return {
    kind: 'moe',
    moe: {
      router: matrix(`${base}.gate.weight`, moe.numExperts, h, 'router'),
      experts,
      topK: moe.topK,
      renormalize: moe.normTopkProb,
      shared,
      routedScale: moe.routedScalingFactor,
    },
  };
}

export function buildGraph(cfg: ModelConfig): ModelGraph {
  const h = cfg.hiddenSize;
  const layers: LayerNode[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    layers.push({
      index: l,
      inputNorm: `model.layers.${l}.input_layernorm.weight`,
      postAttentionNorm: `model.layers.${l}.post_attention_layernorm.weight`,
      attention: attention(cfg, l),
      mlp: mlpOf(cfg, l),
    });
  }
  const embedding = matrix('model.embed_tokens.weight', cfg.vocabSize, h, 'embedding');
  return {
    config: cfg,
    hidden: h,
    eps: cfg.rmsNormEps,
    embedding,
    layers,
    finalNorm: 'model.norm.weight',
    lmHead: matrix(cfg.tieWordEmbeddings ? embedding.tensor : 'lm_head.weight', cfg.vocabSize, h, 'lm_head'),
  };
}

/** Every weight matrix of one layer (all experts included), in execution order. */
export function layerMatrices(layer: LayerNode): MatrixNode[] {
  const a = layer.attention;
  const out: MatrixNode[] = [...a.extra, a.q, a.k, a.v, a.o].filter((m) => m.rows > 0);
  const addMlp = (m: MlpNode) => out.push(m.gate, m.up, m.down);
  if (layer.mlp.kind === 'dense') addMlp(layer.mlp.dense);
  else {
    out.push(layer.mlp.moe.router);
    layer.mlp.moe.experts.forEach(addMlp);
    if (layer.mlp.moe.shared) addMlp(layer.mlp.moe.shared);
  }
  return out;
}
