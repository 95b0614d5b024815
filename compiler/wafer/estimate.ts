// The schedule's expected cycles per token: a task-level event simulation of the logical plan on its placement,
// charging the engine's own cost functions (fabric/mesh/cost.ts) for every op and its zero-contention stream timing
// for every transfer. It is the mesh engine without wavelets: no link contention and no queue back-pressure, which is
// what the mesh run adds. The projection evaluates real-size models with this same function.
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { Op } from '../../fabric/isa/types.js';
import { opCost, opCycles, simdFor, sramReadBytesPerCycle, sramWriteBytesPerCycle, streamArrivalCycles, tileOpContext, type OpContext } from '../../fabric/mesh/cost.js';
import { dtypeBytes } from '../../fabric/isa/sram.js';
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
  /** With `criticalPath`: the step's cycles along its critical path, by cause (they sum to `cycles`). */
  criticalPath?: PathSplit;
  /** With `probeTiles`: when the first stream reached each probed logical tile, and the critical path up to then. */
  firstArrival?: Map<number, { cycles: number; path: PathSplit }>;
}

/**
 * Causes of time along a critical path. CE work: `matvec`, `attention` and `vector` (every other op, embed included)
 * are the cycles an op would take with unlimited SRAM bandwidth, `sram` what the SRAM stream adds beyond that,
 * `overhead` task starts and send issues. Fabric: `hops` the ramp and link latencies, `reduction`, `broadcast` and
 * `transfer` the one-wavelet-per-cycle serialisation (and ramp queueing) of partial-sum streams, of multicast/fan-out
 * streams and of every other stream. `wait` is time the path cannot attribute (0 in every plan the compiler makes).
 */
export const PATH_CAUSES = ['matvec', 'attention', 'vector', 'sram', 'overhead', 'hops', 'reduction', 'broadcast', 'transfer', 'wait'] as const;
export type PathCause = (typeof PATH_CAUSES)[number];
export type PathSplit = Record<PathCause, number>;

export interface EstimateOptions {
  position: number;
  /** Extra cycles per directed link (tile * 5 + port) from remap bypasses. */
  linkExtraLatencyCycles?: Uint16Array | null;
  /** Experts the step's router picks, per MoE dispatch (default: the first k). */
  expertChoice?: (k: number, experts: number) => number[];
  /** Attribute the step's cycles along its critical path (StepEstimate.criticalPath); costs a little more time. */
  criticalPath?: boolean;
  /** Logical tiles whose first arrival to report (StepEstimate.firstArrival); implies criticalPath. */
  probeTiles?: number[];
}

const CAUSE = Object.fromEntries(PATH_CAUSES.map((c, i) => [c, i])) as Record<PathCause, number>;

function toSplit(v: Float64Array): PathSplit {
  return Object.fromEntries(PATH_CAUSES.map((c, i) => [c, v[i]])) as PathSplit;
}

/** The class of a stream's serialisation, from the labels lower.ts and region.ts give (reduce edges, inputs, dispatches). */
function streamCause(label: string, destinations: number): number {
  if (/\.red\d/.test(label) || /argmax\d/.test(label)) return CAUSE.reduction;
  if (destinations > 1 || /\.in\d+$/.test(label) || /\.q\d+$/.test(label) || label.endsWith('.dispatch')) return CAUSE.broadcast;
  return CAUSE.transfer;
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
    const t = this.times[a];
    this.times[a] = this.times[b];
    this.times[b] = t;
    const s = this.seqs[a];
    this.seqs[a] = this.seqs[b];
    this.seqs[b] = s;
    const i = this.items[a];
    this.items[a] = this.items[b];
    this.items[b] = i;
  }
}

type Event = { kind: 'arrive'; tile: number; stream: number; path: Float64Array | null } | { kind: 'done'; tile: number; task: number; path: Float64Array | null };

