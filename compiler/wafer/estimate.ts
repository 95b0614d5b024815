// The schedule's expected cycles per token: a task-level event simulation of the logical plan on its placement,
// charging the engine's own cost functions (fabric/mesh/cost.ts) for every op and its zero-contention stream timing
// for every transfer. It is the mesh engine without wavelets: no link contention and no queue back-pressure, which is
// what the mesh run adds. The projection evaluates real-size models with this same function.
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { embedSlice, type Op } from '../../fabric/isa/types.js';
import { forwardPace, opCost, opCycles, streamArrivalCycles, streamedOpCycles, tileOpContext, type OpContext } from '../../fabric/mesh/cost.js';
import { OPPOSITE_PORT, neighbour } from '../../fabric/geometry.js';
import { TRIG_START, flattenTasks } from '../../fabric/mesh/taskGraph.js';
import type { Lowered } from './lower.js';
import type { Placement } from './place.js';
import type { LogicalTile, StreamKind } from './plan.js';
import type { StreamRoute } from './route.js';

export interface StepEstimate {
  /** Cycles from step start until the last task completes. */
  cycles: number;
  /** Cycles the ramps spent sending (wavelets leaving tiles) and wavelet-hops on links. */
  waveletsSent: number;
  waveletHops: number;
  /** With `criticalPath`: the step's cycles along its critical path, by cause (they sum to `cycles`). */
  criticalPath?: PathSplit;
  /** With `probeTiles`: when the first stream reached each probed logical tile, and the critical path up to then. */
  firstArrival?: Map<number, { cycles: number; path: PathSplit }>;
  /** With `pathTrace`: the critical path's segments, first to last — each task run or stream arrival on it with its cycles. */
  pathTrace?: PathSegment[];
}

/** One segment of a critical path: a task's run (up to the op whose send the path follows) or a stream's arrival. */
export interface PathSegment {
  kind: 'task' | 'stream';
  /** The task's or stream's label (for people). */
  label: string;
  /** The tile's role. */
  role: string;
  cycles: number;
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
  /** List the critical path's segments (StepEstimate.pathTrace), ending at this probed tile's first arrival or, absent, at the step's end; implies criticalPath. */
  pathTrace?: { to?: number; from?: number };
}

/**
 * The OpContext of fabric/mesh/cost.ts's tileOpContext for whichever tile `tile` names, looking a buffer's dtype up
 * by a scan of the tile's few buffers: one context re-aimed per op instead of a Map or a closure per tile (a full
 * wafer has ~10^5 tiles).
 */
class ScanContext implements OpContext {
  tile: Pick<LogicalTile, 'buffers'> | null = null;
  constructor(readonly position: number) {}
  dtypeOf(buf: string) {
    const buffers = this.tile!.buffers;
    for (let i = 0; i < buffers.length; i++) if (buffers[i].name === buf) return buffers[i].dtype;
    return tileOpContext(this.tile!, this.position).dtypeOf(buf);
  }
}

const CAUSE = Object.fromEntries(PATH_CAUSES.map((c, i) => [c, i])) as Record<PathCause, number>;

function toSplit(v: Float64Array): PathSplit {
  return Object.fromEntries(PATH_CAUSES.map((c, i) => [c, v[i]])) as PathSplit;
}

/** The class of a stream's serialisation: partial sums, fan-outs (a multicast of any kind counts as one), the rest. */
function streamCause(kind: StreamKind, destinations: number): number {
  if (kind === 'reduce') return CAUSE.reduction;
  if (destinations > 1 || kind === 'broadcast' || kind === 'dispatch') return CAUSE.broadcast;
  return CAUSE.transfer;
}
/**
 * A binary min-heap of (time, seq, item) in typed arrays — seq keeps equal times in insertion order, so runs are
 * deterministic. Items are int32 (the estimate's event codes). Not the engine's WakeHeap (fabric/mesh/engine.ts),
 * which breaks ties by tile id: each tie order is part of what its user reports, so one shared heap would change one.
 */
