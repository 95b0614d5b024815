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
import { InputError } from '../../fabric/errors.js';
import { f32AddWidth, opCost } from '../../fabric/mesh/cost.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { Op, Task } from '../../fabric/isa/types.js';
import type { LayerNode, MatrixNode, MlpNode, ModelGraph } from '../graph/graph.js';
import { partitionCandidates, partitionMatrix, type BlockGrid, type ProgramDtype, dtypeBytes } from './partition.js';
import { PlanBuilder, slice, zeros, type LogicalTile, type StreamDecl } from './plan.js';
import { COMBINE_SHAPES, REDUCE_SHAPES, buildRegion, reduceChildren, reduceCostCycles, reduceUp, sliceLen, type ReduceShape, type Region } from './region.js';

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
  /** Extensions for real-size models (compiler/project); absent, the lowering is the one the mesh engine runs. */
  projection?: ProjectionLowering;
  /**
   * Columns of x per hub slice (default hubSliceCols: the q/k/v partition's block width). A stage lowered without
   * layers (the embedding or LM head alone) is given its model's, so its slices match the layers'.
   */
  sliceCols?: number;
}

/**
 * What the projection adds to the lowering, for models whose pieces do not fit where the toy lowering puts them. The
 * result is costed by estimateStep, never run: a chunked KV head's combine is charged as two f32 vector adds over the
 * partial (the rescale-and-add of flash-decoding's combine, without its 2·group exponentials), and a routed expert that
 * is not lowered is a reserved span of tiles that only takes its place on the mesh.
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
   * Dtype of the KV cache (default f32, as the mesh engine holds it). bf16 halves its bytes and runs attention's
   * multiply-adds at the `@fmachs` width (fabric/mesh/cost.ts); the engine's program validator refuses it, so a plan
   * lowered with it is only ever estimated.
   */
  kvDtype?: 'f32' | 'bf16';
  /**
   * KV positions per chunk tile when a head's cache is chunked: a number, 'fill' (as many as fit), or absent (the
   * cheapest attention over a chunk plus combine among halvings of a full tile: more, smaller chunk tiles).
   */
  kvChunkPositions?: number | 'fill';
}

export interface Lowered {
  plan: PlanBuilder;
  regions: Region[];
  /** Tiles the host writes the step's token into (buffer "tok"). */
  tokenTiles: number[];
  logitOutputs: { name: string; offset: number }[];
  /** Projection: KV positions a chunk tile holds when full, for a cache far longer than one tile's. */
  kvFillPositions?: number;
}

function fail(what: string, fix: string): never {
  throw new InputError(what, 'model', fix);
}

function nonNull<T>(v: T | null): T {
  if (v === null) throw new Error('lower: a layer without its attention partitions');
  return v;
}

/** An MLP's gate+up / down shapes may take this fraction more tiles than the fewest for cheaper reductions. */
const MLP_TILE_SLACK = 0.02;

/** Pieces a chunked KV head's partial goes up its combine tree in: about 128 floats each, at most 8. */
export function combinePieces(partLen: number): number {
  return Math.max(1, Math.min(8, Math.floor(partLen / 128)));
}

/**
 * A KV cache that fits its tile is split over chunk tiles for speed only where one tile's attention over it takes at
 * least this long: below it the attention is short next to a layer (and the toys, whose projection is checked against
 * the mesh engine, which never splits, stay as the engine runs them).
 */
const MIN_SPLIT_ATTENTION_CYCLES = 4096;

/** A context long enough to size chunk tiles for "the longest context the tiles could hold" (2^20 positions). */
const LONG_CONTEXT = 1 << 20;

/** Most chunk tiles one KV head's cache is split over (the projection's search stops there). */
const MAX_KV_CHUNKS = 4096;

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

/** The q/k/v partition of one KV head (its group's q heads, its k and v heads; block rows aligned to heads). */
function qkvPartition(a: LayerNode['attention'], hidden: number, maxFan: number, forcedBc: number) {
  return { rows: (a.numHeads / a.numKvHeads + 2) * a.headDim, cols: hidden, matricesPerTile: 1, forcedBc, rowAlign: a.headDim, maxGr: maxFan * 2, maxGc: maxFan };
}

