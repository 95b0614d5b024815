// The schedule's expected cycles per token: a task-level event simulation of the logical plan on its placement,
// charging the engine's own cost functions (fabric/mesh/cost.ts) for every op and its zero-contention stream timing
// for every transfer. It is the mesh engine without wavelets: no link contention and no queue back-pressure, which is
// what the mesh run adds. The projection evaluates real-size models with this same function.
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { embedSlice, type Op, type Task } from '../../fabric/isa/types.js';
import { forwardPace, opCost, opCycles, streamArrivalCycles, streamedOpCycles, tileOpContext, type OpContext } from '../../fabric/mesh/cost.js';
import { OPPOSITE_PORT, neighbour } from '../../fabric/geometry.js';
import { TRIG_START, flattenTasksAndOps, grown, type TaskGraph, type TaskOps } from '../../fabric/mesh/taskGraph.js';
import type { Lowered } from './lower.js';
import type { Placement } from './place.js';
import type { LogicalTile, StreamDecl, StreamKind } from './plan.js';
import { linkTableOf, type LinkTable, type StreamRoute } from './route.js';
import { extent, meshScratch, zeroedU32 } from './scratch.js';

export interface StepEstimate {
  /** With EstimateOptions.alternativeLinks: 1 for each stream that took its alternative route. */
  alternative?: Uint8Array;
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
  /**
   * The routes' links, for charging streams that share one (LinkBusy): route.ts routeLinks' table of the same routes.
   * Absent, it is taken from the routes' entries where they list them (routeStreams' full routes); routes with hops
   * only and no table share no link.
   */
  links?: LinkTable;
  /**
   * Each stream's other shortest route (the column-first one where `links` are row-first), in the same rows: a stream
   * takes, at its first send, whichever of its two routes lets its wavelets leave first (StepEstimate.alternative
   * says which). Both reach every tile at the same hops.
   */
  alternativeLinks?: LinkTable;
  /** With `alternativeLinks`: 1 for each stream that takes its alternative, instead of choosing at its first send. */
  alternativeTaken?: Uint8Array;
  /** Experts the step's router picks, per MoE dispatch (default: the first k it lowered). */
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

/**
 * The plan flattened into typed arrays (a full wafer's stage has ~10^5 tasks: walking its objects once instead of at
 * every event is most of the estimate's speed). Task k of tile t is g = taskBase[t] + k, its ops
 * ops[opStart[g] .. opStart[g + 1] - 1] (the task graph, fabric/mesh/taskGraph.ts; each op object is first read when
 * its task runs). Streams' destinations: entry e = dstStart[s] + i is destination i of stream s, recvAt[e] the recv
 * task (local id) the stream wakes there, the first on that tile waiting for it, as the engine's router delivers
 * (-1: none).
 *
 * A class, and so are the graph and StepRun: V8 tracks the type of each field of a class's instances from the first,
 * while an object literal's second evaluation forgets them and discards the optimised code of every function that
 * read one (in a projection, from its second stage on). One hot loop per function: V8 compiles a hot loop on the spot
 * (on-stack replacement), and a function whose later loops have not run yet is compiled again for each.
 */
class PlanTables {
  readonly graph: TaskGraph & TaskOps;
  readonly dstStart: Int32Array;
  readonly dstTile: Int32Array;
  readonly recvAt: Int32Array;
  /** The arrivals a step has: one per destination, and another for each destination's first wavelet it forwards. */
  readonly arrivals: number;
  constructor(tiles: readonly LogicalTile[], streams: readonly StreamDecl[]) {
    this.graph = flattenTasksAndOps(tiles);
    this.dstStart = destinationStarts(streams);
    const destinations = this.dstStart[streams.length];
    this.dstTile = new Int32Array(destinations);
    this.recvAt = new Int32Array(destinations).fill(-1);
    this.arrivals = destinations + streamsTables(this, streams);
  }
}

/** Fills the streams' destinations; returns how many of them forward. */
function streamsTables(t: PlanTables, streams: readonly StreamDecl[]): number {
  let forwarded = 0;
  for (let s = 0; s < streams.length; s++) forwarded += streamTables(t, s, streams[s].dst);
  return forwarded;
}

function destinationStarts(streams: readonly StreamDecl[]): Int32Array {
  const dstStart = new Int32Array(streams.length + 1);
  for (let s = 0; s < streams.length; s++) dstStart[s + 1] = dstStart[s] + streams[s].dst.length;
  return dstStart;
}

/** Stream s's destinations (`dst`) into `t`, each with the recv task it wakes; returns how many of them forward. */
function streamTables(t: PlanTables, s: number, dst: readonly number[]): number {
  const { taskBase, recvColour, forwardedBy } = t.graph;
  const { dstTile, recvAt } = t;
  let forwarded = 0;
  for (let i = 0; i < dst.length; i++) {
    const d = dst[i];
    const e = t.dstStart[s] + i;
    dstTile[e] = d;
    for (let g = taskBase[d]; g < taskBase[d + 1]; g++) {
      if (recvColour[g] === s) {
        recvAt[e] = g - taskBase[d];
        if (forwardedBy[g] >= 0) forwarded++;
        break;
      }
    }
  }
  return forwarded;
}

/** The first k experts a dispatch can send to (its lowered ones: the others' colours are negative). */
function firstLowered(colours: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let e = 0; e < colours.length && out.length < k; e++) if (colours[e] >= 0) out.push(e);
  return out;
}

