// The floor of a decode token: the fewest cycles the fabric allows a model under the engine's own cost functions
// (fabric/mesh/cost.ts), with every dependent step of a layer at its lower bound. The derivation, its sources and
// what it leaves out are in docs/floor.md; in short, a token is the chain
//   embedding → per layer: norm → QKV → attention → O → residual → norm → gate/up (router first in MoE) → SwiGLU →
//   down → residual → … → final norm → LM head → argmax, plus the inter-wafer links,
// each step spread over as many of a wafer's usable tiles as makes it fastest (the work at the cost functions'
// per-tile rate; its inputs reaching, and its partial results leaving, the tiles at the 2-D broadcast/reduce bound
// of Luczynski et al. (HPDC 2024) with the source at the centre of the tiles), and as few wafers as hold the weights
// and KV caches. Nothing here is tuned: every term is a cost function or a spec field.
import { opCost, matvecCost, matvecCyclesPerMac } from '../../fabric/mesh/cost.js';
import type { OpContext } from '../../fabric/mesh/cost.js';
import type { BufferDtype, Op, Slice } from '../../fabric/isa/types.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { LayerNode, MatrixNode, ModelGraph } from '../graph/graph.js';

export interface FloorOptions {
  /** Usable tiles of one wafer (the grid's, faults removed). */
  usableTiles: number;
  /** Bytes of buffers a tile may hold (the projection's tile budget). */
  budgetBytes: number;
  /** Weights: bf16, or int8 (per-row scales); MXFP4 routed experts at `expertWeightBits`. */
  dtype: 'bf16' | 'int8';
  expertWeightBits?: number;
  kvDtype: 'bf16' | 'f32';
  /** KV positions per user, and the position decode is timed at (context − 1). */
  context: number;
  batch: number;
  /** Wafers the projected layout spans (for the block-layout bound; default: the floor's own count). */
  wafers?: number;
}

/** One step of the chain at its bound: the tiles it spreads over and its cycles. */
export interface FloorStep {
  step: string;
  tiles: number;
  cycles: number;
}

export interface FloorReport {
  /** Cycles of one token through every stage, alone (batch 1's decode interval). */
  cyclesPerToken: number;
  /** Per user, at the options' batch (B users share the pipeline as the projection's do). */
  tokensPerSecond: number;
  tokenLatencySeconds: number;
  /** The fewest wafers whose usable tiles hold the weights and the KV caches at the tile budget. */
  wafers: number;
  interWaferSeconds: number;
  embeddingCycles: number;
  lmHeadCycles: number;
  /** The first layer of each distinct shape, its steps. */
  layers: { layer: number; cycles: number; steps: FloorStep[] }[];
  /** The bound of layouts that give every tile blocks of one matrix stage only (blockLayoutBound). */
  blockLayout: BlockLayoutBound;
}

/**
 * The fewest cycles per token of any layout in which each tile holds weight blocks of one matvec stage of one layer
 * only — the compiler's layouts: a region per matrix (or gate and up together), layers on tiles of their own — on
 * `tiles` tiles. A token runs each layer's stages one after another, and stage i, on its n_i tiles, takes at least
 * W_i·c_i / n_i cycles (W_i multiply-accumulates at c_i cycles each, matvecCyclesPerMac: its blocks' arithmetic or SRAM
 * reads, whichever is slower); an MoE stage's experts each need tiles of their own (m_i = experts) though a token uses
 * k of them side by side. Over every allocation with Σ m_i·n_i ≤ tiles, Σ W_i·c_i / n_i is smallest at
 * n_i ∝ √(W_i·c_i / m_i) (Cauchy–Schwarz), where it is (Σ √(W_i·c_i·m_i))² / tiles. Everything else — attention,
 * vector ops, moving data, the embedding and LM head, routers' and shared experts' tiles and time — is left out, so
 * this is below every such layout's matvec time alone.
 */
export interface BlockLayoutBound {
  cyclesPerToken: number;
  tokensPerSecond: number;
  /** Tiles it is taken over: the wafers' usable tiles. */
  tiles: number;
}

/** Tiles within `r` hops of a tile on an unbounded 2-D mesh: the diamond 2r² + 2r + 1. */
export function diamondTiles(r: number): number {
  return 2 * r * r + 2 * r + 1;
}

/** The smallest radius r whose diamond holds `tiles` tiles: the farthest of any `tiles` tiles is at least r hops from any one tile. */
export function diamondRadius(tiles: number): number {
  let r = Math.max(0, Math.floor(Math.sqrt(tiles / 2)) - 1);
  while (diamondTiles(r) < tiles) r++;
  return r;
}