export function lowerModel(graph: ModelGraph, opts: LowerOptions): Lowered {
  const proj = opts.projection;
  if (proj) checkProjectable(graph);
  else checkCompilable(graph);
  const p = new PlanBuilder();
  const regions: Region[] = [];
  const { dtype, spec } = opts;
  const d = graph.hidden;
  const simd = dtype === 'f32' ? spec.simdWidth.f32 : dtype === 'int8' ? spec.simdWidth.int8 : spec.simdWidth.f16;

  const partition = (what: string, req: Omit<Parameters<typeof partitionMatrix>[0], 'dtype' | 'budgetBytes'>): BlockGrid => {
    const grid = partitionMatrix({ ...req, dtype, budgetBytes: opts.budgetBytes });
    if (!grid) fail(`${what} (${req.rows}×${req.cols}) cannot be split into blocks that fit a tile of ${spec.sramBytesPerTile} bytes`, 'use a narrower dtype (--dtype bf16 or int8) or a fabric with more SRAM per tile');
    return grid;
  };
  const chooseReduce = (grid: BlockGrid, m: number): ReduceShape => {
    const w = m * grid.br;
    const add = Math.ceil(w / simd);
    // The cheapest shape; on a tie the simpler one (chain, then tree, then K-tree).
    let best: ReduceShape = 'chain';
    for (const shape of REDUCE_SHAPES) if (reduceCostCycles(shape, grid.gc, w, spec.hopLatencyCycles, add) < reduceCostCycles(best, grid.gc, w, spec.hopLatencyCycles, add)) best = shape;
    return best;
  };
  const mlpGridCache = new Map<string, { guGrid: BlockGrid; downGrid: BlockGrid }>();
  const region = (name: string, group: string, mats: MatrixNode[], grid: BlockGrid, rowMap?: Parameters<typeof buildRegion>[7], shared?: StreamDecl[], packedBits?: number) => {
    const r = buildRegion(p, name, group, mats, grid, dtype, chooseReduce(grid, rowMap ? rowMap(0).length : mats.length), rowMap, shared, packedBits);
    regions.push(r);
    return r;
  };
  /** Each root i of `r` sends y_i to `hub`, which receives it into `into` at the root's row offset; returns the recv tasks. */
  const gatherRoots = (r: Region, hub: LogicalTile, into: string, label: string) =>
    r.roots.map((root, i) => {
      const s = p.stream([root.tile.id], [hub.id], root.rows, `${r.name}.out${i}`);
      root.final.ops.push({ op: 'send', colour: s.id, src: slice(root.buf, 0, root.rows) });
      return p.recv(hub, s, slice(into, i * r.grid.br, root.rows), [], label);
    });

  // Hub slices. The residual stream x (d floats) of each half-layer is held by k hub tiles, slice j owning
  // x[j·s, (j+1)·s): each slice normalises its part (a sum of squares per slice, added up a tree into slice 0 and
  // multicast back: one wavelet per edge), feeds block column j of the regions it drives, and receives the rows of
  // their outputs that fall in it. So no tile sends, receives or normalises more than s values of x per half-layer.
  const s = opts.sliceCols ?? hubSliceCols(graph, opts);
  if (!(Number.isInteger(s) && s >= 1 && s <= d)) throw new Error(`lower: hub slice width ${s} is not in [1, ${d}]`);
  const k = Math.ceil(d / s);
  const sl = (j: number) => sliceLen(d, s, j);
  /** The k hub tiles of a half-layer (roles `role`, `role`1, …): x, and with a norm its weight's slice, xn and Σx². */
  const hubSlices = (role: string, group: string, norm: string | null): LogicalTile[] =>
    Array.from({ length: k }, (_, j) => {
      const t = p.tile(j === 0 ? role : `${role}${j}`, group);
      p.buffer(t, 'x', 'f32', sl(j), zeros, 'activation');
      if (norm !== null) {
        p.buffer(t, 'xn', 'f32', sl(j), zeros, 'activation');
        p.buffer(t, 'nw', 'f32', sl(j), { kind: 'vector', tensor: norm, range: [j * s, j * s + sl(j)] }, 'weights');
        p.buffer(t, 'ss', 'f32', 1, zeros, 'activation');
      }
      return t;
    });
  /** Each slice receives its part of x from `xs[j]` (a recv task per slice, to append ops to). */
  const receiveSlices = (hubs: LogicalTile[], xs: StreamDecl[], label: string): Task[] =>
    hubs.map((t, j) => {
      xs[j].dst.push(t.id);
      return p.recv(t, xs[j], slice('x', 0, sl(j)), [], label);
    });
  /**
   * Sums `len` floats of `buf` over the slices up a binary tree into slice 0, whose task then multicasts the total
   * back into every other slice's `buf`. `last[j]` is the task after which slice j's own part is in `buf`; returns,
   * per slice, the task after which its `buf` holds the total (append ops to it).
   */
  const allReduce = (hubs: LogicalTile[], last: Task[], buf: string, len: number, label: string): Task[] => {
    const n = hubs.length;
    if (n === 1) return last;
    const value = slice(buf, 0, len);
    const out = reduceUp(p, 'tree', hubs, last, {
      len,
      src: value,
      recvBuffer: (m) => `${buf}.r${m}`,
      merge: (r) => [{ op: 'add', a: value, b: slice(r, 0, len), out: value }],
      streamLabel: (ch, c) => `${label}.red${ch}>${c}`,
      recvLabel: `${label}.recv`,
      mergeLabel: `${label}.add`,
    });
    const total = p.stream([hubs[0].id], hubs.slice(1).map((h) => h.id), len, `${label}.total`);
    out[0].ops.push({ op: 'send', colour: total.id, src: slice(buf, 0, len) });
    for (let c = 1; c < n; c++) out[c] = p.recv(hubs[c], total, slice(buf, 0, len), [], `${label}.total`);
    return out;
  };
  /** RMSNorm of x over the slices into xn (`first[j]` received slice j's x); returns the tasks after which xn is ready. */
  const normSlices = (hubs: LogicalTile[], first: Task[], label: string): Task[] => {
    hubs.forEach((_, j) => first[j].ops.push({ op: 'sumsq', x: slice('x', 0, sl(j)), out: slice('ss', 0, 1) }));
    const done = allReduce(hubs, first, 'ss', 1, label);
    hubs.forEach((_, j) => done[j].ops.push({ op: 'normScale', x: slice('x', 0, sl(j)), sumsq: slice('ss', 0, 1), count: d, weight: slice('nw', 0, sl(j)), out: slice('xn', 0, sl(j)), eps: graph.eps }));
    return done;
  };
  /** A region's block columns nest in the slices (one hub slice then sends all of them): free with one slice. */
  const bcDivides = k > 1 ? s : 0;
  /** Each slice sends `src` to the input columns of a region of block width `bc` that lie in it (bc divides s). */
  const feedSlices = (hubs: LogicalTile[], tasks: Task[], inputs: StreamDecl[], src: string, bc: number) => {
    if (k > 1 && s % bc !== 0) throw new Error(`lower: block width ${bc} does not divide the hub slice width ${s}`);
    inputs.forEach((input, c) => {
      const j = Math.floor((c * bc) / s);
      input.src.push(hubs[j].id);
      tasks[j].ops.push({ op: 'send', colour: input.id, src: slice(src, c * bc - j * s, sliceLen(d, bc, c)) });
    });
  };
  /**
   * Each root of `r` (rows of a d-long output) sends the part of y_i that falls in each slice to that slice's `into`
   * at its offset there; returns per slice its recv tasks.
   */
  const gatherToSlices = (r: Region, hubs: LogicalTile[], into: string, label: string): Task[][] => {
    const got: Task[][] = hubs.map(() => []);
    r.roots.forEach((root, i) => {
      const r0 = i * r.grid.br;
      for (let j = Math.floor(r0 / s); j < k && j * s < r0 + root.rows; j++) {
        const a = Math.max(r0, j * s);
        const b = Math.min(r0 + root.rows, j * s + sl(j));
        const st = p.stream([root.tile.id], [hubs[j].id], b - a, `${r.name}.out${i}.${j}`);
        root.final.ops.push({ op: 'send', colour: st.id, src: slice(root.buf, a - r0, b - a) });
        got[j].push(p.recv(hubs[j], st, slice(into, a - j * s, b - a), [], label));
      }
    });
    return got;
  };

  // Partitions shared by every layer (a stage may have none: the embedding and LM head alone).
  const a0 = graph.layers.length > 0 ? graph.layers[0].attention : null;
  const group = a0 ? a0.numHeads / a0.numKvHeads : 0;
  const hd = a0 ? a0.headDim : 0;
  const qkvRows = (group + 2) * hd;
  const qkvGridOrNull = a0 ? partition('the q/k/v projection of one KV head', qkvPartition(a0, d, opts.maxFan, s)) : null;
  const oGridOrNull = a0 ? partition('the attention output projection', { rows: d, cols: a0.numHeads * hd, matricesPerTile: 1, forcedBc: group * hd, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity }) : null;
  const kvDtype = proj?.kvDtype ?? 'f32';
  const kvBytes = dtypeBytes(kvDtype);
  const kvChunk = a0 && proj ? kvChunking(a0.qNorm !== null) : null;
  // Projection: positions a full chunk tile holds in a very long cache (what the longest context is sized by).
  const kvFillPositions = a0 && proj ? longFillPositions() : undefined;

  // Embedding: rows of the table spread over tiles; the tile that owns the step's token sends its row, slice j to
  // hub slice j of the first layer.
  const rowBytes = d * dtypeBytes(dtype) + (dtype === 'int8' ? 4 : 0);
  const embRowsPerTile = Math.max(1, Math.floor((opts.budgetBytes - 64) / rowBytes));
  const embStreams = Array.from({ length: k }, (_, j) => p.stream([], [], sl(j), opts.embedding === false ? `stage.x${j}` : `embedding.out${j}`));
  const tokenTiles: number[] = [];
  if (opts.embedding === false) {
    // One stub per slice, as the previous layer's slices send in parallel.
    embStreams.forEach((st, j) => {
      const t = p.tile(j === 0 ? 'stage.in' : `stage.in${j}`, 'stage');
      p.buffer(t, 'x', 'f32', sl(j), zeros, 'activation');
      p.task(t, { on: 'start' }, [{ op: 'send', colour: st.id, src: slice('x', 0, sl(j)) }], 'stage.in');
      st.src.push(t.id);
    });
  }
  // The projection times one step, in which one tile (the estimate takes the middle one) sends a row: the tiles
  // before and after it are reserved spans, so a real-size table costs three logical tiles, not ~10^4.
  const embTiles = Math.ceil(graph.embedding.rows / embRowsPerTile);
  const sender = Math.floor(embTiles / 2);
  const reserve = (from: number, to: number) => {
    if (to > from) p.tile(`embedding[${from}..${to - 1}]`, 'embedding').span = to - from;
  };
  if (proj && opts.embedding !== false) reserve(0, sender);
  for (let r0 = 0, e = 0; opts.embedding !== false && r0 < graph.embedding.rows; r0 += embRowsPerTile, e++) {
    if (proj && e !== sender) continue;
    const rows = Math.min(embRowsPerTile, graph.embedding.rows - r0);
    const t = p.tile(`embedding[${e}]`, 'embedding');
    const range = { tensor: graph.embedding.tensor, rows: [r0, r0 + rows] as [number, number], cols: [0, d] as [number, number] };
    p.buffer(t, 'table', dtype, rows * d, { kind: 'weights', ...range }, 'weights');
    const scales = dtype === 'int8' ? p.buffer(t, 'scales', 'f32', rows, { kind: 'scales', ...range }, 'weights') : undefined;
    p.buffer(t, 'tok', 'i32', 1, zeros, 'activation');
    p.task(t, { on: 'start' }, [{ op: 'embed', table: 'table', scales, rowBase: r0, rows, cols: d, token: slice('tok', 0, 1), colours: embStreams.map((st) => st.id), sliceCols: s }], 'embedding');
    for (const st of embStreams) st.src.push(t.id);
    tokenTiles.push(t.id);
  }
  if (proj && opts.embedding !== false) reserve(sender + 1, embTiles);

  let xIn = embStreams;
  for (const layer of graph.layers) xIn = lowerLayer(layer, xIn);

  if (opts.lmHead === false) {
    xIn.forEach((st, j) => {
      const t = p.tile(j === 0 ? 'stage.out' : `stage.out${j}`, 'stage');
      st.dst.push(t.id);
      p.buffer(t, 'x', 'f32', sl(j), zeros, 'activation');
      p.recv(t, st, slice('x', 0, sl(j)), [], 'stage.out');
    });
    return { plan: p, regions, tokenTiles, logitOutputs: [], kvFillPositions };
  }

  // Final norm over the slices, LM head (its block columns are the slices), argmax.
  const hubF = hubSlices('final.hub', 'lm_head', graph.finalNorm);
  const lmGrid = partition('the LM head', { rows: graph.lmHead.rows, cols: d, matricesPerTile: 1, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan });
  const lm = region('lm_head', 'lm_head', [graph.lmHead], lmGrid);
  feedSlices(hubF, normSlices(hubF, receiveSlices(hubF, xIn, 'final.norm'), 'final.norm'), lm.inputs, 'xn', lmGrid.bc);
  const logitOutputs: { name: string; offset: number }[] = [];
  // Argmax: each root takes its slice's best, then a binary tree over the roots merges the (value, index) pairs into
  // root 0 (the merge keeps the higher value and, on a tie, the lower index: any order gives the same pair).
  lm.roots.forEach((root, i) => {
    p.buffer(root.tile, 'am', 'f32', 2, zeros, 'activation');
    root.final.ops.push({ op: 'argmax', x: slice(root.buf, 0, root.rows), indexBase: root.rowOffset, out: slice('am', 0, 2) });
    root.final.ops.push({ op: 'output', name: `logits${i}`, src: slice(root.buf, 0, root.rows) });
    logitOutputs.push({ name: `logits${i}`, offset: root.rowOffset });
  });
  const best = slice('am', 0, 2);
  const [merged] = reduceUp(
    p,
    'tree',
    lm.roots.map((root) => root.tile),
    lm.roots.map((root) => root.final),
    {
      len: 2,
      src: best,
      recvBuffer: (n) => `amr${n}`,
      merge: (r) => [{ op: 'argmaxMerge', a: best, b: slice(r, 0, 2), out: best }],
      streamLabel: (c) => `lm_head.argmax${c}`,
      recvLabel: 'lm_head.argmax.recv',
      mergeLabel: 'lm_head.argmax',
    },
  );
  merged.ops.push({ op: 'output', name: 'token', src: best });
  return { plan: p, regions, tokenTiles, logitOutputs, kvFillPositions };

  /**
   * Positions a chunk tile holds for a `context`-long cache combined in `shape`: what fits beside q, the partial, the
   * new k/v and the receive buffers of its combine children (their count depends on the chunk count, so iterate).
   */
  function chunkCapacity(shape: ReduceShape, context: number): number {
    const qLen = group * hd;
    const partLen = qLen + 2 * group;
    let chunks = 1;
    let positions = 0;
    for (let it = 0; it < 6; it++) {
      // The root has the most children in every shape (chunk 0 of the combine).
      const children = reduceChildren(shape, 0, chunks).length;
      const fixed = 4 * (qLen + partLen * (1 + children) + 2 * hd) + 64;
      positions = Math.min(context, Math.floor((opts.budgetBytes - fixed) / (2 * kvBytes * hd)));
      if (positions < 1) break;
      chunks = Math.ceil(context / positions);
    }
    return positions;
  }

  /** What a chunked KV head costs, by the engine's cost functions: attention over p positions, and the combine. */
  function chunkCosts() {
    const qLen = group * hd;
    const partLen = qLen + 2 * group;
    const attend = (p: number) => opCost(spec, { op: 'attention', q: slice('q', 0, qLen), kCache: 'kc', vCache: 'vc', out: slice('part', 0, qLen), numHeads: group, numKvHeads: 1, headDim: hd }, { position: p - 1, dtypeOf: () => kvDtype }).cycles;
    // The combine: a tree of pieces (chunkedAttention), pipelined: the tree at a piece's cost, then the other pieces.
    const pieces = combinePieces(partLen);
    const ps = Math.ceil(partLen / pieces);
    const addPiece = 2 * Math.ceil(ps / f32AddWidth(spec));
    const combineCycles = (shape: ReduceShape, n: number) => reduceCostCycles(shape, n, ps, spec.hopLatencyCycles, addPiece) + (n > 1 ? (pieces - 1) * (ps + addPiece) : 0);
    return { attend, combineCycles };
  }

  /** Positions per full chunk tile of a very long cache, in the combine shape that is cheapest full (the 'fill' choice). */
  function longFillPositions(): number {
    const { attend, combineCycles } = chunkCosts();
    let best: { positions: number; cost: number } | null = null;
    for (const shape of COMBINE_SHAPES) {
      const positions = chunkCapacity(shape, LONG_CONTEXT);
      if (positions < 1) continue;
      const cost = attend(positions) + combineCycles(shape, Math.ceil(LONG_CONTEXT / positions));
      if (!best || cost < best.cost) best = { positions, cost };
    }
    return best?.positions ?? 0;
  }

  /**
   * Projection only: positions per chunk tile and chunk count when a KV head's cache overflows its tile, or when
   * chunks attend faster than one tile (null: one tile, as the engine runs it). A chunk tile holds q, its partial
   * (group·hd outputs plus a max and a sum per head), the new k/v, receive buffers for its combine children, and the
   * K and V rows.
   */
  function kvChunking(qkNorm: boolean): { positions: number; chunks: number; reduce: ReduceShape } | null {
    const qLen = group * hd;
    const kvHeadBytes = 4 * (qkvRows + qLen) + (qkNorm ? 8 * hd : 0) + 2 * kvBytes * hd * opts.maxSeq;
    // A cache that fits its tile is split only by the automatic search, only where one tile's attention is long
    // (MIN_SPLIT_ATTENTION_CYCLES), and only where chunks are faster.
    const fits = kvHeadBytes <= opts.budgetBytes;
    if (fits && proj?.kvChunkPositions !== undefined) return null;
    const { attend, combineCycles } = chunkCosts();
    if (fits && attend(opts.maxSeq) < MIN_SPLIT_ATTENTION_CYCLES) return null;
    // Per combine shape: the most positions a chunk holds beside its receive buffers (their count depends on the
    // chunk count, so iterate); then that or fewer positions per chunk (more chunk tiles, a deeper combine), whichever
    // makes attention over a chunk plus the combine (estimated as chooseReduce does) cheapest.
    let best: { positions: number; chunks: number; reduce: ReduceShape; cost: number } | null = null;
    for (const shape of COMBINE_SHAPES) {
      const positions = chunkCapacity(shape, opts.maxSeq);
      if (positions < 1) continue;
      const forced = proj?.kvChunkPositions === 'fill' ? positions : proj?.kvChunkPositions;
      if (forced !== undefined && forced > positions) continue;
      for (let p = forced ?? positions; p >= 1; p = forced !== undefined ? 0 : Math.floor(p / 2)) {
        const n = Math.ceil(opts.maxSeq / p);
        if (forced === undefined && n > MAX_KV_CHUNKS) break;
        const cost = attend(p) + combineCycles(shape, n);
        if (!best || cost < best.cost) best = { positions: p, chunks: n, reduce: shape, cost };
      }
    }
    if (!best && typeof proj?.kvChunkPositions === 'number') throw new InputError(`${proj.kvChunkPositions} KV positions of head dimension ${hd} do not fit a chunk tile of ${spec.sramBytesPerTile} bytes beside its query`, '--kv-chunk', 'give fewer positions, fill or auto');
    // Against one tile attending over the whole cache, chunks also pay q's multicast to them.
    if (fits && (!best || best.chunks < 2 || best.cost + qLen >= attend(opts.maxSeq))) return null;
    if (!best) fail(`one KV position of head dimension ${hd} does not fit a tile of ${spec.sramBytesPerTile} bytes beside its query`, 'use a fabric with more SRAM per tile');
    return { positions: best.positions, chunks: best.chunks, reduce: best.reduce };
  }

  /** Projection only: KV head `g`'s attention over chunk tiles (see ProjectionLowering); returns the ops that feed them. */
  function chunkedAttention(L: string, g: number, at: LogicalTile, oInput: StreamDecl, chunking: { positions: number; chunks: number; reduce: ReduceShape }): Op[] {
    const { positions, chunks, reduce } = chunking;
    const qLen = group * hd;
    const partLen = qLen + 2 * group;
    const qStream = p.stream([at.id], [], qLen, `${L}.attn.q${g}`);
    const kvStream = p.stream([at.id], [], 2 * hd, `${L}.attn.kvnew${g}`);
    const tiles: LogicalTile[] = [];
    for (let c = 0; c < chunks; c++) {
      const t = p.tile(`${L}.attn.kv${g}.chunk${c}`, `${L}.attn`);
      p.buffer(t, 'q', 'f32', qLen, zeros, 'activation');
      p.buffer(t, 'kc', kvDtype, positions * hd, zeros, 'kv-cache');
      p.buffer(t, 'vc', kvDtype, positions * hd, zeros, 'kv-cache');
      p.buffer(t, 'part', 'f32', partLen, zeros, 'activation');
      qStream.dst.push(t.id);
      tiles.push(t);
    }
    // The partials go up the combine tree in pieces, each added and passed on as soon as it is in: a level costs a
    // piece, not the whole partial, once the pipeline is full.
    const pieces = combinePieces(partLen);
    const ps = Math.ceil(partLen / pieces);
    const up = new Map<number, StreamDecl[]>();
    for (let c = 0; c < chunks; c++) {
      for (const ch of reduceChildren(reduce, c, chunks)) up.set(ch, Array.from({ length: pieces }, (_, q) => p.stream([tiles[ch].id], [tiles[c].id], sliceLen(partLen, ps, q), `${L}.attn.kv${g}.red${ch}>${c}.${q}`)));
    }
    const attend: Op = { op: 'attention', q: slice('q', 0, qLen), kCache: 'kc', vCache: 'vc', out: slice('part', 0, qLen), numHeads: group, numKvHeads: 1, headDim: hd };
    tiles.forEach((t, c) => {
      let own: Task;
      if (c === chunks - 1) {
        kvStream.dst.push(t.id);
        p.buffer(t, 'kvin', 'f32', 2 * hd, zeros, 'activation');
        const gotQ = p.recv(t, qStream, slice('q', 0, qLen), [], `${L}.attn.q`);
        const app = p.recv(t, kvStream, slice('kvin', 0, 2 * hd), [{ op: 'kvAppend', k: slice('kvin', 0, hd), v: slice('kvin', hd, hd), kCache: 'kc', vCache: 'vc', rowLength: hd }], `${L}.attn.append`);
        own = p.task(t, { on: 'after', tasks: [gotQ.id, app.id] }, [attend], `${L}.attn.chunk`);
      } else own = p.recv(t, qStream, slice('q', 0, qLen), [attend], `${L}.attn.chunk`);
      const last: Task[] = Array.from({ length: pieces }, () => own);
      const children = reduceChildren(reduce, c, chunks);
      const r = children.map((_, n) => p.buffer(t, `r${n}`, 'f32', partLen, zeros, 'activation'));
      // Piece by piece (the CE starts the lowest-numbered ready task): piece 0 from every child, then piece 1, …
      for (let q = 0; q < pieces; q++) {
        children.forEach((ch, n) => {
          const st = up.get(ch)![q];
          const at = q * ps;
          const len = st.wavelets;
          const got = p.recv(t, st, slice(r[n], at, len), [], `${L}.attn.combine.recv`);
          // The rescale-and-add of the piece, charged as two adds (the second over the piece's part of the outputs).
          const ops: Op[] = [{ op: 'add', a: slice('part', at, len), b: slice(r[n], at, len), out: slice('part', at, len) }];
          const outs = Math.min(at + len, qLen) - at;
          if (outs > 0) ops.push({ op: 'add', a: slice('part', at, outs), b: slice(r[n], at, outs), out: slice('part', at, outs) });
          last[q] = p.task(t, { on: 'after', tasks: [last[q].id, got.id] }, ops, `${L}.attn.combine`);
        });
      }
      if (c > 0) up.get(c)!.forEach((st, q) => last[q].ops.push({ op: 'send', colour: st.id, src: slice('part', q * ps, st.wavelets) }));
      else {
        // Chunk 0 divides the combined output by the softmax sum (charged as one vector op) and feeds the O region.
        oInput.src.push(t.id);
        const ops: Op[] = [{ op: 'add', a: slice('part', 0, qLen), b: slice('part', 0, qLen), out: slice('part', 0, qLen) }, { op: 'send', colour: oInput.id, src: slice('part', 0, qLen) }];
        const ids = [...new Set(last.map((x) => x.id))];
        if (ids.length === 1) last[0].ops.push(...ops);
        else p.task(t, { on: 'after', tasks: ids }, ops, `${L}.attn.combine`);
      }
    });
    return [
      { op: 'send', colour: qStream.id, src: slice('qkv', 0, qLen) },
      { op: 'send', colour: kvStream.id, src: slice('qkv', qLen, 2 * hd) },
    ];
  }

  function lowerLayer(layer: LayerNode, xIn: StreamDecl[]): StreamDecl[] {
    const L = `L${layer.index}`;
    const a = layer.attention;
    const qkvGrid = nonNull(qkvGridOrNull);
    const oGrid = nonNull(oGridOrNull);
    // Attention hub slices.
    const hubA = hubSlices(`${L}.attn.hub`, `${L}.attn`, layer.inputNorm);
    hubA.forEach((t, j) => p.buffer(t, 'o', 'f32', sl(j), zeros, 'activation'));
    const qkvInputs = Array.from({ length: qkvGrid.gc }, (_, j) => p.stream([], [], sliceLen(d, qkvGrid.bc, j), `${L}.qkv.in${j}`));
    feedSlices(hubA, normSlices(hubA, receiveSlices(hubA, xIn, `${L}.attn.norm`), `${L}.attn.norm`), qkvInputs, 'xn', qkvGrid.bc);
    const o = region(`${L}.attn.o`, `${L}.attn`, [a.o], oGrid);
    for (let g = 0; g < a.numKvHeads; g++) {
      // Rows of this KV head's region: its group's q heads, then its k head, then its v head (one tensor per block-row).
      const rowMap = (i: number) => {
        const r = i * qkvGrid.br;
        const rows = sliceLen(qkvRows, qkvGrid.br, i);
        if (r < group * hd) return [{ tensorIndex: 0, row0: g * group * hd + r, rows }];
        if (r < (group + 1) * hd) return [{ tensorIndex: 1, row0: g * hd + r - group * hd, rows }];
        return [{ tensorIndex: 2, row0: g * hd + r - (group + 1) * hd, rows }];
      };
      const qkv = region(`${L}.attn.qkv${g}`, `${L}.attn`, [a.q, a.k, a.v], qkvGrid, rowMap, qkvInputs);
      const at = p.tile(`${L}.attn.kv${g}`, `${L}.attn`);
      p.buffer(at, 'qkv', 'f32', qkvRows, zeros, 'activation');
      if (!kvChunk) {
        p.buffer(at, 'kc', kvDtype, opts.maxSeq * hd, zeros, 'kv-cache');
        p.buffer(at, 'vc', kvDtype, opts.maxSeq * hd, zeros, 'kv-cache');
        p.buffer(at, 'out', 'f32', group * hd, zeros, 'activation');
      }
      const gots = gatherRoots(qkv, at, 'qkv', `${L}.attn.gather`);
      const ops: Op[] = [];
      if (a.qNorm && a.kNorm) {
        p.buffer(at, 'qn', 'f32', hd, { kind: 'vector', tensor: a.qNorm, range: [0, hd] }, 'weights');
        p.buffer(at, 'kn', 'f32', hd, { kind: 'vector', tensor: a.kNorm, range: [0, hd] }, 'weights');
        for (let h = 0; h <= group; h++) {
          const x = slice('qkv', h * hd, hd);
          ops.push({ op: 'rmsnorm', x, weight: slice(h < group ? 'qn' : 'kn', 0, hd), out: x, eps: graph.eps });
        }
      }
      // RoPE on the group's q heads and the k head together (they lie side by side): one set of angles per step.
      ops.push({ op: 'rope', x: slice('qkv', 0, (group + 1) * hd), numHeads: group + 1, headDim: hd, theta: a.ropeTheta });
      if (kvChunk) ops.push(...chunkedAttention(L, g, at, o.inputs[g], kvChunk));
      else {
        ops.push(
          { op: 'kvAppend', k: slice('qkv', group * hd, hd), v: slice('qkv', (group + 1) * hd, hd), kCache: 'kc', vCache: 'vc', rowLength: hd },
          { op: 'attention', q: slice('qkv', 0, group * hd), kCache: 'kc', vCache: 'vc', out: slice('out', 0, group * hd), numHeads: group, numKvHeads: 1, headDim: hd },
        );
        o.inputs[g].src.push(at.id);
        ops.push({ op: 'send', colour: o.inputs[g].id, src: slice('out', 0, group * hd) });
      }
      p.task(at, { on: 'after', tasks: gots.map((t) => t.id) }, ops, `${L}.attn.core`);
    }
    // Residual: each slice adds the rows of O's output that fall in it and passes its part of x on.
    const oGots = gatherToSlices(o, hubA, 'o', `${L}.attn.gather`);
    const toMlp = hubA.map((t, j) => p.stream([t.id], [], sl(j), `${L}.attn.residual${j}`));
    hubA.forEach((t, j) =>
      p.task(t, { on: 'after', tasks: oGots[j].map((x) => x.id) }, [{ op: 'add', a: slice('x', 0, sl(j)), b: slice('o', 0, sl(j)), out: slice('x', 0, sl(j)) }, { op: 'send', colour: toMlp[j].id, src: slice('x', 0, sl(j)) }], `${L}.attn.residual`),
    );

    // MLP hub slices.
    const hubM = hubSlices(`${L}.mlp.hub`, `${L}.mlp`, layer.postAttentionNorm);
    const out = hubM.map((t, j) => p.stream([t.id], [], sl(j), `${L}.out${j}`));
    const normed = normSlices(hubM, receiveSlices(hubM, toMlp, `${L}.mlp.norm`), `${L}.mlp.norm`);
    if (layer.mlp.kind === 'dense') {
      hubM.forEach((t, j) => p.buffer(t, 'y', 'f32', sl(j), zeros, 'activation'));
      const { inputs, down, bc } = mlpRegions(`${L}.mlp`, layer.mlp.dense);
      feedSlices(hubM, normed, inputs, 'xn', bc);
      const gots = gatherToSlices(down, hubM, 'y', `${L}.mlp.gather`);
      hubM.forEach((t, j) =>
        p.task(t, { on: 'after', tasks: gots[j].map((x) => x.id) }, [{ op: 'add', a: slice('x', 0, sl(j)), b: slice('y', 0, sl(j)), out: slice('x', 0, sl(j)) }, { op: 'send', colour: out[j].id, src: slice('x', 0, sl(j)) }], `${L}.mlp.residual`),
      );
      return out;
    }
    // MoE: each slice holds the router's columns of its part and computes partial logits, added over the slices as
    // the sum of squares is (a projection router too large for that is a region whose roots gather into slice 0);
    // every slice runs the same top-k on the total, dispatches its part of xn to the chosen experts' block column j,
    // and combines what their hub slices return.
    const moe = layer.mlp.moe;
    const E = moe.experts.length;
    const routerRegion = proj !== undefined && E * s * dtypeBytes(dtype) + 16 * s > opts.budgetBytes;
    hubM.forEach((t, j) => {
      p.buffer(t, 'acc', 'f32', sl(j), zeros, 'activation');
      p.buffer(t, 'logits', 'f32', E, zeros, 'activation');
      p.buffer(t, 'idx', 'i32', moe.topK, zeros, 'activation');
      p.buffer(t, 'wts', 'f32', moe.topK, zeros, 'activation');
      p.buffer(t, 'dw', 'f32', E, zeros, 'activation');
    });
    let route: Task[];
    if (routerRegion) {
      const routerGrid = partition(`${L} router`, { rows: E, cols: d, matricesPerTile: 1, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: opts.maxFan, maxGc: opts.maxFan });
      const rr = region(`${L}.moe.router`, `${L}.mlp`, [moe.router], routerGrid);
      feedSlices(hubM, normed, rr.inputs, 'xn', routerGrid.bc);
      const routed = p.task(hubM[0], { on: 'after', tasks: gatherRoots(rr, hubM[0], 'logits', `${L}.moe.gather`).map((t) => t.id) }, [], `${L}.moe.router`);
      const logitsTo = k > 1 ? p.stream([hubM[0].id], hubM.slice(1).map((t) => t.id), E, `${L}.moe.logits`) : null;
      if (logitsTo) routed.ops.push({ op: 'send', colour: logitsTo.id, src: slice('logits', 0, E) });
      route = hubM.map((t, j) => (j === 0 || !logitsTo ? routed : p.recv(t, logitsTo, slice('logits', 0, E), [], `${L}.moe.router`)));
    } else {
      hubM.forEach((t, j) => {
        const init = { tensor: moe.router.tensor, rows: [0, E] as [number, number], cols: [j * s, j * s + sl(j)] as [number, number] };
        p.buffer(t, 'router', dtype, E * sl(j), { kind: 'weights', ...init }, 'weights');
        const scales = dtype === 'int8' ? p.buffer(t, 'rscales', 'f32', E, { kind: 'scales', ...init }, 'weights') : undefined;
        normed[j].ops.push({ op: 'matvec', w: 'router', scales, rows: E, cols: sl(j), x: slice('xn', 0, sl(j)), y: slice('logits', 0, E), accumulate: false });
      });
      route = allReduce(hubM, normed, 'logits', E, `${L}.moe.router`);
    }
    const dispatch: number[][] = hubM.map(() => []);
    const returns: number[][] = hubM.map(() => []);
    /**
     * An expert's hub slices and regions: hub slice j receives slice j of xn from MoE slice j (the stream returned)
     * and feeds the expert's gate/up columns in it, then gathers the rows of the expert's output that fall in it and
     * returns them to MoE slice j (running `combine` there).
     */
    const lowerExpertMlp = (EL: string, expert: MlpNode, ye: string, combine: (j: number) => Op, packedBits: number | undefined): StreamDecl[] => {
      const hubE = hubSlices(`${EL}.hub`, EL, null);
      const { inputs, down, bc } = mlpRegions(EL, expert, packedBits);
      const toExpert = hubE.map((t, j) => p.stream([hubM[j].id], [], sl(j), `${EL}.dispatch${j}`));
      feedSlices(hubE, receiveSlices(hubE, toExpert, `${EL}.fanout`), inputs, 'x', bc);
      hubE.forEach((t, j) => p.buffer(t, 'y', 'f32', sl(j), zeros, 'activation'));
      const gots = gatherToSlices(down, hubE, 'y', `${EL}.gather`);
      hubE.forEach((t, j) => {
        const back = p.stream([t.id], [hubM[j].id], sl(j), `${EL}.return${j}`);
        p.task(t, { on: 'after', tasks: gots[j].map((x) => x.id) }, [{ op: 'send', colour: back.id, src: slice('y', 0, sl(j)) }], `${EL}.return`);
        p.buffer(hubM[j], ye, 'f32', sl(j), zeros, 'activation');
        returns[j].push(p.recv(hubM[j], back, slice(ye, 0, sl(j)), [combine(j)], `${L}.moe.combine`).id);
      });
      return toExpert;
    };
    moe.experts.forEach((expert, e) => {
      const EL = `${L}.expert${e}`;
      if (proj?.lowerExpert && !proj.lowerExpert(layer.index, e)) {
        // Not lowered: its tiles are reserved where it would sit, and the dispatch has no colour for it.
        const t = p.tile(`${EL}.reserved`, EL);
        t.span = mlpTileCount(EL, expert, proj.expertWeightBits);
        for (const cols of dispatch) cols.push(-1);
        return;
      }
      const ye = `ye${e}`;
      const toExpert = lowerExpertMlp(EL, expert, ye, (j) => ({ op: 'axpy', a: slice(ye, 0, sl(j)), weight: slice('dw', 0, E), index: e, out: slice('acc', 0, sl(j)) }), proj?.expertWeightBits);
      toExpert.forEach((st, j) => dispatch[j].push(st.id));
    });
    // Shared experts (projection only: checkCompilable refuses them) run for every token and add into the sum.
    const shared = moe.shared ? lowerExpertMlp(`${L}.shared`, moe.shared, 'ysh', (j) => ({ op: 'add', a: slice('acc', 0, sl(j)), b: slice('ysh', 0, sl(j)), out: slice('acc', 0, sl(j)) }), undefined) : null;
    hubM.forEach((t, j) => {
      route[j].ops.push(
        { op: 'topk', logits: slice('logits', 0, E), k: moe.topK, renormalize: moe.renormalize, indices: slice('idx', 0, moe.topK), weights: slice('wts', 0, moe.topK), denseWeights: slice('dw', 0, E) },
        { op: 'copy', src: slice('x', 0, sl(j)), out: slice('acc', 0, sl(j)) },
        { op: 'dispatch', indices: slice('idx', 0, moe.topK), colours: dispatch[j], src: slice('xn', 0, sl(j)) },
      );
      if (shared) route[j].ops.push({ op: 'send', colour: shared[j].id, src: slice('xn', 0, sl(j)) });
      p.task(t, { on: 'after', tasks: returns[j], count: moe.topK + (shared ? 1 : 0) }, [{ op: 'send', colour: out[j].id, src: slice('acc', 0, sl(j)) }], `${L}.moe.residual`);
    });
    return out;
  }

  /** The gate+up and down partitions of an MLP (weights packed at `packedBits` per weight when given); gate+up's block columns are the hub slices. */
  function mlpGrids(name: string, m: MlpNode, packedBits: number | undefined): { guGrid: BlockGrid; downGrid: BlockGrid } {
    const key = `${m.intermediate}/${packedBits ?? 0}`;
    const known = mlpGridCache.get(key);
    if (known) return known;
    const guReq = { rows: m.intermediate, cols: d, matricesPerTile: 2, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan, weightBits: packedBits };
    const downReq = (bc: number) => ({ rows: d, cols: m.intermediate, matricesPerTile: 1, forcedBc: bc, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity, weightBits: packedBits });
    // gate+up's block height is down's block width: choose the pair by its two reductions (what their shapes change
    // most), among pairs within MLP_TILE_SLACK of the fewest tiles; the fewest-tiles pair on a tie.
    const first = partition(`${name} gate/up`, guReq);
    const pairs: { guGrid: BlockGrid; downGrid: BlockGrid; tiles: number; reduce: number }[] = [];
    const reduce = (g: BlockGrid, m: number) => reduceCostCycles(chooseReduce(g, m), g.gc, m * g.br, spec.hopLatencyCycles, Math.ceil((m * g.br) / simd));
    for (const guGrid of [first, ...partitionCandidates({ ...guReq, dtype, budgetBytes: opts.budgetBytes })]) {
      const downGrid = partitionMatrix({ ...downReq(guGrid.br), dtype, budgetBytes: opts.budgetBytes });
      if (!downGrid) continue;
      pairs.push({ guGrid, downGrid, tiles: guGrid.gr * guGrid.gc + downGrid.gr * downGrid.gc, reduce: reduce(guGrid, 2) + reduce(downGrid, 1) });
    }
    if (pairs.length === 0) partition(`${name} down`, downReq(first.br));
    const fewest = Math.min(...pairs.map((x) => x.tiles));
    let best = pairs[0];
    for (const x of pairs) if (x.tiles <= fewest * (1 + MLP_TILE_SLACK) && x.reduce < best.reduce) best = x;
    const grids = { guGrid: best.guGrid, downGrid: best.downGrid };
    mlpGridCache.set(key, grids);
    return grids;
  }

  /** Tiles an expert takes when lowered: its hub slices and its two regions. */
  function mlpTileCount(name: string, m: MlpNode, packedBits: number | undefined): number {
    const { guGrid, downGrid } = mlpGrids(name, m, packedBits);
    return k + guGrid.gr * guGrid.gc + downGrid.gr * downGrid.gc;
  }

  /** gate+up region whose roots apply SwiGLU and feed the down region's rows; returns gate/up inputs and the down region. */
  function mlpRegions(name: string, m: MlpNode, packedBits?: number): { inputs: StreamDecl[]; down: Region; bc: number } {
    const { guGrid, downGrid } = mlpGrids(name, m, packedBits);
    const gu = region(`${name}.gu`, name, [m.gate, m.up], guGrid, undefined, undefined, packedBits);
    const down = region(`${name}.down`, name, [m.down], downGrid, undefined, undefined, packedBits);
    gu.roots.forEach((root, i) => {
      down.inputs[i].src.push(root.tile.id);
      root.final.ops.push(
        { op: 'swiglu', gate: slice(root.buf, 0, root.rows), up: slice(root.buf, root.rows, root.rows), out: slice(root.buf, 0, root.rows) },
        { op: 'send', colour: down.inputs[i].id, src: slice(root.buf, 0, root.rows) },
      );
    });
    return { inputs: gu.inputs, down, bc: guGrid.bc };
  }
}
