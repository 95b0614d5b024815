// Chunked KV heads: a KV head whose cache (with its q/k/v buffers) overflows a tile, or that chunks attend over
// faster, is split over chunk tiles (kvChunking picks their size), chunk c holding positions [c·P, (c+1)·P). q with
// the new k and v is multicast to them; the chunk whose window holds the step's position appends the new row (the
// others only test it), each attends over its window's positions up to the step's, and the partials combine up a
// reduction tree to chunk 0 in pieces, which feeds the O region. A partial is flash-decoding's: each head's max score
// and sum first, then its unnormalised outputs; the combine merges the statistics (two exponentials per head,
// attnMerge) with the first piece and rescales-and-adds the rows of every piece (attnMergeRows), and chunk 0 divides
// by the sums (attnFinish). It plugs into the wafer lowering as its KvChunker (compiler/wafer/lower.ts): the
// projection's, and compileModel's `projection` option runs it on the mesh engine at a size it holds
// (test/unit/compiler/project/enginePaths2.test.ts).
import { OptionError } from '../../fabric/errors.js';
import { opCost } from '../../fabric/mesh/cost.js';
import type { Op, Slice, Task } from '../../fabric/isa/types.js';
import { slice, zeros, type LogicalTile, type StreamDecl } from '../wafer/plan.js';
import { COMBINE_SHAPES, forwardLevelCycles, forwardedReduceCycles, reduceChildren, reduceCostCycles, sliceLen, type ReduceShape } from '../wafer/region.js';
import { fail, type KvChunker, type KvChunking, type LowerContext } from '../wafer/lower/context.js';

/**
 * Pieces a chunked KV head's partial goes up its combine tree in: about 128 floats each, at most 8, and few enough
 * that a tile's streams fit its colours. Each piece is a stream of its own (the ISA has one receive trigger per colour
 * on a tile), so a tile with `children` children on the combine tree receives children × pieces streams and sends
 * pieces more, beside its query (and the new k/v or the O region's input): (children + 1) × pieces + 2 colours. Fewer
 * pieces pipeline the combine less; the estimate charges what is chosen. The first piece holds the partial's
 * `group` heads' statistics (2·group floats) whole.
 */
export function combinePieces(partLen: number, children: number, colours: number, group: number, most = MAX_COMBINE_PIECES): number {
  const byColours = Math.floor((colours - COMBINE_OTHER_STREAMS) / (children + 1));
  let pieces = Math.max(1, Math.min(most, Math.floor(partLen / 128), byColours));
  while (pieces > 1 && Math.ceil(partLen / pieces) < 2 * group) pieces--;
  return pieces;
}

/** The combine's ops for `group` heads of `hd`: merging one piece of `n` rows, and the statistics. */
function mergeOps(group: number, hd: number) {
  const factors = slice('f0', 0, 2 * group);
  return {
    rows: (n: number): Op => ({ op: 'attnMergeRows', out: slice('part', 0, n), other: slice('r0', 0, n), factors, numHeads: group, headDim: hd, first: 0 }),
    stats: { op: 'attnMerge', stats: slice('part', 0, 2 * group), other: slice('r0', 0, 2 * group), factors, numHeads: group } as Op,
  };
}

/** Most pieces a partial is split into (a projection may ask for fewer: ProjectionLowering.kvCombinePieces). */
export const MAX_COMBINE_PIECES = 8;

/** Streams of a chunk tile besides its combine: q in, and the new k/v in or the O region's input out. */
const COMBINE_OTHER_STREAMS = 2;

/**
 * Whether a combine of `chunks` tiles laid out in chunk order can be coloured: the binary heap's edges (chunk i to
 * (i − 1) / 2) cross one another, about half of them over the middle of the chunks, so past the fabric's colours
 * they do not fit the links there whatever the routes; the other shapes cross a cut O(log chunks) times.
 */
const routable = (shape: ReduceShape, chunks: number, colours: number): boolean => shape !== 'bintree' || chunks <= colours;