/**
 * Cycles for `wavelets` from one tile to reach the farthest of `tiles` tiles (or, symmetrically, from all of them into
 * one): the engine's stream timing, 2·ramp + hops·hop + (wavelets − 1) (fabric/mesh/cost.ts streamArrivalCycles), over
 * the diamond's radius. Luczynski et al.'s 2-D broadcast bound B + M + N − 2 + 2T_R + 1 over an M × N rectangle fed
 * from its corner is never below this for the same tiles. One tile: nothing moves.
 */
export function spreadStreamCycles(spec: FabricSpec, wavelets: number, tiles: number): number {
  if (tiles <= 1) return 0;
  return 2 * spec.rampLatencyCycles + diamondRadius(tiles) * spec.hopLatencyCycles + (wavelets - 1);
}

/** Candidate counts 1, 2, 4, …, n (and n itself). */
function splits(n: number): number[] {
  const out: number[] = [];
  for (let k = 1; k < n; k *= 2) out.push(k);
  out.push(n);
  return out;
}

// Ops built only to be costed: one f32 scratch buffer holds every operand; the KV caches ('k', 'v') and an embedding
// table ('t') have the dtype given.
const S = (length: number): Slice => ({ buf: 'a', offset: 0, length });
function ctxFor(position: number, stored: BufferDtype): OpContext {
  return { position, dtypeOf: (buf) => (buf === 'k' || buf === 'v' || buf === 't' ? stored : 'f32') };
}
const cost = (spec: FabricSpec, op: Op, position = 0, stored: BufferDtype = 'f32') => opCost(spec, op, ctxFor(position, stored)).cycles;

/** A task on the step's critical tile: its start, its ops, one send issue for its result. */
const task = (spec: FabricSpec, opCycles: number): number => spec.taskStartCycles + opCycles + spec.costs.sendIssueCycles;

/**
 * The fewest hops x's broadcast and the partials' reduce of a matvec can take together, over nR × nC tiles: a block
 * column's nR tiles lie within r1 hops of its input's source, a row block's nC tiles within r2 of its sum's tile, so
 * r1 ≥ R(nR) and r2 ≥ R(nC) (R: diamondRadius). And the two cannot both be small: every tile holds some (i, j) whose
 * x_j came from within r1, where row i0's block of column j also lies, within r2 of row i0's sum — so all nR·nC tiles
 * lie within 2·r1 + r2 of that sum's tile, and (by the same path the other way) within r1 + 2·r2 of x_j0's source:
 * 2·r1 + r2 ≥ R(nR·nC) and r1 + 2·r2 ≥ R(nR·nC). The least r1 + r2 under all four (docs/floor.md).
 */
export function matvecHops(nR: number, nC: number): number {
  const a = diamondRadius(nR);
  const b = diamondRadius(nC);
  const all = diamondRadius(nR * nC);
  let best = Infinity;
  for (let r1 = a; r1 <= Math.max(a, all); r1++) best = Math.min(best, r1 + Math.max(b, all - 2 * r1, Math.ceil((all - r1) / 2)));
  return best;
}

/**
 * A matvec (rows × cols) at its bound: over tile blocks r × c (nR × nC blocks on at most `tiles` tiles), each tile's
 * c inputs reach the nR tiles of its block column, it runs its block at matvecCost, and the nC partials of each row
 * meet at one tile, the two streams' hops together at least matvecHops. The fastest block shape.
 */
export function matvecFloor(spec: FabricSpec, rows: number, cols: number, dtype: BufferDtype, tiles: number, format?: 'mxfp4'): FloorStep & { rowBlocks: number } {
  let best = { step: 'matvec', tiles: 1, cycles: Infinity, rowBlocks: 1 };
  for (const nR of splits(rows)) {
    for (const nC of splits(cols)) {
      if (nR * nC > tiles) continue;
      const r = Math.ceil(rows / nR);
      const c = Math.ceil(cols / nC);
      // Each stream that moves (over more than one tile) pays its ramps and its wavelets after the first.
      const streams = (nR > 1 ? 2 * spec.rampLatencyCycles + c - 1 : 0) + (nC > 1 ? 2 * spec.rampLatencyCycles + r - 1 : 0);
      const cycles = streams + matvecHops(nR, nC) * spec.hopLatencyCycles + task(spec, matvecCost(spec, r, c, dtype, false, format).cycles);
      if (cycles < best.cycles) best = { step: 'matvec', tiles: nR * nC, cycles, rowBlocks: nR };
    }
  }
  return best;
}