class SeqHeap {
  private times = new Float64Array(1024);
  private seqs = new Int32Array(1024);
  private items = new Int32Array(1024);
  private n = 0;
  private seq = 0;
  /** The time of the event the last pop returned. */
  time = 0;
  get size(): number {
    return this.n;
  }
  /** The earliest event's time (with size > 0). */
  peekTime(): number {
    return this.times[0];
  }
  push(time: number, item: number): void {
    if (this.n === this.times.length) {
      this.times = grown(this.times, 2 * this.n);
      this.seqs = grown(this.seqs, 2 * this.n);
      this.items = grown(this.items, 2 * this.n);
    }
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    const seq = this.seq++;
    let i = this.n++;
    // sift up: move parents down until the slot fits
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < time || (times[p] === time && seqs[p] < seq)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      items[i] = items[p];
      i = p;
    }
    times[i] = time;
    seqs[i] = seq;
    items[i] = item;
  }
  /** Removes the earliest event; returns its item (its time is in `time`). */
  pop(): number {
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    const top = items[0];
    this.time = times[0];
    const n = --this.n;
    const t = times[n];
    const s = seqs[n];
    const it = items[n];
    // sift the last element down from the root
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (times[r] < times[l] || (times[r] === times[l] && seqs[r] < seqs[l]))) m = r;
      if (t < times[m] || (t === times[m] && s < seqs[m])) break;
      times[i] = times[m];
      seqs[i] = seqs[m];
      items[i] = items[m];
      i = m;
    }
    times[i] = t;
    seqs[i] = s;
    items[i] = it;
    return top;
  }
}

/** Integer times below this go to EventQueue's buckets (at most 32 MiB of them); later or fractional ones to its heap. */
const BUCKET_LIMIT = 1 << 22;

/**
 * The events in (time, insertion) order, as SeqHeap orders them, but a FIFO per integer time (a step's times are
 * whole cycles, ~10^4 distinct ones for ~10^5 events): a push and a pop cost O(1) but for the scan over empty times,
 * a few times cheaper than a heap of 10^4 events. Other times (fractional, negative, huge) go to a SeqHeap; no time
 * is in both, so ties never cross between them.
 */
class EventQueue {
  /** FIFO per time t: head[t] (-1: empty) … tail[t], linked by next[] over push numbers; items[] by push number. */
  private head = new Int32Array(1024).fill(-1);
  private tail = new Int32Array(1024);
  private next: Int32Array;
  private items: Int32Array;
  private pushes = 0;
  private inBuckets = 0;
  /** No bucket below this is occupied. */
  private low = 0;
  private heap = new SeqHeap();
  /** The time of the event the last pop returned. */
  time = 0;
  /** `expected`: about how many events there will be (they grow past it as needed). */
  constructor(expected: number) {
    this.next = new Int32Array(Math.max(16, expected));
    this.items = new Int32Array(this.next.length);
  }
  get size(): number {
    return this.inBuckets + this.heap.size;
  }
  push(time: number, item: number): void {
    if (!(Number.isInteger(time) && time >= 0 && time < BUCKET_LIMIT)) {
      this.heap.push(time, item);
      return;
    }
    if (time >= this.head.length) this.growTimes(time);
    const p = this.pushes++;
    if (p === this.items.length) {
      this.next = grown(this.next, 2 * p);
      this.items = grown(this.items, 2 * p);
    }
    this.items[p] = item;
    this.next[p] = -1;
    if (this.head[time] < 0) this.head[time] = p;
    else this.next[this.tail[time]] = p;
    this.tail[time] = p;
    this.inBuckets++;
    if (time < this.low) this.low = time;
  }
  /** Removes the earliest event; returns its item (its time is in `time`). */
  pop(): number {
    if (this.inBuckets > 0) {
      const head = this.head;
      let t = this.low;
      while (head[t] < 0) t++;
      this.low = t;
      if (!(this.heap.size > 0 && this.heap.peekTime() < t)) {
        const p = head[t];
        head[t] = this.next[p];
        this.inBuckets--;
        this.time = t;
        return this.items[p];
      }
    }
    const item = this.heap.pop();
    this.time = this.heap.time;
    return item;
  }
  private growTimes(time: number): void {
    let n = this.head.length;
    while (n <= time) n *= 2;
    const head = new Int32Array(n).fill(-1);
    head.set(this.head);
    this.head = head;
    this.tail = grown(this.tail, n);
  }
}

/** A copy of `a` in a longer array of its kind. */
function grown<A extends Float64Array | Int32Array | Uint8Array>(a: A, length: number): A {
  const b = new (a.constructor as new (n: number) => A)(length);
  b.set(a);
  return b;
}