/** Most children any tile of a combine tree of `chunks` tiles has (the root's, in every shape). */
const combineChildren = (shape: ReduceShape, chunks: number): number => reduceChildren(shape, 0, chunks).length;

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

/**
 * Positions a chunk tile holds for a `context`-long cache combined in `shape`: what fits beside q, the partial, the
 * new k/v and the receive buffers of its combine children (their count depends on the chunk count, so iterate).
 */
function chunkCapacity(c: LowerContext, shape: ReduceShape, context: number): number {
  const { group, hd } = c;
  const qLen = group * hd;
  const partLen = qLen + 2 * group;
  let chunks = 1;
  let positions = 0;
  for (let it = 0; it < 6; it++) {
    // The root has the most children in every shape (chunk 0 of the combine).
    const children = reduceChildren(shape, 0, chunks).length;
    // q, the partial, its children's partials and rescaling factors, chunk 0's finished output, the new k/v.
    const fixed = 4 * (qLen + partLen * (1 + children) + 2 * group * children + qLen + 2 * hd) + 64;
    positions = Math.min(context, Math.floor((c.opts.budgetBytes - fixed) / (2 * c.kvBytes * hd)));
    if (positions < 1) break;
    chunks = Math.ceil(context / positions);
  }
  return positions;
}

/** What a chunked KV head costs, by the engine's cost functions: attention over p positions, and the combine. */
function chunkCosts(c: LowerContext) {
  const { group, hd, spec, kvDtype } = c;
  const qLen = group * hd;
  const partLen = qLen + 2 * group;
  const attend = (p: number) => opCost(spec, { op: 'attention', q: slice('q', 0, qLen), kCache: 'kc', vCache: 'vc', out: slice('part', 2 * group, qLen), numHeads: group, numKvHeads: 1, headDim: hd, stats: slice('part', 0, 2 * group) }, { position: p - 1, dtypeOf: () => kvDtype }).cycles;
  // The combine: a tree of pieces (chunkedAttention), pipelined: the tree at the first piece's cost (its rows and the
  // statistics), then the other pieces.
  const merge = mergeOps(group, hd);
  const f32 = { position: 0, dtypeOf: () => 'f32' as const };
  // A combine's pieces: how many, their length, a piece's merge, and the first's (with the statistics).
  const piecesOf = (shape: ReduceShape, n: number) => {
    const pieces = combinePieces(partLen, combineChildren(shape, n), spec.colours, group, c.proj?.kvCombinePieces);
    const ps = Math.ceil(partLen / pieces);
    const rowsPiece = opCost(spec, merge.rows(ps), f32).cycles;
    const firstPiece = opCost(spec, merge.stats, f32).cycles + (ps > 2 * group ? opCost(spec, merge.rows(ps - 2 * group), f32).cycles : 0);
    return { pieces, ps, rowsPiece, firstPiece };
  };
  const combineCycles = (shape: ReduceShape, n: number) => {
    const { pieces, ps, rowsPiece, firstPiece } = piecesOf(shape, n);
    // The chunk size is chosen as if every level stored and forwarded, though each tile's last child forwards
    // (Task.forwards): costed with forwarding (forwardedCycles), llama-3.1-8b's combine takes smaller chunks and more
    // pieces, whose layout needs more colours than wse3 has. The shape, at the size chosen, is costed with forwarding.
    return reduceCostCycles(shape, n, ps, spec.hopLatencyCycles, firstPiece) + (n > 1 ? (pieces - 1) * (ps + rowsPiece) : 0);
  };
  const forwardedCycles = (shape: ReduceShape, n: number) => {
    const { pieces, ps, rowsPiece, firstPiece } = piecesOf(shape, n);
    return forwardedReduceCycles(shape, n, ps, spec.hopLatencyCycles, spec.taskStartCycles + firstPiece, forwardLevelCycles(spec), rowsPiece / ps) + (n > 1 ? (pieces - 1) * Math.max(ps, rowsPiece) : 0);
  };
  return { attend, combineCycles, forwardedCycles };
}

