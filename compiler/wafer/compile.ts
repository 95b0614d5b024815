// The wafer compiler driver: graph -> lower -> place -> route -> colour -> emit, with the verifier between passes.
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
}

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

  const lowered = lowerModel(graph, { dtype: opts.dtype, maxSeq: opts.maxSeq, budgetBytes: tileBudgetBytes(spec), spec, maxFan: opts.maxFan ?? 8 });
  verifyCoverage(graph, lowered);
  const usable = (i: number) => !logicalFaults || logicalFaults.isTileUsable(i);
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