/**
 * The step's arrivals, in columns grown by doubling (a stage has ~10^5: growing arrays of numbers cost collections).
 * Arrival a: `wavelets` of `stream` at `tile` for its recv task `task` (a local id, -1: none waits), the last landing at
 * `time`; `isFirst` 1 where it is a forwarded stream's first wavelet (which readies the forwarding task). With
 * `tracking`, for the critical path: the sending task and its op, when that op issued and when the ramp began.
 */
class Arrivals {
  n = 0;
  tile: Int32Array;
  stream: Int32Array;
  task: Int32Array;
  wavelets: Int32Array;
  isFirst: Uint8Array;
  time: Float64Array;
  sender: Int32Array;
  op: Int32Array;
  issue: Float64Array;
  start: Float64Array;
  /** `expected`: about how many arrivals there will be (they grow past it as needed). */
  constructor(
    readonly tracking: boolean,
    expected: number,
  ) {
    const n = Math.max(16, expected);
    this.tile = new Int32Array(n);
    this.stream = new Int32Array(n);
    this.task = new Int32Array(n);
    this.wavelets = new Int32Array(n);
    this.isFirst = new Uint8Array(n);
    this.time = new Float64Array(n);
    const m = tracking ? n : 0;
    this.sender = new Int32Array(m);
    this.op = new Int32Array(m);
    this.issue = new Float64Array(m);
    this.start = new Float64Array(m);
  }
  /** Records an arrival; returns its number. */
  add(tile: number, stream: number, task: number, time: number, isFirst: number, wavelets: number, sender: number, op: number, issue: number, start: number): number {
    const a = this.n++;
    if (a === this.tile.length) this.grow(2 * a);
    this.tile[a] = tile;
    this.stream[a] = stream;
    this.task[a] = task;
    this.wavelets[a] = wavelets;
    this.isFirst[a] = isFirst;
    this.time[a] = time;
    if (this.tracking) {
      this.sender[a] = sender;
      this.op[a] = op;
      this.issue[a] = issue;
      this.start[a] = start;
    }
    return a;
  }
  /** When arrival a's first wavelet landed. */
  first(a: number): number {
    return this.time[a] - (this.wavelets[a] - 1);
  }
  private grow(n: number): void {
    this.tile = grown(this.tile, n);
    this.stream = grown(this.stream, n);
    this.task = grown(this.task, n);
    this.wavelets = grown(this.wavelets, n);
    this.isFirst = grown(this.isFirst, n);
    this.time = grown(this.time, n);
    if (!this.tracking) return;
    this.sender = grown(this.sender, n);
    this.op = grown(this.op, n);
    this.issue = grown(this.issue, n);
    this.start = grown(this.start, n);
  }
}

/** The middle of the tiles holding an embed op (-1: none): the one tile whose embed sends in a step. */
function middleEmbedTile(tiles: readonly LogicalTile[]): number {
  const embedTiles: number[] = [];
  for (let t = 0; t < tiles.length; t++) if (tiles[t].tasks.some((k) => k.ops.some((o) => o.op === 'embed'))) embedTiles.push(t);
  return embedTiles[Math.floor(embedTiles.length / 2)] ?? -1;
}