const LINK_SLOT = meshScratch('estimate.linkSlot', 'u32', 5);

/**
 * The mesh links as a step's streams hold them. A multicast's wavelets cross a link at depth d of its tree from
 * ramp + d·hop cycles after they leave the source, one a cycle; where an earlier stream holds that link then, the
 * stream waits until it is free: the engine's router passes a multicast wavelet on only when every branch takes it
 * (fabric/mesh/router.ts), so a link shared by two streams delays the whole of the later one. Each link keeps only
 * its latest holding: sends are claimed in the order the event loop issues them, not always in time order, and one
 * holding per link charges what a wave of concurrent streams (the block columns' broadcasts of x) shares without a
 * list per link. In-tree links (several sources sending apart) are not held.
 */
class LinkBusy {
  /** 1 + the index of each link's holding (0: no stream has held it this step). */
  private readonly slot: Uint32Array;
  private from = new Float64Array(1024);
  private to = new Float64Array(1024);
  private used = 0;
  /** With an alternative table: each stream's route, taken at its first send (0: not yet; 1: the first; 2: the other). */
  readonly took: Uint8Array | null;

  constructor(
    private readonly table: LinkTable,
    private readonly alternative: LinkTable | null,
    taken: Uint8Array | undefined,
    private readonly spec: FabricSpec,
    meshTiles: number,
  ) {
    const [lo, hi] = extent(table.links, alternative?.links);
    this.slot = zeroedU32(LINK_SLOT, meshTiles * 5, lo, hi);
    this.took = alternative ? (taken ? taken.map((t) => t + 1) : new Uint8Array(table.start.length - 1)) : null;
  }

  /** The cycle, no earlier than `start`, from which stream s's `span` cycles of wavelets find its links free; holds them then. */
  claim(s: number, start: number, span: number): number {
    let table = this.table;
    if (this.took && this.alternative) {
      // Ties keep the first route.
      if (this.took[s] === 0) this.took[s] = this.settle(this.alternative, s, start, span) < this.settle(table, s, start, span) ? 2 : 1;
      if (this.took[s] === 2) table = this.alternative;
    }
    const at = this.settle(table, s, start, span);
    this.hold(table, s, at, span);
    return at;
  }

  private settle(table: LinkTable, s: number, start: number, span: number): number {
    let at = start;
    // A wait can move the stream onto a later holding of another link: look again (twice at most, then take it).
    for (let pass = 0; pass < 3; pass++) {
      const wait = this.waitAt(table, s, at, span);
      if (wait === 0) break;
      at += wait;
    }
    return at;
  }