/** An elementwise op over n values at its bound: spread over p tiles, ceil(n/p) each, no exchange (its inputs are where the last step left them). */
function elementwiseFloor(spec: FabricSpec, n: number, tiles: number, op: (len: number) => Op): FloorStep {
  const p = Math.min(n, tiles);
  return { step: 'elementwise', tiles: p, cycles: task(spec, cost(spec, op(Math.ceil(n / p)))) };
}

/** RMSNorm over n values: sums of squares over p tiles, one value reduced to a tile and broadcast back, then the scaling. */
function normFloor(spec: FabricSpec, n: number, tiles: number): FloorStep {
  let best: FloorStep = { step: 'norm', tiles: 1, cycles: Infinity };
  for (const p of splits(Math.min(n, tiles))) {
    const e = Math.ceil(n / p);
    const sumsq = cost(spec, { op: 'sumsq', x: S(e), out: S(1) });
    const scale = cost(spec, { op: 'normScale', x: S(e), sumsq: S(1), count: n, weight: S(e), out: S(e), eps: 1e-6 });
    const cycles = task(spec, sumsq) + 2 * spreadStreamCycles(spec, 1, p) + task(spec, scale);
    if (cycles < best.cycles) best = { step: 'norm', tiles: p, cycles };
  }
  return best;
}

/**
 * Attention of one KV head over `seq` positions on at most `tiles` tiles: its `group` query heads split into
 * groups of g per tile, its positions into n chunks; each tile gets its g·headDim query values, attends over its
 * chunk at the cost function, and the chunks' (output, max, sum) per head meet at one tile.
 */
function attentionFloor(spec: FabricSpec, group: number, headDim: number, seq: number, kv: BufferDtype, tiles: number): FloorStep {
  let best: FloorStep = { step: 'attention', tiles: 1, cycles: Infinity };
  for (const heads of splits(group)) {
    const g = Math.ceil(group / heads);
    for (const n of splits(seq)) {
      if (heads * n > tiles) continue;
      const chunk = Math.ceil(seq / n);
      const attend = cost(spec, { op: 'attention', q: S(g * headDim), kCache: 'k', vCache: 'v', out: S(g * headDim), numHeads: g, numKvHeads: 1, headDim }, chunk - 1, kv);
      const cycles = spreadStreamCycles(spec, g * headDim, n) + task(spec, attend) + spreadStreamCycles(spec, g * (headDim + 2), n);
      if (cycles < best.cycles) best = { step: 'attention', tiles: heads * n, cycles };
    }
  }
  return best;
}

/** The router's logits over p tiles: softmax and top-k of each share, the k best of the shares meeting at one tile. */
function topkFloor(spec: FabricSpec, experts: number, k: number, tiles: number): FloorStep {
  let best: FloorStep = { step: 'top-k', tiles: 1, cycles: Infinity };
  for (const p of splits(Math.min(experts, tiles))) {
    const e = Math.ceil(experts / p);
    const kk = Math.min(k, e);
    const cycles = task(spec, cost(spec, { op: 'topk', logits: S(e), k: kk, renormalize: true, indices: S(kk), weights: S(kk) })) + spreadStreamCycles(spec, 2 * kk, p);
    if (cycles < best.cycles) best = { step: 'top-k', tiles: p, cycles };
  }
  return best;
}

/** The MatrixNode's dtype as the cost functions see it, and MXFP4 for routed experts held so (charged as the projection charges them). */
function matrixDtype(m: MatrixNode, o: FloorOptions): BufferDtype {
  return o.dtype;
}
const formatOf = (m: MatrixNode, o: FloorOptions): 'mxfp4' | undefined => (o.expertWeightBits !== undefined && m.expert >= 0 ? 'mxfp4' : undefined);

/** Bytes a matrix holds on the wafer at the options' dtype. */
function matrixBytes(m: MatrixNode, o: FloorOptions): number {
  if (o.expertWeightBits !== undefined && m.expert >= 0) return (m.rows * m.cols * o.expertWeightBits) / 8;
  return o.dtype === 'int8' ? m.rows * m.cols + 4 * m.rows : 2 * m.rows * m.cols;
}

/** The stacked matrices of a step (q, k and v; gate and up) as one matvec of their rows. */
const stacked = (ms: MatrixNode[]) => ({ rows: ms.reduce((a, m) => a + m.rows, 0), cols: ms[0].cols });

const pick = ({ tiles, cycles }: FloorStep) => ({ tiles, cycles });

