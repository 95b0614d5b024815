// A matvec region: a weight matrix (or gate and up together) split into a gr × gc grid of blocks, one per tile.
// Input slice x_j is multicast to the gc-th row of tiles; partial sums of block-row i reduce over j — by a chain or a
// tree, chosen by cost — into the region's root for that block-row, which holds y_i.
import type { MatrixNode } from '../graph/graph.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { BufferInit, Op, Slice, Task } from '../../fabric/isa/types.js';
import type { BlockGrid, ProgramDtype } from './partition.js';
import { PlanBuilder, slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from './plan.js';
import { MXFP4_BLOCK, mxfp4Bytes } from '../../kernels/mxfp4.js';

export type ReduceShape = 'chain' | 'tree' | 'ktree' | 'bintree';
/** Shapes a region's reductions choose from. */
export const REDUCE_SHAPES: readonly ReduceShape[] = ['chain', 'tree', 'ktree'];
/**
 * Shapes a chunked KV head's combine chooses from: also the binary heap tree, whose two receive buffers per tile
 * leave room for more positions where the partials are long (a binomial root holds ⌈log2 chunks⌉ of them).
 */
export const COMBINE_SHAPES: readonly ReduceShape[] = [...REDUCE_SHAPES, 'bintree'];

export interface RegionRoot {
  tile: LogicalTile;
  /** The task that completes y_i; append ops to it to use the result. */
  final: Task;
  /** Buffer holding y_i (length m·rowsOf(i): gate part then up part when m = 2). */
  buf: string;
  rowOffset: number;
  rows: number;
}

export interface Region {
  name: string;
  grid: BlockGrid;
  reduce: ReduceShape;
  /** One input stream per block column j, or per group of columns (buildRegion's inputGroup) (source filled in by the producer). */
  inputs: StreamDecl[];
  roots: RegionRoot[];
  tiles: LogicalTile[];
}

export const sliceLen = (total: number, block: number, k: number): number => Math.min(block, total - k * block);

/** Group size of the two-level K-tree (WaferLLM's MeshGEMV uses K = 2 levels of ~√gc groups). */
export const kTreeGroup = (gc: number): number => Math.max(2, Math.ceil(Math.sqrt(gc)));

/**
 * Children of tile j (root = 0) in a chain, a binomial tree (the root has ⌈log2 gc⌉ children), a two-level K-tree
 * (chains inside groups of kTreeGroup(gc) tiles into each group's first tile, then a chain of group leaders into the
 * root), or a binary heap tree (children 2j + 1 and 2j + 2: as deep as the binomial tree, at most two receive buffers
 * per tile). The reduce order is fixed, so sums are deterministic.
 */
export function reduceChildren(shape: ReduceShape, j: number, gc: number): number[] {
  if (shape === 'chain') return j + 1 < gc ? [j + 1] : [];
  if (shape === 'bintree') return [2 * j + 1, 2 * j + 2].filter((c) => c < gc);
  if (shape === 'ktree') {
    const k = kTreeGroup(gc);
    const out: number[] = [];
    if ((j + 1) % k !== 0 && j + 1 < gc) out.push(j + 1);
    if (j % k === 0 && j + k < gc) out.push(j + k);
    return out;
  }
  const out: number[] = [];
  for (let s = 1; j % (2 * s) === 0 && j + s < gc; s *= 2) out.push(j + s);
  return out;
}

/**
 * Estimated cycles of the reduction alone (serialising `wavelets` per hop, plus hop and add costs), used to choose the
 * shape. A chain pays every hop in sequence; a tree pays log2(gc) levels of growing distance; a K-tree pays a chain
 * inside a group, then a chain of groups k tiles apart.
 */
export function reduceCostCycles(shape: ReduceShape, gc: number, wavelets: number, hopCycles: number, addCycles: number): number {
  if (gc <= 1) return 0;
  const stage = (distance: number) => wavelets + distance * hopCycles + addCycles;
  if (shape === 'chain') return (gc - 1) * stage(1);
  if (shape === 'ktree') {
    const k = kTreeGroup(gc);
    return (Math.min(k, gc) - 1) * stage(1) + (Math.ceil(gc / k) - 1) * stage(k);
  }
  if (shape === 'bintree') {
    // Level l's parents sit about 2^l tiles before their children and add two partials each.
    let cost = 0;
    for (let l = 0; 2 ** (l + 1) - 1 < gc; l++) cost += stage(2 ** (l + 1)) + addCycles;
    return cost;
  }
  let cost = 0;
  for (let s = 1; s < gc; s *= 2) cost += stage(s);
  return cost;
}

/**
 * Estimated cycles of a reduction as reduceUp lowers it — each tile's last merge forwarding its value as its last
 * child's lands (Task.forwards), its earlier children received whole and merged — from all partials ready to the root's
 * value. Tiles j < gc in a line (a child c is |c − j| hops away); `levelCycles`: what a forwarding level adds beyond
 * the hops (task start, the merge's setup and element, the send's issue, the ramps); `addCycles`: a merge after a whole
 * receive. A tile's ramp takes one wavelet a cycle, so its children's streams land no faster than one after another.
 * Used to choose the shape: a chain pays the wavelets once and its levels' latency; a tree's root takes each child's
 * whole stream through its ramp. `pace`: a forwarding merge's cycles per element where above one (cost.ts forwardPace).
 */
export function forwardedReduceCycles(shape: ReduceShape, gc: number, wavelets: number, hopCycles: number, addCycles: number, levelCycles: number, pace = 1): number {
  if (gc <= 1) return 0;
  // When the first and last wavelet of tile j's value leave it (children have higher indices in every shape).
  const first = new Float64Array(gc);
  const last = new Float64Array(gc);
  let rootReady = 0;
  for (let j = gc - 1; j >= 0; j--) {
    const ch = reduceChildren(shape, j, gc);
    let ready = 0;
    let rampFrom = Infinity;
    let forwarded = false;
    ch.forEach((c, m) => {
      const lat = Math.abs(c - j) * hopCycles + levelCycles;
      const inFirst = first[c] + lat;
      rampFrom = Math.min(rampFrom, inFirst);
      const inLast = Math.max(last[c] + lat, rampFrom + (m + 1) * wavelets - 1);
      if (m === ch.length - 1 && j > 0) {
        first[j] = Math.max(ready, inFirst) + 1;
        last[j] = Math.max(first[j] + (wavelets - 1) * Math.max(1, pace), inLast + 1);
        forwarded = true;
      } else ready = Math.max(ready, inLast) + addCycles;
    });
    if (j === 0) rootReady = ready;
    else if (!forwarded) {
      first[j] = ready;
      last[j] = ready + wavelets - 1;
    }
  }
  return rootReady;
}

/**
 * What a forwarding level adds to its hops (Task.forwards): the merge task's start, its streamed merge's setup and
 * element, the send's issue, and the ramps out of the sender and into the receiver.
 */
export function forwardLevelCycles(spec: FabricSpec): number {
  return spec.taskStartCycles + spec.costs.opSetupCycles + 1 + spec.costs.sendIssueCycles + 2 * spec.rampLatencyCycles;
}

/** How reduceUp names and merges: see there. */
export interface ReduceUp {
  /** Values each tile holds and sends up. */
  len: number;
  /** Where a tile's value lies (merged into, and sent from). */
  src: Slice;
  /** The receive buffer for a tile's n-th child. */
  recvBuffer: (n: number) => string;
  /** Ops merging a child's values (in receive buffer `r`) into the tile's. */
  merge: (r: string) => Op[];
  streamLabel: (child: number, parent: number) => string;
  recvLabel: string;
  mergeLabel: string;
}

/**
 * A reduction of one value per tile up `shape` (tiles[0] the root): one stream per edge, made first, in tile order;
 * then each tile receives each child's values into a buffer of its own and merges them as they land once its own value
 * (`last[c]`, the task after which it is ready) is in — a piecewise receive (Task.streams) — and every tile but the root sends its merged value to its
 * parent, forwarding it as the last child's values land (Task.forwards). Returns per tile the task after which its value covers its subtree (the root's: all of them) — append ops
 * to it. Regions' partial sums, the hub slices' sums and the LM head's argmax all reduce this way.
 */
export function reduceUp(p: PlanBuilder, shape: ReduceShape, tiles: LogicalTile[], last: Task[], o: ReduceUp): Task[] {
  const n = tiles.length;
  const up = new Map<number, StreamDecl>();
  for (let c = 0; c < n; c++) for (const ch of reduceChildren(shape, c, n)) up.set(ch, p.stream([tiles[ch].id], [tiles[c].id], o.len, 'reduce', o.streamLabel(ch, c)));
  const out = [...last];
  for (let c = 0; c < n; c++) {
    const t = tiles[c];
    reduceChildren(shape, c, n).forEach((ch, m) => {
      const r = p.buffer(t, o.recvBuffer(m), 'f32', o.len, zeros, 'activation');
      const got = p.recv(t, up.get(ch)!, slice(r, 0, o.len), [], o.recvLabel);
      out[c] = p.task(t, { on: 'after', tasks: [out[c].id, got.id] }, o.merge(r), o.mergeLabel);
      // A piecewise receive: the merge adds the child's values as they land (Task.streams, fabric/mesh/cost.ts).
      out[c].streams = got.id;
    });
    if (c > 0) {
      out[c].ops.push({ op: 'send', colour: up.get(c)!.id, src: o.src });
      // Cut-through: the last merge passes each value on as its child's lands and is added (Task.forwards), so a
      // level costs its latency rather than the whole partial's serialisation.
      if (out[c] !== last[c]) out[c].forwards = true;
    }
  }
  return out;
}

export function buildRegion(
  p: PlanBuilder,
  name: string,
  group: string,
  /** Its tiles' tag (each adds its [block row, block column]). */
  tag: Omit<TileTag, 'index'>,
  matrices: MatrixNode[],
  grid: BlockGrid,
  dtype: ProgramDtype,
  reduce: ReduceShape,
  /** Row range of the tensors this region covers (QKV per KV head covers a few heads' rows of each tensor). */
  rowMap: (i: number) => { tensorIndex: number; row0: number; rows: number }[] = (i) =>
    matrices.map((_, m) => ({ tensorIndex: m, row0: i * grid.br, rows: sliceLen(grid.rows, grid.br, i) })),
  /** Input streams shared with other regions fed by the same slices (QKV of every KV head); made here if absent. */
  sharedInputs?: StreamDecl[],
  /**
   * Packed weight storage (MXFP4 experts): each block is held in an int8-typed buffer of ⌈rows·cols·bits/8⌉ bytes, or
   * the MXFP4 layout's bytes where blocks of 32 cut by the tile's columns pad it (kernels/mxfp4.ts; the matvec's
   * blockOffset places its columns in the tensor's blocks), with no scales buffer; its
   * matvecs are marked `format: 'mxfp4'`, which the engine decodes to bf16 and the cost functions charge as that
   * decode and 16-bit products into f32 (fabric/mesh/cost.ts). Absent: weights in `dtype`.
   */
  packedWeightBits?: number,
  /**
   * Block columns per input stream (default 1): the stream of group g carries x for columns g·inputGroup onwards,
   * multicast to all their tiles, each holding the group's x and multiplying its own part (fewer, longer streams).
   */
  inputGroup = 1,
): Region {
  const { gr, gc, bc } = grid;
  const tiles: LogicalTile[][] = [];
  const all: LogicalTile[] = [];
  for (let i = 0; i < gr; i++) {
    tiles.push([]);
    for (let j = 0; j < gc; j++) {
      const t = p.tile(`${name}[${i},${j}]`, group, { ...tag, index: [i, j] });
      tiles[i].push(t);
      all.push(t);
    }
  }
  const inputs: StreamDecl[] = [];
  const groupOf = (j: number) => Math.floor(j / inputGroup);
  // Columns an input stream carries: its group's.
  const groupCols = (g: number) => Math.min(grid.cols, (g + 1) * inputGroup * bc) - g * inputGroup * bc;
  for (let j = 0; j < gc; j++) {
    const row = tiles.map((col) => col[j].id);
    if (sharedInputs) {
      sharedInputs[j].dst.push(...row);
      inputs.push(sharedInputs[j]);
    } else if (j % inputGroup !== 0) inputs[groupOf(j)].dst.push(...row);
    else inputs.push(p.stream([], row, inputGroup === 1 ? sliceLen(grid.cols, bc, j) : groupCols(groupOf(j)), 'broadcast', `${name}.in${j}`));
  }
  const roots: RegionRoot[] = [];
  for (let i = 0; i < gr; i++) {
    const parts = rowMap(i);
    const brI = parts[0].rows;
    const m = parts.length;
    const partialLen = m * brI;
    const matvecs: Task[] = [];
    for (let j = 0; j < gc; j++) {
      const t = tiles[i][j];
      const c0 = j * bc;
      const cols = sliceLen(grid.cols, bc, j);
      const ops: Op[] = [];
      parts.forEach((part, k) => {
        const mat = matrices[part.tensorIndex];
        const packed = packedWeightBits !== undefined;
        const init: BufferInit = { kind: 'weights', tensor: mat.tensor, rows: [part.row0, part.row0 + part.rows], cols: [c0, c0 + cols], ...(packed ? { format: 'mxfp4' as const } : {}) };
        const offset = c0 % MXFP4_BLOCK;
        const w = packed ? p.buffer(t, `w${k}`, 'int8', Math.max(Math.ceil((part.rows * cols * packedWeightBits) / 8), mxfp4Bytes(part.rows, cols, offset)), init, 'weights') : p.buffer(t, `w${k}`, dtype, part.rows * cols, init, 'weights');
        let scales: string | undefined;
        if (dtype === 'int8' && !packed) scales = p.buffer(t, `s${k}`, 'f32', part.rows, { kind: 'scales', tensor: mat.tensor, rows: [part.row0, part.row0 + part.rows], cols: [c0, c0 + cols] }, 'weights');
        ops.push({ op: 'matvec', w, scales, rows: part.rows, cols, x: slice('x', (j % inputGroup) * bc, cols), y: slice('p', k * brI, part.rows), accumulate: false, ...(packed ? { format: 'mxfp4' as const, ...(offset > 0 ? { blockOffset: offset } : {}) } : {}) });
      });
      const xLen = inputGroup === 1 ? cols : groupCols(groupOf(j));
      p.buffer(t, 'x', 'f32', xLen, zeros, 'activation');
      p.buffer(t, 'p', 'f32', partialLen, zeros, 'activation');
      matvecs.push(p.recv(t, inputs[groupOf(j)], slice('x', 0, xLen), ops, `${name}.matvec`));
    }
    // Block-row i's partial sums, child -> parent, one stream per edge.
    const partial = slice('p', 0, partialLen);
    const [final] = reduceUp(p, reduce, tiles[i], matvecs, {
      len: partialLen,
      src: partial,
      recvBuffer: (n) => `r${n}`,
      merge: (r) => [{ op: 'add', a: partial, b: slice(r, 0, partialLen), out: partial }],
      streamLabel: (c, j) => `${name}.red${i}.${c}>${j}`,
      recvLabel: `${name}.recv`,
      mergeLabel: `${name}.add`,
    });
    roots.push({ tile: tiles[i][0], final, buf: 'p', rowOffset: parts[0].row0, rows: brI });
  }
  return { name, grid, reduce, inputs, roots, tiles: all };
}