  private waitAt(table: LinkTable, s: number, at: number, span: number): number {
    const { links, depth } = table;
    const { rampLatencyCycles: ramp, hopLatencyCycles: hop } = this.spec;
    let wait = 0;
    for (let k = table.start[s]; k < table.start[s + 1]; k++) {
      const i = depth[k] < 0 ? 0 : this.slot[links[k]];
      if (i === 0) continue;
      const t = at + ramp + depth[k] * hop;
      if (t < this.to[i - 1] && t + span > this.from[i - 1] && this.to[i - 1] - t > wait) wait = this.to[i - 1] - t;
    }
    return wait;
  }

  private hold(table: LinkTable, s: number, at: number, span: number): void {
    const { links, depth } = table;
    const { rampLatencyCycles: ramp, hopLatencyCycles: hop } = this.spec;
    for (let k = table.start[s]; k < table.start[s + 1]; k++) {
      if (depth[k] < 0) continue;
      const t = at + ramp + depth[k] * hop;
      let i = this.slot[links[k]];
      if (i === 0) i = this.slot[links[k]] = this.newSlot();
      if (t + span > this.to[i - 1]) {
        this.from[i - 1] = t;
        this.to[i - 1] = t + span;
      }
    }
  }

  private newSlot(): number {
    if (this.used === this.from.length) {
      this.from = grown(this.from, 2 * this.used);
      this.to = grown(this.to, 2 * this.used);
    }
    return ++this.used;
  }
}

export function estimateStep(spec: FabricSpec, lowered: Lowered, placement: Placement, routes: StreamRoute[], opts: EstimateOptions): StepEstimate {
  const run = new StepRun(spec, lowered, placement, routes, opts);
  run.run();
  return run.result();
}

/**
 * One step's event simulation and its critical path. A class at module level, not closures in estimateStep: the
 * methods' optimised code then serves every stage a projection times (closures made per call are recompiled per
 * call, ~0.3 s of a cold projection), and each method is small enough to compile early.
 */
class StepRun {
  private readonly tiles: LogicalTile[];
  private readonly streams: StreamDecl[];
  private readonly ctx: ScanContext;
  private readonly choose: ((k: number, experts: number) => number[]) | null;
  // The plan's tables (PlanTables, TaskGraph), each in a field of its own (one load in the hot paths).
  private readonly taskBase: Int32Array;
  private readonly taskTile: Int32Array;
  private readonly trigger: Uint8Array;
  private readonly depStart: Int32Array;
  private readonly deps: Int32Array;
  private readonly opBase: Int32Array;
  private readonly opRef: Op[];
  private readonly recvCount: Int32Array;
  private readonly dstStart: Int32Array;
  private readonly dstTile: Int32Array;
  private readonly recvAt: Int32Array;
  private readonly streamsFrom: Int32Array;
  private readonly streamOps: Int32Array;
  private readonly forwards: Uint8Array;
  private readonly forwardedBy: Int32Array;
  /** Joins each task still waits for. */
  private readonly remaining: Int32Array;
  /** Only one embedding tile sends per step (the one owning the token): the middle one, found when an embed runs. */
  private embedSender: number | undefined;
  /** Op cycles, computed the first time the op runs (NaN until then). */
  private readonly opCyc: Float64Array;
  /** What a piecewise receive's ops were charged (NaN: their full cycles), for the critical path. */
  private readonly opCharged: Float64Array;
  // Ready tasks of a tile: readyCount per task (an arrival may make a task ready more than once); the CE starts the
  // lowest ready id, found by a scan from lowReady (no ready task of the tile has a lower id).
  private readonly readyCount: Int32Array;
  private readonly readyTotal: Int32Array;
  private readonly lowReady: Int32Array;
  private readonly ceFree: Float64Array;
  // Piecewise receives (fabric/mesh/cost.ts streamedOpCycles): when each recv task's first wavelet lands, when a
  // task's inputs other than its stream are in, and when each CE last ended a task with ops.
  private readonly recvFirst: Float64Array;
  private readonly otherDone: Float64Array;
  private readonly workFree: Float64Array;
  // Forwarding sends (Task.forwards): when a forwarded recv task's stream lands, first and last wavelet (set when it
  // is sent); and what a forwarding task's end waited for its stream's last wavelet beyond its ops (for the path).
  private readonly fwdFirst: Float64Array;
  private readonly fwdLast: Float64Array;
  private readonly fwdTail: Float64Array;
  private readonly rampFree: Float64Array;
  private readonly busy: LinkBusy | null;
  private readonly running: Uint8Array;
  // Each stream's route as the sends read it, taken at its first send: the links it uses, and each destination
  // entry's hops and remap bypass cycles.
  private readonly routed: Uint8Array;
  private readonly streamLinks: Float64Array;
  private readonly dstHops: Float64Array;
  private readonly dstExtra: Float64Array;
  private readonly tileOf: Int32Array;
  private readonly taskStartCycles: number;
  /** Events carry a number: an arrival a as 2a, the end of task g as 2g + 1 (no object per event). */
  private readonly q: EventQueue;
  private readonly arr: Arrivals;
  private waveletsSent = 0;
  private waveletHops = 0;
  private end = 0;
  private endRef = -1;
  // Critical path (opts.criticalPath / probeTiles): each task run records what it waited for last — the event that
  // made it ready or the CE's previous task — and each arrival the send behind it; the path is walked back afterwards.
  private readonly probes: Set<number> | null;
  private readonly tracking: boolean;
  private readonly readyAt: Float64Array;
  private readonly readyRef: Int32Array;
  private readonly startAt: Float64Array;
  private readonly predAt: Float64Array;
  private readonly predRef: Int32Array;
  private readonly lastTask: Int32Array;
  private readonly firstArrivalRef = new Map<number, number>();
  private readonly streamClass = new Map<number, number>();

