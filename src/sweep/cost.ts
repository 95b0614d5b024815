// What `wafer sweep plan` expects a point to cost, in seconds of one thread of this kind of host: a coarse model per
// kind, each constant an assumption measured once (docs/sweeps.md#what-a-point-costs; `wafer bench sweep` measures the
// throughput a sweep really gets). It sizes a sweep before it starts; nothing depends on it being exact.
import { findFabricPreset } from '../../fabric/spec/presets.js';
import type { KeyedPoint } from './plan.js';
import { gridOf } from './runPoint.js';

/** Seconds per point, by kind: base + per unit of size (assumptions, measured on the 2-core development host). */
export const COST_ASSUMPTIONS = Object.freeze({
  /** A projection: compile one layer per kind at tile granularity (toy-moe on mini-64 ≈ 0.5 s; llama-3.1-8b on wse3 ≈ 0.8 s). */
  projectBaseSeconds: 0.4,
  projectSecondsPerTile: 5e-7,
  /** A mesh run: compile, then every step of the prompt and the tokens (toy-moe on mini-64: ≈ 0.6 s a step). */
  meshBaseSeconds: 0.5,
  meshSecondsPerTileStep: 1.5e-4,
  /** A GPU estimate: a kernel list and its roofline, milliseconds. */
  gpuSeconds: 0.02,
  /** NoC traffic: router-cycles (tiles × cycles simulated, drain excluded). */
  nocSecondsPerRouterCycle: 4e-7,
});

function tilesOf(p: KeyedPoint): number {
  if (p.params.grid !== null && typeof p.params.grid === 'string') {
    const g = gridOf(p.params.grid);
    return g.width * g.height;
  }
  const spec = findFabricPreset(p.params.fabric as string);
  return spec ? spec.widthTiles * spec.heightTiles : 0;
}

export function pointSeconds(p: KeyedPoint): number {
  const c = COST_ASSUMPTIONS;
  switch (p.kind) {
    case 'project':
      return c.projectBaseSeconds + c.projectSecondsPerTile * tilesOf(p);
    case 'mesh':
      return c.meshBaseSeconds + c.meshSecondsPerTileStep * tilesOf(p) * ((p.params.prompt as number[]).length + (p.params.tokens as number) - 1);
    case 'gpu':
      return c.gpuSeconds;
    case 'noc':
      return c.nocSecondsPerRouterCycle * tilesOf(p) * ((p.params.cycles as number) + (p.params.warmup as number));
  }
}
