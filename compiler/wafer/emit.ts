// Emit: the logical plan, placed, routed and coloured -> the versioned per-tile Program of fabric/isa.
import { ISA_VERSION, type Op, type Port, type Program, type RouteEntry, type Task, type TileProgram } from '../../fabric/isa/types.js';
import { PORTS } from '../../fabric/isa/types.js';
import type { Lowered } from './lower.js';
import type { Placement } from './place.js';
import type { StreamRoute } from './route.js';

function recolourOp(op: Op, colourOf: Int32Array): Op {
  switch (op.op) {
    case 'send':
      return { ...op, colour: colourOf[op.colour] };
    case 'dispatch':
      // -1: an expert held as a reserved span, with no colour.
      return { ...op, colours: op.colours.map((c) => (c < 0 ? c : colourOf[c])) };
    case 'embed':
      return { ...op, colours: op.colours.map((c) => colourOf[c]) };
    default:
      return op;
  }
}

function recolourTask(t: Task, colourOf: Int32Array): Task {
  const trigger = t.trigger.on === 'recv' ? { ...t.trigger, colour: colourOf[t.trigger.colour] } : t.trigger;
  return { ...t, trigger, ops: t.ops.map((op) => recolourOp(op, colourOf)) };
}

export function emitProgram(fabric: string, lowered: Lowered, placement: Placement, routes: StreamRoute[], colourOf: Int32Array, maxSeq: number): Program {
  const { width } = placement;
  const routesAt = new Map<number, RouteEntry[]>();
  for (const r of routes) {
    const colour = colourOf[r.stream];
    for (const [tile, list] of r.entries) {
      let out = routesAt.get(tile);
      if (!out) routesAt.set(tile, (out = []));
      for (const e of list) {
        const to: Port[] = [];
        for (let p = 0; p < 5; p++) if (e.toMask & (1 << p)) to.push(PORTS[p]);
        out.push({ colour, from: PORTS[e.from], to });
      }
    }
  }
  const byColourThenPort = (a: RouteEntry, b: RouteEntry) => a.colour - b.colour || PORTS.indexOf(a.from) - PORTS.indexOf(b.from);
  const tiles: TileProgram[] = [];
  const used = new Set<number>();
  for (const t of lowered.plan.tiles) {
    const i = placement.tileOf[t.id];
    used.add(i);
    tiles.push({
      x: i % width,
      y: Math.floor(i / width),
      buffers: t.buffers,
      routes: (routesAt.get(i) ?? []).sort(byColourThenPort),
      tasks: t.tasks.map((task) => recolourTask(task, colourOf)),
      role: t.role,
    });
  }
  // Routers that only forward (no logical tile placed there) still need their routes configured.
  for (const [i, entries] of [...routesAt].sort((a, b) => a[0] - b[0])) {
    if (used.has(i)) continue;
    tiles.push({ x: i % width, y: Math.floor(i / width), buffers: [], routes: entries.sort(byColourThenPort), tasks: [], role: 'relay' });
  }
  return {
    isaVersion: ISA_VERSION,
    fabric,
    widthTiles: placement.width,
    heightTiles: placement.height,
    maxSeq,
    tiles,
    hostInputs: lowered.tokenTiles.map((id) => {
      const i = placement.tileOf[id];
      return { x: i % width, y: Math.floor(i / width), buf: 'tok', value: 'token' as const };
    }),
    tokenOutput: 'token',
    logitOutputs: lowered.logitOutputs,
  };
}
