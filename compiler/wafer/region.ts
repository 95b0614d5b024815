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
  // When the first and last wavelet of tile j's value leave it (children have higher indices in every shape). Plain
  // arrays: a typed array this long has a buffer outside the heap, costly to make and free for each candidate grid.
  const first: number[] = new Array<number>(gc).fill(0);
  const last: number[] = new Array<number>(gc).fill(0);
  let rootReady = 0;
  for (let j = gc - 1; j >= 0; j--) {
    const ch = reduceChildren(shape, j, gc);
    let ready = 0;
    let rampFrom = Infinity;
    let forwarded = false;
    for (let m = 0; m < ch.length; m++) {
      const c = ch[m];
      const lat = Math.abs(c - j) * hopCycles + levelCycles;
      const inFirst = first[c] + lat;
      rampFrom = Math.min(rampFrom, inFirst);
      const inLast = Math.max(last[c] + lat, rampFrom + (m + 1) * wavelets - 1);
      if (m === ch.length - 1 && j > 0) {
        first[j] = Math.max(ready, inFirst) + 1;
        last[j] = Math.max(first[j] + (wavelets - 1) * Math.max(1, pace), inLast + 1);
        forwarded = true;
      } else ready = Math.max(ready, inLast) + addCycles;
    }
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
  /** Ops merging a child's values (in receive buffer `r`, all `len` of them: `into`) into the tile's. */
  merge: (r: string, into: Slice) => Op[];
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
  const children: number[][] = [];
  // Indexed by child: the stream to its parent.
  const up: StreamDecl[] = [];
  for (let c = 0; c < n; c++) {
    const ch = reduceChildren(shape, c, n);
    children.push(ch);
    for (const x of ch) up[x] = p.stream([tiles[x].id], [tiles[c].id], o.len, 'reduce', o.streamLabel(x, c));
  }
  // Receive buffers by child position (the same on every tile).
  const recv: { name: string; into: Slice }[] = [];
  const out = last.slice();
  for (let c = 0; c < n; c++) {
    const t = tiles[c];
    const ch = children[c];
    for (let m = 0; m < ch.length; m++) {
      const r = (recv[m] ??= recvBuffer(o, m));
      p.buffer(t, r.name, 'f32', o.len, zeros, 'activation');
      const got = p.recv(t, up[ch[m]], r.into, [], o.recvLabel);
      // A piecewise receive: the merge adds the child's values as they land (Task.streams, fabric/mesh/cost.ts).
      // Cut-through: the last merge passes each value on as its child's lands and is added (Task.forwards), so a
      // level costs its latency rather than the whole partial's serialisation.
      out[c] = p.merge(t, [out[c].id, got.id], got, o.merge(r.name, r.into), o.mergeLabel, c > 0 && m === ch.length - 1);
    }
    if (c > 0) out[c].ops.push({ op: 'send', colour: up[c].id, src: o.src });
  }
  return out;
}

/** A reduction's receive buffer for a tile's m-th child, and the slice a child's values land in. */
const recvBuffer = (o: ReduceUp, m: number): { name: string; into: Slice } => {
  const name = o.recvBuffer(m);
  return { name, into: slice(name, 0, o.len) };
};

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
  rowMap: (i: number) => RowPart[] = (i) => matrices.map((_, m) => ({ tensorIndex: m, row0: i * grid.br, rows: sliceLen(grid.rows, grid.br, i) })),
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
  const tiles = regionTiles(p, name, group, tag, grid);
  const inputs = regionInputs(p, name, grid, tiles, sharedInputs, inputGroup);
  const columns = blockColumns(grid, inputGroup);
  const block: BlockLowering = { p, name, matrices, dtype, packedWeightBits, columns, inputs, matvecLabel: `${name}.matvec` };
  const mergeLabels = { recvLabel: `${name}.recv`, mergeLabel: `${name}.add` };
  const roots: RegionRoot[] = [];
  for (let i = 0; i < grid.gr; i++) {
    const parts = rowMap(i);
    const brI = parts[0].rows;
    const partialLen = parts.length * brI;
    const matvecs = blockRowMatvecs(block, tiles[i], parts);
    // Block-row i's partial sums, child -> parent, one stream per edge.
    const partial = slice('p', 0, partialLen);
    const [final] = reduceUp(p, reduce, tiles[i], matvecs, {
      len: partialLen,
      src: partial,
      recvBuffer: (n) => `r${n}`,
      merge: (_, into) => [{ op: 'add', a: partial, b: into, out: partial }],
      streamLabel: (c, j) => `${name}.red${i}.${c}>${j}`,
      ...mergeLabels,
    });
    roots.push({ tile: tiles[i][0], final, buf: 'p', rowOffset: parts[0].row0, rows: brI });
  }
  return { name, grid, reduce, inputs, roots, tiles: tiles.flat() };
}

