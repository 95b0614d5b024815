// What every part of the lowering shares: the plan being built, the options, the hub slice geometry and the
// partitions every layer uses. The parts (hub.ts, attention.ts, mlp.ts, moe.ts, ends.ts) take it as their first
// argument instead of closing over the driver's locals.
import { InputError } from '../../../fabric/errors.js';
import type { FabricSpec } from '../../../fabric/spec/schema.js';
import type { LayerNode, MatrixNode, ModelGraph } from '../../graph/graph.js';
import { partitionMatrix, type BlockGrid, type ProgramDtype, dtypeBytes } from '../partition.js';
import type { LogicalTile, PlanBuilder, StreamDecl, TileTag } from '../plan.js';
import { REDUCE_SHAPES, buildRegion, forwardLevelCycles, forwardedReduceCycles, sliceLen, type ReduceShape, type Region } from '../region.js';
import type { Op } from '../../../fabric/isa/types.js';
import { stageBudget, type StageBudgetFractions } from '../balance.js';

export interface LowerOptions {
  dtype: ProgramDtype;
  /** Longest context the KV caches hold. */
  maxSeq: number;
  /** Bytes a tile may spend on buffers. */
  budgetBytes: number;
  spec: FabricSpec;
  /** Most streams one hub tile sends to or receives from one region (each needs its own colour there). */
  maxFan: number;
  /**
   * Lower the embedding table (default true). Without it a stub tile `stage.in` sends the first layer's input at step
   * start: one stage of a model split over wafers, or a single layer evaluated alone (compiler/project).
   */
  embedding?: boolean;
  /** Lower the final norm, LM head and argmax (default true). Without it the last layer's output goes to a stub tile `stage.out`. */
  lmHead?: boolean;
  /** Dtype of the KV caches (default f32); the projection's own `kvDtype` takes precedence. */
  kvDtype?: 'f32' | 'bf16';
  /**
   * Layers after which the model crosses to the next wafer (-1: after the embedding), for a pipeline over wafers run on one engine: the layer's
   * output goes through stage-out stubs that model the link (lower/ends.ts lowerWaferLink). Lowered.waferStarts says
   * where each later wafer's tiles begin.
   */
  waferBoundaries?: readonly number[];
  /** Extensions for real-size models (compiler/project); absent, the lowering is the one the mesh engine runs. */
  projection?: ProjectionLowering;
  /**
   * Columns of x per hub slice (default hubSliceCols: the q/k/v partition's block width). A stage lowered without
   * layers (the embedding or LM head alone) is given its model's, so its slices match the layers'.
   */
  sliceCols?: number;
  /**
   * Most streams a hub slice receives from one region's roots (default: one per root): more roots inside a slice
   * gather their rows up trees of consecutive roots first (hub.ts gatherToSlices), each tree's first root sending the
   * run. Fewer streams into the hub, each needing its own colour there, for a relay per tree level.
   */
  gatherFan?: number;
  /**
   * Most input streams of an MLP's gate+up and down regions (default one per block column). Past it, one stream
   * carries several block columns' x and its tiles hold all of it, multiplying their part: a hub slice sends its part
   * of x to gate+up in fewer streams, and gate+up roots gather their SwiGLU rows up trees (hub.ts gatherRun) whose
   * first root multicasts the run to the down block columns it feeds. Fewer, longer streams cross each region.
   */
  regionInputs?: number;
  /**
   * Most input streams of the LM head (default one per block column), grouped as regionInputs groups an MLP's: its
   * block columns span the whole vocabulary's rows, so each stream crosses every link the region's tiles lie along.
   */
  lmHeadInputs?: number;
  /**
   * Fractions of `budgetBytes` the blocks of q/k/v, of O and of dense MLPs take (balance.ts; default 1 each): smaller
   * blocks where a stage weighs less, so that no stage of a token takes a full tile's matvec for little work.
   */
  stageBudgets?: StageBudgetFractions;
}

/**
 * What the projection adds to the lowering, for models whose pieces do not fit where the toy lowering puts them. The
 * result is costed by estimateStep; chunked KV heads also run on the mesh engine (compileModel's `projection`), and a
 * routed expert that is not lowered is a reserved span of tiles that only takes its place on the mesh.
 * - A KV head whose cache (with its q/k/v buffers) overflows a tile, or that chunks attend over faster, is split over
 *   chunk tiles (kvChunking picks their size); q is multicast to them, each attends over its positions, and the
 *   partials combine up a reduction tree to chunk 0 in pieces, which feeds the O region. The new k/v go to the last
 *   chunk.
 * - An MoE router whose weights overflow the hub becomes a matvec region feeding the hub's logits.
 * - Shared experts (Kimi/DeepSeek) run for every token beside the routed ones; attention biases, sinks, routed scaling
 *   and sliding windows are not lowered as ops (their cost is a few vector ops per layer; a window is the caller's
 *   shorter `maxSeq`).
 */
