// The tasks of a program (or of a logical plan) flattened into typed arrays: one global id per task, its tile and
// local index, its trigger, and the dependents of each task in CSR form. The mesh engine (engine.ts) and the
// compiler's step estimate (compiler/wafer/estimate.ts) both run the same data-triggered schedule over these tables.
import type { Task } from '../isa/types.js';
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

/** Flattens the tasks of `tiles` (task ids name tasks within their tile). */
export function flattenTasks(tiles: readonly { tasks: readonly Task[] }[]): TaskGraph {
  const n = tiles.length;
  const taskBase = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) taskBase[t + 1] = taskBase[t] + tiles[t].tasks.length;
  const nTasks = taskBase[n];
  const taskTile = new Int32Array(nTasks);
  const taskLocal = new Int32Array(nTasks);
  const trigger = new Uint8Array(nTasks);
  const afterNeed = new Int32Array(nTasks);
  const streams = new Int32Array(nTasks).fill(-1);
  const streamOps = new Int32Array(nTasks);
  const forwards = new Uint8Array(nTasks);
  const forwardedBy = new Int32Array(nTasks).fill(-1);
  // (prerequisite, dependent) pairs in plan order, then counted into CSR
  let pre: Int32Array = new Int32Array(Math.max(16, nTasks));
  let dep: Int32Array = new Int32Array(pre.length);
  let pairs = 0;
  const depStart = new Int32Array(nTasks + 1);
  for (let t = 0; t < n; t++) {
    const tasks = tiles[t].tasks;
    // Resolves task ids within the tile; built at its first `after` task (most tiles have none).
    let ids: TaskIds | undefined;
    for (let j = 0; j < tasks.length; j++) {
      const g = taskBase[t] + j;
      taskTile[g] = t;
      taskLocal[g] = j;
      const tr = tasks[j].trigger;
      if (tr.on === 'start') trigger[g] = TRIG_START;
      else if (tr.on === 'recv') trigger[g] = TRIG_RECV;
      else {
        trigger[g] = TRIG_AFTER;
        afterNeed[g] = tr.count ?? tr.tasks.length;
        ids ??= taskIds(tasks);
        const from = tasks[j].streams;
        if (from !== undefined) {
          const src = tasks[localOf(ids, tasks, from)!];
          streams[g] = taskBase[t] + localOf(ids, tasks, from)!;
          if (src.trigger.on === 'recv') streamOps[g] = streamedPrefix(tasks[j].ops, src.trigger.into.buf);
          if (tasks[j].forwards === true) {
            forwards[g] = 1;
            forwardedBy[streams[g]] = g;
          }
        }
        for (const id of tr.tasks) {
          const p = taskBase[t] + localOf(ids, tasks, id)!;
          if (pairs === pre.length) {
            pre = longer(pre);
            dep = longer(dep);
          }
          pre[pairs] = p;
          dep[pairs++] = g;
          depStart[p + 1]++;
        }
      }
    }
  }
  for (let g = 0; g < nTasks; g++) depStart[g + 1] += depStart[g];
  const deps = new Int32Array(pairs);
  const fill = depStart.slice(0, nTasks);
  for (let i = 0; i < pairs; i++) deps[fill[pre[i]]++] = dep[i];
  return { taskBase, taskTile, taskLocal, trigger, afterNeed, depStart, deps, streams, streamOps, forwards, forwardedBy };
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

function longer(a: Int32Array): Int32Array {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
}
