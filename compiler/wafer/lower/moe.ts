// An MoE layer's MLP half: each MoE hub slice holds the router's columns of its part and computes partial logits,
// added over the slices as the sum of squares is (a projection router too large for that is a region whose roots
// gather into slice 0); every slice runs the same top-k on the total, dispatches its part of xn to the chosen
// experts' block column j, and combines what their hub slices return.
import type { Op, Task } from '../../../fabric/isa/types.js';
import type { LayerNode, MlpNode, MoeNode } from '../../graph/graph.js';
import { matvecCost } from '../../../fabric/mesh/cost.js';
import { dtypeBytes, partitionCandidates, type BlockGrid } from '../partition.js';
import { slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from '../plan.js';
import { partition, reduceCycles, region, sl, type LowerContext, type PartitionReq } from './context.js';
import { allReduce, feedSlices, gatherRoots, gatherToSlices, hubSlices, receiveSlices } from './hub.js';
import { mlpRegions, mlpTileCount } from './mlp.js';

/** The MoE layer's MLP on its hub slices `hubM` (xn ready after `normed`): the combined sum goes out on `out`. */
export function lowerMoe(c: LowerContext, layer: LayerNode, moe: MoeNode, hubM: LogicalTile[], normed: Task[], out: StreamDecl[]): void {
  const { p, proj } = c;
  const L = `L${layer.index}`;
  const tagOf = (unit: TileTag['unit'], expert: TileTag['expert'] = null) => ({ unit, layer: layer.index, expert });
  const E = moe.experts.length;
  hubM.forEach((t, j) => {
    p.buffer(t, 'acc', 'f32', sl(c, j), zeros, 'activation');
    p.buffer(t, 'logits', 'f32', E, zeros, 'activation');
    p.buffer(t, 'idx', 'i32', moe.topK, zeros, 'activation');
    p.buffer(t, 'wts', 'f32', moe.topK, zeros, 'activation');
    p.buffer(t, 'dw', 'f32', E, zeros, 'activation');
  });
  const route = routeSlices(c, L, tagOf('router'), moe, hubM, normed);
  const dispatch: number[][] = hubM.map(() => []);
  const returns: number[][] = hubM.map(() => []);
  /**
   * An expert's hub slices and regions: hub slice j receives slice j of xn from MoE slice j (the stream returned)
   * and feeds the expert's gate/up columns in it, then gathers the rows of the expert's output that fall in it and
   * returns them to MoE slice j (running `combine` there).
   */
  const lowerExpertMlp = (EL: string, which: number | 'shared', expert: MlpNode, ye: string, combine: (j: number) => Op, packedBits: number | undefined): StreamDecl[] => {
    const hubE = hubSlices(c, `${EL}.hub`, EL, tagOf('expert-hub', which), null);
    const { inputs, down, bc } = mlpRegions(c, EL, tagOf('gate-up', which), expert, packedBits);
    const toExpert = hubE.map((t, j) => p.stream([hubM[j].id], [], sl(c, j), 'dispatch', `${EL}.dispatch${j}`));
    feedSlices(c, hubE, receiveSlices(c, hubE, toExpert, `${EL}.fanout`), inputs, 'x', bc);
    hubE.forEach((t, j) => p.buffer(t, 'y', 'f32', sl(c, j), zeros, 'activation'));
    const gots = gatherToSlices(c, down, hubE, 'y', `${EL}.gather`);
    hubE.forEach((t, j) => {
      const back = p.stream([t.id], [hubM[j].id], sl(c, j), 'transfer', `${EL}.return${j}`);
      p.task(t, { on: 'after', tasks: gots[j].map((x) => x.id) }, [{ op: 'send', colour: back.id, src: slice('y', 0, sl(c, j)) }], `${EL}.return`);
      p.buffer(hubM[j], ye, 'f32', sl(c, j), zeros, 'activation');
      returns[j].push(p.recv(hubM[j], back, slice(ye, 0, sl(c, j)), [combine(j)], `${L}.moe.combine`).id);
    });
    return toExpert;
  };
  moe.experts.forEach((expert, e) => {
    const EL = `${L}.expert${e}`;
    if (proj?.lowerExpert && !proj.lowerExpert(layer.index, e)) {
      // Not lowered: its tiles are reserved where it would sit, and the dispatch has no colour for it.
      const t = p.tile(`${EL}.reserved`, EL, { ...tagOf('reserved-expert', e), index: [] });
      t.span = mlpTileCount(c, EL, expert, proj.expertWeightBits);
      for (const cols of dispatch) cols.push(-1);
      return;
    }
    const ye = `ye${e}`;
    const toExpert = lowerExpertMlp(EL, e, expert, ye, (j) => ({ op: 'axpy', a: slice(ye, 0, sl(c, j)), weight: slice('dw', 0, E), index: e, out: slice('acc', 0, sl(c, j)) }), proj?.expertWeightBits);
    toExpert.forEach((st, j) => dispatch[j].push(st.id));
  });
  // Shared experts (projection only: checkCompilable refuses them) run for every token and add into the sum.
  const shared = moe.shared ? lowerExpertMlp(`${L}.shared`, 'shared', moe.shared, 'ysh', (j) => ({ op: 'add', a: slice('acc', 0, sl(c, j)), b: slice('ysh', 0, sl(c, j)), out: slice('acc', 0, sl(c, j)) }), undefined) : null;
  hubM.forEach((t, j) => {
    route[j].ops.push(
      { op: 'topk', logits: slice('logits', 0, E), k: moe.topK, renormalize: moe.renormalize, indices: slice('idx', 0, moe.topK), weights: slice('wts', 0, moe.topK), denseWeights: slice('dw', 0, E) },
      { op: 'copy', src: slice('x', 0, sl(c, j)), out: slice('acc', 0, sl(c, j)) },
      { op: 'dispatch', indices: slice('idx', 0, moe.topK), colours: dispatch[j], src: slice('xn', 0, sl(c, j)) },
    );
    if (shared) route[j].ops.push({ op: 'send', colour: shared[j].id, src: slice('xn', 0, sl(c, j)) });
    p.task(t, { on: 'after', tasks: returns[j], count: moe.topK + (shared ? 1 : 0) }, [{ op: 'send', colour: out[j].id, src: slice('acc', 0, sl(c, j)) }], `${L}.moe.residual`);
  });
}

/** The router's logits on every MoE hub slice; returns per slice the task after which they are in `logits`. */
function routeSlices(c: LowerContext, L: string, tag: Omit<TileTag, 'index'>, moe: MoeNode, hubM: LogicalTile[], normed: Task[]): Task[] {
  const { p, proj, s, k, d, dtype, opts, bcDivides } = c;
  const E = moe.experts.length;
  const routerRegion = proj !== undefined && E * s * dtypeBytes(dtype) + 16 * s > opts.budgetBytes;
  if (routerRegion) {
    const { packedRoots, ...routerGrid } = routerRegionGrid(c, `${L} router`, { rows: E, cols: d, matricesPerTile: 1, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: opts.maxFan, maxGc: opts.maxFan });
    const rr = region(c, `${L}.moe.router`, `${L}.mlp`, tag, [moe.router], routerGrid);
    feedSlices(c, hubM, normed, rr.inputs, 'xn', routerGrid.bc);
    // Its roots gather into no more streams at slice 0 than the packed grid's (the slice's colours are few).
    const gathered = { ...c, opts: { ...opts, gatherFan: Math.min(opts.gatherFan ?? Infinity, packedRoots) } };
    const routed = p.task(hubM[0], { on: 'after', tasks: gatherRoots(gathered, rr, hubM[0], 'logits', `${L}.moe.gather`).map((t) => t.id) }, [], `${L}.moe.router`);
    const logitsTo = k > 1 ? p.stream([hubM[0].id], hubM.slice(1).map((t) => t.id), E, 'transfer', `${L}.moe.logits`) : null;
    if (logitsTo) routed.ops.push({ op: 'send', colour: logitsTo.id, src: slice('logits', 0, E) });
    return hubM.map((t, j) => (j === 0 || !logitsTo ? routed : p.recv(t, logitsTo, slice('logits', 0, E), [], `${L}.moe.router`)));
  }
  hubM.forEach((t, j) => {
    const init = { tensor: moe.router.tensor, rows: [0, E] as [number, number], cols: [j * s, j * s + sl(c, j)] as [number, number] };
    p.buffer(t, 'router', dtype, E * sl(c, j), { kind: 'weights', ...init }, 'weights');
    const scales = dtype === 'int8' ? p.buffer(t, 'rscales', 'f32', E, { kind: 'scales', ...init }, 'weights') : undefined;
    normed[j].ops.push({ op: 'matvec', w: 'router', scales, rows: E, cols: sl(c, j), x: slice('xn', 0, sl(c, j)), y: slice('logits', 0, E), accumulate: false });
  });
  return allReduce(c, hubM, normed, 'logits', E, `${L}.moe.router`);
}

/** Most row blocks a router region is split into (or its packed grid's): each root's logits are a stream into slice 0. */
const ROUTER_MOST_ROOTS = 8;

/** Most block columns a hub slice's part of a router region is split into: each is a stream of the slice's. */
const ROUTER_MOST_FEEDS = 4;

/**
 * A router region's grid. Packed to the budget, its few tiles (qwen3-235b-a22b: 2 × 12 blocks of 64 × 342 weights)
 * each run a full tile's matvec (~5,600 cycles on wse3) on every token's critical path before any expert starts, while
 * the layer's experts hold some 10^5 tiles: smaller blocks cost a few tiles and win that time back. Of the grids
 * with at most ROUTER_MOST_ROOTS row blocks and ROUTER_MOST_FEEDS block columns per hub slice (or the packed grid's
 * counts, where more), the one whose block matvec and reduction (context.ts reduceCycles) are fastest; on a tie, the
 * fewer tiles.
 */
export function routerRegionGrid(c: Pick<LowerContext, 'spec' | 'dtype' | 'opts' | 'k'>, what: string, req: PartitionReq): BlockGrid & { packedRoots: number } {
  const packed = partition(c, what, req);
  const mostRoots = Math.max(packed.gr, ROUTER_MOST_ROOTS);
  const mostColumns = Math.max(packed.gc, ROUTER_MOST_FEEDS * c.k);
  const cost = (g: BlockGrid) => matvecCost(c.spec, g.br, g.bc, c.dtype).cycles + reduceCycles(c, g, 1);
  let best = { grid: packed, cycles: cost(packed) };
  // Each input slice width with the most rows a tile holds at it; then every split of the rows into fewer.
  for (const widest of partitionCandidates({ ...req, dtype: c.dtype, budgetBytes: c.opts.budgetBytes, maxGc: Math.min(req.maxGc, mostColumns) })) {
    for (let gr = widest.gr; gr <= Math.min(mostRoots, req.maxGr, req.rows); gr++) {
      const br = Math.ceil(req.rows / gr);
      const grid = { ...widest, br, gr: Math.ceil(req.rows / br) };
      const cycles = cost(grid);
      if (cycles < best.cycles || (cycles === best.cycles && grid.gr * grid.gc < best.grid.gr * best.grid.gc)) best = { grid, cycles };
    }
  }
  return { ...best.grid, packedRoots: packed.gr };
}