  constructor(
    private readonly spec: FabricSpec,
    lowered: Lowered,
    private readonly placement: Placement,
    private readonly routes: StreamRoute[],
    private readonly opts: EstimateOptions,
  ) {
    const { tiles, streams } = lowered.plan;
    this.tiles = tiles;
    this.streams = streams;
    this.ctx = new ScanContext(opts.position);
    this.choose = opts.expertChoice ?? null;
    const t = new PlanTables(tiles, streams);
    const nTiles = tiles.length;
    const g = t.graph;
    this.taskBase = g.taskBase;
    this.taskTile = g.taskTile;
    this.trigger = g.trigger;
    this.depStart = g.depStart;
    this.deps = g.deps;
    this.recvCount = g.recvCount;
    this.dstStart = t.dstStart;
    this.dstTile = t.dstTile;
    this.recvAt = t.recvAt;
    this.streamsFrom = g.streams;
    this.streamOps = g.streamOps;
    this.forwards = g.forwards;
    this.forwardedBy = g.forwardedBy;
    this.remaining = g.afterNeed.slice();
    this.opBase = g.opStart;
    this.opRef = g.ops;
    const nTasks = g.taskBase[nTiles];
    const nOps = g.opStart[nTasks];
    this.opCyc = new Float64Array(nOps).fill(NaN);
    this.opCharged = new Float64Array(nOps).fill(NaN);
    this.readyCount = new Int32Array(nTasks);
    this.readyTotal = new Int32Array(nTiles);
    this.lowReady = g.taskBase.slice(1);
    this.ceFree = new Float64Array(nTiles);
    this.recvFirst = new Float64Array(nTasks);
    this.otherDone = new Float64Array(nTasks);
    this.workFree = new Float64Array(nTiles);
    this.fwdFirst = new Float64Array(nTasks);
    this.fwdLast = new Float64Array(nTasks);
    this.fwdTail = new Float64Array(nTasks);
    this.rampFree = new Float64Array(nTiles);
    const links = opts.links ?? (routes.some((r) => r.entries.size > 0) ? linkTableOf(routes, placement.width, placement.height) : null);
    this.busy = links ? new LinkBusy(links, opts.alternativeLinks ?? null, opts.alternativeTaken, spec, placement.width * placement.height) : null;
    this.running = new Uint8Array(nTiles);
    const destinations = t.dstStart[streams.length];
    this.routed = new Uint8Array(streams.length);
    this.streamLinks = new Float64Array(streams.length);
    this.dstHops = new Float64Array(destinations);
    this.dstExtra = new Float64Array(destinations);
    this.tileOf = placement.tileOf;
    this.taskStartCycles = spec.taskStartCycles;
    // A step's events: its arrivals and an end per task.
    this.q = new EventQueue(t.arrivals + nTasks);
    this.probes = opts.probeTiles ? new Set(opts.probeTiles) : null;
    const tracking = (this.tracking = opts.criticalPath === true || this.probes !== null || opts.pathTrace !== undefined);
    this.arr = new Arrivals(tracking, t.arrivals);
    const n = tracking ? nTasks : 0;
    this.readyAt = new Float64Array(n);
    this.readyRef = new Int32Array(n).fill(-1);
    this.startAt = new Float64Array(n);
    this.predAt = new Float64Array(n);
    this.predRef = new Int32Array(n).fill(-1);
    this.lastTask = new Int32Array(tracking ? nTiles : 0).fill(-1);
  }

