// Compiling a model that is already in memory: the compile, the fault-free baseline and the schedule estimates of
// `wafer compile` / `wafer run`, with no file access, so the lab page (lab/) builds the very same job in a Web Worker.
// src/wafer/compileJob.ts resolves the command line into these inputs.
import { buildGraph } from '../../compiler/graph/graph.js';
import { compileModel, type CompileResult } from '../../compiler/wafer/compile.js';
import { estimateStep } from '../../compiler/wafer/estimate.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import type { ModelConfig } from '../../compiler/model/config.js';
import type { ModelWeights } from '../../compiler/model/weights.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import { generateFaults, type FaultMap, type RepairPolicy } from '../../fabric/faults/index.js';

export interface CompileJobInputs {
  config: ModelConfig;
  /** Weights in the program's dtype, when the model has weights (a directory or a runnable preset). */
  weights: ModelWeights | null;
  spec: FabricSpec;
  faults: FaultMap | null;
  repair: RepairPolicy;
  dtype: ProgramDtype;
  maxSeq: number;
  spread: number;
  /** Positions attended at the estimated decode step (≤ maxSeq). */
  context: number;
  /** Columns of x per hub slice; undefined: the compiler's choice. */
  sliceCols?: number;
}

/** A compiled job: its inputs (less the hub slicing, and the context, which `estimate` keeps) and what came of them. */
export interface CompileJob extends Omit<CompileJobInputs, 'context' | 'sliceCols'> {
  result: CompileResult;
  /** The same model compiled on the fault-free wafer (when there are faults), for the cost of the faults. */
  baseline: CompileResult | null;
  estimate: { context: number; cyclesPerToken: number; baselineCyclesPerToken: number | null };
}

export function buildCompileJob(i: CompileJobInputs): CompileJob {
  const { spec, repair, dtype, maxSeq, spread, sliceCols } = i;
  const graph = buildGraph(i.config);
  const opts = { spec, repair, dtype, maxSeq, spread, sliceCols };
  const result = compileModel(graph, { ...opts, faults: i.faults });
  const baseline = i.faults ? compileModel(graph, { ...opts, faults: null }) : null;
  const est = (r: CompileResult) => estimateStep(spec, r.lowered, r.placement, r.routes, { position: i.context - 1, linkExtraLatencyCycles: r.linkExtraLatencyCycles }).cycles;
  return {
    config: i.config,
    weights: i.weights,
    spec,
    faults: i.faults,
    repair,
    dtype,
    maxSeq,
    spread,
    result,
    baseline,
    estimate: { context: i.context, cyclesPerToken: est(result), baselineCyclesPerToken: baseline ? est(baseline) : null },
  };
}

/** The grid a fault map covers under a repair policy: the logical mesh (route-around), or the physical grid with its spares (remap). */
export function faultGrid(spec: FabricSpec, repair: RepairPolicy): { width: number; height: number } {
  return { width: spec.widthTiles + (repair === 'remap' ? spec.spareColumns : 0), height: spec.heightTiles + (repair === 'remap' ? spec.spareRows : 0) };
}

/** The seeded fault map of --fault-density/--clustered/--seed (null for density 0 with no clustering asked). */
export function generatedFaults(spec: FabricSpec, repair: RepairPolicy, o: { density: number; seed: number; clusterAlpha?: number }): FaultMap {
  return generateFaults({ ...faultGrid(spec, repair), density: o.density, seed: o.seed, clusterAlpha: o.clusterAlpha });
}