/** The rows of one tensor a block row covers (buildRegion's rowMap). */
export interface RowPart {
  tensorIndex: number;
  row0: number;
  rows: number;
}

/** The region's tiles by block row, in tile order (row-major). */
function regionTiles(p: PlanBuilder, name: string, group: string, tag: Omit<TileTag, 'index'>, grid: BlockGrid): LogicalTile[][] {
  const tagOf = indexedTag(tag);
  const tiles: LogicalTile[][] = [];
  for (let i = 0; i < grid.gr; i++) {
    const row: LogicalTile[] = [];
    for (let j = 0; j < grid.gc; j++) row.push(p.tile(`${name}[${i},${j}]`, group, tagOf([i, j])));
    tiles.push(row);
  }
  return tiles;
}

/**
 * Tags of a region's tiles: `tag` with each tile's index, its keys in `tag`'s order. Not a spread per tile: a spread
 * that sees tags of many shapes, or runs before V8 keeps feedback for it, gives each copy a hidden class of its own
 * (~10^4 of them in a layer).
 */
function indexedTag(tag: Omit<TileTag, 'index'>): (index: number[]) => TileTag {
  const { unit, layer, expert } = tag;
  const keys = Object.keys(tag)
    .filter((k) => k !== 'index')
    .join();
  if (keys === 'unit,layer,expert') return (index) => ({ unit, layer, expert, index });
  if (keys === 'layer,expert,unit') return (index) => ({ layer, expert, unit, index });
  return (index) => ({ ...tag, index });
}

/** One input stream per block column, or per group of columns; shared streams gain the columns' tiles. */
function regionInputs(p: PlanBuilder, name: string, grid: BlockGrid, tiles: LogicalTile[][], sharedInputs: StreamDecl[] | undefined, inputGroup: number): StreamDecl[] {
  const inputs: StreamDecl[] = [];
  for (let j = 0; j < grid.gc; j++) {
    const row = tiles.map((col) => col[j].id);
    if (sharedInputs) {
      sharedInputs[j].dst.push(...row);
      inputs.push(sharedInputs[j]);
    } else if (j % inputGroup !== 0) inputs[Math.floor(j / inputGroup)].dst.push(...row);
    else inputs.push(p.stream([], row, inputGroup === 1 ? sliceLen(grid.cols, grid.bc, j) : groupCols(grid, inputGroup, j / inputGroup), 'broadcast', `${name}.in${j}`));
  }
  return inputs;
}

/** Columns an input stream of group g carries: its group's. */
const groupCols = (grid: BlockGrid, inputGroup: number, g: number): number => Math.min(grid.cols, (g + 1) * inputGroup * grid.bc) - g * inputGroup * grid.bc;

/** What every block of column j shares (one object per column, its arrays and slices read by every block row). */
interface BlockColumn {
  /** Input stream (group) it receives. */
  input: number;
  cols: number;
  /** Its columns of the weight tensors. */
  range: [number, number];
  /** Where its columns start inside an MXFP4 block. */
  offset: number;
  /** Its part of x (the matvec's input), and the whole of its stream's x (the receive). */
  x: Slice;
  into: Slice;
}

