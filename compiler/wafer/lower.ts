// Lowering: the layer graph -> a logical plan of tiles, tasks and streams for one decode step.
//
// Per layer: the attention hub — k slice tiles, slice j holding x[j·s, (j+1)·s) of the residual — normalises x (a
// sum of squares per slice, added up a tree and multicast back) and each slice feeds block column j of the QKV
// regions (one per KV head, rows aligned to heads); each KV head's attention tile gathers q/k/v from its region's
// roots, applies RoPE, appends to its KV cache (in its SRAM) and attends; its output feeds one row of the O region,
// whose roots return each slice its rows (residual add). The MLP hub's slices do the same for gate+up (whose roots
// apply SwiGLU and feed the down region's rows directly) and down; an MoE hub's slices feed a router region, run the
// same top-k on the logits slice 0 multicasts, dispatch their parts to the chosen experts' regions only and combine
// the rows that come back.
import type { LayerNode, ModelGraph } from '../graph/graph.js';
import { partitionMatrix, type BlockGrid } from './partition.js';
import { PlanBuilder, type StreamDecl } from './plan.js';
import type { Region } from './region.js';
import { fail, lowerContext, qkvPartition, sl, type KvChunking, type LowerContext, type LowerOptions } from './lower/context.js';
import { hubSlices, normSlices, receiveSlices } from './lower/hub.js';
import { lowerAttention } from './lower/attention.js';
import { lowerDenseMlp } from './lower/mlp.js';
import { lowerMoe } from './lower/moe.js';
import { lmHeadGrid, lowerEmbedding, lowerLmHead, lowerStageOut, lowerWaferLink } from './lower/ends.js';

export type { KvChunker, KvChunking, LowerOptions, ProjectionLowering } from './lower/context.js';

export interface Lowered {
  plan: PlanBuilder;
  regions: Region[];
  /** Tiles the host writes the step's token into (buffer "tok"). */
  tokenTiles: number[];
  logitOutputs: { name: string; offset: number }[];
  /** Projection: KV positions a chunk tile holds when full, for a cache far longer than one tile's. */
  kvFillPositions?: number;
  /** Projection: how chunked KV heads are split and combined (absent: one tile per KV head). */
  kvChunking?: KvChunking;
  /** With waferBoundaries: the first logical tile of each wafer after the first. */
  waferStarts?: number[];
}

export function checkCompilable(graph: ModelGraph): void {
  const c = graph.config;
  if (c.mla) fail(`${c.name} uses multi-head latent attention, which the mesh compiler does not lower`, 'use `wafer project` for this model');
  if (c.attentionBias) fail(`${c.name} has attention biases, which the mesh compiler does not lower`, 'use `wafer project` or a llama/mistral/qwen3/mixtral model');
  if (graph.layers.some((l) => l.attention.window !== null)) fail(`${c.name} has sliding-window layers, which the mesh compiler does not lower`, 'use `wafer project`');
  if (c.moe && (c.moe.numSharedExperts > 0 || c.moe.routedScalingFactor !== 1)) fail(`${c.name} has shared experts or routed scaling`, 'use `wafer project` for this model');
  if (c.family === 'gpt_oss') fail(`${c.name} (gpt_oss) is not lowered to the mesh`, 'use `wafer project`');
}

/** What even the projection's lowering refuses. */
export function checkProjectable(graph: ModelGraph): void {
  const c = graph.config;
  if (c.mla) fail(`${c.name} uses multi-head latent attention, which the wafer lowering does not lower`, 'compiler/project lowers MLA layers through an equivalent graph (projectionGraph)');
}

/**
 * Columns of x each hub slice owns: the q/k/v partition's natural input block width, so that every block column of
 * every region fed from a hub takes its input from exactly one slice. d when the graph has no layers.
 */
export function hubSliceCols(graph: ModelGraph, opts: Pick<LowerOptions, 'dtype' | 'budgetBytes' | 'maxFan'>): number {
  const a0 = graph.layers.length > 0 ? graph.layers[0].attention : null;
  if (!a0) return graph.hidden;
  const grid = partitionMatrix({ ...qkvPartition(a0, graph.hidden, opts.maxFan, 0), dtype: opts.dtype, budgetBytes: opts.budgetBytes });
  return grid ? grid.bc : graph.hidden;
}

/**
 * Projection: the KV chunking lowerModel would choose for `graph` under `opts` (null: none), found from the lowering's
 * context alone — the partitions, not the plan — so that a caller can tell two requests that lower alike apart from
 * two that do not. Throws what lowerModel would throw first where the context or the chunking cannot be made.
 */