/** One layer's chain, each step at its bound on `tiles` tiles. */
export function layerFloor(spec: FabricSpec, graph: ModelGraph, layer: LayerNode, o: FloorOptions): FloorStep[] {
  const T = o.usableTiles;
  const h = graph.hidden;
  const a = layer.attention;
  const kv: BufferDtype = o.kvDtype;
  const seq = a.window === null ? o.context : Math.min(o.context, a.window);
  const mv = (step: string, ms: MatrixNode[]) => {
    const s = stacked(ms);
    const { tiles, cycles } = matvecFloor(spec, s.rows, s.cols, matrixDtype(ms[0], o), T);
    return { step, tiles, cycles };
  };
  const add = (step: string) => ({ ...elementwiseFloor(spec, h, T, (e) => ({ op: 'add', a: S(e), b: S(e), out: S(e) })), step });
  const group = a.numHeads / a.numKvHeads;
  // KV heads attend side by side, each on its share of the tiles (every user's caches are held, one is read).
  const attention = { ...attentionFloor(spec, group, a.headDim, seq, kv, Math.max(1, Math.floor(T / a.numKvHeads))), step: 'attention' };
  const steps: FloorStep[] = [
    { ...normFloor(spec, h, T), step: 'attention norm' },
    mv('q/k/v', [a.q, a.k, a.v, ...a.extra]),
    attention,
    mv('o', [a.o]),
    add('residual'),
    { ...normFloor(spec, h, T), step: 'MLP norm' },
  ];
  // The MLP: the experts a token picks (and a shared one) work side by side, as one MLP of their summed width.
  let width: number;
  let ffn: MatrixNode;
  if (layer.mlp.kind === 'dense') {
    width = layer.mlp.dense.intermediate;
    ffn = layer.mlp.dense.gate;
  } else {
    const m = layer.mlp.moe;
    steps.push(mv('router', [m.router]), { ...topkFloor(spec, m.router.rows, m.topK, T), step: 'top-k' });
    width = m.topK * m.experts[0].intermediate + (m.shared?.intermediate ?? 0);
    ffn = m.experts[0].gate;
  }
  const dtype = matrixDtype(ffn, o);
  const format = formatOf(ffn, o);
  steps.push(
    { step: 'gate/up', ...pick(matvecFloor(spec, 2 * width, h, dtype, T, format)) },
    { ...elementwiseFloor(spec, width, T, (e) => ({ op: 'swiglu', gate: S(e), up: S(e), out: S(e) })), step: 'SwiGLU' },
    { step: 'down', ...pick(matvecFloor(spec, h, width, dtype, T, format)) },
    add('residual'),
  );
  return steps;
}

/** Weights and KV caches of the whole model, in bytes, at the options' dtypes. */
function modelBytes(graph: ModelGraph, o: FloorOptions): number {
  let bytes = matrixBytes(graph.embedding, o) + (graph.lmHead.tensor === graph.embedding.tensor ? 0 : matrixBytes(graph.lmHead, o));
  const kvBytes = o.kvDtype === 'f32' ? 4 : 2;
  for (const l of graph.layers) {
    const a = l.attention;
    for (const m of [a.q, a.k, a.v, a.o, ...a.extra]) bytes += matrixBytes(m, o);
    const mlps = l.mlp.kind === 'dense' ? [l.mlp.dense] : [...l.mlp.moe.experts, ...(l.mlp.moe.shared ? [l.mlp.moe.shared] : [])];
    if (l.mlp.kind === 'moe') bytes += matrixBytes(l.mlp.moe.router, o);
    for (const m of mlps) bytes += matrixBytes(m.gate, o) + matrixBytes(m.up, o) + matrixBytes(m.down, o);
    const seq = a.window === null ? o.context : Math.min(o.context, a.window);
    bytes += a.kvValuesPerToken * seq * kvBytes * o.batch;
  }
  return bytes;
}

/** blockLayoutBound's Σ √(W_i·c_i·m_i) over one layer's dependent matvec stages. */
function blockLayoutRoot(spec: FabricSpec, graph: ModelGraph, layer: LayerNode, o: FloorOptions): number {
  const a = layer.attention;
  const h = graph.hidden;
  const term = (macs: number, perMac: number, copies: number) => Math.sqrt(macs * perMac * copies);
  const dense = matvecCyclesPerMac(spec, o.dtype);
  let root = term(stacked([a.q, a.k, a.v, ...a.extra]).rows * h, dense, 1) + term(a.o.rows * a.o.cols, dense, 1);
  if (layer.mlp.kind === 'dense') {
    const i = layer.mlp.dense.intermediate;
    root += term(2 * i * h, dense, 1) + term(h * i, dense, 1);
  } else {
    const m = layer.mlp.moe;
    const i = m.experts[0].intermediate;
    const perMac = o.expertWeightBits !== undefined ? matvecCyclesPerMac(spec, o.dtype, 'mxfp4') : dense;
    root += term(m.router.rows * m.router.cols, dense, 1) + term(2 * i * h, perMac, m.experts.length) + term(h * i, perMac, m.experts.length);
  }
  return root;
}