/** Positions per full chunk tile of a very long cache, in the combine shape that is cheapest full (the 'fill' choice). */
function longFillPositions(c: LowerContext): number {
  const { attend, combineCycles } = chunkCosts(c);
  let best: { positions: number; cost: number } | null = null;
  for (const shape of COMBINE_SHAPES) {
    const positions = chunkCapacity(c, shape, LONG_CONTEXT);
    if (positions < 1 || !routable(shape, Math.ceil(LONG_CONTEXT / positions), c.spec.colours)) continue;
    const cost = attend(positions) + combineCycles(shape, Math.ceil(LONG_CONTEXT / positions));
    if (!best || cost < best.cost) best = { positions, cost };
  }
  return best?.positions ?? 0;
}

/**
 * Projection only: positions per chunk tile and chunk count when a KV head's cache overflows its tile, or when
 * chunks attend faster than one tile (null: one tile, as the engine runs it). A chunk tile holds q, its partial
 * (a max and a sum per head, then group·hd outputs), the new k/v, receive buffers and rescaling factors for its
 * combine children, chunk 0 the finished output, and the K and V rows.
 */
function kvChunking(c: LowerContext, qkNorm: boolean): KvChunking | null {
  const { group, hd, qkvRows, kvBytes, opts, spec } = c;
  const proj = c.proj;
  const qLen = group * hd;
  const kvHeadBytes = 4 * (qkvRows + qLen) + (qkNorm ? 8 * hd : 0) + 2 * kvBytes * hd * opts.maxSeq;
  // A cache that fits its tile is split only by the automatic search, only where one tile's attention is long
  // (MIN_SPLIT_ATTENTION_CYCLES), and only where chunks are faster.
  // (Or where asked to: ProjectionLowering.kvChunkFitting.)
  const fits = kvHeadBytes <= opts.budgetBytes && !(proj?.kvChunkFitting === true && typeof proj.kvChunkPositions === 'number');
  if (fits && proj?.kvChunkPositions !== undefined) return null;
  const { attend, combineCycles, forwardedCycles } = chunkCosts(c);
  if (fits && attend(opts.maxSeq) < MIN_SPLIT_ATTENTION_CYCLES) return null;
  // Per combine shape: the most positions a chunk holds beside its receive buffers (their count depends on the
  // chunk count, so iterate); then that or fewer positions per chunk (more chunk tiles, a deeper combine), whichever
  // makes attention over a chunk plus the combine (estimated as chooseReduce does) cheapest.
  let best: { positions: number; chunks: number; reduce: ReduceShape; cost: number } | null = null;
  for (const shape of COMBINE_SHAPES) {
    const positions = chunkCapacity(c, shape, opts.maxSeq);
    if (positions < 1) continue;
    const forced = proj?.kvChunkPositions === 'fill' ? positions : proj?.kvChunkPositions;
    if (forced !== undefined && forced > positions) continue;
    for (let p = forced ?? positions; p >= 1; p = forced !== undefined ? 0 : Math.floor(p / 2)) {
      const n = Math.ceil(opts.maxSeq / p);
      if (forced === undefined && n > MAX_KV_CHUNKS) break;
      if (!routable(shape, n, spec.colours)) continue;
      const cost = attend(p) + combineCycles(shape, n);
      if (!best || cost < best.cost) best = { positions: p, chunks: n, reduce: shape, cost };
    }
  }
  if (!best && typeof proj?.kvChunkPositions === 'number') throw new OptionError('kvChunkPositions', `${proj.kvChunkPositions} KV positions of head dimension ${hd} do not fit a chunk tile of ${spec.sramBytesPerTile} bytes beside its query`, 'give fewer positions, fill or auto');
  // Against one tile attending over the whole cache, chunks also pay q's multicast to them.
  if (fits && (!best || best.chunks < 2 || best.cost + qLen >= attend(opts.maxSeq))) return null;
  if (!best) fail(`one KV position of head dimension ${hd} does not fit a tile of ${spec.sramBytesPerTile} bytes beside its query`, 'use a fabric with more SRAM per tile');
  // The chunk size chosen, the combine's shape is the one fastest as the engine runs it: each tile's last child
  // forwards (Task.forwards), so a K-tree's chains cost a level's latency each and only its leaders merge a child whole.
  const { positions, chunks } = best;
  const shapes = COMBINE_SHAPES.filter((sh) => routable(sh, chunks, spec.colours) && chunkCapacity(c, sh, opts.maxSeq) >= positions);
  const forced = proj?.kvCombineShape;
  if (forced !== undefined && !shapes.includes(forced)) throw new OptionError('kvCombineShape', `a ${forced} combine of ${chunks} chunk tiles does not fit their colours or their SRAM`, `give one of ${shapes.join(', ')}`);
  let reduce = forced ?? best.reduce;
  if (forced === undefined) {
    let fastest = forwardedCycles(reduce, chunks);
    for (const sh of shapes) {
      const cycles = forwardedCycles(sh, chunks);
      if (cycles < fastest) [reduce, fastest] = [sh, cycles];
    }
  }
  const pieces = combinePieces(group * hd + 2 * group, combineChildren(reduce, chunks), spec.colours, group, proj?.kvCombinePieces);
  return { positions, chunks, reduce, pieces };
}

