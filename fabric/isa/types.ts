// The per-tile program format: the contract between the compiler (which emits it) and the mesh engine (which runs
// it). Versioned; a program of another version is refused at load. JSON-serialisable throughout.
//
// Model of a tile (as the real hardware): a router with 5 ports (ramp + N/E/S/W) configured statically per colour,
// and a compute engine with private SRAM running data-triggered tasks. A program describes ONE STEP (one token's
// forward pass); the engine runs it once per token with `position` set, re-arming every trigger at step start.
// Buffers (and so the KV cache and weights) persist across steps.

/** The program format's version; the engine refuses a program of another version. In version 2 `embed` sends its row
 * as slices on `colours`, one per hub slice, and `sumsq` and `normScale` let a slice normalise its part of a vector. */
export const ISA_VERSION = 2;

import type { Port } from '../geometry.js';
export { PORTS, type Port } from '../geometry.js';

/** For one colour at one router: a wavelet arriving from `from` is forwarded to every port in `to` (multicast). */
export interface RouteEntry {
  colour: number;
  from: Port;
  to: Port[];
}

export type BufferDtype = 'f32' | 'bf16' | 'f16' | 'int8' | 'i32';

/** Where a buffer's initial contents come from when the program is loaded. */
export type BufferInit =
  | { kind: 'zeros' }
  /** A block of a model tensor, (rows r0..r1, cols c0..c1) of the (outDim, inDim) matrix, row-major, in the buffer's
   *  dtype; with `format: 'mxfp4'` encoded as MXFP4 (kernels/mxfp4.ts) in an int8 buffer. */
  | { kind: 'weights'; tensor: string; rows: [number, number]; cols: [number, number]; format?: 'mxfp4' }
  /** The per-row int8 scales of that block (f32). */
  | { kind: 'scales'; tensor: string; rows: [number, number]; cols: [number, number] }
  /** A slice of a 1-D tensor (a norm weight), elements e0..e1. */
  | { kind: 'vector'; tensor: string; range: [number, number] };

export interface BufferDecl {
  name: string;
  dtype: BufferDtype;
  /** Elements. Bytes = length × dtype size, rounded up to 4. */
  length: number;
  init: BufferInit;
  /** What it holds, for the SRAM report: weights, activations, kv-cache, queue, scratch. */
  role: 'weights' | 'activation' | 'kv-cache' | 'scratch';
}

/** A buffer slice: `offset` and `length` in elements of the buffer's dtype. */
export interface Slice {
  buf: string;
  offset: number;
  length: number;
}

/**
 * Ops run in order on the compute engine; each is charged cycles by the engine's cost functions (fabric/mesh cost).
 * All arithmetic is f32 on f32 buffers except matvec's weight operand.
 * Engine semantics (fabric/mesh/engine.ts): a task's ops compute on the tile's SRAM as it is when the task STARTS
 * (wavelets landing while it runs are visible to the next task), and a send captures its payload then. So never
 * receive into a buffer that a running task still reads.
 */