/** Layers of the same shape share a floor: the key of a layer's shape. */
function shapeOf(l: LayerNode): string {
  const a = l.attention;
  const mlp = l.mlp.kind === 'dense' ? `d${l.mlp.dense.intermediate}` : `m${l.mlp.moe.experts.length}x${l.mlp.moe.experts[0].intermediate}k${l.mlp.moe.topK}`;
  return `${a.numHeads}/${a.numKvHeads}/${a.headDim}/${a.q.rows}/${a.extra.length}/${a.window}/${mlp}`;
}

/** The floor of a decode token of `graph` on wafers of `spec` (see the file's head and docs/floor.md). */
export function projectFloor(graph: ModelGraph, spec: FabricSpec, o: FloorOptions): FloorReport {
  const T = o.usableTiles;
  const h = graph.hidden;
  const byShape = new Map<string, { layer: number; cycles: number; steps: FloorStep[] }>();
  let layerCycles = 0;
  let slowest = 0;
  for (const l of graph.layers) {
    const key = shapeOf(l);
    let f = byShape.get(key);
    if (!f) {
      const steps = layerFloor(spec, graph, l, o);
      f = { layer: l.index, cycles: steps.reduce((s, x) => s + x.cycles, 0), steps };
      byShape.set(key, f);
    }
    layerCycles += f.cycles;
    slowest = Math.max(slowest, f.cycles);
  }
  // The token's row: its columns decoded on p tiles (the table split by columns), each share one stream to the first layer.
  let embeddingCycles = Infinity;
  for (const p of splits(Math.min(h, T))) {
    const e = Math.ceil(h / p);
    const embed = cost(spec, { op: 'embed', table: 't', rowBase: 0, rows: 1, cols: e, token: S(1), colours: [0], sliceCols: e }, 0, o.dtype);
    embeddingCycles = Math.min(embeddingCycles, spec.taskStartCycles + embed + spreadStreamCycles(spec, e, 2));
  }
  const lm = graph.lmHead;
  const head = matvecFloor(spec, lm.rows, lm.cols, matrixDtype(lm, o), T);
  // The argmax: each of the head's row blocks finds its best, the (value, index) pairs meet at one tile.
  const argmax = task(spec, cost(spec, { op: 'argmax', x: S(Math.ceil(lm.rows / head.rowBlocks)), indexBase: 0, out: S(2) })) + spreadStreamCycles(spec, 2, head.rowBlocks);
  const lmHeadCycles = normFloor(spec, h, T).cycles + head.cycles + argmax;

  // As few wafers as hold the bytes at the tile budget; the projection's link formula between them.
  const wafers = Math.max(1, Math.ceil(modelBytes(graph, o) / (T * o.budgetBytes)));
  const link = spec.interWafer;
  const boundary = link.latencySeconds + (h * spec.costs.interWaferBytesPerValue) / link.bytesPerSecond;
  const interWaferSeconds = wafers > 1 ? (wafers - 1) * boundary + link.latencySeconds + 4 / link.bytesPerSecond : 0;

  const cyclesPerToken = embeddingCycles + layerCycles + lmHeadCycles;
  const blockTiles = (o.wafers ?? wafers) * T;
  const root = graph.layers.reduce((sum, l) => sum + blockLayoutRoot(spec, graph, l, o), 0);
  const blockCycles = (root * root) / blockTiles;
  const blockLayout = { cyclesPerToken: blockCycles, tokensPerSecond: spec.clockHz / blockCycles, tiles: blockTiles };
  const latency = cyclesPerToken / spec.clockHz + interWaferSeconds;
  const slowestStage = Math.max(slowest, embeddingCycles, lmHeadCycles) / spec.clockHz;
  const interval = Math.max(latency, o.batch * Math.max(slowestStage, wafers > 1 ? (h * spec.costs.interWaferBytesPerValue) / link.bytesPerSecond : 0));
  return {
    cyclesPerToken,
    tokensPerSecond: 1 / interval,
    tokenLatencySeconds: latency,
    wafers,
    interWaferSeconds,
    embeddingCycles,
    lmHeadCycles,
    layers: [...byShape.values()],
    blockLayout,
  };
}
