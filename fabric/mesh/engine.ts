// The cycle-approximate mesh engine: runs an ISA program (fabric/isa) one step (one token) at a time.
//
// Timing and function are kept apart (as gem5 does):
// - Timing (this file, main thread): routers, links and credits (router.ts), each tile's compute engine (CE) and its
//   send queue, task triggers and the task picker. Event-driven: idle spans are skipped (time jumps to the next
//   landing wavelet or CE wake-up when nothing moves). Wavelets in the network carry a 32-bit reference to their
//   payload word in the step's staging area.
// - Function (functional.ts): the ops' numbers, computed with the kernels on tile SRAM (one arena in a shared WebAssembly.Memory, wasm SIMD matvecs),
//   inline or batched over a worker pool (pool.ts). Each task started becomes a job (tile, task, the deliveries into that tile
//   since its previous job); a task's ops see the tile's SRAM as of the cycle the task starts, and a send captures its
//   payload then. With workers, jobs are sent in batches while the timing simulation runs on (one message per worker
//   per batch, contiguous runs of jobs); a job waits in its worker (Atomics) for the jobs it depends on — its tile's
//   previous job and the senders of the payloads it receives. The timing waits for values only where it needs them
//   (dispatch indices, embed's token test) and at the end of the step. Cycles and bytes are the same for any number
//   of workers.
// - The parallel mesh (MeshOptions.stripPool): the mesh cut into strips, each thread running the timing and the
//   numbers of its own strip, meeting at a barrier once per window of cycles they can run apart (strips.ts, lookahead.ts; docs/parallel-mesh.md). Same results again.
//
// CE model (per tile): the task picker starts the lowest-id ready task when the CE is idle; a task costs
// spec.taskStartCycles, then each op its opCycles (cost.ts). A send (also dispatch, embed) puts its wavelets in the
// tile's outbound queue when the op starts, costs spec.costs.sendIssueCycles, and the CE then waits while more than
// spec.queueDepthWavelets wavelets are queued (a stall). The queue feeds the router's ramp input, one wavelet per
// cycle, as credits allow. Receiving needs no CE time: the ramp writes each arriving wavelet into the recv trigger's
// slice (the SRAM write port, assumed free); when `count` have arrived the task is ready (that same cycle).
// A forwarding task (Task.forwards) starts at its stream's first wavelet instead, holds the CE until a cycle after the
// last, and its sends' wavelets wait in the queue for the stream's (forwardable); its job runs once the stream is in.
import { WasmKernels, createKernelMemory } from '../../kernels/wasmKernels.js';
import { InputError } from '../errors.js';
import type { FabricSpec } from '../spec/schema.js';
import type { FaultMap } from '../faults/faultMap.js';
import { OPPOSITE_PORT, neighbour, portIndex } from '../geometry.js';
import { validateProgram } from '../isa/validate.js';
import { dtypeBytes } from '../isa/sram.js';
import { embedSlice, type BufferDecl, type BufferInit, type Program } from '../isa/types.js';
import { forwardPace, opCost, streamedOpCycles, tileOpContext } from './cost.js';
import { FunctionalExecutor, JOB_HEADER } from './functional.js';
import { layoutArena, type ArenaLayout } from './plan.js';
import { TRIG_START, flattenTasks } from './taskGraph.js';
import { NO_ROUTE, NoRouteError, RouterCore, SINK, newSinkScratch, type SinkScratch, type StuckVc } from './router.js';
import { canShareMemory, stepBuffer, type JobPool, type JobPoolFactory, type StripInit, type StripPool, type StripPoolFactory, type StripStepRequest, type WorkerBatch } from './pool.js';
import { LOOKAHEAD_CAP, lookahead } from './lookahead.js';
import { StripExchange, exchangeLayout, stripOwners, type Quiescence, type StripCut, type StripFailure, type StripReport, type StripTraceEvent } from './strips.js';

/** Appends a delivery (payload word `data` into SRAM word `dst`) to a tile's runs, extending the last run where contiguous. */
function addRun(runs: number[], data: number, dst: number): void {
  const n = runs.length;
  if (n > 0 && runs[n - 3] + runs[n - 1] === data && runs[n - 2] + runs[n - 1] === dst) runs[n - 1]++;
  else runs.push(data, dst, 1);
}

/** Appends a held delivery of receive `key` (see MeshEngine.held), extending the last where contiguous. */
function holdRun(h: number[], key: number, data: number, dst: number): void {
  const n = h.length;
  if (n > 0 && h[n - 4] === key && h[n - 3] + h[n - 1] === data && h[n - 2] + h[n - 1] === dst) h[n - 1]++;
  else h.push(key, data, dst, 1);
}

/** Raw bytes of a buffer's initial contents, in decl.dtype (length × dtype size bytes). */
export interface WeightProvider {
  (init: BufferInit, decl: BufferDecl): Uint8Array;
}

export interface MeshOptions {
  /** Worker threads for the numeric work; 0 = inline on the main thread (default). */
  workers?: number;
  /** Makes the worker pool when workers > 0 (Node: src/workers/meshPool.ts piscinaJobPool). */
  pool?: JobPoolFactory;
  /**
   * The parallel mesh: with this, `workers` ≥ 1 threads each step a strip of the mesh — its routers, compute engines
   * and numbers — one on the calling thread and workers − 1 from this factory (Node: src/workers/stripPool.ts
   * nodeStripPool), meeting at a barrier once per window of cycles they can run apart (fabric/mesh/strips.ts). `pool` is then not used.
   */
  stripPool?: StripPoolFactory;
  /** The parallel mesh's cut (default: blocks of whole rows; results do not depend on it). */
  stripCut?: StripCut;
  faults?: FaultMap | null;
  /** Extra cycles per link (remap bypasses), in the repair's layout: [tile*5 + port], ports N, E, S, W = 1..4 (0, the
   *  ramp, is ignored) — fabric/faults remapRepair's extraLatencyCycles as it comes. */
  linkExtraLatencyCycles?: Uint16Array;
  /** Record task start/end per tile (costs nothing when off). */
  trace?: boolean;
  /** A step in which wavelets move but no wavelet reaches a CE and no task starts or ends for this long is a livelock. */
  livelockCycles?: number;
}

export interface StepResult {
  cycles: number;
  outputs: Map<string, Float32Array>;
}

export interface MeshStats {
  /** Cycles over all steps. */
  cycles: number;
  steps: number;
  widthTiles: number;
  heightTiles: number;
  /** Per tile (y*width + x): CE cycles running ops (incl. task start), waiting on a full send queue, idle. */
  tileBusyCycles: Float64Array;
  tileStalledCycles: Float64Array;
  tileIdleCycles: Float64Array;
  /** SRAM bytes used per tile (program buffers). */
  tileSramBytes: Float64Array;
  /** Wavelets out of each router port, [tile*5 + port] in PORTS order (ramp = delivered to the CE). */
  linkWavelets: Float64Array;
  /** Wavelets sent by CEs into the network, and link traversals between routers. */
  waveletsMoved: number;
  waveletHops: number;
  fmacOps: number;
  sramReadBytes: number;
  tasksRun: number;
  /** CE busy cycles per task label ("" for unlabelled tasks). */
  taskLabelBusyCycles: Map<string, number>;
}

export interface TraceEvent {
  x: number;
  y: number;
  task: number;
  label: string;
  startCycle: number;
  endCycle: number;
}

/** A program that cannot finish: wavelets stuck, a receive left incomplete, or a wavelet with no route. */
export class MeshRunError extends Error {
  constructor(
    message: string,
    readonly x: number,
    readonly y: number,
    readonly colour: number,
    readonly cycle: number,
  ) {
    super(message);
    this.name = 'MeshRunError';
  }
}

/** Stops a strip's cycle loop with what it reports (another strip failed; a livelock every strip saw). */
class StripStop extends Error {
  constructor(readonly failure: StripFailure) {
    super(failure.message);
  }
}

/** A strip's failure as plain data (it crosses threads). */
function toFailure(e: unknown): StripFailure {
  if (e instanceof StripStop) return e.failure;
  if (e instanceof MeshRunError) return { kind: 'error', name: e.name, message: e.message, x: e.x, y: e.y, colour: e.colour, cycle: e.cycle, stuck: null };
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: 'error', name: err.name, message: err.message, x: -1, y: -1, colour: -1, cycle: -1, stuck: null };
}

/** Strips of a parallel mesh (a strip number fits the router's Int8Array tables). */
const MAX_STRIPS = 64;

const CE_IDLE = 0;
const CE_BUSY = 1;
const CE_STALLED = 2;
const CE_PAUSED = 3;
/** A forwarding task's CE, its ops done, waits for the rest of its stream (Task.forwards). */
const CE_WAITSTREAM = 4;

const T_WAITING = 0;
const T_READY = 1;
const T_STARTED = 2;


/** What a send-like op does in the timing model. */
const K_COMPUTE = 0;
const K_SEND = 1;
const K_DISPATCH = 2;
const K_EMBED = 3;
const K_OUTPUT = 4;

const PORT_NAMES = ['ramp', 'N', 'E', 'S', 'W'];

/**
 * With workers, pending jobs go out as a batch once their estimated work reaches this many FMAC ops (a batch costs
 * about one pool round trip, ~45 µs, docs/toolchain.md#what-things-cost-here: about what the wasm matvec does in 100k MACs).
 */
const BATCH_FMACS = 200_000;

/**
 * Min-heap of (time, id) pairs, ties by id, in a Float64Array (key = time·2^21 + id). Not the estimator's EventQueue
 * (compiler/wafer/estimate.ts): that one breaks ties by insertion order, this one by tile id, and either order is
 * part of what each reports, so sharing one heap would change cycles or estimates.
 */
