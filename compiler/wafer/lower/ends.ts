// The ends of the model: the embedding table (or, for a stage of a model split over wafers, stub tiles that stand for
// the previous stage), and the final norm, LM head and argmax (or stubs that stand for the next stage).
import { dtypeBytes, type BlockGrid } from '../partition.js';
import { modelTag, slice, zeros, type StreamDecl } from '../plan.js';
import { BAND_ROWS } from '../place.js';
import { reduceUp } from '../region.js';
import { partition, region, sl, sliceInputGroup, type LowerContext } from './context.js';
import { feedSlices, hubSlices, normSlices, receiveSlices } from './hub.js';

/** The first layer's input streams (one per hub slice), from the embedding or from `stage.in` stubs; and the tiles the host writes the token into. */
export function lowerEmbedding(c: LowerContext): { xIn: StreamDecl[]; tokenTiles: number[] } {
  const { p, graph, opts, dtype, d, s, k, proj } = c;
  // Embedding: rows of the table spread over tiles; the tile that owns the step's token sends its row, slice j to
  // hub slice j of the first layer.
  const rowBytes = d * dtypeBytes(dtype) + (dtype === 'int8' ? 4 : 0);
  const embRowsPerTile = Math.max(1, Math.floor((opts.budgetBytes - 64) / rowBytes));
  const embStreams = Array.from({ length: k }, (_, j) => p.stream([], [], sl(c, j), 'transfer', opts.embedding === false ? `stage.x${j}` : `embedding.out${j}`));
  const tokenTiles: number[] = [];
  if (opts.embedding === false) {
    // One stub per slice, as the previous layer's slices send in parallel.
    embStreams.forEach((st, j) => {
      const t = p.tile(j === 0 ? 'stage.in' : `stage.in${j}`, 'stage', modelTag('stage-in', [j]));
      p.buffer(t, 'x', 'f32', sl(c, j), zeros, 'activation');
      p.task(t, { on: 'start' }, [{ op: 'send', colour: st.id, src: slice('x', 0, sl(c, j)) }], 'stage.in');
      st.src.push(t.id);
    });
  }
  // The projection times one step, in which one tile (the estimate takes the middle one) sends a row: the tiles
  // before and after it are reserved spans, so a real-size table costs three logical tiles, not ~10^4.
  const embTiles = Math.ceil(graph.embedding.rows / embRowsPerTile);
  const sender = Math.floor(embTiles / 2);
  const reserve = (from: number, to: number) => {
    if (to > from) p.tile(`embedding[${from}..${to - 1}]`, 'embedding', modelTag('embedding', [from, to - 1])).span = to - from;
  };
  const spans = proj !== undefined && proj.embeddingSpans !== false && opts.embedding !== false;
  if (spans) reserve(0, sender);
  for (let r0 = 0, e = 0; opts.embedding !== false && r0 < graph.embedding.rows; r0 += embRowsPerTile, e++) {
    if (spans && e !== sender) continue;
    const rows = Math.min(embRowsPerTile, graph.embedding.rows - r0);
    const t = p.tile(`embedding[${e}]`, 'embedding', modelTag('embedding', [e]));
    const range = { tensor: graph.embedding.tensor, rows: [r0, r0 + rows] as [number, number], cols: [0, d] as [number, number] };
    p.buffer(t, 'table', dtype, rows * d, { kind: 'weights', ...range }, 'weights');
    const scales = dtype === 'int8' ? p.buffer(t, 'scales', 'f32', rows, { kind: 'scales', ...range }, 'weights') : undefined;
    p.buffer(t, 'tok', 'i32', 1, zeros, 'activation');
    p.task(t, { on: 'start' }, [{ op: 'embed', table: 'table', scales, rowBase: r0, rows, cols: d, token: slice('tok', 0, 1), colours: embStreams.map((st) => st.id), sliceCols: s }], 'embedding');
    for (const st of embStreams) st.src.push(t.id);
    tokenTiles.push(t.id);
  }
  if (spans) reserve(sender + 1, embTiles);
  return { xIn: embStreams, tokenTiles };
}