export function estimateStep(spec: FabricSpec, lowered: Lowered, placement: Placement, routes: StreamRoute[], opts: EstimateOptions): StepEstimate {
  const { tiles, streams } = lowered.plan;
  const width = placement.width;
  // Per-tile op contexts, built when a tile first runs a task (a full wafer has ~10^5 tiles).
  const ctxs: (OpContext | undefined)[] = new Array(tiles.length);
  const ctxOf = (tile: number): OpContext => (ctxs[tile] ??= tileOpContext(tiles[tile], opts.position));
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
  // Tasks flattened: task k of tile t is taskBase[t] + k. recvTask: (stream, tile) -> task; remaining: joins still to
  // complete; dependents (CSR): the join tasks that wait on each task.
  const nTiles = tiles.length;
  const taskBase = new Int32Array(nTiles + 1);
  for (let t = 0; t < nTiles; t++) taskBase[t + 1] = taskBase[t] + tiles[t].tasks.length;
  const nTasks = taskBase[nTiles];
  const recvTask = new Map<number, number>();
  const remainingFlat = new Int32Array(nTasks);
  const depCount = new Int32Array(nTasks + 1);
  for (const t of tiles) {
    for (const k of t.tasks) {
      if (k.trigger.on === 'recv') recvTask.set(k.trigger.colour * nTiles + t.id, k.id);
      else if (k.trigger.on === 'after') {
        remainingFlat[taskBase[t.id] + k.id] = k.trigger.count ?? k.trigger.tasks.length;
        for (const pre of k.trigger.tasks) depCount[taskBase[t.id] + pre + 1]++;
      }
    }
  }
  for (let i = 0; i < nTasks; i++) depCount[i + 1] += depCount[i];
  const depList = new Int32Array(depCount[nTasks]);
  const depFill = depCount.slice(0, nTasks);
  for (const t of tiles) for (const k of t.tasks) if (k.trigger.on === 'after') for (const pre of k.trigger.tasks) depList[depFill[taskBase[t.id] + pre]++] = k.id;
  const ready: number[][] = new Array(nTiles);
  for (let t = 0; t < nTiles; t++) ready[t] = [];
  const ceFree = new Float64Array(tiles.length);
  const rampFree = new Float64Array(tiles.length);
  const running = new Uint8Array(tiles.length);
  const q = new EventQueue<Event>();
  const busyByLabel = new Map<string, number>();
  let waveletsSent = 0;
  let waveletHops = 0;
  let end = 0;
  const choose = opts.expertChoice ?? ((k: number) => Array.from({ length: k }, (_, i) => i));
  // Critical-path bookkeeping (only with opts.criticalPath / probeTiles): the path vector of the event that made each
  // task ready, of each tile's last task end, and of the latest event.
  const probes = opts.probeTiles ? new Set(opts.probeTiles) : null;
  const tracking = opts.criticalPath === true || probes !== null;
  const K = PATH_CAUSES.length;
  const zeroPath = new Float64Array(K);
  const readyAt = new Float64Array(tracking ? nTasks : 0);
  const readyPath: Float64Array[] = tracking ? new Array<Float64Array>(nTasks).fill(zeroPath) : [];
  const tileEndPath: Float64Array[] = tracking ? new Array<Float64Array>(nTiles).fill(zeroPath) : [];
  const streamClass = tracking ? streams.map((s) => streamCause(s.label, s.dst.length)) : [];
  let endPath: Float64Array = zeroPath;
  const firstArrival = probes ? new Map<number, { cycles: number; path: PathSplit }>() : undefined;
  const readBw = sramReadBytesPerCycle(spec);
  const writeBw = sramWriteBytesPerCycle(spec);
  /** Adds an op's cycles to `path`: its arithmetic to its kind, what SRAM bandwidth adds beyond that to `sram`. */
  const chargeOp = (path: Float64Array, op: Op, ctx: OpContext, cycles: number) => {
    if (op.op === 'send' || op.op === 'dispatch') {
      path[CAUSE.overhead] += cycles;
      return;
    }
    const c = opCost(spec, op, ctx);
    let arith: number;
    let memory: number;
    if (op.op === 'matvec') {
      const dtype = ctx.dtypeOf(op.w);
      arith = Math.ceil(c.fmacOps / simdFor(spec, dtype));
      memory = Math.ceil((op.rows * op.cols * dtypeBytes(dtype) + (dtype === 'int8' ? op.rows * 4 : 0)) / readBw);
    } else {
      arith = Math.ceil(c.fmacOps / spec.simdWidth.f32);
      memory = Math.max(Math.ceil(c.sramReadBytes / readBw), Math.ceil(c.sramWriteBytes / writeBw));
    }
    const sram = Math.min(cycles, Math.max(0, memory - arith));
    path[CAUSE.sram] += sram;
    path[op.op === 'matvec' ? CAUSE.matvec : op.op === 'attention' ? CAUSE.attention : CAUSE.vector] += cycles - sram;
  };

  // Only one embedding tile sends per step (the one owning the token): take the middle one.
  const embedTiles = tiles.filter((t) => t.tasks.some((k) => k.ops.some((o) => o.op === 'embed')));
  const embedSender = embedTiles[Math.floor(embedTiles.length / 2)]?.id ?? -1;

  const send = (tile: number, stream: number, wavelets: number, issue: number, issuePath: Float64Array | null) => {
    const start = Math.max(issue, rampFree[tile]);
    rampFree[tile] = start + wavelets;
    const r = routes[stream];
    waveletsSent += wavelets;
    waveletHops += wavelets * (r.linkCount ?? r.links.length);
    for (const d of streams[stream].dst) {
      const mesh = placement.tileOf[d];
      const hops = r.hopsTo.get(mesh) ?? r.maxHops;
      const extra = extraTo(r, mesh);
      const arrive = start + streamArrivalCycles(spec, hops, wavelets, extra);
      let path: Float64Array | null = null;
      if (issuePath) {
        // Queueing behind earlier sends and the wavelets after the first are serialisation; the rest is latency.
        path = issuePath.slice();
        path[streamClass[stream]] += start - issue + (wavelets - 1);
        path[CAUSE.hops] += arrive - start - (wavelets - 1);
      }
      q.push(arrive, { kind: 'arrive', tile: d, stream, path });
    }
  };
  const startNext = (tile: number, now: number) => {
    if (running[tile] || ready[tile].length === 0) return;
    ready[tile].sort((a, b) => a - b);
    const id = ready[tile].shift()!;
    const task = tiles[tile].tasks[id];
    const t0 = Math.max(now, ceFree[tile]);
    let t = t0 + spec.taskStartCycles;
    let path: Float64Array | null = null;
    if (tracking) {
      // The later of what made the task ready and the CE's previous task is its predecessor on the path.
      const r = readyAt[taskBase[tile] + id];
      path = r >= ceFree[tile] ? readyPath[taskBase[tile] + id].slice() : tileEndPath[tile].slice();
      path[CAUSE.wait] += t0 - Math.max(r, ceFree[tile]);
      path[CAUSE.overhead] += spec.taskStartCycles;
    }
    const ctx = ctxOf(tile);
    for (const op of task.ops) {
      const c = opCycles(spec, op, ctx);
      t += c;
      if (path) chargeOp(path, op, ctx, c);
      issueSends(tile, op, t, path);
    }
    running[tile] = 1;
    ceFree[tile] = t;
    if (path) tileEndPath[tile] = path;
    const label = task.label ?? 'task';
    busyByLabel.set(label, (busyByLabel.get(label) ?? 0) + (t - t0));
    q.push(t, { kind: 'done', tile, task: id, path });
  };
  const issueSends = (tile: number, op: Op, at: number, path: Float64Array | null) => {
    if (op.op === 'send') send(tile, op.colour, op.src.length, at, path);
    else if (op.op === 'embed' && tile === embedSender) send(tile, op.colour, op.cols, at, path);
    else if (op.op === 'dispatch') for (const e of choose(op.indices.length, op.colours.length)) send(tile, op.colours[e], op.src.length, at, path);
  };

  for (const t of tiles) for (const k of t.tasks) if (k.trigger.on === 'start') ready[t.id].push(k.id);
  for (const t of tiles) startNext(t.id, 0);
  while (q.size > 0) {
    const { time, item } = q.pop();
    end = Math.max(end, time);
    if (item.path && time >= end) endPath = item.path;
    if (item.kind === 'arrive') {
      const id = recvTask.get(item.stream * nTiles + item.tile);
      if (id === undefined) throw new Error(`estimate: stream ${streams[item.stream].label} arrives at ${tiles[item.tile].role} with no task waiting`);
      if (item.path) {
        readyAt[taskBase[item.tile] + id] = time;
        readyPath[taskBase[item.tile] + id] = item.path;
        if (firstArrival && probes!.has(item.tile) && !firstArrival.has(item.tile)) firstArrival.set(item.tile, { cycles: time, path: toSplit(item.path) });
      }
      ready[item.tile].push(id);
      startNext(item.tile, time);
    } else if (item.kind === 'done') {
      running[item.tile] = 0;
      const base = taskBase[item.tile];
      for (let i = depCount[base + item.task]; i < depCount[base + item.task + 1]; i++) {
        const dep = depList[i];
        if (--remainingFlat[base + dep] === 0) {
          ready[item.tile].push(dep);
          if (item.path) {
            readyAt[base + dep] = time;
            readyPath[base + dep] = item.path;
          }
        }
      }
      startNext(item.tile, time);
    }
  }
  const out: StepEstimate = { cycles: end, busyByLabel, waveletsSent, waveletHops };
  if (tracking) out.criticalPath = toSplit(endPath);
  if (firstArrival) out.firstArrival = firstArrival;
  return out;
}