export function kvChunkingOf(graph: ModelGraph, opts: LowerOptions): KvChunking | null {
  const a0 = graph.layers.length > 0 ? graph.layers[0].attention : null;
  const chunker = opts.projection?.kvChunks;
  if (!a0 || !chunker) return null;
  checkProjectable(graph);
  const c = lowerContext(new PlanBuilder(), graph, opts, opts.sliceCols ?? hubSliceCols(graph, opts));
  return chunker.plan(c, a0.qNorm !== null).chunking;
}

/**
 * The LM head's hub slice width, blocks and input grouping for `opts` (ends.ts lmHeadGrid): what an LM head's
 * lowering takes from the fan-out, found without lowering it, so that two fan-outs that lower it alike are told apart
 * from two that do not. Throws what lowerModel would throw first where its blocks cannot be made.
 */
export function lmHeadLayoutOf(graph: ModelGraph, opts: LowerOptions): { sliceCols: number; grid: BlockGrid; group: number } {
  const sliceCols = opts.sliceCols ?? hubSliceCols(graph, opts);
  return { sliceCols, ...lmHeadGrid(lowerContext(new PlanBuilder(), { ...graph, layers: [] }, opts, sliceCols)) };
}

export function lowerModel(graph: ModelGraph, opts: LowerOptions): Lowered {
  const proj = opts.projection;
  if (proj) checkProjectable(graph);
  else checkCompilable(graph);
  const p = new PlanBuilder();
  const d = graph.hidden;
  const s = opts.sliceCols ?? hubSliceCols(graph, opts);
  if (!(Number.isInteger(s) && s >= 1 && s <= d)) throw new Error(`lower: hub slice width ${s} is not in [1, ${d}]`);
  const c = lowerContext(p, graph, opts, s);
  const a0 = graph.layers.length > 0 ? graph.layers[0].attention : null;
  // Projection: how KV heads split over chunk tiles, and the positions a full chunk tile holds in a very long cache
  // (what the longest context is sized by).
  const chunks = a0 && proj?.kvChunks ? proj.kvChunks.plan(c, a0.qNorm !== null) : null;
  const kvFillPositions = chunks?.fillPositions;
  const kvChunking = chunks?.chunking ?? undefined;

  const { xIn: first, tokenTiles } = lowerEmbedding(c);
  let xIn = first;
  const waferStarts: number[] = [];
  // Across a wafer boundary after layer `after` (-1: after the embedding).
  const cross = (after: number) => {
    if (!opts.waferBoundaries?.includes(after)) return;
    xIn = lowerWaferLink(c, xIn, waferStarts.length + 1);
    waferStarts.push(p.tiles.length);
  };
  cross(-1);
  for (const layer of graph.layers) {
    xIn = lowerLayer(c, layer, lowerAttention(c, layer, xIn, chunks?.chunking ?? null));
    cross(layer.index);
  }
  const more = opts.waferBoundaries ? { waferStarts } : {};
  if (opts.lmHead === false) {
    lowerStageOut(c, xIn);
    return { plan: p, regions: c.regions, tokenTiles, logitOutputs: [], kvFillPositions, kvChunking, ...more };
  }
  return { plan: p, regions: c.regions, tokenTiles, logitOutputs: lowerLmHead(c, xIn), kvFillPositions, kvChunking, ...more };
}

/** A layer's MLP half, fed by the attention half's `toMlp`: its hub slices, then the dense MLP or the MoE; returns the layer's output streams. */
function lowerLayer(c: LowerContext, layer: LayerNode, toMlp: StreamDecl[]): StreamDecl[] {
  const { p } = c;
  const L = `L${layer.index}`;
  const hubM = hubSlices(c, `${L}.mlp.hub`, `${L}.mlp`, { unit: 'mlp-hub', layer: layer.index, expert: null }, layer.postAttentionNorm);
  const out = hubM.map((t, j) => p.stream([t.id], [], sl(c, j), 'transfer', `${L}.out${j}`));
  const normed = normSlices(c, hubM, receiveSlices(c, hubM, toMlp, `${L}.mlp.norm`), `${L}.mlp.norm`);
  if (layer.mlp.kind === 'dense') lowerDenseMlp(c, layer.index, layer.mlp.dense, hubM, normed, out);
  else lowerMoe(c, layer, layer.mlp.moe, hubM, normed, out);
  return out;
}