export interface ProjectionLowering {
  /** Routed experts to lower as tiles and tasks; the others become one reserved tile span each (default: all). */
  lowerExpert?: (layer: number, expert: number) => boolean;
  /** Bits per stored weight of routed experts (MXFP4: 4.25), held packed (see buildRegion); absent: the dtype's. */
  expertWeightBits?: number;
  /**
   * Dtype of the KV cache (default f32). bf16 halves its bytes and runs attention's multiply-adds at the `@fmachs`
   * width (fabric/mesh/cost.ts); the mesh engine runs it too (LowerOptions.kvDtype).
   */
  kvDtype?: 'f32' | 'bf16';
  /**
   * KV positions per chunk tile when a head's cache is chunked: a number, 'fill' (as many as fit), or absent (the
   * cheapest attention over a chunk plus combine among halvings of a full tile: more, smaller chunk tiles).
   */
  kvChunkPositions?: number | 'fill';
  /**
   * Split KV heads over chunk tiles of kvChunkPositions (a number) even where a head's cache fits one tile: the
   * chunked path at a size the mesh engine runs (test/unit/compiler/project/enginePaths2.test.ts).
   */
  kvChunkFitting?: boolean;
  /**
   * Most pieces a chunked KV head's partial goes up its combine tree in (each piece a stream with its own colour);
   * absent: as many as help, within the tiles' colours. The projection asks for fewer where the routes' colours do not fit.
   */
  kvCombinePieces?: number;
  /** The combine's shape (default: the fastest as the engine runs it, forwarding); tests run each on the engine. */
  kvCombineShape?: ReduceShape;
  /**
   * The embedding table's tiles other than one sender held as reserved spans (default true: the projection times
   * one step, whose token one tile sends); false lowers every tile of it, as a run needs (compileModel).
   */
  embeddingSpans?: boolean;
  /** Splits KV heads over chunk tiles (compiler/project/kvChunks.ts); absent, every KV head is one tile. */
  kvChunks?: KvChunker;
}

/** How a chunked KV head is split: positions per chunk tile, chunk tiles, and the shape their partials combine in. */
export interface KvChunking {
  positions: number;
  chunks: number;
  reduce: ReduceShape;
  /** Pieces the partials go up the combine tree in (a stream each per edge). */
  pieces: number;
}

/** The projection's chunked attention, plugged into the lowering (what the mesh engine runs never has it). */
export interface KvChunker {
  /** The split of this model's KV heads (null: one tile each), and the positions a full chunk tile holds in a very long cache. */
  plan(c: LowerContext, qkNorm: boolean): { chunking: KvChunking | null; fillPositions: number };
  /** KV head `g`'s attention over chunk tiles; returns the ops on its attention tile `at` that feed them. */
  lowerHead(c: LowerContext, layer: number, g: number, at: LogicalTile, oInput: StreamDecl, chunking: KvChunking): Op[];
}

export interface LowerContext {
  readonly p: PlanBuilder;
  readonly regions: Region[];
  readonly graph: ModelGraph;
  readonly opts: LowerOptions;
  readonly proj: ProjectionLowering | undefined;
  readonly dtype: ProgramDtype;
  readonly spec: FabricSpec;
  /** Hidden size. */
  readonly d: number;
  /** SIMD lanes of the weights' dtype (reduction costs). */
  readonly simd: number;
  /** Columns of x per hub slice, and hub slices per half-layer. */
  readonly s: number;
  readonly k: number;
  /** A region's block columns nest in the slices (one hub slice then sends all of them): free with one slice. */
  readonly bcDivides: number;
  /** Per layer (0 without layers): q heads per KV head, head dimension, rows of one KV head's q/k/v region. */
  readonly group: number;
  readonly hd: number;
  readonly qkvRows: number;
  readonly qkvGrid: BlockGrid | null;
  readonly oGrid: BlockGrid | null;
  readonly kvDtype: 'f32' | 'bf16';
  readonly kvBytes: number;
  /** MLP partitions by intermediate size and packing (every layer and expert of a size shares them). */
  readonly mlpGridCache: Map<string, { guGrid: BlockGrid; downGrid: BlockGrid; guGroup: number; downGroup: number }>;
}

export function fail(what: string, fix: string): never {
  throw new InputError(what, 'model', fix);
}

export function nonNull<T>(v: T | null): T {
  if (v === null) throw new Error('lower: a layer without its attention partitions');
  return v;
}

/** The q/k/v partition of one KV head (its group's q heads, its k and v heads; block rows aligned to heads). */
export function qkvPartition(a: LayerNode['attention'], hidden: number, maxFan: number, forcedBc: number) {
  return { rows: (a.numHeads / a.numKvHeads + 2) * a.headDim, cols: hidden, matricesPerTile: 1, forcedBc, rowAlign: a.headDim, maxGr: maxFan * 2, maxGc: maxFan };
}

export type PartitionReq = Omit<Parameters<typeof partitionMatrix>[0], 'dtype' | 'budgetBytes'>;

export function partition(c: Pick<LowerContext, 'dtype' | 'opts' | 'spec'>, what: string, req: PartitionReq): BlockGrid {
  const grid = partitionMatrix({ ...req, dtype: c.dtype, budgetBytes: c.opts.budgetBytes });
  if (!grid) fail(`${what} (${req.rows}×${req.cols}) cannot be split into blocks that fit a tile of ${c.spec.sramBytesPerTile} bytes`, 'use a narrower dtype (bf16 or int8) or a fabric with more SRAM per tile');
  return grid;
}