/** KV head `g`'s attention over chunk tiles (see ProjectionLowering); returns the ops on its attention tile that feed them. */
function chunkedAttention(ctx: LowerContext, layerIndex: number, g: number, at: LogicalTile, oInput: StreamDecl, chunking: KvChunking): Op[] {
  const { p, qkvRows } = ctx;
  const L = `L${layerIndex}`;
  const { chunks, reduce, pieces } = chunking;
  // q, k and v lie side by side in the attention tile's `qkv`: one multicast carries all three to every chunk (the
  // chunk that holds the step's position is known only at run time).
  const qStream = p.stream([at.id], [], qkvRows, 'broadcast', `${L}.attn.q${g}`);
  const tiles = chunkTiles(ctx, L, layerIndex, g, chunking, qStream);
  const sl = chunkSlices(ctx, chunking);
  // The partials go up the combine tree in pieces, each added and passed on as soon as it is in: a level costs a
  // piece, not the whole partial, once the pipeline is full. Indexed by child: its streams to its parent, by piece.
  const children: number[][] = [];
  const up: StreamDecl[][] = [];
  for (let c = 0; c < chunks; c++) {
    const ch = reduceChildren(reduce, c, chunks);
    children.push(ch);
    for (const x of ch) {
      const streams: StreamDecl[] = [];
      for (let q = 0; q < pieces; q++) streams.push(p.stream([tiles[x].id], [tiles[c].id], sl.pieceLen[q], 'reduce', `${L}.attn.kv${g}.red${x}>${c}.${q}`));
      up[x] = streams;
    }
  }
  const labels = { chunk: `${L}.attn.chunk`, recv: `${L}.attn.combine.recv`, combine: `${L}.attn.combine` };
  for (let c = 0; c < chunks; c++) {
    const t = tiles[c];
    const own = p.recv(t, qStream, sl.q, chunkAttendOps(ctx, sl, { first: c * chunking.positions, positions: chunking.positions }), labels.chunk);
    const last = mergeChildren(ctx, t, own, children[c].map((x) => up[x]), sl, labels, c > 0);
    if (c > 0) up[c].forEach((st, q) => last[q].ops.push({ op: 'send', colour: st.id, src: sl.send[q] }));
    else finishChunk0(ctx, t, last, oInput, sl, labels.combine);
  }
  return [{ op: 'send', colour: qStream.id, src: slice('qkv', 0, qkvRows) }];
}

