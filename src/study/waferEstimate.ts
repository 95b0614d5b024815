// A small model on a small mesh through the compiler's schedule estimate (estimateStep: the mesh engine's cost
// functions, streams that share a link taking turns), and where a decode token's time goes, by what-if: the same schedule with
// links at zero latency (what communication latency costs), then also with unlimited SRAM bandwidth (what the SRAM
// stream costs); the rest is compute. A stream's serialisation through a ramp (one wavelet per cycle) is not a
// latency, so it stays in compute — the split says so in `splitMethod`.
import { buildGraph } from '../../compiler/graph/graph.js';
import type { ModelConfig } from '../../compiler/model/config.js';
import { compileModel, type CompileResult } from '../../compiler/wafer/compile.js';
import { estimateStep } from '../../compiler/wafer/estimate.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import type { CompileJob } from '../wafer/compileJob.js';

/** Fractions of a decode token's time (they sum to 1). */
export interface TimeSplit {
  compute: number;
  memory: number;
  communication: number;
  /** Launch overhead (GPU), pipeline bubbles (wafers), anything else. */
  other: number;
}

export const MESH_SPLIT_METHOD = 'what-if on the schedule estimate: links at zero latency, then SRAM at unlimited bandwidth; ramp serialisation counts as compute';

export interface MeshEstimate {
  cyclesPerToken: number;
  tokensPerSecond: number;
  context: number;
  tilesUsed: number;
  split: TimeSplit;
}

/** Normalises non-negative parts to fractions of their sum (all zero → all time in `other`). */
export function toSplit(parts: { compute: number; memory: number; communication: number; other: number }): TimeSplit {
  const clamp = (v: number) => (Number.isFinite(v) && v > 0 ? v : 0);
  const c = { compute: clamp(parts.compute), memory: clamp(parts.memory), communication: clamp(parts.communication), other: clamp(parts.other) };
  const sum = c.compute + c.memory + c.communication + c.other;
  if (sum === 0) return { compute: 0, memory: 0, communication: 0, other: 1 };
  return { compute: c.compute / sum, memory: c.memory / sum, communication: c.communication / sum, other: c.other / sum };
}

/** Cycles of one decode step at `position`, and the what-if split of them (module header). */
export function scheduleWhatIf(spec: FabricSpec, r: CompileResult, position: number): { cycles: number; split: TimeSplit } {
  const at = (s: FabricSpec, extra: Uint16Array | null) => estimateStep(s, r.lowered, r.placement, r.routes, { position, linkExtraLatencyCycles: extra }).cycles;
  const full = at(spec, r.linkExtraLatencyCycles);
  const linksFree: FabricSpec = { ...spec, hopLatencyCycles: 0, rampLatencyCycles: 0, bypassLatencyCycles: 0 };
  const noLatency = at(linksFree, null);
  const computeOnly = at({ ...linksFree, sramAccessBytes: 1 << 24 }, null);
  return { cycles: full, split: toSplit({ communication: full - noLatency, memory: noLatency - computeOnly, compute: computeOnly, other: 0 }) };
}

/**
 * `cfg` compiled onto the fault-free `spec` (no weights needed) and estimated at the last position of `maxSeq`.
 * A model that does not fit is the compiler's InputError.
 */
export function compileEstimate(cfg: ModelConfig, spec: FabricSpec, opts: { dtype: ProgramDtype; maxSeq: number }): MeshEstimate {
  const result = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: opts.dtype, maxSeq: opts.maxSeq });
  const { cycles, split } = scheduleWhatIf(spec, result, opts.maxSeq - 1);
  return { cyclesPerToken: cycles, tokensPerSecond: spec.clockHz / cycles, context: opts.maxSeq, tilesUsed: result.report.tilesUsed, split };
}

export function meshEstimate(job: CompileJob): MeshEstimate {
  const { cycles, split } = scheduleWhatIf(job.spec, job.result, job.estimate.context - 1);
  return { cyclesPerToken: cycles, tokensPerSecond: job.spec.clockHz / cycles, context: job.estimate.context, tilesUsed: job.result.report.tilesUsed, split };
}