/**
 * Estimated cycles of a region's reduction in `shape` (m matrices per tile): as reduceUp lowers it, forwarding
 * (region.ts forwardedReduceCycles). A merge after a whole receive streams (Task.streams): its task's start, its setup
 * and last element.
 */
export function reduceCycles(c: Pick<LowerContext, 'spec'>, grid: BlockGrid, m: number, shape?: ReduceShape): number {
  if (shape === undefined) return cheapestReduce(c, grid, m).cycles;
  const { spec } = c;
  const add = spec.taskStartCycles + spec.costs.opSetupCycles + 1;
  return forwardedReduceCycles(shape, grid.gc, m * grid.br, spec.hopLatencyCycles, add, forwardLevelCycles(spec));
}

export function chooseReduce(c: LowerContext, grid: BlockGrid, m: number): ReduceShape {
  return cheapestReduce(c, grid, m).shape;
}

/** The cheapest shape and its cycles; on a tie the simpler one (chain, then tree, then K-tree). */
function cheapestReduce(c: Pick<LowerContext, 'spec'>, grid: BlockGrid, m: number): { shape: ReduceShape; cycles: number } {
  let best: { shape: ReduceShape; cycles: number } | null = null;
  for (const shape of REDUCE_SHAPES) {
    const cycles = reduceCycles(c, grid, m, shape);
    if (best === null || cycles < best.cycles) best = { shape, cycles };
  }
  return best!;
}

export function region(c: LowerContext, name: string, group: string, tag: Omit<TileTag, 'index'>, mats: MatrixNode[], grid: BlockGrid, rowMap?: Parameters<typeof buildRegion>[8], shared?: StreamDecl[], packedBits?: number, inputGroup?: number): Region {
  const r = buildRegion(c.p, name, group, tag, mats, grid, c.dtype, chooseReduce(c, grid, rowMap ? rowMap(0).length : mats.length), rowMap, shared, packedBits, inputGroup);
  c.regions.push(r);
  return r;
}

/**
 * Block columns per input stream of a region with `columns` block columns: 1 within `most` streams, else the fewest
 * that keep it within (a divisor of `within` where the groups must nest in a producer's slices; `within` itself
 * where even that is more streams).
 */
export function inputGroup(columns: number, most: number, within: number): number {
  if (columns <= most) return 1;
  const least = Math.ceil(columns / most);
  if (within === columns) return least;
  for (let g = least; g < within; g++) if (within % g === 0) return g;
  return within;
}

/**
 * Block columns per input stream of `grid`, fed by the hub slices, within `most` streams: a group nests in a hub slice
 * (each slice sends its own columns), so with several slices it divides the block columns a slice holds.
 */
export function sliceInputGroup(c: LowerContext, grid: BlockGrid, most: number): number {
  return inputGroup(grid.gc, most, c.k > 1 ? c.s / grid.bc : grid.gc);
}

/** Length of hub slice j. */
export const sl = (c: LowerContext, j: number): number => sliceLen(c.d, c.s, j);

/** The shared state of a lowering of `graph` into `p` with hub slices `s` columns wide. */
export function lowerContext(p: PlanBuilder, graph: ModelGraph, opts: LowerOptions, s: number): LowerContext {
  const { dtype, spec } = opts;
  const d = graph.hidden;
  const simd = dtype === 'f32' ? spec.simdWidth.f32 : dtype === 'int8' ? spec.simdWidth.int8 : spec.simdWidth.f16;
  const k = Math.ceil(d / s);
  const proj = opts.projection;
  // Partitions shared by every layer (a stage may have none: the embedding and LM head alone).
  const a0 = graph.layers.length > 0 ? graph.layers[0].attention : null;
  const group = a0 ? a0.numHeads / a0.numKvHeads : 0;
  const hd = a0 ? a0.headDim : 0;
  const at = (fraction: number | undefined) => ({ dtype, spec, opts: { ...opts, budgetBytes: stageBudget(opts.budgetBytes, fraction) } });
  const qkvGrid = a0 ? partition(at(opts.stageBudgets?.qkv), 'the q/k/v projection of one KV head', qkvPartition(a0, d, opts.maxFan, s)) : null;
  const oGrid = a0 ? partition(at(opts.stageBudgets?.o), 'the attention output projection', { rows: d, cols: a0.numHeads * hd, matricesPerTile: 1, forcedBc: group * hd, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity }) : null;
  const kvDtype = proj?.kvDtype ?? opts.kvDtype ?? 'f32';
  return {
    p,
    regions: [],
    graph,
    opts,
    proj,
    dtype,
    spec,
    d,
    simd,
    s,
    k,
    bcDivides: k > 1 ? s : 0,
    group,
    hd,
    qkvRows: (group + 2) * hd,
    qkvGrid,
    oGrid,
    kvDtype,
    kvBytes: dtypeBytes(kvDtype),
    mlpGridCache: new Map(),
  };
}
