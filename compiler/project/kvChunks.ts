// Chunked KV heads, a path only the projection takes: a KV head whose cache (with its q/k/v buffers) overflows a
// tile, or that chunks attend over faster, is split over chunk tiles (kvChunking picks their size); q is multicast to
// them, each attends over its positions, and the partials combine up a reduction tree to chunk 0 in pieces, which
// feeds the O region. The new k/v go to the last chunk. The combine is charged as two f32 vector adds over the partial
// (the rescale-and-add of flash-decoding's combine, without its 2·group exponentials). It plugs into the wafer
// lowering as its KvChunker (compiler/wafer/lower.ts); the mesh engine never runs it.
import { OptionError } from '../../fabric/errors.js';
import { f32AddWidth, opCost } from '../../fabric/mesh/cost.js';
import type { Op, Task } from '../../fabric/isa/types.js';
import { slice, zeros, type LogicalTile, type StreamDecl } from '../wafer/plan.js';
import { COMBINE_SHAPES, reduceChildren, reduceCostCycles, sliceLen, type ReduceShape } from '../wafer/region.js';
import { fail, type KvChunker, type KvChunking, type LowerContext } from '../wafer/lower/context.js';

/**
 * Pieces a chunked KV head's partial goes up its combine tree in: about 128 floats each, at most 8, and few enough
 * that a tile's streams fit its colours. Each piece is a stream of its own (the ISA has one receive trigger per colour
 * on a tile), so a tile with `children` children on the combine tree receives children × pieces streams and sends
 * pieces more, beside its query (and the new k/v or the O region's input): (children + 1) × pieces + 2 colours. Fewer
 * pieces pipeline the combine less; the estimate charges what is chosen.
 */
export function combinePieces(partLen: number, children: number, colours: number, most = MAX_COMBINE_PIECES): number {
  const byColours = Math.floor((colours - COMBINE_OTHER_STREAMS) / (children + 1));
  return Math.max(1, Math.min(most, Math.floor(partLen / 128), byColours));
}

/** Most pieces a partial is split into (a projection may ask for fewer: ProjectionLowering.kvCombinePieces). */
export const MAX_COMBINE_PIECES = 8;

/** Streams of a chunk tile besides its combine: q in, and the new k/v in or the O region's input out. */
const COMBINE_OTHER_STREAMS = 2;

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
    const fixed = 4 * (qLen + partLen * (1 + children) + 2 * hd) + 64;
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
  const attend = (p: number) => opCost(spec, { op: 'attention', q: slice('q', 0, qLen), kCache: 'kc', vCache: 'vc', out: slice('part', 0, qLen), numHeads: group, numKvHeads: 1, headDim: hd }, { position: p - 1, dtypeOf: () => kvDtype }).cycles;
  // The combine: a tree of pieces (chunkedAttention), pipelined: the tree at a piece's cost, then the other pieces.
  const combineCycles = (shape: ReduceShape, n: number) => {
    const pieces = combinePieces(partLen, combineChildren(shape, n), spec.colours, c.proj?.kvCombinePieces);
    const ps = Math.ceil(partLen / pieces);
    const addPiece = 2 * Math.ceil(ps / f32AddWidth(spec));
    return reduceCostCycles(shape, n, ps, spec.hopLatencyCycles, addPiece) + (n > 1 ? (pieces - 1) * (ps + addPiece) : 0);
  };
  return { attend, combineCycles };
}

