// The compile report: what a researcher wants to know about a mapping — tiles, SRAM fill, colours, route lengths,
// how each matrix was split and reduced, and where each layer sits on the wafer.
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { RemapResult } from '../../fabric/faults/index.js';
import type { Program, TileProgram } from '../../fabric/isa/types.js';
import { tileSramBytesByRole } from '../../fabric/isa/sram.js';
import type { ModelGraph } from '../graph/graph.js';
import type { Lowered } from './lower.js';
import type { Placement } from './place.js';
import type { StreamRoute } from './route.js';

export interface CompileReport {
  model: string;
  fabric: string;
  dtype: string;
  repair: string;
  mesh: { width: number; height: number };
  tilesAvailable: number;
  deadTiles: number;
  tilesUsed: number;
  relayTiles: number;
  sram: { meanBytes: number; maxBytes: number; meanFill: number; maxFill: number; totalBytes: number; weightBytes: number; kvCacheBytes: number; histogram: number[] };
  /**
   * Colours configured at a tile (at most), distinct over the mesh, and received on by a tile's compute engine (its
   * receive triggers' colours, at most), beside the fabric's input queues (null: one per colour; not held to).
   */
  colours: { maxPerTile: number; distinct: number; receivePerTile: number; receiveQueues: number | null };
  routes: { streams: number; longestHops: number; meanHops: number; totalLinkHops: number };
  regions: { name: string; rows: number; cols: number; blockRows: number; blockCols: number; gridRows: number; gridCols: number; reduce: string }[];
  groups: { group: string; tiles: number; x0: number; y0: number; x1: number; y1: number }[];
  remap: null | { hiddenDefects: number; skippedRows: number; linksWithBypass: number; maxExtraLatencyCycles: number };
  maxSeq: number;
}

export function buildReport(a: {
  graph: ModelGraph;
  spec: FabricSpec;
  /** The compile options the report states. */
  opts: { dtype: string; repair: string; faults: unknown; maxSeq: number };
  program: Program;
  lowered: Lowered;
  placement: Placement;
  routes: StreamRoute[];
  colourOf: Int32Array;
  deadTiles: number;
  remap: RemapResult | null;
  sramOf: (t: TileProgram) => number;
}): CompileReport {
  const { spec, program, lowered, placement } = a;
  const W = placement.width;
  // emitProgram lists the plan's tiles first, then the routers that only forward.
  const placed = program.tiles.slice(0, lowered.plan.tiles.length);
  const sram = placed.map(a.sramOf);
  const total = sram.reduce((s, b) => s + b, 0);
  const byRole = (role: 'weights' | 'kv-cache') => placed.reduce((sum, t) => sum + tileSramBytesByRole(t)[role], 0);
  const histogram = new Array(10).fill(0);
  for (const b of sram) histogram[Math.min(9, Math.floor((10 * b) / spec.sramBytesPerTile))]++;
  const coloursAt = new Map<number, Set<number>>();
  for (const r of a.routes) for (const t of r.entries.keys()) (coloursAt.get(t) ?? coloursAt.set(t, new Set()).get(t)!).add(a.colourOf[r.stream]);
  const hops = a.routes.map((r) => r.maxHops);
  const groups = new Map<string, { tiles: number; x0: number; y0: number; x1: number; y1: number }>();
  for (const t of lowered.plan.tiles) {
    const i = placement.tileOf[t.id];
    const x = i % W;
    const y = Math.floor(i / W);
    const g = groups.get(t.group);
    if (!g) groups.set(t.group, { tiles: 1, x0: x, y0: y, x1: x, y1: y });
    else Object.assign(g, { tiles: g.tiles + 1, x0: Math.min(g.x0, x), y0: Math.min(g.y0, y), x1: Math.max(g.x1, x), y1: Math.max(g.y1, y) });
  }
  return {
    model: a.graph.config.name,
    fabric: spec.name,
    dtype: a.opts.dtype,
    repair: a.opts.faults ? a.opts.repair : 'none',
    mesh: { width: W, height: placement.height },
    tilesAvailable: W * placement.height - (a.opts.repair === 'remap' ? 0 : a.deadTiles),
    deadTiles: a.deadTiles,
    tilesUsed: placed.length,
    relayTiles: program.tiles.length - placed.length,
    sram: {
      meanBytes: Math.round(total / Math.max(1, placed.length)),
      maxBytes: Math.max(0, ...sram),
      meanFill: total / Math.max(1, placed.length) / spec.sramBytesPerTile,
      maxFill: Math.max(0, ...sram) / spec.sramBytesPerTile,
      totalBytes: total,
      weightBytes: byRole('weights'),
      kvCacheBytes: byRole('kv-cache'),
      histogram,
    },
    colours: { maxPerTile: Math.max(0, ...[...coloursAt.values()].map((s) => s.size)), distinct: new Set(a.colourOf).size, receivePerTile: mostReceiveColours(placed), receiveQueues: spec.receiveQueues ?? null },
    routes: {
      streams: a.routes.length,
      longestHops: Math.max(0, ...hops),
      meanHops: hops.reduce((s, h) => s + h, 0) / Math.max(1, hops.length),
      totalLinkHops: a.routes.reduce((s, r) => s + r.links.length, 0),
    },
    regions: lowered.regions.map((r) => ({ name: r.name, rows: r.grid.rows, cols: r.grid.cols, blockRows: r.grid.br, blockCols: r.grid.bc, gridRows: r.grid.gr, gridCols: r.grid.gc, reduce: r.reduce })),
    groups: [...groups].map(([group, g]) => ({ group, ...g })),
    remap: a.remap ? { hiddenDefects: a.remap.hiddenDefects, skippedRows: a.remap.skippedRows.length, linksWithBypass: a.remap.linksWithBypass, maxExtraLatencyCycles: a.remap.maxExtraLatencyCycles } : null,
    maxSeq: a.opts.maxSeq,
  };
}

/** The most distinct colours any tile's tasks are triggered by a receive on. */
function mostReceiveColours(tiles: readonly TileProgram[]): number {
  let most = 0;
  for (const t of tiles) {
    const colours = new Set<number>();
    for (const task of t.tasks) if (task.trigger.on === 'recv') colours.add(task.trigger.colour);
    most = Math.max(most, colours.size);
  }
  return most;
}