// Longer than ~150 lines on purpose: the event loop and the critical-path walk share some thirty typed arrays and
// closures over them; a full wafer's stage has ~10^5 tasks, and passing them through objects or helper calls costs
// the projection its speed (`wafer bench project`).
export function estimateStep(spec: FabricSpec, lowered: Lowered, placement: Placement, routes: StreamRoute[], opts: EstimateOptions): StepEstimate {
  const { tiles, streams } = lowered.plan;
  const width = placement.width;
  const nTiles = tiles.length;
  const ctx = new ScanContext(opts.position);
  const ctxOf = (tile: number): OpContext => ((ctx.tile = tiles[tile]), ctx);
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
  // The plan flattened into typed arrays (a full wafer's stage has ~10^5 tasks: walking its objects once instead of
  // at every event is most of this function's speed). Task k of tile t is g = taskBase[t] + k (the task graph,
  // fabric/mesh/taskGraph.ts); its ops, read when it runs, have the numbers opBase[g] .. opBase[g + 1] - 1.
  // remaining: joins still to complete; dependents (CSR): the join tasks that wait on each task; recvColour: the
  // stream a recv task waits for (-1 for other triggers).
  const graph = flattenTasks(tiles);
  const { taskBase, taskTile, depStart, deps: depList, streams: streamsFrom, streamOps, forwards, forwardedBy } = graph;
  const nTasks = taskBase[nTiles];
  const opBase = new Int32Array(nTasks + 1);
  const recvColour = new Int32Array(nTasks).fill(-1);
  const recvCount = new Int32Array(nTasks);
  const remaining = graph.afterNeed.slice();
  // The ops in plan order (each op object is first read when its task runs).
  const opRef: Op[] = new Array(nTasks);
  for (let t = 0, g = 0, o = 0; t < nTiles; t++) {
    const tasks = tiles[t].tasks;
    for (let k = 0; k < tasks.length; k++, g++) {
      const trigger = tasks[k].trigger;
      if (trigger.on === 'recv') {
        recvColour[g] = trigger.colour;
        recvCount[g] = trigger.count;
      }
      const ops = tasks[k].ops;
      for (let i = 0; i < ops.length; i++) opRef[o++] = ops[i];
      opBase[g + 1] = o;
    }
  }
  // Only one embedding tile sends per step (the one owning the token): the middle one, found when an embed runs.
  let embedSender: number | undefined;
  const embedSenderTile = () => (embedSender ??= middleEmbedTile(tiles));
  // Op cycles, computed the first time the op runs (NaN until then); what a piecewise receive's ops were charged
  // (NaN: their full cycles), for the critical path.
  const nOps = opBase[nTasks];
  const opCyc = new Float64Array(nOps).fill(NaN);
  const opCharged = new Float64Array(nOps).fill(NaN);
  // Streams' destinations flattened: entry e = dstStart[s] + i is destination i of stream s, recvAt[e] the recv task
  // (local id) the stream wakes there, the first on that tile waiting for it, as the engine's router delivers.
  const dstStart = new Int32Array(streams.length + 1);
  for (let s = 0; s < streams.length; s++) dstStart[s + 1] = dstStart[s] + streams[s].dst.length;
  const dstTile = new Int32Array(dstStart[streams.length]);
  const recvAt = new Int32Array(dstStart[streams.length]).fill(-1);
  for (let s = 0; s < streams.length; s++) {
    const dst = streams[s].dst;
    for (let i = 0; i < dst.length; i++) {
      const d = dst[i];
      const e = dstStart[s] + i;
      dstTile[e] = d;
      for (let g = taskBase[d]; g < taskBase[d + 1]; g++) {
        if (recvColour[g] === s) {
          recvAt[e] = g - taskBase[d];
          break;
        }
      }
    }
  }

  // Ready tasks of a tile: readyCount per task (an arrival may make a task ready more than once); the CE starts the
  // lowest ready id, found by a scan from lowReady (no ready task of the tile has a lower id).
  const readyCount = new Int32Array(nTasks);
  const readyTotal = new Int32Array(nTiles);
  const lowReady = new Int32Array(nTiles);
  for (let t = 0; t < nTiles; t++) lowReady[t] = taskBase[t + 1];
  const makeReady = (tile: number, g: number) => {
    readyCount[g]++;
    readyTotal[tile]++;
    if (g < lowReady[tile]) lowReady[tile] = g;
  };
  const ceFree = new Float64Array(nTiles);
  // Piecewise receives (fabric/mesh/cost.ts streamedOpCycles): when each recv task's first wavelet lands, when a
  // task's inputs other than its stream are in, and when each CE last ended a task with ops.
  const recvFirst = new Float64Array(nTasks);
  const otherDone = new Float64Array(nTasks);
  const workFree = new Float64Array(nTiles);
  // Forwarding sends (Task.forwards): when a forwarded recv task's stream lands, first and last wavelet (set when it is
  // sent); and what a forwarding task's end waited for its stream's last wavelet beyond its ops (for the critical path).
  const fwdFirst = new Float64Array(nTasks);
  const fwdLast = new Float64Array(nTasks);
  const fwdTail = new Float64Array(nTasks);
  const rampFree = new Float64Array(nTiles);
  const running = new Uint8Array(nTiles);
  // Events carry a number: an arrival a as 2a, the end of task g as 2g + 1 (no object per event). A step has an
  // arrival per stream destination (forwarded ones two) and an end per task.
  const q = new EventQueue(dstStart[streams.length] + nTasks);
  let waveletsSent = 0;
  let waveletHops = 0;
  let end = 0;
  const choose = opts.expertChoice ?? ((k: number) => Array.from({ length: k }, (_, i) => i));

  // Critical path (opts.criticalPath / probeTiles): each task run records what it waited for last — the event that
  // made it ready or the CE's previous task — and each arrival the send behind it; the path is walked back afterwards.
  const probes = opts.probeTiles ? new Set(opts.probeTiles) : null;
  const tracking = opts.criticalPath === true || probes !== null || opts.pathTrace !== undefined;
  const readyAt = new Float64Array(tracking ? nTasks : 0);
  const readyRef = new Int32Array(tracking ? nTasks : 0).fill(-1);
  const startAt = new Float64Array(tracking ? nTasks : 0);
  const predAt = new Float64Array(tracking ? nTasks : 0);
  const predRef = new Int32Array(tracking ? nTasks : 0).fill(-1);
  const lastTask = new Int32Array(tracking ? nTiles : 0).fill(-1);
  /** Readies task g of `tile`, made ready at `time` by event `item` (which the critical path walks back through). */
  const readyBy = (tile: number, g: number, time: number, item: number) => {
    makeReady(tile, g);
    if (tracking) {
      readyAt[g] = time;
      readyRef[g] = item;
    }
  };
  const arr = new Arrivals(tracking, dstStart[streams.length]);
  const firstArrivalRef = new Map<number, number>();
  let endRef = -1;

  const send = (tile: number, stream: number, wavelets: number, issue: number, g: number, opIndex: number, gateFrom = 0, pace = 1) => {
    const start = Math.max(issue, rampFree[tile], gateFrom);
    // A forwarding send slower than its merges' pace (cost.ts forwardPace) spreads its wavelets out.
    const slow = pace > 1 ? Math.ceil((wavelets - 1) * (pace - 1)) : 0;
    rampFree[tile] = start + wavelets + slow;
    const r = routes[stream];
    waveletsSent += wavelets;
    waveletHops += wavelets * (r.linkCount ?? r.links.length);
    for (let e = dstStart[stream]; e < dstStart[stream + 1]; e++) {
      const d = dstTile[e];
      const mesh = placement.tileOf[d];
      const hops = r.hopsTo.get(mesh) ?? r.maxHops;
      const arrive = start + streamArrivalCycles(spec, hops, wavelets, extraTo(r, mesh)) + slow;
      const fwd = recvAt[e] >= 0 && forwardedBy[taskBase[d] + recvAt[e]] >= 0;
      if (fwd) {
        // A forwarded receive: its first wavelet readies the forwarding task (an event of its own).
        fwdFirst[taskBase[d] + recvAt[e]] = arrive - (wavelets - 1);
        fwdLast[taskBase[d] + recvAt[e]] = arrive;
        arrival(d, stream, recvAt[e], arrive - (wavelets - 1), 1, g, opIndex, issue, start, 1);
      }
      arrival(d, stream, recvAt[e], arrive, 0, g, opIndex, issue, start, wavelets);
    }
  };
  /** Records an arrival of `wavelets` of `stream` at tile d (its last at `time`) and queues its event. */
  const arrival = (d: number, stream: number, id: number, time: number, first: number, g: number, opIndex: number, issue: number, start: number, wavelets: number) => {
    q.push(time, 2 * arr.add(d, stream, id, time, first, wavelets, g, opIndex, issue, start));
  };
  /** The sends of an embed (only on the sending tile) or a dispatch (to the experts the router picks). */
  const issueOtherSends = (tile: number, op: Op, at: number, g: number, opIndex: number) => {
    if (op.op === 'embed') {
      if (tile === embedSenderTile()) for (let j = 0; j < op.colours.length; j++) send(tile, op.colours[j], embedSlice(op, j).length, at, g, opIndex);
    } else if (op.op === 'dispatch') {
      for (const e of choose(op.indices.length, op.colours.length)) {
        if (!(op.colours[e] >= 0)) throw new Error(`estimate: the router picks expert ${e} of ${tiles[tile].role}, which was not lowered (pass an expertChoice among the lowered experts)`);
        send(tile, op.colours[e], op.src.length, at, g, opIndex);
      }
    }
  };
  const startNext = (tile: number, now: number) => {
    if (running[tile] || readyTotal[tile] === 0) return;
    let g = lowReady[tile];
    while (readyCount[g] === 0) g++;
    readyCount[g]--;
    readyTotal[tile]--;
    lowReady[tile] = g;
    const t0 = Math.max(now, ceFree[tile]);
    if (tracking) {
      // The later of what made the task ready and the CE's previous task is its predecessor on the path.
      const r = readyAt[g];
      startAt[g] = t0;
      predAt[g] = Math.max(r, ceFree[tile]);
      predRef[g] = r >= ceFree[tile] ? readyRef[g] : lastTask[tile] >= 0 ? 2 * lastTask[tile] + 1 : -1;
      lastTask[tile] = g;
    }
    let t = t0 + spec.taskStartCycles;
    const from = streamsFrom[g];
    // A forwarding task runs its streamed ops as the wavelets land (each costs its setup and last element here); its
    // sends' wavelet i leaves a cycle after the stream's wavelet i lands (the engine's gate), the first no earlier than
    // a cycle after the first (the stream's wavelets land one a cycle, as sent).
    const fwd = forwards[g] === 1;
    let credit = fwd ? Infinity : from >= 0 && streamOps[g] > 0 ? Math.max(0, t0 - Math.max(recvFirst[from], otherDone[g], workFree[tile])) : 0;
    let streamed = 0;
    for (let o = opBase[g]; o < opBase[g + 1]; o++) {
      const op = opRef[o];
      const i = o - opBase[g];
      let c = opCyc[o];
      if (c !== c) c = opCyc[o] = opCycles(spec, op, ctxOf(tile));
      if (i < streamOps[g]) streamed += c;
      if (credit > 0) {
        if (i < streamOps[g]) {
          const charged = streamedOpCycles(spec, c, credit);
          credit -= c - charged;
          c = opCharged[o] = charged;
        } else credit = 0;
      }
      t += c;
      if (op.op === 'send') {
        if (op.colour >= 0) send(tile, op.colour, op.src.length, t, g, i, fwd ? fwdFirst[from] + 1 : 0, fwd ? forwardPace(spec, streamed, streamOps[g], recvCount[from]) : 1);
      } else if (op.op === 'embed' || op.op === 'dispatch') issueOtherSends(tile, op, t, g, i);
    }
    if (fwd && fwdLast[from] + 1 > t) {
      // It ends a cycle after its stream's last wavelet (the add of the last element).
      if (tracking) fwdTail[g] = fwdLast[from] + 1 - t;
      t = fwdLast[from] + 1;
    }
    running[tile] = 1;
    ceFree[tile] = t;
    q.push(t, 2 * g + 1);
  };

  for (let g = 0; g < nTasks; g++) if (graph.trigger[g] === TRIG_START) makeReady(taskTile[g], g);
  for (let t = 0; t < nTiles; t++) startNext(t, 0);
  while (q.size > 0) {
    const item = q.pop();
    const time = q.time;
    end = Math.max(end, time);
    if (time >= end) endRef = item;
    if ((item & 1) === 0) {
      const a = item / 2;
      const tile = arr.tile[a];
      const id = arr.task[a];
      if (id < 0) throw new Error(`estimate: stream ${streams[arr.stream[a]].label} arrives at ${tiles[tile].role} with no task waiting`);
      const g = taskBase[tile] + id;
      if (arr.isFirst[a] === 1) {
        const f = forwardedBy[g];
        if (--remaining[f] === 0) readyBy(tile, f, time, item);
        startNext(tile, time);
        continue;
      }
      recvFirst[g] = arr.first(a);
      if (probes && probes.has(tile) && !firstArrivalRef.has(tile)) firstArrivalRef.set(tile, a);
      readyBy(tile, g, time, item);
      startNext(tile, time);
    } else {
      const g = (item - 1) / 2;
      const tile = taskTile[g];
      running[tile] = 0;
      if (opBase[g + 1] > opBase[g]) workFree[tile] = time;
      for (let i = depStart[g]; i < depStart[g + 1]; i++) {
        const dep = depList[i];
        if (streamsFrom[dep] !== g && time > otherDone[dep]) otherDone[dep] = time;
        // A forwarding task counted its stream's recv task at the stream's first wavelet.
        if (forwards[dep] === 1 && streamsFrom[dep] === g) continue;
        if (--remaining[dep] === 0) readyBy(tile, dep, time, item);
      }
      startNext(tile, time);
    }
  }
  const out: StepEstimate = { cycles: end, waveletsSent, waveletHops };
  if (!tracking) return out;

  const streamClass = new Map<number, number>();
  /** Adds an op's cycles to `path`: its arithmetic to its kind, what SRAM bandwidth adds beyond that to `sram`. */
  const chargeOp = (path: Float64Array, op: Op, ctx: OpContext, charged: number) => {
    const cycles = charged === charged ? charged : opCycles(spec, op, ctx);
    if (op.op === 'send' || op.op === 'dispatch') {
      path[CAUSE.overhead] += cycles;
      return;
    }
    const c = opCost(spec, op, ctx);
    const sram = Math.min(cycles, Math.max(0, c.sramCycles - c.arithCycles));
    path[CAUSE.sram] += sram;
    path[op.op === 'matvec' ? CAUSE.matvec : op.op === 'attention' ? CAUSE.attention : CAUSE.vector] += cycles - sram;
  };
  /** Task g's start (its wait and task-start cycles) and ops 0..lastOp. */
  const chargeTask = (path: Float64Array, g: number, lastOp: number) => {
    const tile = taskTile[g];
    const task = tiles[tile].tasks[g - taskBase[tile]];
    path[CAUSE.wait] += startAt[g] - predAt[g];
    path[CAUSE.overhead] += spec.taskStartCycles;
    const ctx = ctxOf(tile);
    for (let i = 0; i <= lastOp && i < task.ops.length; i++) chargeOp(path, task.ops[i], ctx, opCharged[opBase[g] + i]);
  };
  const traceTask = (trace: PathSegment[] | undefined, g: number, cycles: number) => {
    if (!trace) return;
    const tile = taskTile[g];
    trace.push({ kind: 'task', label: tiles[tile].tasks[g - taskBase[tile]].label ?? '', role: tiles[tile].role, cycles });
  };
  /** The critical path up to an event (an arrival 2a or a task end 2g + 1), walked back through its predecessors. */
  const pathTo = (ref: number, trace?: PathSegment[]): Float64Array => {
    const path = new Float64Array(PATH_CAUSES.length);
    const total = () => (trace ? path.reduce((a, b) => a + b, 0) : 0);
    while (ref >= 0) {
      let g: number;
      if ((ref & 1) === 0) {
        const a = ref / 2;
        const stream = arr.stream[a];
        let cls = streamClass.get(stream);
        if (cls === undefined) streamClass.set(stream, (cls = streamCause(streams[stream].kind, streams[stream].dst.length)));
        // Queueing behind earlier sends and the wavelets after the first are serialisation; the rest is latency.
        path[cls] += arr.start[a] - arr.issue[a] + (arr.wavelets[a] - 1);
        path[CAUSE.hops] += arr.time[a] - arr.start[a] - (arr.wavelets[a] - 1);
        trace?.push({ kind: 'stream', label: streams[stream].label, role: tiles[arr.tile[a]].role, cycles: arr.time[a] - arr.issue[a] });
        g = arr.sender[a];
        const before = total();
        chargeTask(path, g, arr.op[a]);
        traceTask(trace, g, total() - before);
      } else {
        g = (ref - 1) / 2;
        const before = total();
        chargeTask(path, g, Infinity);
        path[CAUSE.reduction] += fwdTail[g];
        traceTask(trace, g, total() - before);
      }
      ref = predRef[g];
    }
    trace?.reverse();
    return path;
  };
  out.criticalPath = toSplit(pathTo(endRef));
  if (opts.pathTrace) {
    const to = opts.pathTrace.to;
    const ref = to !== undefined && firstArrivalRef.has(to) ? 2 * firstArrivalRef.get(to)! : endRef;
    out.pathTrace = [];
    pathTo(ref, out.pathTrace);
  }
  if (probes) {
    out.firstArrival = new Map();
    for (const [tile, a] of firstArrivalRef) out.firstArrival.set(tile, { cycles: arr.time[a], path: toSplit(pathTo(2 * a)) });
  }
  return out;
}