/** Positions per full chunk tile of a very long cache, in the combine shape that is cheapest full (the 'fill' choice). */
function longFillPositions(c: LowerContext): number {
  const { attend, combineCycles } = chunkCosts(c);
  let best: { positions: number; cost: number } | null = null;
  for (const shape of COMBINE_SHAPES) {
    const positions = chunkCapacity(c, shape, LONG_CONTEXT);
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
function kvChunking(c: LowerContext, qkNorm: boolean): KvChunking | null {
  const { group, hd, qkvRows, kvBytes, opts, spec } = c;
  const proj = c.proj;
  const qLen = group * hd;
  const kvHeadBytes = 4 * (qkvRows + qLen) + (qkNorm ? 8 * hd : 0) + 2 * kvBytes * hd * opts.maxSeq;
  // A cache that fits its tile is split only by the automatic search, only where one tile's attention is long
  // (MIN_SPLIT_ATTENTION_CYCLES), and only where chunks are faster.
  const fits = kvHeadBytes <= opts.budgetBytes;
  if (fits && proj?.kvChunkPositions !== undefined) return null;
  const { attend, combineCycles } = chunkCosts(c);
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
      const cost = attend(p) + combineCycles(shape, n);
      if (!best || cost < best.cost) best = { positions: p, chunks: n, reduce: shape, cost };
    }
  }
  if (!best && typeof proj?.kvChunkPositions === 'number') throw new OptionError('kvChunkPositions', `${proj.kvChunkPositions} KV positions of head dimension ${hd} do not fit a chunk tile of ${spec.sramBytesPerTile} bytes beside its query`, 'give fewer positions, fill or auto');
  // Against one tile attending over the whole cache, chunks also pay q's multicast to them.
  if (fits && (!best || best.chunks < 2 || best.cost + qLen >= attend(opts.maxSeq))) return null;
  if (!best) fail(`one KV position of head dimension ${hd} does not fit a tile of ${spec.sramBytesPerTile} bytes beside its query`, 'use a fabric with more SRAM per tile');
  const pieces = combinePieces(group * hd + 2 * group, combineChildren(best.reduce, best.chunks), spec.colours, proj?.kvCombinePieces);
  return { positions: best.positions, chunks: best.chunks, reduce: best.reduce, pieces };
}

/** Projection only: KV head `g`'s attention over chunk tiles (see ProjectionLowering); returns the ops that feed them. */
function chunkedAttention(ctx: LowerContext, layerIndex: number, g: number, at: LogicalTile, oInput: StreamDecl, chunking: KvChunking): Op[] {
  const { p, group, hd, kvDtype } = ctx;
  const L = `L${layerIndex}`;
  const { positions, chunks, reduce, pieces } = chunking;
  const qLen = group * hd;
  const partLen = qLen + 2 * group;
  const qStream = p.stream([at.id], [], qLen, 'broadcast', `${L}.attn.q${g}`);
  const kvStream = p.stream([at.id], [], 2 * hd, 'transfer', `${L}.attn.kvnew${g}`);
  const tiles: LogicalTile[] = [];
  for (let c = 0; c < chunks; c++) {
    const t = p.tile(`${L}.attn.kv${g}.chunk${c}`, `${L}.attn`, { unit: 'kv-chunk', layer: layerIndex, expert: null, index: [g, c] });
    p.buffer(t, 'q', 'f32', qLen, zeros, 'activation');
    p.buffer(t, 'kc', kvDtype, positions * hd, zeros, 'kv-cache');
    p.buffer(t, 'vc', kvDtype, positions * hd, zeros, 'kv-cache');
    p.buffer(t, 'part', 'f32', partLen, zeros, 'activation');
    qStream.dst.push(t.id);
    tiles.push(t);
  }
  // The partials go up the combine tree in pieces, each added and passed on as soon as it is in: a level costs a
  // piece, not the whole partial, once the pipeline is full.
  const ps = Math.ceil(partLen / pieces);
  const up = new Map<number, StreamDecl[]>();
  for (let c = 0; c < chunks; c++) {
    for (const ch of reduceChildren(reduce, c, chunks)) up.set(ch, Array.from({ length: pieces }, (_, q) => p.stream([tiles[ch].id], [tiles[c].id], sliceLen(partLen, ps, q), 'reduce', `${L}.attn.kv${g}.red${ch}>${c}.${q}`)));
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

/** The projection's KV chunker: the plan for a model's KV heads, and each chunked head's tiles. */
export const kvChunker: KvChunker = {
  plan: (c, qkNorm) => ({ chunking: kvChunking(c, qkNorm), fillPositions: longFillPositions(c) }),
  lowerHead: chunkedAttention,
};