  run(): void {
    this.readyStarts();
    for (let t = 0; t < this.tiles.length; t++) this.startNext(t, 0);
    this.drain();
  }

  /** Handles the events in time order until none is left. */
  private drain(): void {
    const q = this.q;
    while (q.size > 0) {
      const item = q.pop();
      const time = q.time;
      this.end = Math.max(this.end, time);
      if (time >= this.end) this.endRef = item;
      if ((item & 1) === 0) this.arrived(item / 2, time);
      else this.ended((item - 1) / 2, time);
    }
  }

  private readyStarts(): void {
    const trigger = this.trigger;
    const taskTile = this.taskTile;
    for (let g = 0; g < trigger.length; g++) if (trigger[g] === TRIG_START) this.makeReady(taskTile[g], g);
  }

  /** Arrival a's event: it readies its recv task (or, a forwarded stream's first wavelet, the forwarding task). */
  private arrived(a: number, time: number): void {
    const arr = this.arr;
    const tile = arr.tile[a];
    const id = arr.task[a];
    if (id < 0) throw new Error(`estimate: stream ${this.streams[arr.stream[a]].label} arrives at ${this.tiles[tile].role} with no task waiting`);
    const g = this.taskBase[tile] + id;
    if (arr.isFirst[a] === 1) {
      const f = this.forwardedBy[g];
      if (--this.remaining[f] === 0) this.readyBy(tile, f, time, 2 * a);
      this.startNext(tile, time);
      return;
    }
    this.recvFirst[g] = arr.first(a);
    const probes = this.probes;
    if (probes && probes.has(tile) && !this.firstArrivalRef.has(tile)) this.firstArrivalRef.set(tile, a);
    this.readyBy(tile, g, time, 2 * a);
    this.startNext(tile, time);
  }

  /** Task g's end: its CE is free, and the join tasks waiting on it count it. */
  private ended(g: number, time: number): void {
    const tile = this.taskTile[g];
    this.running[tile] = 0;
    if (this.opBase[g + 1] > this.opBase[g]) this.workFree[tile] = time;
    const { depStart, deps } = this;
    const streamsFrom = this.streamsFrom;
    const otherDone = this.otherDone;
    for (let i = depStart[g]; i < depStart[g + 1]; i++) {
      const dep = deps[i];
      if (streamsFrom[dep] !== g && time > otherDone[dep]) otherDone[dep] = time;
      // A forwarding task counted its stream's recv task at the stream's first wavelet.
      if (this.forwards[dep] === 1 && streamsFrom[dep] === g) continue;
      if (--this.remaining[dep] === 0) this.readyBy(tile, dep, time, 2 * g + 1);
    }
    this.startNext(tile, time);
  }

  private makeReady(tile: number, g: number): void {
    this.readyCount[g]++;
    this.readyTotal[tile]++;
    if (g < this.lowReady[tile]) this.lowReady[tile] = g;
  }

  /** Readies task g of `tile`, made ready at `time` by event `item` (which the critical path walks back through). */
  private readyBy(tile: number, g: number, time: number, item: number): void {
    this.makeReady(tile, g);
    if (this.tracking) {
      this.readyAt[g] = time;
      this.readyRef[g] = item;
    }
  }

