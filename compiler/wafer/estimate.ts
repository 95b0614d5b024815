// The schedule's expected cycles per token: a task-level event simulation of the logical plan on its placement,
// charging the engine's own cost functions (fabric/mesh/cost.ts) for every op and its zero-contention stream timing
// for every transfer. It is the mesh engine without wavelets: no link contention and no queue back-pressure, which is
// what the mesh run adds. The projection evaluates real-size models with this same function.
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { Op } from '../../fabric/isa/types.js';
import { opCycles, streamArrivalCycles, tileOpContext, type OpContext } from '../../fabric/mesh/cost.js';
import { OPPOSITE_PORT, neighbour } from '../../fabric/geometry.js';
import type { Lowered } from './lower.js';
import type { Placement } from './place.js';
import type { StreamRoute } from './route.js';

export interface StepEstimate {
  /** Cycles from step start until the last task completes. */
  cycles: number;
  /** Busy CE cycles summed over tiles, by task label prefix (e.g. "L0.mlp.gu.matvec"). */
  busyByLabel: Map<string, number>;
  /** Cycles the ramps spent sending (wavelets leaving tiles) and wavelet-hops on links. */
  waveletsSent: number;
  waveletHops: number;
}

export interface EstimateOptions {
  position: number;
  /** Extra cycles per directed link (tile * 5 + port) from remap bypasses. */
  linkExtraLatencyCycles?: Uint16Array | null;
  /** Experts the step's router picks, per MoE dispatch (default: the first k). */
  expertChoice?: (k: number, experts: number) => number[];
}

/** A binary min-heap of (time, seq, payload) — seq keeps equal times in insertion order, so runs are deterministic. */
class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];
  private seq = 0;
  get size(): number {
    return this.items.length;
  }
  push(time: number, item: T): void {
    let i = this.items.length;
    this.times.push(time);
    this.seqs.push(this.seq++);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(p, i)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { time: number; item: T } {
    const top = { time: this.times[0], item: this.items[0] };
    const last = this.items.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    this.items.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.items.length && this.less(l, m)) m = l;
      if (r < this.items.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
  private less(a: number, b: number): boolean {
    return this.times[a] < this.times[b] || (this.times[a] === this.times[b] && this.seqs[a] < this.seqs[b]);
  }
  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b], this.times[a]];
    [this.seqs[a], this.seqs[b]] = [this.seqs[b], this.seqs[a]];
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
  }
}

type Event = { kind: 'arrive'; tile: number; stream: number } | { kind: 'done'; tile: number; task: number };

export function estimateStep(spec: FabricSpec, lowered: Lowered, placement: Placement, routes: StreamRoute[], opts: EstimateOptions): StepEstimate {
  const { tiles, streams } = lowered.plan;
  const width = placement.width;
  const ctxs: OpContext[] = tiles.map((t) => tileOpContext(t, opts.position));
  const extraTo = (route: StreamRoute, dstMesh: number): number => {
    const extra = opts.linkExtraLatencyCycles;
    if (!extra) return 0;
    let sum = 0;
    for (let t = dstMesh; ; ) {
      const e = route.entries.get(t);
      if (!e || e.length !== 1 || e[0].from === 0) break;
      const prev = neighbour(t, e[0].from, width, placement.height);
      sum += extra[prev * 5 + OPPOSITE_PORT[e[0].from]];
      t = prev;
    }
    return sum;
  };
  // recvTask[tile] : stream -> task id; joins: task -> remaining count; dependents: task -> join tasks.
  const recvTask = tiles.map((t) => new Map<number, number>(t.tasks.flatMap((k) => (k.trigger.on === 'recv' ? [[k.trigger.colour, k.id] as [number, number]] : []))));
  const remaining = tiles.map((t) => t.tasks.map((k) => (k.trigger.on === 'after' ? (k.trigger.count ?? k.trigger.tasks.length) : 0)));
  const dependents = tiles.map((t) => {
    const d: number[][] = t.tasks.map(() => []);
    for (const k of t.tasks) if (k.trigger.on === 'after') for (const pre of k.trigger.tasks) d[pre].push(k.id);
    return d;
  });
  const ready = tiles.map(() => [] as number[]);
  const ceFree = new Float64Array(tiles.length);
  const rampFree = new Float64Array(tiles.length);
  const running = new Uint8Array(tiles.length);
  const q = new EventQueue<Event>();
  const busyByLabel = new Map<string, number>();
  let waveletsSent = 0;
  let waveletHops = 0;
  let end = 0;
  const choose = opts.expertChoice ?? ((k: number) => Array.from({ length: k }, (_, i) => i));

  // Only one embedding tile sends per step (the one owning the token): take the middle one.
  const embedTiles = tiles.filter((t) => t.tasks.some((k) => k.ops.some((o) => o.op === 'embed')));
  const embedSender = embedTiles[Math.floor(embedTiles.length / 2)]?.id ?? -1;

  const send = (tile: number, stream: number, wavelets: number, issue: number) => {
    const start = Math.max(issue, rampFree[tile]);
    rampFree[tile] = start + wavelets;
    const r = routes[stream];
    waveletsSent += wavelets;
    waveletHops += wavelets * r.links.length;
    for (const d of streams[stream].dst) {
      const mesh = placement.tileOf[d];
      const hops = r.hopsTo.get(mesh) ?? r.maxHops;
      q.push(start + streamArrivalCycles(spec, hops, wavelets, extraTo(r, mesh)), { kind: 'arrive', tile: d, stream });
    }
  };
  const startNext = (tile: number, now: number) => {
    if (running[tile] || ready[tile].length === 0) return;
    ready[tile].sort((a, b) => a - b);
    const id = ready[tile].shift()!;
    const task = tiles[tile].tasks[id];
    let t = Math.max(now, ceFree[tile]) + spec.taskStartCycles;
    const t0 = t - spec.taskStartCycles;
    for (const op of task.ops) {
      t += opCycles(spec, op, ctxs[tile]);
      issueSends(tile, op, t);
    }
    running[tile] = 1;
    ceFree[tile] = t;
    const label = task.label ?? 'task';
    busyByLabel.set(label, (busyByLabel.get(label) ?? 0) + (t - t0));
    q.push(t, { kind: 'done', tile, task: id });
  };
  const issueSends = (tile: number, op: Op, at: number) => {
    if (op.op === 'send') send(tile, op.colour, op.src.length, at);
    else if (op.op === 'embed' && tile === embedSender) send(tile, op.colour, op.cols, at);
    else if (op.op === 'dispatch') for (const e of choose(op.indices.length, op.colours.length)) send(tile, op.colours[e], op.src.length, at);
  };

  for (const t of tiles) for (const k of t.tasks) if (k.trigger.on === 'start') ready[t.id].push(k.id);
  for (const t of tiles) startNext(t.id, 0);
  while (q.size > 0) {
    const { time, item } = q.pop();
    end = Math.max(end, time);
    if (item.kind === 'arrive') {
      const id = recvTask[item.tile].get(item.stream);
      if (id === undefined) throw new Error(`estimate: stream ${streams[item.stream].label} arrives at ${tiles[item.tile].role} with no task waiting`);
      ready[item.tile].push(id);
      startNext(item.tile, time);
    } else if (item.kind === 'done') {
      running[item.tile] = 0;
      for (const dep of dependents[item.tile][item.task]) if (--remaining[item.tile][dep] === 0) ready[item.tile].push(dep);
      startNext(item.tile, time);
    }
  }
  return { cycles: end, busyByLabel, waveletsSent, waveletHops };
}