function blockColumns(grid: BlockGrid, inputGroup: number): BlockColumn[] {
  const out: BlockColumn[] = [];
  for (let j = 0; j < grid.gc; j++) {
    const c0 = j * grid.bc;
    const cols = sliceLen(grid.cols, grid.bc, j);
    const g = Math.floor(j / inputGroup);
    const xLen = inputGroup === 1 ? cols : groupCols(grid, inputGroup, g);
    out.push({ input: g, cols, range: [c0, c0 + cols], offset: c0 % MXFP4_BLOCK, x: slice('x', (j % inputGroup) * grid.bc, cols), into: slice('x', 0, xLen) });
  }
  return out;
}

/** What buildRegion's blocks share. */
interface BlockLowering {
  p: PlanBuilder;
  name: string;
  matrices: MatrixNode[];
  dtype: ProgramDtype;
  packedWeightBits: number | undefined;
  columns: BlockColumn[];
  inputs: StreamDecl[];
  matvecLabel: string;
}

/** Block row `row`'s buffers and matvecs (one recv task per block, on its input stream); returns the tasks. */
function blockRowMatvecs(b: BlockLowering, row: LogicalTile[], parts: RowPart[]): Task[] {
  const brI = parts[0].rows;
  const partialLen = parts.length * brI;
  // Per part: its tensor rows and its place in the partial, the same for every block of the row.
  const shared = parts.map((part, k): BlockPart => ({ part, tensor: b.matrices[part.tensorIndex].tensor, rows: [part.row0, part.row0 + part.rows], y: slice('p', k * brI, part.rows), w: `w${k}`, s: `s${k}` }));
  const matvecs: Task[] = [];
  for (let j = 0; j < row.length; j++) {
    const t = row[j];
    const col = b.columns[j];
    const ops: Op[] = [];
    for (const part of shared) ops.push(blockMatvec(b, t, col, part));
    b.p.buffer(t, 'x', 'f32', col.into.length, zeros, 'activation');
    b.p.buffer(t, 'p', 'f32', partialLen, zeros, 'activation');
    matvecs.push(b.p.recv(t, b.inputs[col.input], col.into, ops, b.matvecLabel));
  }
  return matvecs;
}

/** What the blocks of a row share for one part (tensor) of it. */
interface BlockPart {
  part: RowPart;
  tensor: string;
  /** Its rows of the tensor, and where they lie in the partial sums. */
  rows: [number, number];
  y: Slice;
  /** Its weight and int8 scales buffers. */
  w: string;
  s: string;
}

/** One part's weight buffer (and int8 scales) on block tile `t`, and its matvec. */
function blockMatvec(b: BlockLowering, t: LogicalTile, col: BlockColumn, s: BlockPart): Op {
  const { p, dtype, packedWeightBits: bits } = b;
  const { rows } = s.part;
  const { cols } = col;
  if (bits !== undefined) {
    const init: BufferInit = { kind: 'weights', tensor: s.tensor, rows: s.rows, cols: col.range, format: 'mxfp4' };
    const w = p.buffer(t, s.w, 'int8', Math.max(Math.ceil((rows * cols * bits) / 8), mxfp4Bytes(rows, cols, col.offset)), init, 'weights');
    if (col.offset === 0) return { op: 'matvec', w, scales: undefined, rows, cols, x: col.x, y: s.y, accumulate: false, format: 'mxfp4' };
    return { op: 'matvec', w, scales: undefined, rows, cols, x: col.x, y: s.y, accumulate: false, format: 'mxfp4', blockOffset: col.offset };
  }
  const w = p.buffer(t, s.w, dtype, rows * cols, { kind: 'weights', tensor: s.tensor, rows: s.rows, cols: col.range }, 'weights');
  const scales = dtype === 'int8' ? p.buffer(t, s.s, 'f32', rows, { kind: 'scales', tensor: s.tensor, rows: s.rows, cols: col.range }, 'weights') : undefined;
  return { op: 'matvec', w, scales, rows, cols, x: col.x, y: s.y, accumulate: false };
}
