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
//
// CE model (per tile): the task picker starts the lowest-id ready task when the CE is idle; a task costs
// spec.taskStartCycles, then each op its opCycles (cost.ts). A send (also dispatch, embed) puts its wavelets in the
// tile's outbound queue when the op starts, costs spec.costs.sendIssueCycles, and the CE then waits while more than
// spec.queueDepthWavelets wavelets are queued (a stall). The queue feeds the router's ramp input, one wavelet per
// cycle, as credits allow. Receiving needs no CE time: the ramp writes each arriving wavelet into the recv trigger's
// slice (the SRAM write port, assumed free); when `count` have arrived the task is ready (that same cycle).
import { WasmKernels, createKernelMemory } from '../../kernels/wasmKernels.js';
import { InputError } from '../errors.js';
import type { FabricSpec } from '../spec/schema.js';
import type { FaultMap } from '../faults/faultMap.js';
import { OPPOSITE_PORT, neighbour, portIndex } from '../geometry.js';
import { validateProgram } from '../isa/validate.js';
import { dtypeBytes } from '../isa/sram.js';
import { embedSlice, type BufferDecl, type BufferInit, type Program } from '../isa/types.js';
import { opCost, tileOpContext } from './cost.js';
import { FunctionalExecutor, JOB_HEADER } from './functional.js';
import { layoutArena, type ArenaLayout } from './plan.js';
import { TRIG_START, flattenTasks } from './taskGraph.js';
import { NO_ROUTE, NoRouteError, RouterCore, SINK, newSinkScratch, type SinkScratch } from './router.js';
import { canShareMemory, stepBuffer, type JobPool, type JobPoolFactory, type WorkerBatch } from './pool.js';

/** Raw bytes of a buffer's initial contents, in decl.dtype (length × dtype size bytes). */
export interface WeightProvider {
  (init: BufferInit, decl: BufferDecl): Uint8Array;
}

export interface MeshOptions {
  /** Worker threads for the numeric work; 0 = inline on the main thread (default). */
  workers?: number;
  /** Makes the worker pool when workers > 0 (Node: src/workers/meshPool.ts piscinaJobPool). */
  pool?: JobPoolFactory;
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

const CE_IDLE = 0;
const CE_BUSY = 1;
const CE_STALLED = 2;
const CE_PAUSED = 3;

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

/** Min-heap of (time, id) pairs, ties by id, in a Float64Array (key = time·2^21 + id). */
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
  private readonly taskOrder: Int32Array[]; // program tile -> global tasks sorted by id
  private readonly nTasks: number;
  private readonly gTile: Int32Array;
  private readonly gLocal: Int32Array;
  private readonly gTrig: Uint8Array;
  private readonly gAfterNeed: Int32Array;
  private readonly gDepStart: Int32Array;
  private readonly gDeps: Int32Array;
  private readonly gLabel: Int32Array;
  private readonly gNeedsValues: Uint8Array;
  private readonly labels: string[];
  private readonly opKind: Uint8Array[]; // per global task, per op
  private opCycles: Int32Array[] = [];
  private opFmac: Float64Array[] = [];
  private opRead: Float64Array[] = [];
  private readonly rampVc: Int32Array; // program tile*C + colour -> ramp-input VC, -1
  private readonly recvTask: Int32Array; // program tile*C + colour -> global task, -1
  private readonly recvCount: Int32Array;
  private readonly recvIntoWord: Int32Array;
  private readonly recvGot: Int32Array;

  // Per-step task state.
  private readonly tState: Uint8Array;
  private readonly afterGot: Int32Array;
  private readonly taskStartAt: Float64Array;
  private readonly taskJob: Int32Array;
  private readonly taskStage: Int32Array;

  // CE state, per program tile.
  private readonly ceState: Uint8Array;
  private readonly ceTask: Int32Array;
  private readonly ceOp: Int32Array;
  private readonly cePostSend: Uint8Array;
  private readonly ceWake: Float64Array;
  private readonly stallStart: Float64Array;
  private readonly heap: WakeHeap;
  private paused: number[] = [];

  // Outbound send queues, per program tile: a ring of descriptors.
  private readonly obRing: number;
  private readonly obColour: Int32Array;
  private readonly obStage: Int32Array;
  private readonly obLeft: Int32Array;
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
  private stageJobBase: number[] = [];
  private stageJobIdx: number[] = [];
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
  private stageCursor = 0;
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