export type Op =
  /** y (+)= W·x; W a buffer of (rows, cols) in f32/bf16/f16/int8 (int8 with `scales`). With `format: 'mxfp4'` W's
   *  int8 buffer holds MXFP4 blocks (kernels/mxfp4.ts), each weight decoded to bf16 and multiplied as bf16 weights are;
   *  `blockOffset` (0–31, default 0) columns of zeros before each row, where the block's columns start inside one of its
   *  tensor's blocks of 32 (so the tile holds the tensor's own blocks and scales). */
  | { op: 'matvec'; w: string; scales?: string; rows: number; cols: number; x: Slice; y: Slice; accumulate: boolean; format?: 'mxfp4'; blockOffset?: number }
  /** Push `src` (f32 or i32) onto colour `colour` through the ramp, one wavelet (32 bits) per element. Asynchronous:
   *  the wavelets join the tile's outbound queue, which drains one per cycle into the router; after the issue cycle
   *  the CE continues, stalling only while more than spec.queueDepthWavelets wavelets are queued. The tile needs a
   *  route for `colour` from the ramp. */
  | { op: 'send'; colour: number; src: Slice }
  /** out = a + b elementwise. */
  | { op: 'add'; a: Slice; b: Slice; out: Slice }
  /** out = src */
  | { op: 'copy'; src: Slice; out: Slice }
  /** out += weight[index] * a (MoE combine). */
  | { op: 'axpy'; a: Slice; weight: Slice; index: number; out: Slice }
  | { op: 'rmsnorm'; x: Slice; weight: Slice; out: Slice; eps: number }
  /** out[0] = Σ x² over the slice (accumulated in double, stored as f32): one part of an RMSNorm split over tiles. */
  | { op: 'sumsq'; x: Slice; out: Slice }
  /** out = weight · x / sqrt(sumsq[0] / count + eps): RMSNorm of the slice x of a `count`-long vector whose sum of
   *  squares (over all its slices, e.g. `sumsq` parts added) is sumsq[0]. out may alias x. */
  | { op: 'normScale'; x: Slice; sumsq: Slice; count: number; weight: Slice; out: Slice; eps: number }
  /** RoPE in place on numHeads heads of headDim at the step's position (HF rotate_half); with `angles`, the step's
   *  cos and sin written there by ropeAngles instead of computed here. */
  | { op: 'rope'; x: Slice; numHeads: number; headDim: number; theta: number; angles?: Slice }
  /** RoPE's cos (out[0, headDim/2)) and sin (out[headDim/2, headDim)) at the step's position: they depend on nothing
   *  else, so a task at step start can have them ready before q and k arrive. */
  | { op: 'ropeAngles'; out: Slice; headDim: number; theta: number }
  /** Write k and v (rowLength floats each) at row `position` of the caches (maxSeq, rowLength). With `window` the
   *  caches hold positions [first, first + positions) only (a KV chunk tile): the row goes to row position − first,
   *  and a position outside the window writes nothing. */
  | { op: 'kvAppend'; k: Slice; v: Slice; kCache: string; vCache: string; rowLength: number; window?: KvWindow }
  /** Decode attention over positions [0, position] of the caches: numHeads query heads sharing numKvHeads. With
   *  `stats` (2·numHeads floats) it writes a flash-decoding partial instead: out unnormalised, stats the per-head max
   *  scores then sums (kernels/attention.ts decodeAttentionPartial), for attnMerge/attnMergeRows/attnFinish. With
   *  `window` (a KV chunk tile; only with `stats`) it attends over the window's positions up to `position`: none
   *  before the window starts (an empty partial: max −∞, sum 0). */
  | { op: 'attention'; q: Slice; kCache: string; vCache: string; out: Slice; numHeads: number; numKvHeads: number; headDim: number; stats?: Slice; window?: KvWindow }
  /** Flash-decoding combine, statistics: merges partial `other`'s [max, sum] per head into `stats` and writes the
   *  rescaling factors of both partials' rows into `factors` (2·numHeads each; two exponentials per head). */
  | { op: 'attnMerge'; stats: Slice; other: Slice; factors: Slice; numHeads: number }
  /** Flash-decoding combine, rows: out[i] = out[i]·factors[h] + other[i]·factors[numHeads + h], h = ⌊(first + i) / headDim⌋. */
  | { op: 'attnMergeRows'; out: Slice; other: Slice; factors: Slice; numHeads: number; headDim: number; first: number }
  /** out = rows / sum per head (the merged partial's [max, sum] in stats): the attention output. */
  | { op: 'attnFinish'; stats: Slice; rows: Slice; out: Slice; numHeads: number; headDim: number }
  | { op: 'swiglu'; gate: Slice; up: Slice; out: Slice }
  /** Top-k gating over router logits; writes k expert indices (i32) and k weights (f32). With `denseWeights`
   *  (numExperts floats) also writes each expert's weight there, 0 for experts not chosen (for `axpy` by expert). */
  | { op: 'topk'; logits: Slice; k: number; renormalize: boolean; indices: Slice; weights: Slice; denseWeights?: Slice }
  /** For each j < k: send `src` on colours[indices[j]] (MoE dispatch to the selected experts only). A colour of -1
   *  is an expert the program holds as a reserved span, without tiles of its own: the run stops if the router picks it. */
  | { op: 'dispatch'; indices: Slice; colours: number[]; src: Slice }
  /** out[0] = max value of x, out[1] = its index + indexBase (as an f32 value, exact below 2^24; ties keep the lower index). */
  | { op: 'argmax'; x: Slice; indexBase: number; out: Slice }
  /** out = the better (value, index) pair of a and b (higher value; lower index on a tie). */
  | { op: 'argmaxMerge'; a: Slice; b: Slice; out: Slice }
  /** If the token in `token` (i32) is in [rowBase, rowBase + rows), send row (token - rowBase) of table (rows, cols)
   *  as f32 wavelets (decoded from the table's dtype; int8 rows times their `scales` entry), in slices: columns
   *  [j·sliceCols, min(cols, (j+1)·sliceCols)) on colours[j], so colours.length = ceil(cols / sliceCols). */
  | { op: 'embed'; table: string; scales?: string; rowBase: number; rows: number; cols: number; token: Slice; colours: number[]; sliceCols: number }
  /** Hand `src` to the host (the step's output). */
  | { op: 'output'; name: string; src: Slice }
  /** A modelled inter-wafer link: `bytes` leave this wafer for the next, and the task waits the link's time
   *  (fabric/mesh/cost.ts waferLinkCycles: spec.interWafer's latency plus bytes ÷ bandwidth). Computes nothing: a
   *  stage-out stub runs it before passing the activation on to the next wafer's mesh, simulated beside this one. */
  | { op: 'waferLink'; bytes: number };