class WakeHeap {
  private keys: Float64Array;
  size = 0;
  constructor(cap: number) {
    this.keys = new Float64Array(Math.max(16, cap));
  }
  push(time: number, id: number): void {
    if (this.size === this.keys.length) {
      const k = new Float64Array(this.size * 2);
      k.set(this.keys);
      this.keys = k;
    }
    const key = time * 2097152 + id;
    let i = this.size++;
    const keys = this.keys;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= key) break;
      keys[i] = keys[p];
      i = p;
    }
    keys[i] = key;
  }
  topTime(): number {
    return this.size === 0 ? Infinity : Math.floor(this.keys[0] / 2097152);
  }
  pop(): number {
    const keys = this.keys;
    const top = keys[0];
    const last = keys[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= last) break;
      keys[i] = keys[c];
      i = c;
    }
    if (n > 0) keys[i] = last;
    return top % 2097152;
  }
}

export class MeshEngine {
  private readonly W: number;
  private readonly H: number;
  private readonly C: number;
  private readonly Q: number;
  private readonly nProg: number;
  private readonly core: RouterCore;
  private readonly layout: ArenaLayout;
  private readonly memory: WebAssembly.Memory;
  private readonly arenaI32: Int32Array;
  private readonly executor: FunctionalExecutor;
  private readonly pool: JobPool | null;
  private readonly workers: number;
  private readonly trace: boolean;
  private readonly livelockCycles: number;

  // Program tiles.
  private readonly progMesh: Int32Array; // program tile -> mesh tile
  private readonly taskBase: Int32Array; // program tile -> first global task
  /** Tile k's global tasks sorted by id: taskOrder[taskBase[k] .. taskBase[k + 1]). */
  private readonly taskOrder: Int32Array;
  private readonly nTasks: number;
  private readonly gTile: Int32Array;
  private readonly gLocal: Int32Array;
  private readonly gTrig: Uint8Array;
  private readonly gAfterNeed: Int32Array;
  private readonly gDepStart: Int32Array;
  private readonly gDeps: Int32Array;
  private readonly gLabel: Int32Array;
  private readonly gNeedsValues: Uint8Array;
  /** Piecewise receives (Task.streams): the recv task each streams from, -1 elsewhere. */
  private readonly gStreams: Int32Array;
  private readonly gStreamOps: Int32Array;
  /** Forwarding sends (Task.forwards): 1 for a forwarding task; a recv task's forwarding task or -1; a recv task's
   *  receive key (program tile·C + colour) or -1. */
  private readonly gFwd: Uint8Array;
  private readonly gFwdBy: Int32Array;
  private readonly gRecvKey: Int32Array;
  private readonly hasForwarding: boolean;
  private readonly labels: string[];
  // Ops in columns: op i of global task g is opStart[g] + i. Costs are refilled each step (attention's depend on the
  // position), in place: columns, not an object or array per task, so a 10^5-tile mesh makes no garbage per step.
  private readonly opStart: Int32Array;
  private readonly opKind: Uint8Array;
  private readonly opCycles: Int32Array;
  private readonly opFmac: Float64Array;
  private readonly opRead: Float64Array;
  /** Each op's word in its task's staging slice (-1: none); a send's colour and wavelet count. */
  private readonly opStageOff: Int32Array;
  private readonly opColour: Int32Array;
  private readonly opLen: Int32Array;
  /** Tasks with an output op (their start records where the output is staged). */
  private readonly gHasOutput: Uint8Array;
  private readonly rampVc: Int32Array; // program tile*C + colour -> ramp-input VC, -1
  private readonly recvTask: Int32Array; // program tile*C + colour -> global task, -1
  private readonly recvCount: Int32Array;
  private readonly recvIntoWord: Int32Array;
  private readonly recvGot: Int32Array;
  /** When each receive's latest wavelet landed (a forwarded wavelet leaves a cycle after its input, the add's element). */
  private readonly recvLastAt: Float64Array;
  /**
   * Deliveries sent by forwarding tasks, per program tile, as (receive key, payload word, SRAM word, count): a
   * forwarding task's job, and so its payload, exists only once its own stream is in, so these words join the tile's
   * runs when their receive completes (after the sender's job) rather than with whatever job the tile runs next.
   */
  private readonly held: number[][];
  private readonly fwdWord: Uint8Array;

  // Per-step task state.
  private readonly tState: Uint8Array;
  private readonly afterGot: Int32Array;
  private readonly taskStartAt: Float64Array;
  private readonly taskJob: Int32Array;
  private readonly taskStage: Int32Array;
  /** Piecewise receives: when a recv task's first wavelet landed, and when a task's inputs other than its stream were in. */
  private readonly recvFirstAt: Float64Array;
  private readonly otherDoneAt: Float64Array;

  // CE state, per program tile.
  private readonly ceState: Uint8Array;
  private readonly ceTask: Int32Array;
  private readonly ceOp: Int32Array;
  private readonly cePostSend: Uint8Array;
  private readonly ceWake: Float64Array;
  private readonly stallStart: Float64Array;
  /** When the CE last ended a task with ops (op-less receive tasks only re-arm), and a streamed task's credit left. */
  private readonly ceWorkFreeAt: Float64Array;
  private readonly ceCredit: Float64Array;
  private readonly heap: WakeHeap;
  private paused: number[] = [];

  // Outbound send queues, per program tile: a ring of descriptors.
  private readonly obRing: number;
  private readonly obColour: Int32Array;
  private readonly obStage: Int32Array;
  private readonly obLeft: Int32Array;
  /** A forwarding send's gate: the receive key its wavelets wait on (-1: none), and the stream wavelets its next needs. */
  private readonly obGate: Int32Array;
  private readonly obNeed: Int32Array;
  /** A forwarding send's pace (its merges' cycles per element: above 1 they, not the ramp, bound the rate) and the
   *  cycle its next wavelet's merge is done at that pace. */
  private readonly obPace: Float64Array;
  private readonly obNextAt: Float64Array;
  private readonly obHead: Int32Array;
  private readonly obN: Int32Array;
  private readonly obOcc: Int32Array;
  private readonly sendList: Int32Array;
  private sendN = 0;
  private readonly inSend: Uint8Array;

  // Functional job log of the current step.
  private jobs = new Int32Array(4096);
  private jobsLen = 0;
  private jobStart: number[] = [];
  private jobTile: number[] = [];
  private jobCost: number[] = [];
  /** Jobs [0, executed) are done; [executed, dispatched) are with the workers. */
  private executed = 0;
  private dispatched = 0;
  private pendingCost = 0;
  private inflight: Promise<unknown>[] = [];
  private readonly tileLastJob: Int32Array;
  private readonly doneFlags: SharedArrayBuffer;
  private readonly doneView: Int32Array;
  private readonly abortAt: number;
  private depScratch: number[] = [];
  private runs: number[][];
  /** Each task's place in the staging area, fixed (a task runs at most once a step): the same for any thread count. */
  private readonly stageOf: Int32Array;
  /** The tasks that stage words, in staging order (to find the sender of a payload word). */
  private readonly stagers: Int32Array;
  private staging: SharedArrayBuffer;
  private stageI32: Int32Array;
  private stageF32: Float32Array;
  private outputsAt = new Map<string, { at: number; n: number }>();
  private position = 0;

  // Time and statistics.
  private now = 0;
  private lastActivity = 0;
  private lastProgress = 0;
  private steps = 0;
  private totalCycles = 0;
  private readonly busy: Float64Array;
  private readonly stalled: Float64Array;
  private readonly labelBusy: Float64Array;
  private waveletsMoved = 0;
  private fmacOps = 0;
  private sramReadBytes = 0;
  private tasksRun = 0;
  private readonly traceEvents: TraceEvent[] = [];
  private readonly sinkScratch: SinkScratch = newSinkScratch();
  private closed = false;

  // The parallel mesh (strips > 0): this engine runs strip `stripIndex`: the program tiles in ownProg and their routers.
  private readonly strips: number;
  private readonly stripIndex: number;
  private readonly ownProg: Int32Array;
  /** 1 for the program tiles in ownProg. */
  private readonly mine: Uint8Array;
  private readonly exchange: StripExchange | null = null;
  private readonly stripShared: { mail: SharedArrayBuffer; reduction: SharedArrayBuffer; counters: SharedArrayBuffer } | null = null;
  private stripPool: StripPool | null = null;
  /** The other strips' last reports (their counters are totals). */
  private others: StripReport[] = [];
  /** Lookahead (lookahead.ts): the fewest cycles from any of this strip's CEs acting to a post to another strip. */
  private minSend = 0;
  private readonly onWavelet = (land: number, lat: number, target: number, data: number, flags: number): void => this.core.acceptWavelet(land, lat, target, data, flags);
  private readonly onCredit = (v: number): void => this.core.acceptCredit(v, this.now);