/** KV head `g`'s chunk tiles, each with its buffers and on q's multicast. */
function chunkTiles(ctx: LowerContext, L: string, layerIndex: number, g: number, chunking: KvChunking, qStream: StreamDecl): LogicalTile[] {
  const { p, group, hd, kvDtype, qkvRows } = ctx;
  const partLen = group * hd + 2 * group;
  const tiles: LogicalTile[] = [];
  const role = `${L}.attn.kv${g}.chunk`;
  const tileGroup = `${L}.attn`;
  for (let c = 0; c < chunking.chunks; c++) {
    const t = p.tile(`${role}${c}`, tileGroup, { unit: 'kv-chunk', layer: layerIndex, expert: null, index: [g, c] });
    p.buffer(t, 'q', 'f32', qkvRows, zeros, 'activation');
    p.buffer(t, 'kc', kvDtype, chunking.positions * hd, zeros, 'kv-cache');
    p.buffer(t, 'vc', kvDtype, chunking.positions * hd, zeros, 'kv-cache');
    p.buffer(t, 'part', 'f32', partLen, zeros, 'activation');
    if (c === 0) p.buffer(t, 'fin', 'f32', group * hd, zeros, 'activation');
    qStream.dst.push(t.id);
    tiles.push(t);
  }
  return tiles;
}

/** Per combine child n and piece q, what its receive and merges read and write: the same on every chunk tile. */
interface ChildSlices {
  /** Receive buffer and rescaling factors. */
  r: string;
  f: string;
  factors: Slice;
  /** The child's statistics, and each piece as received and the rows of it merged. */
  stats: Slice;
  into: Slice[];
  rows: (Slice | null)[];
}

/** The slices a head's chunk tiles share: all are the same on every chunk (none is written to after lowering). */
interface ChunkSlices {
  q: Slice;
  k: Slice;
  v: Slice;
  qRows: Slice;
  out: Slice;
  stats: Slice;
  partLen: number;
  pieceLen: number[];
  /** Per piece: the part's rows a merge rescales and adds (null: the piece holds statistics only), and what is sent up. */
  partRows: (Slice | null)[];
  send: Slice[];
  /** Per child position, made as first needed. */
  child: ChildSlices[];
}

function chunkSlices(ctx: LowerContext, chunking: KvChunking): ChunkSlices {
  const { group, hd, qkvRows } = ctx;
  const qLen = group * hd;
  const partLen = qLen + 2 * group;
  const ps = Math.ceil(partLen / chunking.pieces);
  const pieceLen = Array.from({ length: chunking.pieces }, (_, q) => sliceLen(partLen, ps, q));
  // A piece's rows start after the statistics (which the first piece holds whole).
  const rowsFrom = (q: number) => (q === 0 ? 2 * group : q * ps);
  const partRows = pieceLen.map((len, q) => (q * ps + len > rowsFrom(q) ? slice('part', rowsFrom(q), q * ps + len - rowsFrom(q)) : null));
  return {
    q: slice('q', 0, qkvRows),
    k: slice('q', qLen, hd),
    v: slice('q', qLen + hd, hd),
    qRows: slice('q', 0, qLen),
    out: slice('part', 2 * group, qLen),
    stats: slice('part', 0, 2 * group),
    partLen,
    pieceLen,
    partRows,
    send: pieceLen.map((len, q) => slice('part', q * ps, len)),
    child: [],
  };
}

/** The slices of child position `n` (its receive buffer `r{n}`, factors `f{n}`). */
function childSlices(sl: ChunkSlices, n: number, group: number): ChildSlices {
  const known = sl.child[n];
  if (known) return known;
  const r = `r${n}`;
  const f = `f${n}`;
  const rows = sl.partRows.map((rs) => (rs ? slice(r, rs.offset, rs.length) : null));
  const into = sl.send.map((s) => slice(r, s.offset, s.length));
  return (sl.child[n] = { r, f, factors: slice(f, 0, 2 * group), stats: slice(r, 0, 2 * group), into, rows });
}

