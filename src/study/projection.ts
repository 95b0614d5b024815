// The one place the studies ask for a wafer projection (compiler/project projectWafer): its figures, and its
// breakdown as the time split compare shows (SRAM → memory; on-wafer and inter-wafer → communication; bubbles → other).
import type { ModelConfig } from '../../compiler/model/config.js';
import { projectWafer, PROJECTION_METHOD as PROJECT_METHOD } from '../../compiler/project/index.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import { toSplit, type TimeSplit } from './waferEstimate.js';

export interface ProjectionOptions {
  batch?: number;
  promptLength?: number;
  /** Positions attended at the decode step (the projection needs at least promptLength + 1). */
  contextLength?: number;
  dtype?: 'bf16' | 'int8';
  wafers?: number;
}

export interface WaferPoint {
  decodeTokensPerSecond: number;
  aggregateTokensPerSecond: number;
  timeToFirstTokenSeconds: number | null;
  wafers: number;
  /** Tiles the model uses on all its wafers together. */
  tilesUsed: number;
  split: TimeSplit;
  method: string;
  /** Tiles each hub was split over, and the context the decode step was timed at (the settings the figures hold for). */
  hubSlices: number;
  /** Whether the stages' blocks took balanced shares of the tile budget (compiler/wafer/balance.ts) rather than all of it. */
  balanced: boolean;
  contextLength: number;
  promptLength: number;
  /** The floor of the same model and wafers (compiler/project/floor.ts) and projected ÷ floor. */
  floorTokensPerSecond?: number;
  efficiency?: number;
}

export const PROJECTION_METHOD = `projection (compiler/project): ${PROJECT_METHOD}`;

export function projectOnWafer(cfg: ModelConfig, spec: FabricSpec, opts: ProjectionOptions): WaferPoint {
  const context = opts.contextLength === undefined ? undefined : Math.max(opts.contextLength, (opts.promptLength ?? 0) + 1);
  const r = projectWafer(cfg, spec, { batch: opts.batch, promptLength: opts.promptLength, context, dtype: opts.dtype, wafers: opts.wafers });
  const b = r.breakdown;
  return {
    decodeTokensPerSecond: r.decodeTokensPerSecond,
    aggregateTokensPerSecond: r.aggregateTokensPerSecond,
    timeToFirstTokenSeconds: r.timeToFirstTokenSeconds,
    wafers: r.wafers,
    tilesUsed: r.tilesPerWafer.reduce((a, t) => a + t, 0),
    split: toSplit({ compute: b.compute, memory: b.sram, communication: b.communication + b.interWafer, other: b.bubbles }),
    method: PROJECTION_METHOD,
    hubSlices: r.hubSlices,
    balanced: Object.values(r.stageBudgets).some((f) => f < 1),
    contextLength: r.context,
    promptLength: r.promptLength,
    floorTokensPerSecond: r.floorTokensPerSecond,
    efficiency: r.efficiency,
  };
}