  // Longer than ~150 lines on purpose: it fills the engine's readonly typed tables (routers, tasks, ops, staging),
  // which TypeScript lets only the constructor assign; the task graph itself comes from taskGraph.ts.
  private constructor(
    private readonly spec: FabricSpec,
    private readonly program: Program,
    weights: WeightProvider | null,
    opts: MeshOptions,
    strips: number,
    strip: StripInit | null,
  ) {
    const W = (this.W = program.widthTiles);
    const H = (this.H = program.heightTiles);
    const C = (this.C = spec.colours);
    this.Q = spec.queueDepthWavelets;
    const tiles = W * H;
    this.workers = opts.workers ?? 0;
    this.trace = opts.trace === true;
    this.livelockCycles = opts.livelockCycles ?? 1_000_000;
    const progs = program.tiles;
    const nProg = (this.nProg = progs.length);
    this.strips = strips;
    this.stripIndex = strip ? strip.strip : 0;

    // Arena and weights.
    // Tile SRAM: one arena in a shared WebAssembly.Memory (the wasm kernels compute on it in place, in any thread).
    if (strip) {
      this.memory = strip.memory;
      this.layout = strip.layout;
    } else {
      const size = layoutArena(program).bytes;
      this.memory = createKernelMemory(size + (1 << 20));
      const base = new WasmKernels(this.memory).alloc(size, 64);
      this.layout = layoutArena(program, base);
      this.loadWeights(weights!);
    }
    this.arenaI32 = new Int32Array(this.memory.buffer);
    this.executor = new FunctionalExecutor(program, this.layout, this.memory);
    // Staging: every task runs at most once per step, so the step's payloads fit in Σ stage words, known now.
    let stageMax = 1;
    for (const words of this.layout.stageWords) for (const w of words) stageMax += w;
    this.staging = strip ? strip.staging : stepBuffer(stageMax * 4);
    this.stageI32 = new Int32Array(this.staging);
    this.stageF32 = new Float32Array(this.staging);
    this.executor.setStaging(this.staging);
    // Per-tile counters: shared by the strips of a parallel mesh (each writes its own tiles').
    const counters = strip ? strip.counters : strips > 0 ? new SharedArrayBuffer(tiles * 7 * 8) : null;
    this.busy = counters ? new Float64Array(counters, 0, tiles) : new Float64Array(tiles);
    this.stalled = counters ? new Float64Array(counters, tiles * 8, tiles) : new Float64Array(tiles);
    const linkWavelets = counters ? new Float64Array(counters, tiles * 16, tiles * 5) : undefined;

    // Router VCs: one per route entry (input port, colour), in mesh-tile order.

    this.progMesh = new Int32Array(nProg);
    const progOf = new Int32Array(tiles).fill(-1);
    progs.forEach((t, k) => {
      const r = t.y * W + t.x;
      this.progMesh[k] = r;
      progOf[r] = k;
    });
    const vcStart = new Int32Array(tiles + 1);
    for (let r = 0; r < tiles; r++) vcStart[r + 1] = vcStart[r] + (progOf[r] >= 0 ? progs[progOf[r]].routes.length : 0);
    const nVc = vcStart[tiles];
    const vcTile = new Int32Array(nVc);
    const vcPort = new Uint8Array(nVc);
    const vcClass = new Uint8Array(nVc);
    const routeMask = new Uint8Array(nVc);
    const vcKey = new Map<number, number>();
    for (let r = 0; r < tiles; r++) {
      const k = progOf[r];
      if (k < 0) continue;
      progs[k].routes.forEach((e, j) => {
        const v = vcStart[r] + j;
        vcTile[v] = r;
        vcPort[v] = portIndex(e.from);
        vcClass[v] = e.colour;
        let mask = 0;
        for (const to of e.to) mask |= 1 << portIndex(to);
        routeMask[v] = mask;
        vcKey.set((r * 5 + vcPort[v]) * C + e.colour, v);
      });
    }
    const downVc = new Int32Array(nVc * 5).fill(NO_ROUTE);
    for (let v = 0; v < nVc; v++) {
      const r = vcTile[v];
      for (let o = 0; o < 5; o++) {
        if ((routeMask[v] & (1 << o)) === 0) continue;
        if (o === 0) {
          downVc[v * 5] = SINK;
          continue;
        }
        const n = neighbour(r, o, W, H);
        if (n >= 0) downVc[v * 5 + o] = vcKey.get((n * 5 + OPPOSITE_PORT[o]) * C + vcClass[v]) ?? NO_ROUTE;
      }
    }
    const linkLatency = new Uint16Array(tiles * 5);
    const extra = opts.linkExtraLatencyCycles;
    if (extra && extra.length !== tiles * 5) {
      throw new InputError(`linkExtraLatencyCycles has ${extra.length} entries, the ${W}x${H} mesh needs ${tiles * 5}`, 'mesh options', 'give 5 entries (ramp, N, E, S, W) per tile');
    }
    for (let r = 0; r < tiles; r++) {
      linkLatency[r * 5] = spec.rampLatencyCycles;
      for (let p = 1; p <= 4; p++) linkLatency[r * 5 + p] = spec.hopLatencyCycles + (extra ? extra[r * 5 + p] : 0);
    }
    this.core = new RouterCore({
      tiles,
      depth: spec.queueDepthWavelets,
      classes: C,
      vcStart,
      vcTile,
      vcPort,
      vcClass,
      downVc,
      routeMask,
      linkLatency,
      wormhole: false,
      nextPort: null,
      linkWavelets,
    });

    // Tasks.
    const graph = flattenTasks(progs);
    this.taskBase = graph.taskBase;
    const nT = (this.nTasks = this.taskBase[nProg]);
    this.gTile = graph.taskTile;
    this.gLocal = graph.taskLocal;
    this.gTrig = graph.trigger;
    this.gAfterNeed = graph.afterNeed;
    this.gDepStart = graph.depStart;
    this.gDeps = graph.deps;
    this.gLabel = new Int32Array(nT);
    this.gNeedsValues = new Uint8Array(nT);
    this.gStreams = graph.streams;
    this.gStreamOps = graph.streamOps;
    this.gFwd = graph.forwards;
    this.gFwdBy = graph.forwardedBy;
    this.hasForwarding = graph.forwards.includes(1);
    this.gRecvKey = new Int32Array(nT).fill(-1);
    const opStart = (this.opStart = new Int32Array(nT + 1));
    progs.forEach((tile, k) => tile.tasks.forEach((t, j) => (opStart[this.taskBase[k] + j + 1] = t.ops.length)));
    for (let g = 0; g < nT; g++) opStart[g + 1] += opStart[g];
    this.opKind = new Uint8Array(opStart[nT]);
    this.opCycles = new Int32Array(opStart[nT]);
    this.opFmac = new Float64Array(opStart[nT]);
    this.opRead = new Float64Array(opStart[nT]);
    this.gHasOutput = new Uint8Array(nT);
    this.opStageOff = new Int32Array(opStart[nT]);
    this.opColour = new Int32Array(opStart[nT]);
    this.opLen = new Int32Array(opStart[nT]);
    this.taskOrder = new Int32Array(nT);
    this.rampVc = new Int32Array(nProg * C).fill(-1);
    this.recvTask = new Int32Array(nProg * C).fill(-1);
    this.recvCount = new Int32Array(nProg * C);
    this.recvIntoWord = new Int32Array(nProg * C);
    this.recvGot = new Int32Array(nProg * C);
    this.recvLastAt = new Float64Array(nProg * C);
    const labelIds = new Map<string, number>();
    this.labels = [];
    let maxFanout = 1;
    progs.forEach((tile, k) => {
      const r = this.progMesh[k];
      for (let c = 0; c < C; c++) {
        const v = vcKey.get((r * 5 + 0) * C + c);
        if (v !== undefined) this.rampVc[k * C + c] = v;
      }
      tile.tasks.forEach((t, j) => {
        const g = this.taskBase[k] + j;
        const label = t.label ?? '';
        let lid = labelIds.get(label);
        if (lid === undefined) {
          lid = this.labels.length;
          labelIds.set(label, lid);
          this.labels.push(label);
        }
        this.gLabel[g] = lid;
        const tr = t.trigger;
        if (tr.on === 'recv') {
          this.recvTask[k * C + tr.colour] = g;
          this.gRecvKey[g] = k * C + tr.colour;
          this.recvCount[k * C + tr.colour] = tr.count;
          this.recvIntoWord[k * C + tr.colour] = (this.layout.buffers[k].get(tr.into.buf)!.byte >> 2) + tr.into.offset;
        }
        t.ops.forEach((op, i) => {
          this.opKind[opStart[g] + i] = op.op === 'send' ? K_SEND : op.op === 'dispatch' ? K_DISPATCH : op.op === 'embed' ? K_EMBED : op.op === 'output' ? K_OUTPUT : K_COMPUTE;
          if (op.op === 'output') this.gHasOutput[g] = 1;
          this.opStageOff[opStart[g] + i] = this.layout.stageOffsets[k][j][i];
          if (op.op === 'send') {
            this.opColour[opStart[g] + i] = op.colour;
            this.opLen[opStart[g] + i] = op.src.length;
          }
          if (op.op === 'dispatch' || op.op === 'embed') this.gNeedsValues[g] = 1;
          if (op.op === 'dispatch') maxFanout = Math.max(maxFanout, op.indices.length);
          if (op.op === 'embed') maxFanout = Math.max(maxFanout, op.colours.length);
        });
      });
      const order = tile.tasks.map((t, j) => ({ id: t.id, g: this.taskBase[k] + j })).sort((a, b) => a.id - b.id);
      order.forEach((o, i) => (this.taskOrder[this.taskBase[k] + i] = o.g));
    });
    this.labelBusy = new Float64Array(this.labels.length);
    this.tState = new Uint8Array(nT);
    this.afterGot = new Int32Array(nT);
    this.taskStartAt = new Float64Array(nT);
    this.taskJob = new Int32Array(nT).fill(-1);
    this.taskStage = new Int32Array(nT);
    this.recvFirstAt = new Float64Array(nT);
    this.otherDoneAt = new Float64Array(nT);
    this.stageOf = new Int32Array(nT);
    const stagers: number[] = [];
    for (let g = 0, at = 0; g < nT; g++) {
      const words = this.layout.stageWords[this.gTile[g]][this.gLocal[g]];
      this.stageOf[g] = at;
      if (words > 0) stagers.push(g);
      at += words;
    }
    this.stagers = Int32Array.from(stagers);
    // The staged words forwarding tasks send (their deliveries are held: see `held`), one flag a word.
    this.fwdWord = new Uint8Array(this.hasForwarding ? stageMax : 0);
    for (let g = 0; g < nT; g++) if (this.gFwd[g] === 1) this.fwdWord.fill(1, this.stageOf[g], this.stageOf[g] + this.layout.stageWords[this.gTile[g]][this.gLocal[g]]);
    this.tileLastJob = new Int32Array(nProg).fill(-1);
    // A step has at most one job per task plus one deliveries-only job per tile; the last flag is the abort flag.
    this.abortAt = nT + nProg;
    this.doneFlags = stepBuffer((this.abortAt + 1) * 4);
    this.doneView = new Int32Array(this.doneFlags);

    this.ceState = new Uint8Array(nProg);
    this.ceTask = new Int32Array(nProg).fill(-1);
    this.ceOp = new Int32Array(nProg);
    this.cePostSend = new Uint8Array(nProg);
    this.ceWake = new Float64Array(nProg).fill(-1);
    this.stallStart = new Float64Array(nProg);
    this.ceWorkFreeAt = new Float64Array(nProg);
    this.ceCredit = new Float64Array(nProg);
    this.heap = new WakeHeap(nProg);
    this.obRing = this.Q + maxFanout + 2;
    this.obColour = new Int32Array(nProg * this.obRing);
    this.obStage = new Int32Array(nProg * this.obRing);
    this.obLeft = new Int32Array(nProg * this.obRing);
    this.obGate = new Int32Array(nProg * this.obRing);
    this.obNeed = new Int32Array(nProg * this.obRing);
    this.obPace = new Float64Array(nProg * this.obRing);
    this.obNextAt = new Float64Array(nProg * this.obRing);
    this.obHead = new Int32Array(nProg);
    this.obN = new Int32Array(nProg);
    this.obOcc = new Int32Array(nProg);
    this.sendList = new Int32Array(nProg);
    this.inSend = new Uint8Array(nProg);
    this.runs = Array.from({ length: nProg }, () => []);
    this.held = Array.from({ length: nProg }, () => []);

    // The parallel mesh: this engine's strip, and the exchange with the others.
    const owner = stripOwners(W, H, Math.max(1, strips), opts.stripCut);
    this.ownProg = Int32Array.from(progs.map((_, k) => k).filter((k) => owner[this.progMesh[k]] === this.stripIndex));
    this.mine = new Uint8Array(nProg);
    for (const k of this.ownProg) this.mine[k] = 1;
    if (strips > 0) {
      const cross = this.crossings(owner, strips);
      // A round may return up to a queue depth of credits per crossing VC (strips.ts).
      const ex = exchangeLayout(strips, cross.links, cross.vcs.map((n) => n * spec.queueDepthWavelets));
      const bytes = StripExchange.sharedBytes(ex);
      this.stripShared = strip ?? { mail: new SharedArrayBuffer(bytes.mail), reduction: new SharedArrayBuffer(bytes.reduction), counters: counters! };
      this.exchange = new StripExchange(this.stripIndex, ex, this.stripShared.mail, this.stripShared.reduction);
      if (strips > 1) {
        this.core.partition(owner, this.stripIndex, this.exchange);
        this.minSend = this.setupLookahead(owner);
      }
    }

    this.pool = strips === 0 && this.workers > 0 && opts.pool ? opts.pool({ program, layout: this.layout, memory: this.memory }, this.workers) : null;
  }