/** A chunk's own ops on q's arrival: append the new k/v (where its window holds the step's position) and attend. */
function chunkAttendOps(ctx: LowerContext, sl: ChunkSlices, window: { first: number; positions: number }): Op[] {
  const { group, hd } = ctx;
  return [
    { op: 'kvAppend', k: sl.k, v: sl.v, kCache: 'kc', vCache: 'vc', rowLength: hd, window },
    { op: 'attention', q: sl.qRows, kCache: 'kc', vCache: 'vc', out: sl.out, numHeads: group, numKvHeads: 1, headDim: hd, stats: sl.stats, window },
  ];
}

/**
 * Chunk tile `t` receives each child's partial (`ups[n]`: its streams by piece) and merges it into its own (ready
 * after `own`); returns per piece the task after which that piece of its partial covers its subtree. Where it
 * `sends` up, the last child's merge passes each value on as it lands (Task.forwards): its statistics come first and
 * the factors before the rows they scale, so each value sent needs only the wavelets before it.
 */
function mergeChildren(ctx: LowerContext, t: LogicalTile, own: Task, ups: StreamDecl[][], sl: ChunkSlices, labels: { recv: string; combine: string }, sends: boolean): Task[] {
  const { p, group, hd } = ctx;
  const pieces = sl.send.length;
  const last: Task[] = [];
  for (let q = 0; q < pieces; q++) last.push(own);
  const kids = ups.map((_, n) => childSlices(sl, n, group));
  for (const k of kids) p.buffer(t, k.r, 'f32', sl.partLen, zeros, 'activation');
  for (const k of kids) p.buffer(t, k.f, 'f32', 2 * group, zeros, 'activation');
  // Piece by piece (the CE starts the lowest-numbered ready task): piece 0 from every child, then piece 1, …; a
  // child's first piece merges the statistics and so its factors, which its later pieces wait for.
  const factorsOf: Task[] = [];
  for (let q = 0; q < pieces; q++) {
    for (let n = 0; n < kids.length; n++) {
      const k = kids[n];
      const got = p.recv(t, ups[n][q], k.into[q], [], labels.recv);
      const ops: Op[] = q === 0 ? [{ op: 'attnMerge', stats: sl.stats, other: k.stats, factors: k.factors, numHeads: group }] : [];
      const rows = sl.partRows[q];
      if (rows) ops.push({ op: 'attnMergeRows', out: rows, other: k.rows[q]!, factors: k.factors, numHeads: group, headDim: hd, first: rows.offset - 2 * group });
      // A piecewise receive: the merge runs on the piece as it lands (Task.streams).
      last[q] = p.merge(t, q === 0 ? [last[q].id, got.id] : [last[q].id, got.id, factorsOf[n].id], got, ops, labels.combine, sends && n === kids.length - 1);
      if (q === 0) factorsOf[n] = last[q];
    }
  }
  return last;
}

/** Chunk 0 divides the merged rows by the softmax sums and feeds the O region. */
function finishChunk0(ctx: LowerContext, t: LogicalTile, last: Task[], oInput: StreamDecl, sl: ChunkSlices, label: string): void {
  const { group, hd } = ctx;
  const qLen = group * hd;
  oInput.src.push(t.id);
  const ops: Op[] = [{ op: 'attnFinish', stats: sl.stats, rows: sl.out, out: slice('fin', 0, qLen), numHeads: group, headDim: hd }, { op: 'send', colour: oInput.id, src: slice('fin', 0, qLen) }];
  const ids = [...new Set(last.map((x) => x.id))];
  if (ids.length === 1) last[0].ops.push(...ops);
  else ctx.p.task(t, { on: 'after', tasks: ids }, ops, label);
}

/** The projection's KV chunker: the plan for a model's KV heads, and each chunked head's tiles. */
export const kvChunker: KvChunker = {
  plan: (c, qkNorm) => ({ chunking: kvChunking(c, qkNorm), fillPositions: longFillPositions(c) }),
  lowerHead: chunkedAttention,
};