/**
 * A model split over wafers crosses to wafer `wafer` after `xIn`'s layer: stage-out stubs (one per slice) receive
 * the layer's output, wait the inter-wafer link (waferLink) and pass it on to the next layer's hub slices. The slices
 * share one link: slice j arrives when the bytes of slices 0..j have crossed. Returns the streams into the next wafer.
 */
export function lowerWaferLink(c: LowerContext, xIn: StreamDecl[], wafer: number): StreamDecl[] {
  const { p, s, spec } = c;
  return xIn.map((st, j) => {
    const t = p.tile(`wafer${wafer - 1}.out${j}`, 'stage', modelTag('stage-out', [j]));
    if (c.k <= BAND_ROWS) t.row = j;
    st.dst.push(t.id);
    p.buffer(t, 'x', 'f32', sl(c, j), zeros, 'activation');
    const next = p.stream([t.id], [], sl(c, j), 'transfer', `wafer${wafer}.in${j}`);
    const bytes = (j * s + sl(c, j)) * spec.costs.interWaferBytesPerValue;
    p.recv(t, st, slice('x', 0, sl(c, j)), [{ op: 'waferLink', bytes }, { op: 'send', colour: next.id, src: slice('x', 0, sl(c, j)) }], 'wafer.link');
    return next;
  });
}

/** The last layer's output `xIn` into `stage.out` stubs (one per slice) that stand for the next stage. */
export function lowerStageOut(c: LowerContext, xIn: StreamDecl[]): void {
  const { p } = c;
  xIn.forEach((st, j) => {
    const t = p.tile(j === 0 ? 'stage.out' : `stage.out${j}`, 'stage', modelTag('stage-out', [j]));
    // Where the next stage's hub slice j sits: its row (hub.ts).
    if (c.k <= BAND_ROWS) t.row = j;
    st.dst.push(t.id);
    p.buffer(t, 'x', 'f32', sl(c, j), zeros, 'activation');
    p.recv(t, st, slice('x', 0, sl(c, j)), [], 'stage.out');
  });
}

/**
 * The LM head's blocks and the block columns each of its input streams carries (1: a stream per block column): with
 * the hub slices, all that the fan-out changes in an LM head's lowering.
 */
export function lmHeadGrid(c: LowerContext): { grid: BlockGrid; group: number } {
  const { graph, opts, d, bcDivides } = c;
  const lmReq = { rows: graph.lmHead.rows, cols: d, matricesPerTile: 1, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan };
  const widest = partition(c, 'the LM head', lmReq);
  const group = sliceInputGroup(c, widest, opts.lmHeadInputs ?? Infinity);
  return { grid: group > 1 ? partition(c, 'the LM head', { ...lmReq, forcedBc: widest.bc, inputGroup: group }) : widest, group };
}

/** Final norm over the slices, LM head (its block columns are the slices), argmax; returns the logits outputs. */
export function lowerLmHead(c: LowerContext, xIn: StreamDecl[]): { name: string; offset: number }[] {
  const { p, graph } = c;
  const hubF = hubSlices(c, 'final.hub', 'lm_head', modelTag('final-hub'), graph.finalNorm);
  const { grid: lmGrid, group } = lmHeadGrid(c);
  const lm = region(c, 'lm_head', 'lm_head', modelTag('lm-head'), [graph.lmHead], lmGrid, undefined, undefined, undefined, group);
  feedSlices(c, hubF, normSlices(c, hubF, receiveSlices(c, hubF, xIn, 'final.norm'), 'final.norm'), lm.inputs, 'xn', lmGrid.bc * group);
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
      merge: (_, into) => [{ op: 'argmaxMerge', a: best, b: into, out: best }],
      streamLabel: (i) => `lm_head.argmax${i}`,
      recvLabel: 'lm_head.argmax.recv',
      mergeLabel: 'lm_head.argmax',
    },
  );
  merged.ops.push({ op: 'output', name: 'token', src: best });
  return logitOutputs;
}