  /**
   * Gives the router core its lookahead distances (fabric/mesh/lookahead.ts) and returns this strip's smallest
   * CE-to-post distance. Every strip computes the same distances (they depend on the program and the cut).
   */
  private setupLookahead(owner: Uint8Array): number {
    const tiles = this.W * this.H;
    const C = this.C;
    const sendVcStart = new Int32Array(tiles + 1);
    const perTile: number[][] = Array.from({ length: tiles }, () => []);
    this.program.tiles.forEach((tile, k) => {
      const colours = new Set<number>();
      for (const t of tile.tasks) {
        for (const op of t.ops) {
          if (op.op === 'send') colours.add(op.colour);
          else if (op.op === 'dispatch' || op.op === 'embed') for (const c of op.colours) colours.add(c);
        }
      }
      for (const c of colours) if (this.rampVc[k * C + c] >= 0) perTile[this.progMesh[k]].push(this.rampVc[k * C + c]);
    });
    for (let r = 0; r < tiles; r++) sendVcStart[r + 1] = sendVcStart[r] + perTile[r].length;
    const core = this.core;
    const la = lookahead({ tiles, vcTile: core.vcTile, downVc: core.downVc, routeMask: core.routeMask, linkLatency: core.linkLatency, owner, sendVcStart, sendVcs: Int32Array.from(perTile.flat()), taskStartCycles: this.spec.taskStartCycles });
    const sink = new Int32Array(tiles);
    for (let r = 0; r < tiles; r++) sink[r] = Math.min(LOOKAHEAD_CAP, this.spec.taskStartCycles + la.send[r]);
    core.setLookahead(la.vc, sink, LOOKAHEAD_CAP);
    let min = LOOKAHEAD_CAP;
    for (const k of this.ownProg) min = Math.min(min, la.send[this.progMesh[k]]);
    return min;
  }

  /** Copies every buffer's initial contents into the arena. */
  private loadWeights(weights: WeightProvider): void {
    const bytes = new Uint8Array(this.memory.buffer);
    this.program.tiles.forEach((tile, k) => {
      for (const b of tile.buffers) {
        if (b.init.kind === 'zeros') continue;
        const data = weights(b.init, b);
        const want = b.length * dtypeBytes(b.dtype);
        if (!(data instanceof Uint8Array) || data.byteLength !== want) {
          throw new InputError(
            `weights for buffer "${b.name}" are ${data instanceof Uint8Array ? data.byteLength : 'not'} bytes, the buffer needs ${want}`,
            `tile (${tile.x},${tile.y}) ${b.init.kind} ${'tensor' in b.init ? b.init.tensor : ''}`.trim(),
            `return ${b.length} ${b.dtype} elements as raw bytes`,
          );
        }
        bytes.set(data, this.layout.buffers[k].get(b.name)!.byte);
      }
    });
  }

  /**
   * Per ordered pair of strips (from * strips + to): router outputs whose link leads into the other strip (at most one
   * wavelet each per cycle), and VCs of `from` whose upstream router is in `to` (at most one credit each per cycle).
   */
  private crossings(owner: Uint8Array, strips: number): { links: Int32Array; vcs: Int32Array } {
    const links = new Int32Array(strips * strips);
    const vcs = new Int32Array(strips * strips);
    const W = this.W;
    const H = this.H;
    for (let r = 0; r < W * H; r++) {
      for (let o = 1; o <= 4; o++) {
        const n = neighbour(r, o, W, H);
        if (n >= 0 && owner[n] !== owner[r]) links[owner[r] * strips + owner[n]]++;
      }
    }
    const up = this.core.upRouter;
    for (let v = 0; v < up.length; v++) {
      const a = owner[this.core.vcTile[v]];
      if (up[v] >= 0 && owner[up[v]] !== a) vcs[a * strips + owner[up[v]]]++;
    }
    return { links, vcs };
  }

