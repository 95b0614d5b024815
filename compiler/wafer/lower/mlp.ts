// MLPs: a gate+up region whose roots apply SwiGLU and feed the down region's rows directly; the down region's roots
// return each hub slice its rows. A dense layer's MLP hub does this once, an MoE layer's experts each (moe.ts).
import type { Task } from '../../../fabric/isa/types.js';
import type { MlpNode } from '../../graph/graph.js';
import { partitionCandidates, partitionMatrix, type BlockGrid } from '../partition.js';
import { slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from '../plan.js';
import type { Region } from '../region.js';
import { inputGroup, partition, reduceCycles, region, sl, sliceInputGroup, type LowerContext } from './context.js';
import { feedSlices, gatherRun, gatherToSlices } from './hub.js';
import { stageBudget } from '../balance.js';

/** An MLP's gate+up / down shapes may take this fraction more tiles than the fewest for cheaper reductions. */
const MLP_TILE_SLACK = 0.02;

/** An MLP's partitions, and the block columns each input stream of gate+up and of down carries (LowerOptions.regionInputs). */
export interface MlpGrids {
  guGrid: BlockGrid;
  downGrid: BlockGrid;
  guGroup: number;
  downGroup: number;
}

/** The gate+up and down partitions of an MLP (weights packed at `packedBits` per weight when given); gate+up's block columns are the hub slices. */
export function mlpGrids(c: LowerContext, name: string, m: MlpNode, packedBits: number | undefined): MlpGrids {
  const { d, dtype, opts, bcDivides } = c;
  // A dense MLP's blocks take their share of the budget (LowerOptions.stageBudgets); experts, shared or routed, all of it.
  const budgetBytes = m.gate.expert === -1 ? stageBudget(opts.budgetBytes, opts.stageBudgets?.mlp) : opts.budgetBytes;
  const key = `${m.intermediate}/${packedBits ?? 0}/${budgetBytes}`;
  const known = c.mlpGridCache.get(key);
  if (known) return known;
  const most = opts.regionInputs ?? Infinity;
  const budget = { dtype, budgetBytes };
  const at = { ...c, opts: { ...opts, budgetBytes } };
  const guReq = { rows: m.intermediate, cols: d, matricesPerTile: 2, forcedBc: 0, bcDivides, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan, weightBits: packedBits };
  const downReq = (bc: number, guRows = 1) => ({ rows: d, cols: m.intermediate, matricesPerTile: 1, forcedBc: bc, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity, weightBits: packedBits, inputGroup: inputGroup(guRows, most, guRows) });
  // gate+up's block height is down's block width: choose the pair by its two reductions (what their shapes change
  // most), among pairs within MLP_TILE_SLACK of the fewest tiles; the fewest-tiles pair on a tie.
  const first = partition(at, `${name} gate/up`, guReq);
  const pairs: (MlpGrids & { tiles: number; reduce: number })[] = [];
  const reduce = (g: BlockGrid, m: number) => reduceCycles(c, g, m);
  for (const candidate of [first, ...partitionCandidates({ ...guReq, ...budget })]) {
    const guGroup = sliceInputGroup(c, candidate, most);
    const guGrid = guGroup > 1 ? partitionMatrix({ ...guReq, forcedBc: candidate.bc, inputGroup: guGroup, ...budget }) : candidate;
    if (!guGrid) continue;
    const downGrid = partitionMatrix({ ...downReq(guGrid.br, guGrid.gr), ...budget });
    if (!downGrid) continue;
    pairs.push({ guGrid, downGrid, guGroup, downGroup: inputGroup(guGrid.gr, most, guGrid.gr), tiles: guGrid.gr * guGrid.gc + downGrid.gr * downGrid.gc, reduce: reduce(guGrid, 2) + reduce(downGrid, 1) });
  }
  if (pairs.length === 0) partition(at, `${name} down`, downReq(first.br));
  const fewest = Math.min(...pairs.map((x) => x.tiles));
  let best = pairs[0];
  for (const x of pairs) if (x.tiles <= fewest * (1 + MLP_TILE_SLACK) && x.reduce < best.reduce) best = x;
  const grids = { guGrid: best.guGrid, downGrid: best.downGrid, guGroup: best.guGroup, downGroup: best.downGroup };
  c.mlpGridCache.set(key, grids);
  return grids;
}

/** Tiles an expert takes when lowered: its hub slices and its two regions. */
export function mlpTileCount(c: LowerContext, name: string, m: MlpNode, packedBits: number | undefined): number {
  const { guGrid, downGrid } = mlpGrids(c, name, m, packedBits);
  return c.k + guGrid.gr * guGrid.gc + downGrid.gr * downGrid.gc;
}

/** gate+up region whose roots apply SwiGLU and feed the down region's rows; returns gate/up inputs and the down region. */
export function mlpRegions(c: LowerContext, name: string, tag: Omit<TileTag, 'index' | 'unit'>, m: MlpNode, packedBits?: number): { inputs: StreamDecl[]; down: Region; bc: number } {
  const { guGrid, downGrid, guGroup, downGroup: group } = mlpGrids(c, name, m, packedBits);
  const gu = region(c, `${name}.gu`, name, { ...tag, unit: 'gate-up' }, [m.gate, m.up], guGrid, undefined, undefined, packedBits, guGroup);
  const down = region(c, `${name}.down`, name, { ...tag, unit: 'down' }, [m.down], downGrid, undefined, undefined, packedBits, group);
  for (const root of gu.roots) root.final.ops.push({ op: 'swiglu', gate: slice(root.buf, 0, root.rows), up: slice(root.buf, root.rows, root.rows), out: slice(root.buf, 0, root.rows) });
  down.inputs.forEach((input, g) => {
    // Each run of `group` roots gathers into its first, which sends the run's rows (one root: its own, as they are).
    const { task, send } = gatherRun(c, `${name}.gu`, g * group, gu.roots.slice(g * group, (g + 1) * group));
    input.src.push(gu.roots[g * group].tile.id);
    task.ops.push({ op: 'send', colour: input.id, src: send });
  });
  // An input stream carries guGroup block columns: the hub slices feed streams that wide.
  return { inputs: gu.inputs, down, bc: guGrid.bc * guGroup };
}

/** A dense layer's MLP on its hub slices `hubM` (xn ready after `normed`): the residual add sends x on `out`. */
export function lowerDenseMlp(c: LowerContext, layer: number, m: MlpNode, hubM: LogicalTile[], normed: Task[], out: StreamDecl[]): void {
  const { p } = c;
  const L = `L${layer}`;
  hubM.forEach((t, j) => p.buffer(t, 'y', 'f32', sl(c, j), zeros, 'activation'));
  const { inputs, down, bc } = mlpRegions(c, `${L}.mlp`, { layer, expert: null }, m);
  feedSlices(c, hubM, normed, inputs, 'xn', bc);
  const gots = gatherToSlices(c, down, hubM, 'y', `${L}.mlp.gather`);
  hubM.forEach((t, j) =>
    p.task(t, { on: 'after', tasks: gots[j].map((x) => x.id) }, [{ op: 'add', a: slice('x', 0, sl(c, j)), b: slice('y', 0, sl(c, j)), out: slice('x', 0, sl(c, j)) }, { op: 'send', colour: out[j].id, src: slice('x', 0, sl(c, j)) }], `${L}.mlp.residual`),
  );
}
