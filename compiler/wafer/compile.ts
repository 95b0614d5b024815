// The wafer compiler driver: graph -> lower -> place -> route -> colour -> emit, with the verifier between passes.
import { InputError, OptionError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { FaultMap, remapRepair, type RemapResult, type RepairPolicy } from '../../fabric/faults/index.js';
import type { Program } from '../../fabric/isa/types.js';
import { validateProgram } from '../../fabric/isa/validate.js';
import { tileSramBytes } from '../../fabric/isa/sram.js';
import type { ModelGraph } from '../graph/graph.js';
import { tileBudgetBytes, type ProgramDtype } from './partition.js';
import { checkCompilable, lowerModel, type Lowered, type ProjectionLowering } from './lower.js';
import { modelTag, type TileTag } from './plan.js';
import { placeTiles, type Placement } from './place.js';
import { linkTableOf, meshView, routeStreams, type MeshView, type StreamRoute } from './route.js';
import { estimateStep, type EstimateOptions } from './estimate.js';
import { assignColours, type Colouring } from './colour.js';
import { emitProgram } from './emit.js';
import { searchSpread } from './spread.js';
import { verifyCoverage, verifyRoutes } from './verify.js';
import { buildReport, type CompileReport } from './report.js';
import type { StageBudgetFractions } from './balance.js';

export interface CompileOptions {
  spec: FabricSpec;
  /** For route-around: a map of the logical grid; for remap: of the physical grid with its spares. */
  faults: FaultMap | null;
  repair: RepairPolicy;
  dtype: ProgramDtype;
  maxSeq: number;
  /** Dtype of the KV caches (default f32; bf16 rounds each appended row, kernels/attention.ts decodeAttentionBf16). */
  kvDtype?: 'f32' | 'bf16';
  /** Most streams a hub exchanges with one region (default 8). */
  maxFan?: number;
  /**
   * Spread the model over this fraction of the usable tiles by shrinking blocks (more tiles, less work each, more
   * communication); 0 or absent packs blocks as full as SRAM allows.
   */
  spread?: number;
  /**
   * The per-tile buffer budget in bytes (default: what the fabric's SRAM holds, tileBudgetBytes): a projection's
   * `budgetBytesPerTile`, to run the layout it spread to on the engine. Not with `spread`.
   */
  budgetBytes?: number;
  /** Fractions of the budget the blocks of q/k/v, O and dense MLPs take (LowerOptions.stageBudgets): a projection's `stageBudgets`. */
  stageBudgets?: StageBudgetFractions;
  /** Columns of x per hub slice (default: lower.ts's hubSliceCols, the q/k/v block width). */
  sliceCols?: number;
  /** Most streams a hub slice receives from one region's roots (LowerOptions.gatherFan; default one per root). */
  gatherFan?: number;
  /** Most input streams of an MLP's gate+up and down regions (LowerOptions.regionInputs; default one per block column). */
  regionInputs?: number;
  /** Most input streams of the LM head (LowerOptions.lmHeadInputs; default one per block column). */
  lmHeadInputs?: number;
  /**
   * The projection's lowering extensions, to run them on the engine at a size it holds (chunked KV heads:
   * compiler/project/kvChunks.ts kvChunker), with every embedding tile lowered. What the engine cannot run, the
   * program validator refuses.
   */
  projection?: ProjectionLowering;
  /**
   * A pipeline over wafers run as one mesh: the fabric given is the wafers stacked top to bottom, each `rows` rows
   * of it (a multiple of the placement's 16-row bands), wafer w holding layersPerWafer[w] layers (the embedding on
   * the first, the LM head on the last). Each boundary is a modelled link (stage-out stubs running waferLink).
   */
  wafers?: { rows: number; layersPerWafer: readonly number[] };
}

export interface CompileResult {
  program: Program;
  report: CompileReport;
  /** The faults the engine must honour on the logical grid (route-around), or null (remap hides them). */
  engineFaults: FaultMap | null;
  /** Extra cycles per logical link that a remap bypass costs (tiles × 5), or null. */
  linkExtraLatencyCycles: Uint16Array | null;
  remap: RemapResult | null;
  /**
   * Per program tile (program.tiles order): what it is, as data. Kept here, not in the program: the emitted program's
   * bytes stay those of its format, whose roles are display strings. Null for a program loaded from a file whose tiles
   * are not the compiled ones.
   */
  tileTags: readonly TileTag[] | null;
  /** Intermediate results, for the estimate and the projection. */
  lowered: Lowered;
  placement: Placement;
  routes: StreamRoute[];
  /** Each stream's colour on its route. */
  colourOf: Int32Array;
}

export function compileModel(graph: ModelGraph, opts: CompileOptions): CompileResult {
  const first = compileWith(graph, opts);
  if (first.ok) return first.result;
  // Hubs split over several tiles need more colours around them than one hub tile per half-layer: where the
  // default split does not fit the fabric's colours, fewer slices (an explicit --hub-slices is not changed).
  if (opts.sliceCols !== undefined) throw first.error;
  for (const slices of FALLBACK_HUB_SLICES) {
    const again = compileWith(graph, { ...opts, sliceCols: Math.ceil(graph.hidden / slices) });
    if (again.ok) return again.result;
    if (slices === 1) throw again.error;
  }
  throw first.error;
}

/** Hub slices tried, in order, when the default split runs out of colours. */
const FALLBACK_HUB_SLICES = [4, 2, 1];

/** A compiled model, or the colouring's refusal (more streams meet at a tile than it has colours). */
function compileWith(graph: ModelGraph, opts: CompileOptions): { ok: true; result: CompileResult } | { ok: false; error: InputError } {
  const { spec } = opts;
  const W = spec.widthTiles;
  const H = spec.heightTiles;
  let logicalFaults: FaultMap | null = null;
  let remap: RemapResult | null = null;
  if (opts.faults) {
    if (opts.repair === 'remap') remap = remapRepair(opts.faults, spec);
    else logicalFaults = opts.faults;
  }
  const deadTiles = opts.faults ? countDead(opts.faults) : 0;

  const usable = (i: number) => !logicalFaults || logicalFaults.isTileUsable(i);
  if (opts.projection) checkCompilable(graph);
  const split = opts.wafers ? waferSplit(graph, spec, opts.wafers) : null;
  const lower = (budgetBytes: number) =>
    lowerModel(graph, { dtype: opts.dtype, maxSeq: opts.maxSeq, budgetBytes, stageBudgets: opts.stageBudgets, spec, maxFan: opts.maxFan ?? 8, sliceCols: opts.sliceCols, kvDtype: opts.kvDtype, projection: opts.projection && { ...opts.projection, embeddingSpans: false }, waferBoundaries: split?.boundaries, gatherFan: opts.gatherFan, regionInputs: opts.regionInputs, lmHeadInputs: opts.lmHeadInputs });
  if (opts.budgetBytes !== undefined && opts.spread) throw new OptionError('budgetBytes', 'a tile budget and a spread were both given', 'give one: the spread searches for a budget');
  let lowered = lower(opts.budgetBytes ?? tileBudgetBytes(spec));
  if (opts.spread && opts.spread > 0) {
    // Binary search on the budget for the most tiles within spread × usable (tile count falls as the budget grows).
    let usableCount = 0;
    for (let i = 0; i < W * H; i++) if (usable(i)) usableCount++;
    const target = Math.floor(opts.spread * usableCount);
    if (lowered.plan.tiles.length < target) {
      const build = (budget: number) => {
        try {
          const built = lower(budget);
          return { built, tiles: built.plan.tiles.length };
        } catch {
          // A budget too small for some matrix: go larger.
          return null;
        }
      };
      lowered = searchSpread({ hi: tileBudgetBytes(spec), hiTiles: lowered.plan.tiles.length, built: lowered, target, steps: 12, more: () => true, aim: false, build }).built;
    }
  }
  verifyCoverage(graph, lowered);
  const startAt = split ? new Map(lowered.waferStarts!.map((t, w) => [t, (w + 1) * split.tilesPerWafer] as const)) : undefined;
  const placement = placeTiles(lowered.plan.tiles, W, H, usable, { fabric: `fabric "${spec.name}"`, dead: logicalFaults ? countDead(logicalFaults) : 0 }, { startAt });
  const view = meshView(W, H, logicalFaults);
  const colouring = colourRoutes(lowered, placement, view, spec, { position: opts.maxSeq - 1, linkExtraLatencyCycles: remap?.extraLatencyCycles ?? null });
  if (!colouring.ok) return colouring;
  const { colourOf, routes } = colouring;
  verifyRoutes(routes, colourOf, view);
  const program = emitProgram(spec.name, lowered, placement, routes, colourOf, opts.maxSeq);
  validateProgram(spec, program, logicalFaults, 'compiled program');
  const report = buildReport({ graph, spec, opts, program, lowered, placement, routes, colourOf, deadTiles, remap, sramOf: tileSramBytes });
  const tileTags = program.tiles.map((_, k) => (k < lowered.plan.tiles.length ? lowered.plan.tiles[k].tag : RELAY_TAG));
  return { ok: true, result: { program, report, engineFaults: logicalFaults, linkExtraLatencyCycles: remap?.extraLatencyCycles ?? null, remap, tileTags, lowered, placement, routes, colourOf } };
}

/**
 * Routes and colours the plan's streams. Each stream has two shortest routes (the same hops): its BFS tree and its
 * column-first dimension-ordered one. The schedule estimate (at `estimate.position`) takes, stream by stream, the one
 * that frees its wavelets first where they share links with others; the colouring keeps those where they fit, and
 * where they do not, each stream takes whichever of its two needs the lower colour — as the projection does for every
 * stage (compiler/project/stage.ts colourStage).
 */
function colourRoutes(lowered: Lowered, placement: Placement, view: MeshView, spec: FabricSpec, estimate: Pick<EstimateOptions, 'position' | 'linkExtraLatencyCycles'>): Colouring {
  const { streams } = lowered.plan;
  const tiles = view.width * view.height;
  const bfs = routeStreams(streams, placement.tileOf, view);
  const columnFirst = routeStreams(streams, placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
  const take = estimateStep(spec, lowered, placement, bfs, { ...estimate, alternativeLinks: linkTableOf(columnFirst, view.width, view.height) }).alternative!;
  const first = bfs.map((r, i) => (take[i] ? columnFirst[i] : r));
  const second = bfs.map((r, i) => (take[i] ? r : columnFirst[i]));
  const kept = assignColours(streams, first, placement.tileOf, tiles, spec.colours, view.width, second, 'first');
  if (kept.ok) return kept;
  const lower = assignColours(streams, first, placement.tileOf, tiles, spec.colours, view.width, second);
  return lower.ok ? lower : kept;
}

/** Where a model split over wafers crosses (after which layers; -1: the embedding), and each wafer's scan positions. */
function waferSplit(graph: ModelGraph, spec: FabricSpec, w: { rows: number; layersPerWafer: readonly number[] }): { boundaries: number[]; tilesPerWafer: number } {
  const n = w.layersPerWafer.length;
  const where = 'wafers';
  if (!(Number.isInteger(w.rows) && w.rows >= 1 && w.rows * n === spec.heightTiles)) throw new OptionError(where, `${n} wafers of ${w.rows} rows do not stack into ${spec.name}'s ${spec.heightTiles} rows`, `give rows = ${spec.heightTiles} / ${n}`);
  // The placement scans bands of 16 rows (place.ts): a wafer's scan positions are its rows only if bands do not straddle two.
  if (n > 1 && w.rows % 16 !== 0) throw new OptionError(where, `wafers of ${w.rows} rows straddle the placement's 16-row bands`, 'give a multiple of 16 rows per wafer');
  if (w.layersPerWafer.some((l) => !(Number.isInteger(l) && l >= 0)) || w.layersPerWafer.reduce((a, b) => a + b, 0) !== graph.layers.length) {
    throw new OptionError(where, `layers per wafer ${JSON.stringify(w.layersPerWafer)} do not add up to the model's ${graph.layers.length}`, 'give whole numbers that sum to the layers');
  }
  const boundaries: number[] = [];
  let last = -1;
  for (let i = 0; i + 1 < n; i++) boundaries.push((last += w.layersPerWafer[i]));
  if (new Set(boundaries).size !== boundaries.length) throw new OptionError(where, 'a wafer between the first and the last holds no layer', 'give every middle wafer at least one layer');
  return { boundaries, tilesPerWafer: spec.widthTiles * w.rows };
}

/** emitProgram lists the plan's tiles first, in plan order, then the routers that only forward. */
const RELAY_TAG = modelTag('relay');

function countDead(f: FaultMap): number {
  let n = 0;
  for (let i = 0; i < f.tiles; i++) if (!f.isTileUsable(i)) n++;
  return n;
}
