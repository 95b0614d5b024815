// The one place compare and report ask for a wafer projection. `projectOnWafer` calls `waferProjection` below;
// when compiler/project lands, that function becomes `projectWafer(cfg, spec, opts)` (one line) and the rest of
// this file stays as it is: it only reads the ProjectionReport fields named in ProjectionReportLike.
//
// Until then `waferProjection` is NOT a projection: it compiles the model onto one wafer of the fabric and runs the
// schedule estimate (estimateStep), which works where the whole model fits one wafer and a tile's SRAM, at batch 1.
// Elsewhere it throws NoProjection, and compare reports the point as unavailable with that reason.
import type { ModelConfig } from '../../compiler/model/config.js';
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import { compileEstimate, toSplit, type TimeSplit } from './waferEstimate.js';

export interface ProjectionOptions {
  batch?: number;
  promptLength?: number;
  dtype?: 'bf16' | 'int8';
  wafers?: number;
}

/** The fields of compiler/project's ProjectionReport this module reads. */
export interface ProjectionReportLike {
  decodeTokensPerSecond: number;
  aggregateTokensPerSecond?: number;
  timeToFirstTokenSeconds: number | null;
  wafers: number;
  tilesUsedPerWafer: number;
  /** Seconds (or any common unit) of a decode token by cause: compute, sram, communication, interWafer, bubbles, … */
  breakdown: Record<string, number>;
}

export interface WaferPoint {
  decodeTokensPerSecond: number;
  aggregateTokensPerSecond: number;
  timeToFirstTokenSeconds: number | null;
  wafers: number;
  tilesUsedPerWafer: number;
  split: TimeSplit;
  method: string;
}

export class NoProjection extends Error {}

export const PROJECTION_METHOD = 'interim: one-wafer compile + schedule estimate (compiler/project not yet in this build)';

/** The adapter: swap the body for `return projectWafer(cfg, spec, opts);` when compiler/project exists. */
function waferProjection(cfg: ModelConfig, spec: FabricSpec, opts: ProjectionOptions): ProjectionReportLike {
  return interimProjection(cfg, spec, opts);
}

export function projectOnWafer(cfg: ModelConfig, spec: FabricSpec, opts: ProjectionOptions): WaferPoint {
  const r = waferProjection(cfg, spec, opts);
  const b = r.breakdown;
  const of = (k: string) => b[k] ?? 0;
  const known = ['compute', 'sram', 'communication', 'interWafer'];
  const other = Object.entries(b)
    .filter(([k]) => !known.includes(k))
    .reduce((s, [, v]) => s + (typeof v === 'number' ? v : 0), 0);
  const batch = opts.batch ?? 1;
  return {
    decodeTokensPerSecond: r.decodeTokensPerSecond,
    aggregateTokensPerSecond: r.aggregateTokensPerSecond ?? r.decodeTokensPerSecond * batch,
    timeToFirstTokenSeconds: r.timeToFirstTokenSeconds,
    wafers: r.wafers,
    tilesUsedPerWafer: r.tilesUsedPerWafer,
    split: toSplit({ compute: of('compute'), memory: of('sram'), communication: of('communication') + of('interWafer'), other }),
    method: PROJECTION_METHOD,
  };
}

/** Context at which the interim path estimates a token (a tile's KV-cache slice must fit its SRAM). */
const INTERIM_CONTEXT = 64;

function interimProjection(cfg: ModelConfig, spec: FabricSpec, opts: ProjectionOptions): ProjectionReportLike {
  if ((opts.batch ?? 1) !== 1) throw new NoProjection(`batch ${opts.batch} needs compiler/project (the interim estimate decodes one sequence)`);
  if ((opts.wafers ?? 1) !== 1) throw new NoProjection('several wafers need compiler/project');
  let e;
  try {
    e = compileEstimate(cfg, spec, { dtype: opts.dtype ?? 'bf16', maxSeq: Math.min(INTERIM_CONTEXT, opts.promptLength ?? INTERIM_CONTEXT) });
  } catch (err) {
    if (err instanceof InputError) throw new NoProjection(`${cfg.name} does not compile onto one ${spec.name}: ${err.message.split(' (')[0]}; real-size models need compiler/project`);
    throw err;
  }
  const seconds = e.cyclesPerToken / spec.clockHz;
  return {
    decodeTokensPerSecond: 1 / seconds,
    timeToFirstTokenSeconds: null,
    wafers: 1,
    tilesUsedPerWafer: e.tilesUsed,
    breakdown: { compute: e.split.compute * seconds, sram: e.split.memory * seconds, communication: e.split.communication * seconds, interWafer: 0, bubbles: 0 },
  };
}