  /** Starts the tile's lowest ready task if its CE is idle: charges its ops, issues its sends, queues its end. */
  private startNext(tile: number, now: number): void {
    if (this.running[tile] || this.readyTotal[tile] === 0) return;
    const readyCount = this.readyCount;
    let g = this.lowReady[tile];
    while (readyCount[g] === 0) g++;
    readyCount[g]--;
    this.readyTotal[tile]--;
    this.lowReady[tile] = g;
    const t0 = Math.max(now, this.ceFree[tile]);
    if (this.tracking) this.trackStart(tile, g, t0);
    let t = this.runOps(tile, g, t0, t0 + this.taskStartCycles);
    const from = this.streamsFrom[g];
    if (this.forwards[g] === 1 && this.fwdLast[from] + 1 > t) {
      // A forwarding task ends a cycle after its stream's last wavelet (the add of the last element).
      if (this.tracking) this.fwdTail[g] = this.fwdLast[from] + 1 - t;
      t = this.fwdLast[from] + 1;
    }
    this.running[tile] = 1;
    this.ceFree[tile] = t;
    this.q.push(t, 2 * g + 1);
  }

  /** The later of what made task g ready and the CE's previous task is its predecessor on the path. */
  private trackStart(tile: number, g: number, t0: number): void {
    const r = this.readyAt[g];
    const ceFree = this.ceFree[tile];
    this.startAt[g] = t0;
    this.predAt[g] = Math.max(r, ceFree);
    this.predRef[g] = r >= ceFree ? this.readyRef[g] : this.lastTask[tile] >= 0 ? 2 * this.lastTask[tile] + 1 : -1;
    this.lastTask[tile] = g;
  }

  /**
   * Runs task g's ops from cycle t (it started at t0) and issues their sends; returns when the last ends. A forwarding
   * task runs its streamed ops as the wavelets land (each costs its setup and last element here); its sends' wavelet
   * i leaves a cycle after the stream's wavelet i lands (the engine's gate), the first no earlier than a cycle after
   * the first (the stream's wavelets land one a cycle, as sent).
   */
  private runOps(tile: number, g: number, t0: number, t: number): number {
    const spec = this.spec;
    const opRef = this.opRef;
    const opCyc = this.opCyc;
    const from = this.streamsFrom[g];
    const streamOps = this.streamOps[g];
    const fwd = this.forwards[g] === 1;
    let credit = fwd ? Infinity : from >= 0 && streamOps > 0 ? Math.max(0, t0 - Math.max(this.recvFirst[from], this.otherDone[g], this.workFree[tile])) : 0;
    let streamed = 0;
    const first = this.opBase[g];
    const last = this.opBase[g + 1];
    for (let o = first; o < last; o++) {
      const op = opRef[o];
      const i = o - first;
      let c = opCyc[o];
      if (c !== c) c = opCyc[o] = opCycles(spec, op, this.ctxOf(tile));
      if (i < streamOps) streamed += c;
      if (credit > 0) {
        if (i < streamOps) {
          const charged = streamedOpCycles(spec, c, credit);
          credit -= c - charged;
          c = this.opCharged[o] = charged;
        } else credit = 0;
      }
      t += c;
      if (op.op === 'send') {
        if (op.colour >= 0) this.send(tile, op.colour, op.src.length, t, g, i, fwd ? this.fwdFirst[from] + 1 : 0, fwd ? forwardPace(spec, streamed, streamOps, this.recvCount[from]) : 1);
      } else if (op.op === 'embed' || op.op === 'dispatch') this.issueOtherSends(tile, op, t, g, i);
    }
    return t;
  }

  private ctxOf(tile: number): OpContext {
    this.ctx.tile = this.tiles[tile];
    return this.ctx;
  }

