// The tasks of a program (or of a logical plan) flattened into typed arrays: one global id per task, its tile and
// local index, its trigger, and the dependents of each task in CSR form. The mesh engine (engine.ts) and the
// compiler's step estimate (compiler/wafer/estimate.ts) both run the same data-triggered schedule over these tables.
import type { Op, Task } from '../isa/types.js';
import { streamedPrefix } from './cost.js';

export const TRIG_START = 0;
export const TRIG_RECV = 1;
export const TRIG_AFTER = 2;

export interface TaskGraph {
  /** Task j of tile t is global task taskBase[t] + j; taskBase[tiles] is the task count. */
  taskBase: Int32Array;
  taskTile: Int32Array;
  taskLocal: Int32Array;
  /** TRIG_START, TRIG_RECV or TRIG_AFTER. */
  trigger: Uint8Array;
  /** For `after` tasks: how many of the tasks it waits on must end first (0 for the other triggers). */
  afterNeed: Int32Array;
  /** The `after` tasks waiting on task g are deps[depStart[g] .. depStart[g + 1] - 1] (global ids, in plan order). */
  depStart: Int32Array;
  deps: Int32Array;
  /** For a piecewise receive (Task.streams): the global id of the recv task it streams from; -1 elsewhere. */
  streams: Int32Array;
  /** Of such a task, how many leading ops stream (cost.ts streamedPrefix); 0 elsewhere. */
  streamOps: Int32Array;
  /** 1 for a forwarding task (Task.forwards); for a recv task, the forwarding task streaming from it (global id) or -1. */
  forwards: Uint8Array;
  forwardedBy: Int32Array;
}

/**
 * Flattens the tasks of `tiles` (task ids name tasks within their tile). One loop per function here: V8 compiles a
 * hot loop on the spot (on-stack replacement), and a function whose later loops have not run yet is compiled again
 * for each, which is most of a cold projection's time in this code.
 */
export function flattenTasks(tiles: readonly { tasks: readonly Task[] }[]): TaskGraph {
  return flatten(tiles, false);
}

/** Besides the task graph, what a schedule estimate reads of each task: its ops and its recv trigger. */
export interface TaskOps {
  /** Task g's ops are ops[opStart[g] .. opStart[g + 1] - 1] (the plan's op objects, in plan order). */
  opStart: Int32Array;
  ops: Op[];
  /** A recv task's stream (its trigger's colour) and wavelets (count); -1 and 0 for other triggers. */
  recvColour: Int32Array;
  recvCount: Int32Array;
}

/** flattenTasks, with the tasks' ops and recv triggers taken in the same walk over the plan's objects. */
export function flattenTasksAndOps(tiles: readonly { tasks: readonly Task[] }[]): TaskGraph & TaskOps {
  return flatten(tiles, true);
}

function flatten(tiles: readonly { tasks: readonly Task[] }[], withOps: boolean): FlatTasks {
  const g = new FlatTasks(countTasks(tiles), withOps);
  const pairs = new Pairs(g.taskTile.length);
  for (let t = 0; t < tiles.length; t++) flattenTile(g, t, tiles[t].tasks, pairs);
  runningSum(g.depStart);
  g.deps = dependents(g.depStart, pairs);
  return g;
}

/**
 * A TaskGraph made by a constructor, not an object literal: V8 tracks the type of each field of a class's instances
 * from the first, while a literal's second evaluation forgets them, which discards the optimised code of every
 * function that read one (in a projection, after the first stage).
 */
class FlatTasks implements TaskGraph, TaskOps {
  taskTile: Int32Array;
  taskLocal: Int32Array;
  trigger: Uint8Array;
  afterNeed: Int32Array;
  depStart: Int32Array;
  deps: Int32Array = new Int32Array(0);
  streams: Int32Array;
  streamOps: Int32Array;
  forwards: Uint8Array;
  forwardedBy: Int32Array;
  // TaskOps, empty unless `withOps`
  opStart: Int32Array;
  ops: Op[];
  recvColour: Int32Array;
  recvCount: Int32Array;
  constructor(
    readonly taskBase: Int32Array,
    readonly withOps: boolean,
  ) {
    const n = taskBase[taskBase.length - 1];
    this.taskTile = new Int32Array(n);
    this.taskLocal = new Int32Array(n);
    this.trigger = new Uint8Array(n);
    this.afterNeed = new Int32Array(n);
    this.depStart = new Int32Array(n + 1);
    this.streams = new Int32Array(n).fill(-1);
    this.streamOps = new Int32Array(n);
    this.forwards = new Uint8Array(n);
    this.forwardedBy = new Int32Array(n).fill(-1);
    const m = withOps ? n : 0;
    this.opStart = new Int32Array(withOps ? n + 1 : 0);
    this.ops = new Array<Op>(m);
    this.recvColour = new Int32Array(m).fill(-1);
    this.recvCount = new Int32Array(m);
  }
}

