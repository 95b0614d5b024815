// The graph the projection lowers, and what it changes to get there. Most models lower as they are; multi-head latent
// attention (Kimi/DeepSeek) has no lowering, so its layers become grouped-query attention holding the same cached
// values per token. Every change is listed in `approximations`, which the report carries.
import { buildGraph, type ModelGraph } from '../graph/graph.js';
import type { ModelConfig } from '../model/config.js';

/** KV heads of the grouped-query stand-in for an MLA layer (K and V of 4 heads of (kvLoraRank + rope)/8 = the latent). */
const MLA_STANDIN_KV_HEADS = 4;

export interface ProjectionGraph {
  graph: ModelGraph;
  approximations: string[];
}

export function projectionGraph(cfg: ModelConfig): ProjectionGraph {
  const approximations: string[] = [];
  let c = cfg;
  if (cfg.mla) {
    const m = cfg.mla;
    const cached = m.kvLoraRank + m.qkRopeHeadDim;
    const headDim = cached / (2 * MLA_STANDIN_KV_HEADS);
    if (Number.isInteger(headDim) && cfg.numHeads % MLA_STANDIN_KV_HEADS === 0) {
      c = { ...cfg, mla: null, numKvHeads: MLA_STANDIN_KV_HEADS, headDim };
      approximations.push(
        `multi-head latent attention lowered as grouped-query attention (${cfg.numHeads} query heads, ${MLA_STANDIN_KV_HEADS} KV heads of ${headDim}): the same ${cached} cached values per token, attention weights ${ratio(standinAttentionWeights(c), mlaAttentionWeights(cfg))}× MLA's`,
      );
    }
  }
  if (cfg.attentionBias || cfg.attentionOutputBias) approximations.push('attention biases not lowered (a vector add per projection)');
  if (cfg.family === 'gpt_oss') approximations.push("gpt-oss attention sinks and its clamped SwiGLU costed as plain attention and SwiGLU");
  if (cfg.slidingWindow !== null && cfg.layerTypes.includes('sliding')) approximations.push(`sliding-window layers hold and attend over at most ${cfg.slidingWindow} positions`);
  if (cfg.moe && cfg.moe.routedScalingFactor !== 1) approximations.push('routed-expert scaling not lowered (one vector scale per MoE layer)');
  return { graph: buildGraph(c), approximations };
}

function mlaAttentionWeights(cfg: ModelConfig): number {
  const m = cfg.mla!;
  const h = cfg.hiddenSize;
  const q = m.qLoraRank > 0 ? h * m.qLoraRank + m.qLoraRank * cfg.numHeads * (m.qkNopeHeadDim + m.qkRopeHeadDim) : h * cfg.numHeads * (m.qkNopeHeadDim + m.qkRopeHeadDim);
  return q + h * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank * cfg.numHeads * (m.qkNopeHeadDim + m.vHeadDim) + cfg.numHeads * m.vHeadDim * h;
}

function standinAttentionWeights(c: ModelConfig): number {
  const h = c.hiddenSize;
  return 2 * h * c.numHeads * c.headDim + 2 * h * c.numKvHeads * c.headDim;
}

function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}