  /**
   * Sends `wavelets` of `stream` from `tile`, its op issuing at `issue` (task g's op opIndex): the ramp takes them
   * one a cycle from when it is free, no earlier than `gateFrom`, and once its route's links are free (LinkBusy); a
   * forwarding send slower than its merges' `pace` (cost.ts forwardPace) spreads its wavelets out. Queues an arrival
   * at each destination.
   */
  private send(tile: number, stream: number, wavelets: number, issue: number, g: number, opIndex: number, gateFrom: number, pace: number): void {
    const slow = pace > 1 ? Math.ceil((wavelets - 1) * (pace - 1)) : 0;
    let start = Math.max(issue, this.rampFree[tile], gateFrom);
    if (this.busy) start = this.busy.claim(stream, start, wavelets + slow);
    this.rampFree[tile] = start + wavelets + slow;
    if (this.routed[stream] === 0) this.route(stream);
    this.waveletsSent += wavelets;
    this.waveletHops += wavelets * this.streamLinks[stream];
    const { dstStart, dstTile, recvAt, dstHops, dstExtra, taskBase } = this;
    for (let e = dstStart[stream]; e < dstStart[stream + 1]; e++) {
      const d = dstTile[e];
      const arrive = start + streamArrivalCycles(this.spec, dstHops[e], wavelets, dstExtra[e]) + slow;
      const id = recvAt[e];
      if (id >= 0 && this.forwardedBy[taskBase[d] + id] >= 0) {
        // A forwarded receive: its first wavelet readies the forwarding task (an event of its own).
        this.fwdFirst[taskBase[d] + id] = arrive - (wavelets - 1);
        this.fwdLast[taskBase[d] + id] = arrive;
        this.arrival(d, stream, id, arrive - (wavelets - 1), 1, g, opIndex, issue, start, 1);
      }
      this.arrival(d, stream, id, arrive, 0, g, opIndex, issue, start, wavelets);
    }
  }

  /** Takes stream's route as its sends read it: the links it uses, and each destination's hops and bypass cycles. */
  private route(stream: number): void {
    const r = this.routes[stream];
    this.streamLinks[stream] = r.linkCount ?? r.links.length;
    for (let e = this.dstStart[stream]; e < this.dstStart[stream + 1]; e++) {
      const mesh = this.tileOf[this.dstTile[e]];
      this.dstHops[e] = r.hopsTo.get(mesh) ?? r.maxHops;
      this.dstExtra[e] = this.extraTo(r, mesh);
    }
    this.routed[stream] = 1;
  }

  /** Records an arrival of `wavelets` of `stream` at tile d (its last at `time`) and queues its event. */
  private arrival(d: number, stream: number, id: number, time: number, first: number, g: number, opIndex: number, issue: number, start: number, wavelets: number): void {
    this.q.push(time, 2 * this.arr.add(d, stream, id, time, first, wavelets, g, opIndex, issue, start));
  }

  /** Remap bypass cycles on a route's last straight run into `dstMesh`. */
  private extraTo(route: StreamRoute, dstMesh: number): number {
    const extra = this.opts.linkExtraLatencyCycles;
    if (!extra) return 0;
    let sum = 0;
    for (let t = dstMesh; ; ) {
      const e = route.entries.get(t);
      if (!e || e.length !== 1 || e[0].from === 0) break;
      const prev = neighbour(t, e[0].from, this.placement.width, this.placement.height);
      sum += extra[prev * 5 + OPPOSITE_PORT[e[0].from]];
      t = prev;
    }
    return sum;
  }

  /** The sends of an embed (only on the sending tile) or a dispatch (to the experts the router picks). */
  private issueOtherSends(tile: number, op: Op, at: number, g: number, opIndex: number): void {
    if (op.op === 'embed') {
      if (tile === (this.embedSender ??= middleEmbedTile(this.tiles))) for (let j = 0; j < op.colours.length; j++) this.send(tile, op.colours[j], embedSlice(op, j).length, at, g, opIndex, 0, 1);
    } else if (op.op === 'dispatch') {
      const k = op.indices.length;
      for (const e of this.choose ? this.choose(k, op.colours.length) : firstLowered(op.colours, k)) {
        if (!(op.colours[e] >= 0)) throw new Error(`estimate: the router picks expert ${e} of ${this.tiles[tile].role}, which was not lowered (pass an expertChoice among the lowered experts)`);
        this.send(tile, op.colours[e], op.src.length, at, g, opIndex, 0, 1);
      }
    }
  }