/** taskBase: where each tile's tasks start in the global numbering (and, last, the task count). */
function countTasks(tiles: readonly { tasks: readonly Task[] }[]): Int32Array {
  const taskBase = new Int32Array(tiles.length + 1);
  for (let t = 0; t < tiles.length; t++) taskBase[t + 1] = taskBase[t] + tiles[t].tasks.length;
  return taskBase;
}

/** (prerequisite, dependent) pairs in plan order, in arrays grown by doubling. */
class Pairs {
  n = 0;
  pre: Int32Array;
  dep: Int32Array;
  constructor(expected: number) {
    this.pre = new Int32Array(Math.max(16, expected));
    this.dep = new Int32Array(this.pre.length);
  }
  add(pre: number, dep: number): void {
    if (this.n === this.pre.length) {
      this.pre = grown(this.pre, 2 * this.n);
      this.dep = grown(this.dep, 2 * this.n);
    }
    this.pre[this.n] = pre;
    this.dep[this.n++] = dep;
  }
}

/** Fills tile t's tasks into `g`, counting each `after` task's prerequisites into depStart (shifted by one). */
function flattenTile(g: FlatTasks, t: number, tasks: readonly Task[], pairs: Pairs): void {
  const base = g.taskBase[t];
  // Resolves task ids within the tile; built at its first `after` task (most tiles have none).
  let ids: TaskIds | undefined;
  for (let j = 0; j < tasks.length; j++) {
    const k = base + j;
    g.taskTile[k] = t;
    g.taskLocal[k] = j;
    const tr = tasks[j].trigger;
    if (g.withOps) taskOps(g, k, tasks[j]);
    if (tr.on === 'start') g.trigger[k] = TRIG_START;
    else if (tr.on === 'recv') g.trigger[k] = TRIG_RECV;
    else {
      g.trigger[k] = TRIG_AFTER;
      g.afterNeed[k] = tr.count ?? tr.tasks.length;
      ids ??= taskIds(tasks);
      const from = tasks[j].streams;
      if (from !== undefined) {
        const local = localOf(ids, tasks, from)!;
        const src = tasks[local];
        g.streams[k] = base + local;
        if (src.trigger.on === 'recv') g.streamOps[k] = streamedPrefix(tasks[j].ops, src.trigger.into.buf);
        if (tasks[j].forwards === true) {
          g.forwards[k] = 1;
          g.forwardedBy[g.streams[k]] = k;
        }
      }
      for (const id of tr.tasks) {
        const p = base + localOf(ids, tasks, id)!;
        pairs.add(p, k);
        g.depStart[p + 1]++;
      }
    }
  }
}

/** Task k's ops and recv trigger into g's TaskOps (tasks are flattened in order, so its ops start where k - 1's end). */
function taskOps(g: FlatTasks, k: number, task: Task): void {
  const tr = task.trigger;
  if (tr.on === 'recv') {
    g.recvColour[k] = tr.colour;
    g.recvCount[k] = tr.count;
  }
  const ops = task.ops;
  let o = g.opStart[k];
  for (let i = 0; i < ops.length; i++) g.ops[o++] = ops[i];
  g.opStart[k + 1] = o;
}

function runningSum(a: Int32Array): void {
  for (let i = 1; i < a.length; i++) a[i] += a[i - 1];
}

/** The pairs' dependents in CSR order by prerequisite (plan order within each). */
function dependents(depStart: Int32Array, pairs: Pairs): Int32Array {
  const deps = new Int32Array(pairs.n);
  const fill = depStart.slice(0, depStart.length - 1);
  for (let i = 0; i < pairs.n; i++) deps[fill[pairs.pre[i]]++] = pairs.dep[i];
  return deps;
}

/** A tile's task ids to their local indices: null where each task's id is its index (as plans number them). */
type TaskIds = Map<number, number> | null;

function taskIds(tasks: readonly Task[]): TaskIds {
  for (let i = 0; i < tasks.length; i++) if (tasks[i].id !== i) return new Map(tasks.map((x, i) => [x.id, i]));
  return null;
}

/** The local index of task `id` (undefined: no such task). */
function localOf(ids: TaskIds, tasks: readonly Task[], id: number): number | undefined {
  if (ids) return ids.get(id);
  return tasks[id]?.id === id ? id : undefined;
}

/** A copy of `a` in a longer array of its kind (the estimate's columns grow the same way). */
export function grown<A extends Float64Array | Int32Array | Uint8Array>(a: A, length: number): A {
  const b = new (a.constructor as new (n: number) => A)(length);
  b.set(a);
  return b;
}