  // Longer than ~150 lines on purpose: it fills the engine's readonly typed tables (routers, tasks, ops, staging),
  // which TypeScript lets only the constructor assign; the task graph itself comes from taskGraph.ts.
  private constructor(
    private readonly spec: FabricSpec,
    private readonly program: Program,
    weights: WeightProvider,
    opts: MeshOptions,
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

    // Arena and weights.
    // Tile SRAM: one arena in a shared WebAssembly.Memory (the wasm kernels compute on it in place, in any thread).
    const size = layoutArena(program).bytes;
    this.memory = createKernelMemory(size + (1 << 20));
    const base = new WasmKernels(this.memory).alloc(size, 64);
    this.layout = layoutArena(program, base);
    this.arenaI32 = new Int32Array(this.memory.buffer);
    const bytes = new Uint8Array(this.memory.buffer);
    progs.forEach((tile, k) => {
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
    this.executor = new FunctionalExecutor(program, this.layout, this.memory);
    // Staging: every task runs at most once per step, so the step's payloads fit in Σ stage words, known now.
    let stageMax = 1;
    for (const words of this.layout.stageWords) for (const w of words) stageMax += w;
    this.staging = stepBuffer(stageMax * 4);
    this.stageI32 = new Int32Array(this.staging);
    this.stageF32 = new Float32Array(this.staging);
    this.executor.setStaging(this.staging);

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
    this.opKind = [];
    this.rampVc = new Int32Array(nProg * C).fill(-1);
    this.recvTask = new Int32Array(nProg * C).fill(-1);
    this.recvCount = new Int32Array(nProg * C);
    this.recvIntoWord = new Int32Array(nProg * C);
    this.recvGot = new Int32Array(nProg * C);
    const labelIds = new Map<string, number>();
    this.labels = [];
    this.taskOrder = [];
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
          this.recvCount[k * C + tr.colour] = tr.count;
          this.recvIntoWord[k * C + tr.colour] = (this.layout.buffers[k].get(tr.into.buf)!.byte >> 2) + tr.into.offset;
        }
        const kinds = new Uint8Array(t.ops.length);
        t.ops.forEach((op, i) => {
          kinds[i] = op.op === 'send' ? K_SEND : op.op === 'dispatch' ? K_DISPATCH : op.op === 'embed' ? K_EMBED : op.op === 'output' ? K_OUTPUT : K_COMPUTE;
          if (op.op === 'dispatch' || op.op === 'embed') this.gNeedsValues[g] = 1;
          if (op.op === 'dispatch') maxFanout = Math.max(maxFanout, op.indices.length);
          if (op.op === 'embed') maxFanout = Math.max(maxFanout, op.colours.length);
        });
        this.opKind.push(kinds);
      });
      const order = tile.tasks.map((t, j) => ({ id: t.id, g: this.taskBase[k] + j })).sort((a, b) => a.id - b.id);
      this.taskOrder.push(Int32Array.from(order.map((o) => o.g)));
    });
    this.labelBusy = new Float64Array(this.labels.length);
    this.tState = new Uint8Array(nT);
    this.afterGot = new Int32Array(nT);
    this.taskStartAt = new Float64Array(nT);
    this.taskJob = new Int32Array(nT).fill(-1);
    this.taskStage = new Int32Array(nT);
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
    this.heap = new WakeHeap(nProg);
    this.obRing = this.Q + maxFanout + 2;
    this.obColour = new Int32Array(nProg * this.obRing);
    this.obStage = new Int32Array(nProg * this.obRing);
    this.obLeft = new Int32Array(nProg * this.obRing);
    this.obHead = new Int32Array(nProg);
    this.obN = new Int32Array(nProg);
    this.obOcc = new Int32Array(nProg);
    this.sendList = new Int32Array(nProg);
    this.inSend = new Uint8Array(nProg);
    this.runs = Array.from({ length: nProg }, () => []);
    this.busy = new Float64Array(tiles);
    this.stalled = new Float64Array(tiles);

    this.pool = this.workers > 0 && opts.pool ? opts.pool({ program, layout: this.layout, memory: this.memory }, this.workers) : null;
  }

  /** Validates the program against the spec (and faults), lays out SRAM, loads the weights, starts the pool. */
  static async create(spec: FabricSpec, program: Program, weights: WeightProvider, opts: MeshOptions = {}): Promise<MeshEngine> {
    const workers = opts.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) throw new InputError(`workers must be a whole number ≥ 0, got ${workers}`, 'mesh options', 'give 0 (inline) or more');
    if (workers > 0 && !opts.pool) throw new InputError(`${workers} workers but no pool to run them`, 'mesh options', 'pass pool (in Node: piscinaJobPool from src/workers/meshPool.ts), or workers: 0');
    if (workers > 0 && !canShareMemory()) throw new InputError('workers need memory shared between threads, which this page does not have', 'mesh options', 'serve the page cross-origin isolated, or run with workers: 0');
    validateProgram(spec, program, opts.faults ?? null);
    const engine = new MeshEngine(spec, program, weights, opts);
    if (engine.pool) {
      // Start every thread now (tsx makes a cold start ~170 ms), so the first step's timing is not skewed.
      await Promise.all(Array.from({ length: workers }, () => engine.pool!.run({ jobs: new Int32Array(0), position: 0, staging: engine.staging, done: null, epoch: 0, abortAt: 0 } satisfies WorkerBatch)));
    }
    return engine;
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

  private beginStep(token: number): void {
    const C = this.C;
    this.tState.fill(T_WAITING);
    this.afterGot.fill(0);
    this.taskJob.fill(-1);
    this.recvGot.fill(0);
    this.core.sinkRoom.fill(0);
    for (let k = 0; k < this.nProg; k++) {
      const r = this.progMesh[k];
      for (let c = 0; c < C; c++) if (this.recvTask[k * C + c] >= 0) this.core.sinkRoom[r * C + c] = this.recvCount[k * C + c];
    }
    this.jobsLen = 0;
    this.jobStart = [];
    this.jobTile = [];
    this.jobCost = [];
    this.stageJobBase = [];
    this.stageJobIdx = [];
    this.executed = 0;
    this.dispatched = 0;
    this.pendingCost = 0;
    this.tileLastJob.fill(-1);
    this.stageCursor = 0;
    this.outputsAt.clear();
    this.paused = [];
    // Per-step op costs (attention depends on the position).
    this.opCycles = [];
    this.opFmac = [];
    this.opRead = [];
    this.program.tiles.forEach((tile, k) => {
      const ctx = tileOpContext(tile, this.position);
      tile.tasks.forEach((t, j) => {
        const g = this.taskBase[k] + j;
        const cyc = new Int32Array(t.ops.length);
        const fm = new Float64Array(t.ops.length);
        const rd = new Float64Array(t.ops.length);
        t.ops.forEach((op, i) => {
          const c = opCost(this.spec, op, ctx);
          cyc[i] = c.cycles;
          fm[i] = c.fmacOps;
          rd[i] = c.sramReadBytes;
        });
        this.opCycles[g] = cyc;
        this.opFmac[g] = fm;
        this.opRead[g] = rd;
      });
    });
    // Host inputs.
    for (const h of this.program.hostInputs) {
      const k = this.program.tiles.findIndex((t) => t.x === h.x && t.y === h.y);
      this.arenaI32[this.layout.buffers[k].get(h.buf)!.byte >> 2] = token;
    }
    this.core.resetTransient();
    this.lastActivity = this.now;
    this.lastProgress = this.now;
    for (let g = 0; g < this.nTasks; g++) {
      if (this.gTrig[g] === TRIG_START) {
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
    const C = this.C;
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
      // Send engines: one wavelet per tile per cycle into the router's ramp input.
      let pushed = 0;
      if (this.sendN > 0) {
        let keep = 0;
        const list = this.sendList;
        for (let i = 0; i < this.sendN; i++) {
          const k = list[i];
          const slot = k * this.obRing + this.obHead[k];
          const v = this.rampVc[k * C + this.obColour[slot]];
          if (core.credits[v] > 0) {
            core.inject(now, v, this.obStage[slot], 0);
            pushed++;
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
              heap.push(now + 1, k);
            }
          }
          if (this.obOcc[k] > 0) list[keep++] = k;
          else this.inSend[k] = 0;
        }
        this.sendN = keep;
        this.waveletsMoved += pushed;
      }
      let moved: number;
      try {
        moved = core.evaluate(now);
      } catch (e) {
        if (e instanceof NoRouteError) {
          const x = e.tile % this.W;
          const y = Math.floor(e.tile / this.W);
          throw new MeshRunError(`wavelet of colour ${e.cls} at tile (${x},${y}) arriving from ${PORT_NAMES[e.port]} has no route (${e.message}) at cycle ${now}`, x, y, e.cls, now);
        }
        throw e;
      }
      if (landed > 0) this.lastProgress = now;
      if (moved > 0 || pushed > 0 || core.creditsPending > 0 || landed > 0) {
        if (now - this.lastProgress > this.livelockCycles) this.livelock(now);
        this.now = now + 1;
        continue;
      }
      const next = Math.min(core.nextLanding(now), heap.topTime());
      if (next === Infinity) break;
      this.now = next;
    }
    this.checkQuiescent();
  }

  private livelock(now: number): never {
    const s = this.core.stuckVcs(1)[0];
    const x = s ? s.tile % this.W : -1;
    const y = s ? Math.floor(s.tile / this.W) : -1;
    throw new MeshRunError(
      `livelock: wavelets kept moving for ${this.livelockCycles} cycles without reaching a CE or a task starting (e.g. colour ${s?.cls} at tile (${x},${y})) at cycle ${now}; a colour route probably loops`,
      x,
      y,
      s ? s.cls : -1,
      now,
    );
  }

  private checkQuiescent(): void {
    const queued = this.core.queuedWavelets();
    let outbound = 0;
    for (let k = 0; k < this.nProg; k++) outbound += this.obOcc[k];
    if (queued > 0 || outbound > 0) {
      const stuck = this.core.stuckVcs(4);
      const where = stuck.map((s) => `tile (${s.tile % this.W},${Math.floor(s.tile / this.W)}) colour ${s.cls} from ${PORT_NAMES[s.port]} (${s.count} queued)`).join('; ');
      const s0 = stuck[0];
      let x = s0 ? s0.tile % this.W : -1;
      let y = s0 ? Math.floor(s0.tile / this.W) : -1;
      let colour = s0 ? s0.cls : -1;
      let extra = '';
      if (!s0) {
        const k = this.obOcc.findIndex((n) => n > 0);
        x = this.program.tiles[k].x;
        y = this.program.tiles[k].y;
        colour = this.obColour[k * this.obRing + this.obHead[k]];
        extra = `tile (${x},${y}) cannot send colour ${colour}`;
      }
      throw new MeshRunError(
        `deadlock at cycle ${this.now}: ${queued} wavelets stuck in routers and ${outbound} in send queues — ${where || extra}. ` +
          'A colour route may form a cycle, or more wavelets arrive than a recv trigger counts.',
        x,
        y,
        colour,
        this.now,
      );
    }
    for (let k = 0; k < this.nProg; k++) {
      for (let c = 0; c < this.C; c++) {
        const got = this.recvGot[k * this.C + c];
        const want = this.recvCount[k * this.C + c];
        if (got > 0 && got < want) {
          const t = this.program.tiles[k];
          throw new MeshRunError(`tile (${t.x},${t.y}) received ${got} of ${want} wavelets on colour ${c} by the end of the step (cycle ${this.now})`, t.x, t.y, c, this.now);
        }
      }
    }
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
    const dst = this.recvIntoWord[key] + got;
    const runs = this.runs[k];
    const n = runs.length;
    if (n > 0 && runs[n - 3] + runs[n - 1] === data && runs[n - 2] + runs[n - 1] === dst) runs[n - 1]++;
    else runs.push(data, dst, 1);
    this.lastActivity = now;
    if (got + 1 === this.recvCount[key]) {
      this.tState[g] = T_READY;
      this.lastProgress = now;
      this.requestWake(k, now);
    }
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
    if (st === CE_STALLED || st === CE_PAUSED) return;
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
        const kinds = this.opKind[g];
        const j = this.ceOp[k];
        if (j < kinds.length) {
          const kind = kinds[j];
          if ((kind === K_DISPATCH || kind === K_EMBED) && this.taskJob[g] >= this.executed) {
            // Its values are not computed yet: pause here, wait for the jobs, then resume at the same cycle.
            this.ceState[k] = CE_PAUSED;
            this.paused.push(k);
            return;
          }
          this.ceOp[k] = j + 1;
          if (kind !== K_COMPUTE && kind !== K_OUTPUT) this.issueSends(k, g, j, kind);
          const cost = this.opCycles[g][j];
          this.busy[r] += cost;
          this.labelBusy[this.gLabel[g]] += cost;
          this.fmacOps += this.opFmac[g][j];
          this.sramReadBytes += this.opRead[g][j];
          if (kind !== K_COMPUTE && kind !== K_OUTPUT) this.cePostSend[k] = 1;
          if (cost > 0) {
            this.ceState[k] = CE_BUSY;
            this.ceWake[k] = now + cost;
            this.heap.push(now + cost, k);
            return;
          }
          continue;
        }
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

  private pickReady(k: number): number {
    const order = this.taskOrder[k];
    for (let i = 0; i < order.length; i++) {
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
    this.lastProgress = now;
    this.lastActivity = now;
    this.tasksRun++;
    const j = this.gLocal[g];
    this.taskStage[g] = this.stageCursor;
    this.taskJob[g] = this.addJob(k, j, this.stageCursor);
    this.stageCursor += this.layout.stageWords[k][j];
    const t = this.program.tiles[k].tasks[j];
    const offs = this.layout.stageOffsets[k][j];
    t.ops.forEach((op, i) => {
      if (op.op === 'output') this.outputsAt.set(op.name, { at: this.taskStage[g] + offs[i], n: op.src.length });
    });
  }

  private finishTask(k: number, g: number, now: number): void {
    this.ceTask[k] = -1;
    this.lastActivity = now;
    this.lastProgress = now;
    if (this.trace) {
      const t = this.program.tiles[k];
      const task = t.tasks[this.gLocal[g]];
      this.traceEvents.push({ x: t.x, y: t.y, task: task.id, label: task.label ?? '', startCycle: this.taskStartAt[g], endCycle: now });
    }
    for (let i = this.gDepStart[g]; i < this.gDepStart[g + 1]; i++) {
      const d = this.gDeps[i];
      if (this.tState[d] === T_WAITING && ++this.afterGot[d] === this.gAfterNeed[d]) this.tState[d] = T_READY;
    }
  }

  /** Queues the wavelets of send-like op j of task g (payload words in the staging area). */
  private issueSends(k: number, g: number, j: number, kind: number): void {
    const t = this.program.tiles[k].tasks[this.gLocal[g]];
    const op = t.ops[j];
    const at = this.taskStage[g] + this.layout.stageOffsets[k][this.gLocal[g]][j];
    if (op.op === 'send') this.enqueueSend(k, op.colour, at, op.src.length);
    else if (op.op === 'dispatch') {
      const n = op.indices.length;
      for (let i = 0; i < n; i++) {
        const e = this.stageI32[at + i];
        if (e < 0 || e >= op.colours.length) {
          const tile = this.program.tiles[k];
          throw new MeshRunError(`dispatch at tile (${tile.x},${tile.y}) task ${t.id} selected expert ${e}, but only ${op.colours.length} colours are listed`, tile.x, tile.y, -1, this.now);
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
    void kind;
  }

  private enqueueSend(k: number, colour: number, stage: number, n: number): void {
    if (this.obN[k] === this.obRing) throw new Error('mesh engine: send queue ring overflow');
    const slot = k * this.obRing + ((this.obHead[k] + this.obN[k]) % this.obRing);
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
    const deps = this.depScratch;
    deps.length = 0;
    if (this.tileLastJob[k] >= 0) deps.push(this.tileLastJob[k]);
    for (let q = 0; q < runs.length; q += 3) {
      const s = this.senderJob(runs[q]);
      if (!deps.includes(s)) deps.push(s);
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
      for (const c of this.opFmac[g]) cost += c;
      if (this.layout.stageWords[k][j] > 0) {
        this.stageJobBase.push(stageBase);
        this.stageJobIdx.push(idx);
      }
    }
    this.jobCost.push(cost);
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
    const b = this.stageJobBase;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (b[mid] <= src) lo = mid;
      else hi = mid - 1;
    }
    return this.stageJobIdx[lo];
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
    const labels = new Map<string, number>();
    this.labels.forEach((l, i) => labels.set(l, this.labelBusy[i]));
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
      waveletsMoved: this.waveletsMoved,
      waveletHops: this.core.waveletHops,
      fmacOps: this.fmacOps,
      sramReadBytes: this.sramReadBytes,
      tasksRun: this.tasksRun,
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
  }
}