  /** Validates the program against the spec (and faults), lays out SRAM, loads the weights, starts the pool. */
  static async create(spec: FabricSpec, program: Program, weights: WeightProvider, opts: MeshOptions = {}): Promise<MeshEngine> {
    const workers = opts.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) throw new InputError(`workers must be a whole number ≥ 0, got ${workers}`, 'mesh options', 'give 0 (inline) or more');
    if (workers > 0 && !opts.pool && !opts.stripPool) throw new InputError(`${workers} workers but no pool to run them`, 'mesh options', 'pass pool (in Node: piscinaJobPool from src/workers/meshPool.ts), or workers: 0');
    const cut = opts.stripCut;
    if (cut && !(Number.isInteger(cut.rows) && Number.isInteger(cut.cols) && cut.rows >= 1 && cut.cols >= 1)) {
      throw new InputError(`stripCut ${cut.rows}x${cut.cols} is not a block of whole tiles`, 'mesh options', 'give rows and cols as whole numbers ≥ 1');
    }
    if (opts.stripPool && workers > MAX_STRIPS) throw new InputError(`${workers} threads for the parallel mesh`, 'mesh options', `give at most ${MAX_STRIPS}`);
    if (workers > 0 && !canShareMemory()) throw new InputError('workers need memory shared between threads, which this page does not have', 'mesh options', 'serve the page cross-origin isolated, or run with workers: 0');
    validateProgram(spec, program, opts.faults ?? null);
    const strips = workers > 0 && opts.stripPool ? workers : 0;
    const engine = new MeshEngine(spec, program, weights, opts, strips, null);
    if (strips > 1) {
      const shared = engine.stripShared!;
      const inits = Array.from({ length: strips - 1 }, (_, i): StripInit => ({
        spec,
        program,
        layout: engine.layout,
        memory: engine.memory,
        staging: engine.staging,
        ...shared,
        strips,
        strip: i + 1,
        cut: opts.stripCut ?? null,
        linkExtraLatencyCycles: opts.linkExtraLatencyCycles ?? null,
        trace: engine.trace,
        livelockCycles: engine.livelockCycles,
      }));
      engine.stripPool = await opts.stripPool!(inits);
    }
    if (engine.pool) {
      // Start every thread now (tsx makes a cold start ~170 ms), so the first step's timing is not skewed.
      await Promise.all(Array.from({ length: workers }, () => engine.pool!.run({ jobs: new Int32Array(0), position: 0, staging: engine.staging, done: null, epoch: 0, abortAt: 0 } satisfies WorkerBatch)));
    }
    return engine;
  }

  /** What a strip thread runs for each step (fabric/mesh/pool.ts StripPool): the engine of strip init.strip, made now. */
  static stripRunner(init: StripInit): (req: StripStepRequest) => StripReport {
    const opts: MeshOptions = { trace: init.trace, livelockCycles: init.livelockCycles, linkExtraLatencyCycles: init.linkExtraLatencyCycles ?? undefined, stripCut: init.cut ?? undefined };
    const engine = new MeshEngine(init.spec, init.program, null, opts, init.strips, init);
    return (req) => engine.stripStep(req);
  }

  /** Barriers the parallel mesh has passed (0 for the single-threaded engine). */
  get barrierRounds(): number {
    return this.exchange ? this.exchange.rounds : 0;
  }

  /**
   * Wall time of the parallel mesh so far, as strip 0 saw it (zeros for the single-threaded engine): its own work and
   * barrier waits, and the critical path — per round, the slowest strip's work, summed (strips.ts StripExchange).
   */
  get stripTiming(): { workMs: number; waitMs: number; criticalMs: number } {
    const ex = this.exchange;
    return ex ? { workMs: ex.workMs, waitMs: ex.waitMs, criticalMs: ex.criticalMs } : { workMs: 0, waitMs: 0, criticalMs: 0 };
  }

  get widthTiles(): number {
    return this.W;
  }

  get heightTiles(): number {
    return this.H;
  }

  /** Current cycle (cumulative over steps). */
  get cycle(): number {
    return this.now;
  }

  /**
   * Runs one step (one token): writes the token into every host-input buffer, re-arms every trigger, starts the
   * `start` tasks and runs until nothing moves. Throws MeshRunError naming a tile and colour on a deadlock, a
   * livelock, an incomplete receive or a wavelet with no route.
   */
  async step(input: { token: number; position: number }): Promise<StepResult> {
    if (this.closed) throw new Error('mesh engine: step() after close()');
    const { token, position } = input;
    if (!Number.isInteger(position) || position < 0 || position >= this.program.maxSeq) {
      throw new InputError(`position ${position} is outside the KV cache`, 'step', `use 0 ≤ position < maxSeq (${this.program.maxSeq})`);
    }
    if (!Number.isInteger(token) || token < 0 || token > 0x7fffffff) throw new InputError(`token ${token} is not a token id`, 'step', 'give a non-negative integer');
    this.position = position;
    if (this.strips > 0) return this.stepStrips({ token, position, now: this.now });
    this.beginStep(token);
    const start = this.now;
    await this.run();
    // Deliveries after a tile's last task still belong in its SRAM.
    for (let k = 0; k < this.nProg; k++) if (this.runs[k].length > 0) this.addJob(k, -1, 0);
    await this.settle();
    const outputs = new Map<string, Float32Array>();
    for (const [name, { at, n }] of this.outputsAt) outputs.set(name, this.stageF32.slice(at, at + n));
    const cycles = this.lastActivity - start;
    this.now = this.lastActivity;
    this.totalCycles += cycles;
    this.steps++;
    return { cycles, outputs };
  }

  /** A step of the parallel mesh: strip 0 here, the others on their threads; then their reports merged. */
  private async stepStrips(req: StripStepRequest): Promise<StepResult> {
    const pending = this.stripPool ? this.stripPool.step(req) : Promise.resolve([]);
    const traceFrom = this.traceEvents.length;
    const own = this.stripStep(req);
    const others = await pending;
    this.others = others;
    const reports = [own, ...others];
    this.throwFailure(reports);
    const q = reports.map((r) => r.quiescence!);
    const stuck = q.flatMap((x) => x.stuck).sort((a, b) => a.vc - b.vc).slice(0, 4);
    const firstOf = (tile: (x: Quiescence) => number) => q.filter((x) => tile(x) >= 0).sort((a, b) => tile(a) - tile(b))[0];
    const blocked = firstOf((x) => x.blockedTile);
    const incomplete = firstOf((x) => x.incompleteTile * this.C + x.incompleteColour);
    this.now = Math.max(...reports.map((r) => r.lastActivity));
    const e = this.quiescenceError({
      queued: q.reduce((a, x) => a + x.queued, 0),
      outbound: q.reduce((a, x) => a + x.outbound, 0),
      stuck,
      blockedTile: blocked?.blockedTile ?? -1,
      blockedColour: blocked?.blockedColour ?? -1,
      incompleteTile: incomplete?.incompleteTile ?? -1,
      incompleteColour: incomplete?.incompleteColour ?? -1,
      incompleteGot: incomplete?.incompleteGot ?? 0,
    });
    if (e) throw e;
    if (this.trace) {
      const events: StripTraceEvent[] = reports.flatMap((r) => r.trace);
      events.sort((a, b) => a.endCycle - b.endCycle || a.k - b.k);
      this.traceEvents.length = traceFrom;
      for (const { k: _k, ...ev } of events) this.traceEvents.push(ev);
    }
    const outputs = new Map<string, Float32Array>();
    for (const r of reports) for (const [name, at, n] of r.outputs) outputs.set(name, this.stageF32.slice(at, at + n));
    const cycles = this.now - req.now;
    this.totalCycles += cycles;
    this.steps++;
    return { cycles, outputs };
  }

  /** Throws the failure of the lowest strip that failed (an error before a livelock; livelock names the first stuck VC). */
  private throwFailure(reports: StripReport[]): void {
    const f = reports.map((r) => r.failure).filter((x): x is StripFailure => x !== null && x.kind !== 'aborted');
    // Strips run apart between barriers, so two may fail in one window: the earlier cycle is the one a single thread meets.
    const err = f.filter((x) => x.kind === 'error').sort((a, b) => a.cycle - b.cycle)[0];
    if (err) throw err.name === 'MeshRunError' ? new MeshRunError(err.message, err.x, err.y, err.colour, err.cycle) : new Error(err.message);
    if (f.length > 0) {
      const stuck = f.map((x) => x.stuck).filter((x): x is StuckVc => x !== null).sort((a, b) => a.vc - b.vc)[0];
      throw this.livelockError(f[0].cycle, stuck);
    }
  }

  /** This strip's part of a step (on whichever thread runs it): run until every strip is idle, report. */
  private stripStep(req: StripStepRequest): StripReport {
    this.now = req.now;
    this.position = req.position;
    const traceFrom = this.traceEvents.length;
    let failure: StripFailure | null = null;
    let quiescence: Quiescence | null = null;
    const ex = this.exchange!;
    ex.resetRounds();
    // Where a failure happened: before the cycle loop, this strip must still meet the others once so that they stop
    // too; in it, runStrip already did; after it, every strip has left the loop.
    let phase: 'before' | 'loop' | 'after' = 'before';
    try {
      this.beginStep(req.token);
      phase = 'loop';
      this.runStrip();
      phase = 'after';
      // Deliveries after a tile's last task still belong in its SRAM.
      for (const k of this.ownProg) if (this.runs[k].length > 0) this.addJob(k, -1, 0);
      quiescence = this.quiescence();
    } catch (e) {
      failure = toFailure(e);
      if (phase === 'before') ex.endRound(Infinity, this.lastProgress, false, true);
      ex.clearIncoming();
    }
    const trace: StripTraceEvent[] = this.traceEvents.slice(traceFrom).map((ev) => ({ k: this.progOfMesh(ev.y * this.W + ev.x), ...ev }));
    if (this.stripIndex > 0) this.traceEvents.length = 0;
    return {
      strip: this.stripIndex,
      lastActivity: this.lastActivity,
      failure,
      quiescence,
      outputs: [...this.outputsAt].map(([name, { at, n }]) => [name, at, n]),
      trace,
      waveletsMoved: this.waveletsMoved,
      waveletHops: this.core.waveletHops,
      fmacOps: this.fmacOps,
      sramReadBytes: this.sramReadBytes,
      tasksRun: this.tasksRun,
      labelBusy: this.labelBusy,
    };
  }

  private beginStep(token: number): void {
    const C = this.C;
    this.tState.fill(T_WAITING);
    this.afterGot.fill(0);
    this.taskJob.fill(-1);
    this.recvGot.fill(0);
    this.recvFirstAt.fill(this.now);
    this.otherDoneAt.fill(this.now);
    this.ceWorkFreeAt.fill(this.now);
    this.ceCredit.fill(0);
    this.core.sinkRoom.fill(0);
    for (let k = 0; k < this.nProg; k++) {
      const r = this.progMesh[k];
      for (let c = 0; c < C; c++) if (this.recvTask[k * C + c] >= 0) this.core.sinkRoom[r * C + c] = this.recvCount[k * C + c];
    }
    this.jobsLen = 0;
    this.jobStart = [];
    this.jobTile = [];
    this.jobCost = [];
    this.executed = 0;
    this.dispatched = 0;
    this.pendingCost = 0;
    this.tileLastJob.fill(-1);
    this.outputsAt.clear();
    this.paused = [];
    // Per-step op costs (attention depends on the position).
    for (const k of this.ownProg) {
      const tile = this.program.tiles[k];
      const ctx = tileOpContext(tile, this.position);
      const tasks = tile.tasks;
      for (let j = 0; j < tasks.length; j++) {
        const ops = tasks[j].ops;
        const at = this.opStart[this.taskBase[k] + j];
        for (let i = 0; i < ops.length; i++) {
          const c = opCost(this.spec, ops[i], ctx);
          this.opCycles[at + i] = c.cycles;
          this.opFmac[at + i] = c.fmacOps;
          this.opRead[at + i] = c.sramReadBytes;
        }
      }
    }
    // Host inputs.
    for (const h of this.program.hostInputs) {
      const k = this.program.tiles.findIndex((t) => t.x === h.x && t.y === h.y);
      if (this.mine[k] === 1) this.arenaI32[this.layout.buffers[k].get(h.buf)!.byte >> 2] = token;
    }
    this.core.resetTransient();
    this.lastActivity = this.now;
    this.lastProgress = this.now;
    for (let g = 0; g < this.nTasks; g++) {
      if (this.gTrig[g] === TRIG_START && this.mine[this.gTile[g]] === 1) {
        this.tState[g] = T_READY;
        this.requestWake(this.gTile[g], this.now);
      }
    }
  }

  private requestWake(k: number, t: number): void {
    if (this.ceState[k] !== CE_IDLE || this.ceWake[k] >= 0) return;
    this.ceWake[k] = t;
    this.heap.push(t, k);
  }

  private async run(): Promise<void> {
    const core = this.core;
    const heap = this.heap;
    const scratch = this.sinkScratch;
    for (;;) {
      const now = this.now;
      core.applyCredits(now);
      const landed = core.land(now, scratch);
      for (let i = 0; i < landed; i++) this.deliver(scratch.codes[i], scratch.data[i], now);
      while (heap.size > 0 && heap.topTime() <= now) {
        const k = heap.pop();
        this.ceWake[k] = -1;
        this.ceRun(k, now);
      }
      if (this.paused.length > 0) {
        await this.settle();
        const list = this.paused;
        this.paused = [];
        for (const k of list) {
          this.ceState[k] = CE_BUSY;
          this.ceRun(k, now);
        }
      }
      if (this.pendingCost >= BATCH_FMACS && this.pool) this.dispatch();
      const pushed = this.feedRamps(now);
      const moved = this.evaluateRouters(now);
      if (landed > 0) this.lastProgress = now;
      if (moved > 0 || pushed > 0 || core.creditsPending > 0 || landed > 0) {
        if (now - this.lastProgress > this.livelockCycles) throw this.livelockError(now, this.core.stuckVcs(1)[0]);
        this.now = now + 1;
        continue;
      }
      const next = Math.min(core.nextLanding(now), heap.topTime());
      if (next === Infinity) break;
      this.now = next;
    }
    const e = this.quiescenceError(this.quiescence());
    if (e) throw e;
  }

  /**
   * The cycle loop of one strip of the parallel mesh: the same phases as run() over this strip's routers and tiles,
   * then a barrier with the other strips (fabric/mesh/strips.ts), after which all agree on the next cycle and on the
   * horizon — the earliest cycle at which any strip may post to another (lookahead.ts). Every cycle up to the horizon
   * runs without a barrier: nothing crosses before it, so no strip misses anything. Jobs run as their tasks start
   * (addJob), so values are never waited for. A failure in any strip stops every strip after the same round.
   */
  private runStrip(): void {
    const ex = this.exchange!;
    for (;;) {
      const start = this.now;
      // A window ends at the horizon, and before a cycle at which the livelock test could fire (that cycle then runs
      // alone, as with a barrier every cycle, so the test sees the same cycles whatever the thread count). Credits
      // returned across a boundary arrive only after the window: that changes nothing unless a strip needs one in it.
      // It needs one only to forward into another strip, which it does at the horizon at the earliest, holding at
      // least depth − occupancy − 1 credits for that VC (occupancy: what the VC holds or has coming; 1: what the
      // feeder sent last round, one wavelet a link). If that may be none, the window stops short of the horizon.
      const credits = this.Q - ex.maxOccupancy - 1;
      let limit = Math.min(ex.horizon, ex.lastProgress + this.livelockCycles);
      if (credits < 1) limit = Math.min(limit, ex.horizon - 1);
      limit = Math.max(start, limit);
      let next = Infinity;
      let active = false;
      let horizon = -Infinity;
      let error: unknown = null;
      try {
        ex.receive(this.onWavelet, this.onCredit);
        for (;;) {
          active = this.stripCycle(this.now);
          next = active ? this.now + 1 : Math.min(this.core.nextLanding(this.now), this.heap.topTime());
          if (ex.postedWavelets > 0 && this.now < ex.horizon) throw new Error(`mesh engine: strip ${this.stripIndex} posted at cycle ${this.now}, before the agreed horizon ${ex.horizon} (a lookahead bound is wrong)`);
          if (next > limit) break;
          this.now = next;
        }
        horizon = this.postHorizon(this.now);
        this.core.postBound = Infinity;
      } catch (e) {
        error = e;
      }
      ex.endRound(next, this.lastProgress, active, error !== null, horizon, this.core.maxCrossOccupancy());
      if (error !== null) throw error;
      if (ex.anyAbort) throw new StripStop({ kind: 'aborted', name: 'Error', message: 'another strip failed', x: -1, y: -1, colour: -1, cycle: start, stuck: null });
      if (ex.anyActive && start - ex.lastProgress > this.livelockCycles) {
        throw new StripStop({ kind: 'livelock', name: 'MeshRunError', message: '', x: -1, y: -1, colour: -1, cycle: start, stuck: this.core.stuckVcs(1)[0] ?? null });
      }
      if (ex.next === Infinity) break;
      this.now = ex.next;
    }
  }

  /** One cycle of this strip (the phases of run()); true when anything moved or was posted (the next cycle runs). */
  private stripCycle(now: number): boolean {
    const core = this.core;
    const heap = this.heap;
    const scratch = this.sinkScratch;
    core.applyCredits(now);
    const landed = core.land(now, scratch);
    for (let i = 0; i < landed; i++) this.deliver(scratch.codes[i], scratch.data[i], now);
    while (heap.size > 0 && heap.topTime() <= now) {
      const k = heap.pop();
      this.ceWake[k] = -1;
      this.ceRun(k, now);
    }
    const pushed = this.feedRamps(now);
    const moved = this.evaluateRouters(now);
    if (landed > 0) this.lastProgress = now;
    return moved > 0 || pushed > 0 || core.creditsPending > 0 || landed > 0 || this.exchange!.posted > 0;
  }

  /**
   * The earliest cycle after `now` at which this strip may post to another, given that nothing reaches it from the
   * others before then: its queued and in-flight wavelets, what it posted this round, and what its CEs may send.
   */
  private postHorizon(now: number): number {
    if (this.strips < 2) return Infinity;
    let h = this.core.earliestPost(now);
    if (this.heap.size > 0) h = Math.min(h, this.heap.topTime() + this.minSend);
    if (this.sendN > 0) h = Math.min(h, now + 1 + this.minSend);
    return h;
  }

  /** Send engines: one wavelet per tile per cycle into the router's ramp input, as credits allow. Returns how many. */
  private feedRamps(now: number): number {
    if (this.sendN === 0) return 0;
    const core = this.core;
    const C = this.C;
    let pushed = 0;
    let keep = 0;
    const list = this.sendList;
    for (let i = 0; i < this.sendN; i++) {
      const k = list[i];
      const slot = k * this.obRing + this.obHead[k];
      const v = this.rampVc[k * C + this.obColour[slot]];
      const gate = this.obGate[slot];
      if (core.credits[v] > 0 && (gate < 0 || (this.forwardable(gate, this.obNeed[slot], now) && now >= this.obNextAt[slot]))) {
        core.inject(now, v, this.obStage[slot], 0);
        pushed++;
        this.obNeed[slot]++;
        if (gate >= 0) this.obNextAt[slot] = Math.max(this.obNextAt[slot], now) + this.obPace[slot];
        this.obStage[slot]++;
        this.obOcc[k]--;
        if (--this.obLeft[slot] === 0) {
          this.obHead[k] = (this.obHead[k] + 1) % this.obRing;
          this.obN[k]--;
        }
        if (this.ceState[k] === CE_STALLED && this.obOcc[k] <= this.Q) {
          this.stalled[this.progMesh[k]] += now + 1 - this.stallStart[k];
          this.ceState[k] = CE_BUSY;
          this.ceWake[k] = now + 1;
          this.heap.push(now + 1, k);
        }
      }
      if (this.obOcc[k] > 0) list[keep++] = k;
      else this.inSend[k] = 0;
    }
    this.sendN = keep;
    this.waveletsMoved += pushed;
    return pushed;
  }

  /**
   * Whether a forwarding send's next wavelet, which needs `need` wavelets of receive `key`, may leave at `now`: the
   * last of those landed before this cycle (it was merged in the cycle it landed). A receive's wavelets land at most
   * one a cycle (its ramp), so with more landed the needed one is at least a cycle old.
   */
  private forwardable(key: number, need: number, now: number): boolean {
    const got = this.recvGot[key];
    return got > need || (got === need && this.recvLastAt[key] < now);
  }

  /**
   * A forwarding task's merges' cycles per received element (cost.ts forwardPace): its sends' wavelets leave no
   * faster than its streamed ops take the elements in.
   */
  private forwardPace(g: number, count: number): number {
    let cycles = 0;
    for (let i = 0; i < this.gStreamOps[g]; i++) cycles += this.opCycles[this.opStart[g] + i];
    return forwardPace(this.spec, cycles, this.gStreamOps[g], count);
  }

  /** The routers arbitrate and forward; a wavelet with no route becomes a MeshRunError naming its tile. */
  private evaluateRouters(now: number): number {
    try {
      return this.core.evaluate(now);
    } catch (e) {
      if (e instanceof NoRouteError) {
        const x = e.tile % this.W;
        const y = Math.floor(e.tile / this.W);
        throw new MeshRunError(`wavelet of colour ${e.cls} at tile (${x},${y}) arriving from ${PORT_NAMES[e.port]} has no route (${e.message}) at cycle ${now}`, x, y, e.cls, now);
      }
      throw e;
    }
  }

  private livelockError(now: number, s: StuckVc | undefined): MeshRunError {
    const x = s ? s.tile % this.W : -1;
    const y = s ? Math.floor(s.tile / this.W) : -1;
    return new MeshRunError(
      `livelock: wavelets kept moving for ${this.livelockCycles} cycles without reaching a CE or a task starting (e.g. colour ${s?.cls} at tile (${x},${y})) at cycle ${now}; a colour route probably loops`,
      x,
      y,
      s ? s.cls : -1,
      now,
    );
  }

  /** What is left in this engine's tiles and routers at the end of a step. */
  private quiescence(): Quiescence {
    const q: Quiescence = { queued: this.core.queuedWavelets(), outbound: 0, stuck: this.core.stuckVcs(4), blockedTile: -1, blockedColour: -1, incompleteTile: -1, incompleteColour: -1, incompleteGot: 0 };
    for (const k of this.ownProg) {
      q.outbound += this.obOcc[k];
      if (this.obOcc[k] > 0 && q.blockedTile < 0) {
        q.blockedTile = k;
        q.blockedColour = this.obColour[k * this.obRing + this.obHead[k]];
      }
      for (let c = 0; c < this.C && q.incompleteTile < 0; c++) {
        const got = this.recvGot[k * this.C + c];
        if (got > 0 && got < this.recvCount[k * this.C + c]) {
          q.incompleteTile = k;
          q.incompleteColour = c;
          q.incompleteGot = got;
        }
      }
    }
    return q;
  }

  /** A deadlock (wavelets left) or an incomplete receive, from the whole mesh's quiescence; null when clean. */
  private quiescenceError(q: Quiescence): MeshRunError | null {
    if (q.queued > 0 || q.outbound > 0) {
      const where = q.stuck.map((s) => `tile (${s.tile % this.W},${Math.floor(s.tile / this.W)}) colour ${s.cls} from ${PORT_NAMES[s.port]} (${s.count} queued)`).join('; ');
      const s0 = q.stuck[0];
      let x = s0 ? s0.tile % this.W : -1;
      let y = s0 ? Math.floor(s0.tile / this.W) : -1;
      let colour = s0 ? s0.cls : -1;
      let extra = '';
      if (!s0) {
        x = this.program.tiles[q.blockedTile].x;
        y = this.program.tiles[q.blockedTile].y;
        colour = q.blockedColour;
        extra = `tile (${x},${y}) cannot send colour ${colour}`;
      }
      return new MeshRunError(
        `deadlock at cycle ${this.now}: ${q.queued} wavelets stuck in routers and ${q.outbound} in send queues — ${where || extra}. ` +
          'A colour route may form a cycle, or more wavelets arrive than a recv trigger counts.',
        x,
        y,
        colour,
        this.now,
      );
    }
    if (q.incompleteTile >= 0) {
      const t = this.program.tiles[q.incompleteTile];
      const c = q.incompleteColour;
      const want = this.recvCount[q.incompleteTile * this.C + c];
      return new MeshRunError(`tile (${t.x},${t.y}) received ${q.incompleteGot} of ${want} wavelets on colour ${c} by the end of the step (cycle ${this.now})`, t.x, t.y, c, this.now);
    }
    return null;
  }

  /** A wavelet reaches a CE through the ramp: it is written into the recv slice (arrival order). */
  private deliver(code: number, data: number, now: number): void {
    const idx = -1 - code;
    const C = this.C;
    const r = Math.floor(idx / C);
    const c = idx - r * C;
    const k = this.program.tiles.length > 0 ? this.progOfMesh(r) : -1;
    const key = k * C + c;
    const g = this.recvTask[key];
    const got = this.recvGot[key]++;
    this.recvLastAt[key] = now;
    if (got === 0) this.recvFirstAt[g] = now;
    const dst = this.recvIntoWord[key] + got;
    if (this.hasForwarding && this.fwdWord[data] === 1) holdRun(this.held[k], key, data, dst);
    else addRun(this.runs[k], data, dst);
    this.lastActivity = now;
    const f = this.gFwdBy[g];
    // A forwarding task waits for its stream's first wavelet, not its last (Task.forwards).
    if (got === 0 && f >= 0 && this.tState[f] === T_WAITING && ++this.afterGot[f] === this.gAfterNeed[f]) {
      this.tState[f] = T_READY;
      this.requestWake(k, now);
    }
    if (got + 1 === this.recvCount[key]) {
      this.tState[g] = T_READY;
      this.lastProgress = now;
      if (this.held[k].length > 0) this.releaseHeld(k, key);
      if (f >= 0 && this.tState[f] === T_STARTED) this.streamDone(k, f, now);
      this.requestWake(k, now);
    }
  }

  /** Forwarding task f's stream is in: its job can run (its ops see the whole slice), and its CE may end it a cycle on. */
  private streamDone(k: number, f: number, now: number): void {
    if (this.taskJob[f] < 0) this.taskJob[f] = this.addJob(k, this.gLocal[f], this.stageOf[f]);
    if (this.ceTask[k] === f && this.ceState[k] === CE_WAITSTREAM) {
      this.stalled[this.progMesh[k]] += now + 1 - this.stallStart[k];
      this.ceState[k] = CE_BUSY;
      this.ceWake[k] = now + 1;
      this.heap.push(now + 1, k);
    }
  }

  /** Moves the held deliveries of receive `key` into tile k's runs (the receive is complete). */
  private releaseHeld(k: number, key: number): void {
    const h = this.held[k];
    let keep = 0;
    for (let i = 0; i < h.length; i += 4) {
      if (h[i] === key) {
        for (let w = 0; w < h[i + 3]; w++) addRun(this.runs[k], h[i + 1] + w, h[i + 2] + w);
      } else {
        for (let q = 0; q < 4; q++) h[keep + q] = h[i + q];
        keep += 4;
      }
    }
    h.length = keep;
  }

  private progOfCache: Int32Array | null = null;
  private progOfMesh(r: number): number {
    if (this.progOfCache === null) {
      this.progOfCache = new Int32Array(this.W * this.H).fill(-1);
      for (let k = 0; k < this.nProg; k++) this.progOfCache[this.progMesh[k]] = k;
    }
    return this.progOfCache[r];
  }

  /** Advances tile k's CE at cycle `now` as far as it can go without time passing. */
  private ceRun(k: number, now: number): void {
    const st = this.ceState[k];
    if (st === CE_STALLED || st === CE_PAUSED || st === CE_WAITSTREAM) return;
    const r = this.progMesh[k];
    for (;;) {
      const g = this.ceTask[k];
      if (g >= 0) {
        if (this.cePostSend[k] === 1) {
          this.cePostSend[k] = 0;
          if (this.obOcc[k] > this.Q) {
            this.ceState[k] = CE_STALLED;
            this.stallStart[k] = now;
            return;
          }
        }
        const j = this.ceOp[k];
        const op = this.opStart[g] + j;
        if (op < this.opStart[g + 1]) {
          const kind = this.opKind[op];
          if ((kind === K_DISPATCH || kind === K_EMBED) && this.taskJob[g] >= this.executed) {
            // Its values are not computed yet: pause here, wait for the jobs, then resume at the same cycle.
            this.ceState[k] = CE_PAUSED;
            this.paused.push(k);
            return;
          }
          this.ceOp[k] = j + 1;
          if (kind === K_SEND) this.enqueueSend(k, this.opColour[op], this.taskStage[g] + this.opStageOff[op], this.opLen[op], this.gFwd[g] === 1 ? this.gRecvKey[this.gStreams[g]] : -1, now);
          else if (kind !== K_COMPUTE && kind !== K_OUTPUT) this.issueSends(k, g, j);
          let cost = this.opCycles[op];
          if (this.ceCredit[k] > 0) {
            // A piecewise receive: its ops up to the first send overlapped the arrival (cost.ts streamedOpCycles).
            if (j < this.gStreamOps[g]) {
              const charged = streamedOpCycles(this.spec, cost, this.ceCredit[k]);
              this.ceCredit[k] -= cost - charged;
              cost = charged;
            } else this.ceCredit[k] = 0;
          }
          this.busy[r] += cost;
          this.labelBusy[this.gLabel[g]] += cost;
          this.fmacOps += this.opFmac[op];
          this.sramReadBytes += this.opRead[op];
          if (kind !== K_COMPUTE && kind !== K_OUTPUT) this.cePostSend[k] = 1;
          if (cost > 0) {
            this.ceState[k] = CE_BUSY;
            this.ceWake[k] = now + cost;
            this.heap.push(now + cost, k);
            return;
          }
          continue;
        }
        if (this.gFwd[g] === 1 && this.waitStream(k, g, now)) return;
        this.finishTask(k, g, now);
      }
      const next = this.pickReady(k);
      if (next < 0) {
        this.ceState[k] = CE_IDLE;
        return;
      }
      this.startTask(k, next, now);
      const cost = this.spec.taskStartCycles;
      this.busy[r] += cost;
      this.labelBusy[this.gLabel[next]] += cost;
      if (cost > 0) {
        this.ceState[k] = CE_BUSY;
        this.ceWake[k] = now + cost;
        this.heap.push(now + cost, k);
        return;
      }
    }
  }

  /**
   * A forwarding task ends no earlier than a cycle after its stream's last wavelet (the add of its last element):
   * true when its CE must wait (woken by deliver's streamDone, or next cycle).
   */
  private waitStream(k: number, g: number, now: number): boolean {
    const key = this.gRecvKey[this.gStreams[g]];
    if (this.recvGot[key] < this.recvCount[key]) {
      this.ceState[k] = CE_WAITSTREAM;
      this.stallStart[k] = now;
      return true;
    }
    if (this.recvLastAt[key] < now) return false;
    this.ceState[k] = CE_BUSY;
    this.ceWake[k] = now + 1;
    this.heap.push(now + 1, k);
    return true;
  }

  private pickReady(k: number): number {
    const order = this.taskOrder;
    for (let i = this.taskBase[k]; i < this.taskBase[k + 1]; i++) {
      const g = order[i];
      if (this.tState[g] === T_READY) return g;
    }
    return -1;
  }

  private startTask(k: number, g: number, now: number): void {
    this.tState[g] = T_STARTED;
    this.ceTask[k] = g;
    this.ceOp[k] = 0;
    this.cePostSend[k] = 0;
    this.taskStartAt[g] = now;
    const from = this.gStreams[g];
    // A forwarding task runs its streamed ops as the wavelets land: each costs its setup and last element here.
    if (this.gFwd[g] === 1) this.ceCredit[k] = Infinity;
    else this.ceCredit[k] = from >= 0 && this.gStreamOps[g] > 0 ? Math.max(0, now - Math.max(this.recvFirstAt[from], this.otherDoneAt[g], this.ceWorkFreeAt[k])) : 0;
    this.lastProgress = now;
    this.lastActivity = now;
    this.tasksRun++;
    const j = this.gLocal[g];
    this.taskStage[g] = this.stageOf[g];
    // A forwarding task's job waits for its whole stream (streamDone), so its ops see every wavelet.
    const key = this.gFwd[g] === 1 ? this.gRecvKey[from] : -1;
    if (key < 0 || this.recvGot[key] === this.recvCount[key]) this.taskJob[g] = this.addJob(k, j, this.stageOf[g]);
    if (this.gHasOutput[g] === 1) {
      const offs = this.layout.stageOffsets[k][j];
      this.program.tiles[k].tasks[j].ops.forEach((op, i) => {
        if (op.op === 'output') this.outputsAt.set(op.name, { at: this.taskStage[g] + offs[i], n: op.src.length });
      });
    }
  }

  private finishTask(k: number, g: number, now: number): void {
    this.ceTask[k] = -1;
    this.ceCredit[k] = 0;
    if (this.opStart[g + 1] > this.opStart[g]) this.ceWorkFreeAt[k] = now;
    this.lastActivity = now;
    this.lastProgress = now;
    if (this.trace) {
      const t = this.program.tiles[k];
      const task = t.tasks[this.gLocal[g]];
      this.traceEvents.push({ x: t.x, y: t.y, task: task.id, label: task.label ?? '', startCycle: this.taskStartAt[g], endCycle: now });
    }
    for (let i = this.gDepStart[g]; i < this.gDepStart[g + 1]; i++) {
      const d = this.gDeps[i];
      if (this.gStreams[d] !== g && now > this.otherDoneAt[d]) this.otherDoneAt[d] = now;
      // A forwarding task counted its stream's recv task at the stream's first wavelet (deliver).
      if (this.gFwd[d] === 1 && this.gStreams[d] === g) continue;
      if (this.tState[d] === T_WAITING && ++this.afterGot[d] === this.gAfterNeed[d]) this.tState[d] = T_READY;
    }
  }

  /** Queues the wavelets of a dispatch or embed (op j of task g; payload words in the staging area). Sends go straight from the columns. */
  private issueSends(k: number, g: number, j: number): void {
    const t = this.program.tiles[k].tasks[this.gLocal[g]];
    const op = t.ops[j];
    const at = this.taskStage[g] + this.opStageOff[this.opStart[g] + j];
    if (op.op === 'send') this.enqueueSend(k, op.colour, at, op.src.length);
    else if (op.op === 'dispatch') {
      const n = op.indices.length;
      for (let i = 0; i < n; i++) {
        const e = this.stageI32[at + i];
        if (e < 0 || e >= op.colours.length || op.colours[e] < 0) {
          const tile = this.program.tiles[k];
          const why = op.colours[e] < 0 ? 'which the program holds as a reserved span (no tiles of its own)' : `but only ${op.colours.length} colours are listed`;
          throw new MeshRunError(`dispatch at tile (${tile.x},${tile.y}) task ${t.id} selected expert ${e}, ${why}`, tile.x, tile.y, -1, this.now);
        }
        this.enqueueSend(k, op.colours[e], at + n, op.src.length);
      }
    } else if (op.op === 'embed') {
      // Staged as a flag then the row.
      if (this.stageI32[at] === 1) {
        for (let s = 0; s < op.colours.length; s++) {
          const { col, length } = embedSlice(op, s);
          this.enqueueSend(k, op.colours[s], at + 1 + col, length);
        }
      }
    }
  }

  private enqueueSend(k: number, colour: number, stage: number, n: number, gate = -1, now = 0): void {
    if (this.obN[k] === this.obRing) throw new Error('mesh engine: send queue ring overflow');
    const slot = k * this.obRing + ((this.obHead[k] + this.obN[k]) % this.obRing);
    this.obGate[slot] = gate;
    this.obNeed[slot] = 1;
    if (gate >= 0) {
      this.obPace[slot] = this.forwardPace(this.ceTask[k], this.recvCount[gate]);
      this.obNextAt[slot] = now;
    }
    this.obColour[slot] = colour;
    this.obStage[slot] = stage;
    this.obLeft[slot] = n;
    this.obN[k]++;
    this.obOcc[k] += n;
    if (this.inSend[k] === 0) {
      this.inSend[k] = 1;
      this.sendList[this.sendN++] = k;
    }
  }

  /** Appends a job (task j of program tile k, or -1 for deliveries only) with the tile's pending deliveries. */
  private addJob(k: number, j: number, stageBase: number): number {
    const runs = this.runs[k];
    const idx = this.jobStart.length;
    // Dependencies: the tile's previous job, and every job whose staged payloads this one receives.
    // (None in strip mode: jobs run there as they are logged, after everything they read.)
    const deps = this.depScratch;
    deps.length = 0;
    if (this.strips === 0) {
      if (this.tileLastJob[k] >= 0) deps.push(this.tileLastJob[k]);
      for (let q = 0; q < runs.length; q += 3) {
        const s = this.senderJob(runs[q]);
        if (!deps.includes(s)) deps.push(s);
      }
    }
    const need = JOB_HEADER + deps.length + runs.length;
    if (this.jobsLen + need > this.jobs.length) {
      const bigger = new Int32Array(Math.max(this.jobs.length * 2, this.jobsLen + need));
      bigger.set(this.jobs.subarray(0, this.jobsLen));
      this.jobs = bigger;
    }
    const at = this.jobsLen;
    const jobs = this.jobs;
    jobs[at] = idx;
    jobs[at + 1] = k;
    jobs[at + 2] = j;
    jobs[at + 3] = stageBase;
    jobs[at + 4] = runs.length / 3;
    jobs[at + 5] = deps.length;
    for (let i = 0; i < deps.length; i++) jobs[at + JOB_HEADER + i] = deps[i];
    const r0 = at + JOB_HEADER + deps.length;
    for (let i = 0; i < runs.length; i++) jobs[r0 + i] = runs[i];
    let cost = 1 + runs.length;
    runs.length = 0;
    this.jobsLen = at + need;
    this.jobStart.push(at);
    this.jobTile.push(k);
    this.tileLastJob[k] = idx;
    if (j >= 0) {
      const g = this.taskBase[k] + j;
      for (let i = this.opStart[g]; i < this.opStart[g + 1]; i++) cost += this.opFmac[i];
    }
    this.jobCost.push(cost);
    if (this.strips > 0) {
      // A task's ops see its tile's SRAM as of its start, and its sends capture their payloads then: run it now. What
      // it reads was written by jobs of earlier cycles (a wavelet takes ≥ 1 cycle), in this thread or before a barrier.
      this.executor.runJobs(this.jobs, at, this.jobsLen, this.position);
      this.executed = idx + 1;
      return idx;
    }
    this.pendingCost += cost;
    return idx;
  }

  /** Sends the jobs not yet sent to the workers, in contiguous runs of about equal estimated work (no waiting). */
  private dispatch(): void {
    const from = this.dispatched;
    const to = this.jobStart.length;
    this.pendingCost = 0;
    if (from === to || !this.pool) return;
    this.dispatched = to;
    let total = 0;
    for (let i = from; i < to; i++) total += this.jobCost[i];
    const parts = Math.min(this.workers, to - from);
    let first = from;
    let acc = 0;
    let made = 0;
    for (let i = from; i < to; i++) {
      acc += this.jobCost[i];
      const last = i === to - 1;
      if (last || (acc >= (total * (made + 1)) / parts && made < parts - 1)) {
        const a = this.jobStart[first];
        const b = last ? this.jobsLen : this.jobStart[i + 1];
        const batch: WorkerBatch = { jobs: this.jobs.slice(a, b), position: this.position, staging: this.staging, done: this.doneFlags, epoch: this.steps + 1, abortAt: this.abortAt };
        this.inflight.push(
          this.pool.run(batch).catch((e: unknown) => {
            // Release the other workers from their waits, then report.
            Atomics.store(this.doneView, this.abortAt, 1);
            throw e;
          }),
        );
        made++;
        first = i + 1;
      }
    }
  }

  /** Runs or waits for every job logged so far: after this, SRAM and staging hold all their results. */
  private async settle(): Promise<void> {
    const to = this.jobStart.length;
    if (!this.pool) {
      if (this.executed < to) this.executor.runJobs(this.jobs, this.jobStart[this.executed], this.jobsLen, this.position);
      this.executed = to;
      return;
    }
    this.dispatch();
    const list = this.inflight;
    this.inflight = [];
    await Promise.all(list);
    this.executed = to;
  }

  /** The job whose staging range holds word `src`. */
  private senderJob(src: number): number {
    return this.taskJob[this.senderTask(src)];
  }

  /** The task whose staged payload holds word `src`. */
  private senderTask(src: number): number {
    const b = this.stagers;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.stageOf[b[mid]] <= src) lo = mid;
      else hi = mid - 1;
    }
    return b[lo];
  }

  /** A copy of buffer `buf` of tile (x, y), typed by its dtype. */
  readBuffer(x: number, y: number, buf: string): Float32Array | Int32Array | Uint16Array | Int8Array {
    const k = this.program.tiles.findIndex((t) => t.x === x && t.y === y);
    if (k < 0) throw new InputError(`tile (${x},${y}) has no program`, 'readBuffer', 'name a tile of the program');
    const l = this.layout.buffers[k].get(buf);
    if (!l) throw new InputError(`tile (${x},${y}) has no buffer "${buf}"`, 'readBuffer', `use one of ${[...this.layout.buffers[k].keys()].join(', ')}`);
    switch (l.dtype) {
      case 'f32':
        return new Float32Array(this.memory.buffer, l.byte, l.length).slice();
      case 'i32':
        return new Int32Array(this.memory.buffer, l.byte, l.length).slice();
      case 'bf16':
      case 'f16':
        return new Uint16Array(this.memory.buffer, l.byte, l.length).slice();
      case 'int8':
        return new Int8Array(this.memory.buffer, l.byte, l.length).slice();
    }
  }

  stats(): MeshStats {
    const tiles = this.W * this.H;
    const idle = new Float64Array(tiles);
    const sram = new Float64Array(tiles);
    this.program.tiles.forEach((t, k) => {
      const r = this.progMesh[k];
      idle[r] = Math.max(0, this.totalCycles - this.busy[r] - this.stalled[r]);
      let s = 0;
      for (const b of t.buffers) s += Math.ceil((b.length * dtypeBytes(b.dtype)) / 4) * 4;
      sram[r] = s;
    });
    for (let r = 0; r < tiles; r++) if (this.progOfMesh(r) < 0) idle[r] = this.totalCycles;
    // The other strips' counters (the per-tile ones are shared, so already complete).
    const sum = (f: (r: StripReport) => number) => this.others.reduce((a, r) => a + f(r), 0);
    const labels = new Map<string, number>();
    this.labels.forEach((l, i) => labels.set(l, this.labelBusy[i] + sum((r) => r.labelBusy[i])));
    return {
      cycles: this.totalCycles,
      steps: this.steps,
      widthTiles: this.W,
      heightTiles: this.H,
      tileBusyCycles: this.busy.slice(),
      tileStalledCycles: this.stalled.slice(),
      tileIdleCycles: idle,
      tileSramBytes: sram,
      linkWavelets: this.core.linkWavelets.slice(),
      waveletsMoved: this.waveletsMoved + sum((r) => r.waveletsMoved),
      waveletHops: this.core.waveletHops + sum((r) => r.waveletHops),
      fmacOps: this.fmacOps + sum((r) => r.fmacOps),
      sramReadBytes: this.sramReadBytes + sum((r) => r.sramReadBytes),
      tasksRun: this.tasksRun + sum((r) => r.tasksRun),
      taskLabelBusyCycles: labels,
    };
  }

  /** Task start/end events recorded with `trace: true` (empty otherwise). */
  traceLog(): readonly TraceEvent[] {
    return this.traceEvents;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pool) await this.pool.destroy();
    if (this.stripPool) await this.stripPool.destroy();
  }
}
