// The wafer compiler driver: graph -> lower -> place -> route -> colour -> emit, with the verifier between passes.
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { FaultMap, remapRepair, type RemapResult, type RepairPolicy } from '../../fabric/faults/index.js';
import type { Program } from '../../fabric/isa/types.js';
import { validateProgram } from '../../fabric/isa/validate.js';
import { tileSramBytes } from '../../fabric/isa/sram.js';
import type { ModelGraph } from '../graph/graph.js';
import { tileBudgetBytes, type ProgramDtype } from './partition.js';
import { lowerModel, type Lowered } from './lower.js';
import { placeTiles, type Placement } from './place.js';
import { meshView, routeStreams, type StreamRoute } from './route.js';
import { assignColours } from './colour.js';
import { emitProgram } from './emit.js';
import { verifyCoverage, verifyRoutes } from './verify.js';
import { buildReport, type CompileReport } from './report.js';

export interface CompileOptions {
  spec: FabricSpec;
  /** For route-around: a map of the logical grid; for remap: of the physical grid with its spares. */
  faults: FaultMap | null;
  repair: RepairPolicy;
  dtype: ProgramDtype;
  maxSeq: number;
  /** Most streams a hub exchanges with one region (default 8). */
  maxFan?: number;
  /**
   * Spread the model over this fraction of the usable tiles by shrinking blocks (more tiles, less work each, more
   * communication); 0 or absent packs blocks as full as SRAM allows.
   */
  spread?: number;
  /** Columns of x per hub slice (default: lower.ts's hubSliceCols, the q/k/v block width). */
  sliceCols?: number;
}

/** Smallest per-tile buffer budget the spread search tries (blocks below this are all overhead). */
const MIN_SPREAD_BUDGET_BYTES = 4096;

export interface CompileResult {
  program: Program;
  report: CompileReport;
  /** The faults the engine must honour on the logical grid (route-around), or null (remap hides them). */
  engineFaults: FaultMap | null;
  /** Extra cycles per logical link that a remap bypass costs (tiles × 5), or null. */
  linkExtraLatencyCycles: Uint16Array | null;
  remap: RemapResult | null;
  /** Intermediate results, for the estimate and the projection. */
  lowered: Lowered;
  placement: Placement;
  routes: StreamRoute[];
}

export function compileModel(graph: ModelGraph, opts: CompileOptions): CompileResult {
  if (opts.sliceCols !== undefined) return compileWith(graph, opts);
  try {
    return compileWith(graph, opts);
  } catch (e) {
    // Hubs split over several tiles need more colours around them than one hub tile per half-layer: where the
    // default split does not fit the fabric's colours, fewer slices (an explicit --hub-slices is not changed).
    if (!outOfColours(e)) throw e;
    for (const slices of FALLBACK_HUB_SLICES) {
      try {
        return compileWith(graph, { ...opts, sliceCols: Math.ceil(graph.hidden / slices) });
      } catch (again) {
        if (!outOfColours(again) || slices === 1) throw again;
      }
    }
    throw e;
  }
}

/** The colouring pass's refusal: more streams meet at a tile than it has colours. */
function outOfColours(e: unknown): boolean {
  return e instanceof InputError && e.where === 'colour';
}

/** Hub slices tried, in order, when the default split runs out of colours. */
const FALLBACK_HUB_SLICES = [4, 2, 1];

function compileWith(graph: ModelGraph, opts: CompileOptions): CompileResult {
  const { spec } = opts;
  const W = spec.widthTiles;
  const H = spec.heightTiles;
  let logicalFaults: FaultMap | null = null;
  let remap: RemapResult | null = null;
  if (opts.faults) {
    if (opts.repair === 'remap') remap = remapRepair(opts.faults, spec, '--repair remap');
    else logicalFaults = opts.faults;
  }
  const deadTiles = opts.faults ? countDead(opts.faults) : 0;

  const usable = (i: number) => !logicalFaults || logicalFaults.isTileUsable(i);
  const lower = (budgetBytes: number) => lowerModel(graph, { dtype: opts.dtype, maxSeq: opts.maxSeq, budgetBytes, spec, maxFan: opts.maxFan ?? 8, sliceCols: opts.sliceCols });
  let lowered = lower(tileBudgetBytes(spec));
  if (opts.spread && opts.spread > 0) {
    // Binary search on the budget for the most tiles within spread × usable (tile count falls as the budget grows).
    let usableCount = 0;
    for (let i = 0; i < W * H; i++) if (usable(i)) usableCount++;
    const target = Math.floor(opts.spread * usableCount);
    let lo = MIN_SPREAD_BUDGET_BYTES;
    let hi = tileBudgetBytes(spec);
    if (lowered.plan.tiles.length < target) {
      for (let it = 0; it < 12 && hi - lo > 256; it++) {
        const mid = Math.floor((lo + hi) / 2);
        let n = Infinity;
        try {
          n = lower(mid).plan.tiles.length;
        } catch {
          // A budget too small for some matrix: go larger.
        }
        if (n <= target) hi = mid;
        else lo = mid;
      }
      lowered = lower(hi);
    }
  }
  verifyCoverage(graph, lowered);
  const placement = placeTiles(lowered.plan.tiles, W, H, usable, { fabric: `fabric "${spec.name}"`, dead: logicalFaults ? countDead(logicalFaults) : 0 });
  const view = meshView(W, H, logicalFaults);
  const routes = routeStreams(lowered.plan.streams, placement.tileOf, view);
  const colourOf = assignColours(lowered.plan.streams, routes, placement.tileOf, W * H, spec.colours, W);
  verifyRoutes(routes, colourOf, view);
  const program = emitProgram(spec.name, lowered, placement, routes, colourOf, opts.maxSeq);
  validateProgram(spec, program, logicalFaults, 'compiled program');
  const report = buildReport({ graph, spec, opts, program, lowered, placement, routes, colourOf, deadTiles, remap, sramOf: tileSramBytes });
  return { program, report, engineFaults: logicalFaults, linkExtraLatencyCycles: remap?.extraLatencyCycles ?? null, remap, lowered, placement, routes };
}

function countDead(f: FaultMap): number {
  let n = 0;
  for (let i = 0; i < f.tiles; i++) if (!f.isTileUsable(i)) n++;
  return n;
}