  result(): StepEstimate {
    const out: StepEstimate = { cycles: this.end, waveletsSent: this.waveletsSent, waveletHops: this.waveletHops };
    const took = this.busy?.took;
    if (took) out.alternative = took.map((t) => (t === 2 ? 1 : 0));
    if (!this.tracking) return out;
    out.criticalPath = toSplit(this.pathTo(this.endRef));
    const opts = this.opts;
    if (opts.pathTrace) {
      const to = opts.pathTrace.to;
      const ref = to !== undefined && this.firstArrivalRef.has(to) ? 2 * this.firstArrivalRef.get(to)! : this.endRef;
      out.pathTrace = [];
      this.pathTo(ref, out.pathTrace);
    }
    if (this.probes) {
      out.firstArrival = new Map();
      for (const [tile, a] of this.firstArrivalRef) out.firstArrival.set(tile, { cycles: this.arr.time[a], path: toSplit(this.pathTo(2 * a)) });
    }
    return out;
  }

  /** The critical path up to an event (an arrival 2a or a task end 2g + 1), walked back through its predecessors. */
  private pathTo(ref: number, trace?: PathSegment[]): Float64Array {
    const path = new Float64Array(PATH_CAUSES.length);
    const total = () => (trace ? path.reduce((a, b) => a + b, 0) : 0);
    const arr = this.arr;
    while (ref >= 0) {
      let g: number;
      if ((ref & 1) === 0) {
        const a = ref / 2;
        const stream = arr.stream[a];
        const s = this.streams[stream];
        let cls = this.streamClass.get(stream);
        if (cls === undefined) this.streamClass.set(stream, (cls = streamCause(s.kind, s.dst.length)));
        // Queueing behind earlier sends and the wavelets after the first are serialisation; the rest is latency.
        path[cls] += arr.start[a] - arr.issue[a] + (arr.wavelets[a] - 1);
        path[CAUSE.hops] += arr.time[a] - arr.start[a] - (arr.wavelets[a] - 1);
        trace?.push({ kind: 'stream', label: s.label, role: this.tiles[arr.tile[a]].role, cycles: arr.time[a] - arr.issue[a] });
        g = arr.sender[a];
        const before = total();
        this.chargeTask(path, g, arr.op[a]);
        this.traceTask(trace, g, total() - before);
      } else {
        g = (ref - 1) / 2;
        const before = total();
        this.chargeTask(path, g, Infinity);
        path[CAUSE.reduction] += this.fwdTail[g];
        this.traceTask(trace, g, total() - before);
      }
      ref = this.predRef[g];
    }
    trace?.reverse();
    return path;
  }

  /** Adds task g's start (its wait and task-start cycles) and ops 0..lastOp to `path`. */
  private chargeTask(path: Float64Array, g: number, lastOp: number): void {
    const task = this.taskOf(g);
    path[CAUSE.wait] += this.startAt[g] - this.predAt[g];
    path[CAUSE.overhead] += this.spec.taskStartCycles;
    const ctx = this.ctxOf(this.taskTile[g]);
    for (let i = 0; i <= lastOp && i < task.ops.length; i++) this.chargeOp(path, task.ops[i], ctx, this.opCharged[this.opBase[g] + i]);
  }

  /** Adds an op's cycles to `path`: its arithmetic to its kind, what SRAM bandwidth adds beyond that to `sram`. */
  private chargeOp(path: Float64Array, op: Op, ctx: OpContext, charged: number): void {
    const cycles = charged === charged ? charged : opCycles(this.spec, op, ctx);
    if (op.op === 'send' || op.op === 'dispatch') {
      path[CAUSE.overhead] += cycles;
      return;
    }
    const c = opCost(this.spec, op, ctx);
    const sram = Math.min(cycles, Math.max(0, c.sramCycles - c.arithCycles));
    path[CAUSE.sram] += sram;
    path[op.op === 'matvec' ? CAUSE.matvec : op.op === 'attention' ? CAUSE.attention : CAUSE.vector] += cycles - sram;
  }

  private traceTask(trace: PathSegment[] | undefined, g: number, cycles: number): void {
    if (!trace) return;
    const tile = this.taskTile[g];
    trace.push({ kind: 'task', label: this.taskOf(g).label ?? '', role: this.tiles[tile].role, cycles });
  }

  private taskOf(g: number): Task {
    const tile = this.taskTile[g];
    return this.tiles[tile].tasks[g - this.taskBase[tile]];
  }
}