/** The positions a KV chunk tile's caches hold: [first, first + positions). */
export interface KvWindow {
  first: number;
  positions: number;
}

/** Cache rows an op with `window` reads at step `position`: the window's positions up to and including `position`. */
export function windowRows(window: KvWindow | undefined, position: number): number {
  if (!window) return position + 1;
  return Math.max(0, Math.min(window.positions, position + 1 - window.first));
}

/** Whether step `position`'s new K/V row belongs in `window`. */
export function inWindow(window: KvWindow, position: number): boolean {
  return position >= window.first && position < window.first + window.positions;
}

/** Slice j of an `embed` row: its first column and its length (the last slice may be shorter). */
export function embedSlice(op: { cols: number; sliceCols: number }, j: number): { col: number; length: number } {
  const col = j * op.sliceCols;
  return { col, length: Math.min(op.cols, col + op.sliceCols) - col };
}

/**
 * A task is activated by its trigger and runs its ops to completion; the task picker starts the lowest-id ready task.
 * - start: at step start.
 * - recv: the router's ramp delivers `count` wavelets of `colour` into `into` (in arrival order, count ≤ into.length);
 *   when the last has arrived the task is ready. One recv trigger per colour per tile; receiving costs no CE time.
 *   A route may deliver a colour to the ramp only where a recv trigger waits for it; wavelets beyond `count` in a
 *   step stay in the router (the engine reports a deadlock).
 * - after: ready when `count` (default: all) of the listed tasks have completed this step (a join).
 */
export type Trigger =
  | { on: 'start' }
  | { on: 'recv'; colour: number; count: number; into: Slice }
  | { on: 'after'; tasks: number[]; count?: number };

export interface Task {
  id: number;
  trigger: Trigger;
  ops: Op[];
  /**
   * A piecewise receive: the id of a recv task of this tile, among this `after` task's tasks, whose slice this task's
   * leading ops (those that read its buffer, up to the first that does not or sends) read in arrival order — a fabric-input operand (docs/hardware.md#tasks-and-queues:
   * fabric DSDs stream wavelets into the vector ops), so the work overlaps the wavelets' arrival instead of waiting
   * for the last. Values are unchanged (the ops still see the whole slice); the timing is
   * fabric/mesh/cost.ts streamedOpCycles.
   */
  streams?: number;
  /**
   * A forwarding (cut-through) piecewise receive, with `streams`: the task starts once its other inputs are in and
   * the stream's first wavelet has landed, its streamed ops take each wavelet as it lands, and wavelet i of each of
   * its sends (its ops after the streamed ones must all be sends, each no longer than the stream) leaves once the
   * stream's wavelet i has landed and been merged — a fabric-output operand fed from a fabric-input one
   * (docs/assumptions.md#forwarding-sends). Send wavelet i must depend only on stream wavelets 0..i (an elementwise
   * merge with aligned slices, statistics first): the values are those of the whole-slice task. The task ends no
   * earlier than a cycle after the stream's last wavelet.
   */
  forwards?: boolean;
  /** For reports: which layer and role this work belongs to. */
  label?: string;
}

export interface TileProgram {
  x: number;
  y: number;
  buffers: BufferDecl[];
  routes: RouteEntry[];
  tasks: Task[];
  /** For the wafer map: the layer and role of this tile (e.g. "L3.mlp.down", "L0.attn.kv2", "lm_head"). */
  role: string;
}

/** Host inputs written into tile SRAM before a step starts (token ids, the first embedding). */
export interface HostInput {
  x: number;
  y: number;
  buf: string;
  /** What the host writes each step: the current token id (i32), or nothing else. */
  value: 'token';
}

export interface Program {
  isaVersion: typeof ISA_VERSION;
  /** Name of the fabric spec it was compiled for, and the mesh size (logical). */
  fabric: string;
  widthTiles: number;
  heightTiles: number;
  /** Longest context the KV-cache buffers hold. */
  maxSeq: number;
  tiles: TileProgram[];
  hostInputs: HostInput[];
  /** Name of the `output` that carries the step's (value, index) argmax pair: the next token. */
  tokenOutput: string;
  /** Optional `output`s carrying logits slices for checking: name -> [vocab offset]. */
  logitOutputs: { name: string; offset: number }[];
}
