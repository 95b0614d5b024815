// The static check of a program's streams and triggers, run by validateProgram after the per-tile checks: a program
// that passes runs every step to completion, or is refused here with the deadlock or starvation the run would meet.
//
// Per step every task runs at most once and every trigger is re-armed, so the check works on one step:
// 1. Each send (send, dispatch, embed) is traced along its colour's routes from the sender's ramp to every ramp it
//    reaches. A route that comes back to a router it already crossed on that colour is a loop (wavelets circle
//    forever, or fill the queues: a deadlock).
// 2. The task graph — a sender's task before the recv task it feeds, an `after` task after the tasks it names — must be
//    acyclic: a cycle is tasks each waiting for another, which the run reports as a deadlock or never finishes.
// 3. In the graph's order each task gets a status: it runs every step (`must`), in some steps (`may`: it waits on
//    data-dependent sends — MoE dispatch, embed's token test — or on such tasks), or never. A recv trigger on colour c
//    fires when exactly `count` wavelets arrive (fewer is a short receive the engine reports at the end of the step,
//    more stay stuck in the router: a deadlock). So with U wavelets from sends that always happen and the lengths of
//    those that may happen, `count` must be U plus the lengths of some of the latter — else the trigger cannot fire,
//    or fires short, or overflows, and the message says which. A trigger no stream reaches, or an `after` whose tasks
//    cannot complete, can never fire.
// The check is exact for programs without data-dependent sends, and for those it proves only what holds for every
// token: it refuses nothing the compiler emits (test/unit/fabric/isa/staticCheck.test.ts runs the emitted programs).
import { InputError } from '../errors.js';
import { OPPOSITE_PORT, PORT_DX, PORT_DY, portIndex } from '../geometry.js';
import { embedSlice, type Program } from './types.js';

/** One stream into a recv trigger: the task that sends, the wavelets per step, and whether it sends every step. */
interface Source {
  task: number;
  length: number;
  /** Data-dependent (dispatch, embed): may or may not send in a given step. */
  conditional: boolean;
  /** Embed slices: of the embed ops sending to one trigger, exactly one holds the step's token (see recvStatus). */
  embed: boolean;
}

const MUST = 2;
const MAY = 1;
const NEVER = 0;

/** Work bound of the subset-sum test of one trigger; beyond it the trigger is taken as able to fire (no false refusal). */
const SUBSET_WORK = 1e7;

/** Global task numbering: tasks of tiles[k] are taskBase[k] + j. */
function numberTasks(program: Program): { taskBase: number[]; total: number } {
  const taskBase: number[] = [];
  let total = 0;
  for (const t of program.tiles) {
    taskBase.push(total);
    total += t.tasks.length;
  }
  return { taskBase, total };
}

/** The streams into one recv trigger, as the check sees them (for tests and diagnostics). */
export interface TriggerSupply {
  /** Index into program.tiles, and into its tasks. */
  tile: number;
  task: number;
  /** Wavelets that arrive every step, and the lengths of the streams that arrive in some steps. */
  always: number;
  maybe: number[];
}

/** Checks `program` (throws an InputError as described above) and returns the supply of every recv trigger. */
export function staticCheck(program: Program, source = 'program'): TriggerSupply[] {
  const W = program.widthTiles;
  const { taskBase, total } = numberTasks(program);
  const kAt = new Map<number, number>();
  program.tiles.forEach((t, k) => kAt.set(t.y * W + t.x, k));
  const routeOf = new Map<number, number[]>(); // (mesh tile · 32 + colour) · 5 + from port -> to ports
  program.tiles.forEach((t) => {
    for (const r of t.routes) routeOf.set(((t.y * W + t.x) * 32 + r.colour) * 5 + portIndex(r.from), r.to.map(portIndex));
  });
  const name = (k: number) => `(${program.tiles[k].x},${program.tiles[k].y})`;
  const taskName = (g: number) => {
    let k = 0;
    while (k + 1 < taskBase.length && taskBase[k + 1] <= g) k++;
    return `tile ${name(k)} task ${program.tiles[k].tasks[g - taskBase[k]].id}`;
  };

  // 1. Trace every stream to the ramps it reaches.
  const traced = new Map<number, number[]>();
  // Router states (mesh tile · 5 + from port) reached by the current trace: marked with its generation number, one
  // array for all traces (a Set per trace was most of the check on a full wafer).
  const seenAt = new Uint32Array(W * program.heightTiles * 5);
  let generation = 0;
  // `where` is built only for an error: a full wafer's program has ~10^6 ops, and a string each is most of the check.
  const trace = (k: number, colour: number, where: () => string): number[] => {
    const t = program.tiles[k];
    const key = (t.y * W + t.x) * 32 + colour;
    const done = traced.get(key);
    if (done) return done;
    const gen = ++generation;
    const reached: number[] = [];
    // (mesh tile, from port) pairs, flat: pushed as tile then port, popped as port then tile.
    const stack: number[] = [t.y * W + t.x, 0];
    while (stack.length > 0) {
      const from = stack.pop()!;
      const mesh = stack.pop()!;
      const state = mesh * 5 + from;
      if (seenAt[state] === gen) {
        throw new InputError(`colour ${colour} sent by tile ${name(k)} comes back to tile (${mesh % W},${Math.floor(mesh / W)}) from the same port: its route is a loop`, where(), 'route each colour as a tree from its sender (no cycles)');
      }
      seenAt[state] = gen;
      for (const p of routeOf.get((mesh * 32 + colour) * 5 + from) ?? []) {
        if (p === 0) {
          const dest = kAt.get(mesh);
          if (dest !== undefined) reached.push(dest);
          continue;
        }
        stack.push((Math.floor(mesh / W) + PORT_DY[p]) * W + (mesh % W) + PORT_DX[p], OPPOSITE_PORT[p]);
      }
    }
    traced.set(key, reached);
    return reached;
  };

  // Sources of every recv trigger, keyed by (tile k, colour).
  const sources = new Map<number, Source[]>();
  const addSource = (k: number, colour: number, s: Source, where: () => string) => {
    for (const dest of trace(k, colour, where)) {
      const key = dest * 32 + colour;
      const list = sources.get(key);
      if (list) list.push(s);
      else sources.set(key, [s]);
    }
  };
  program.tiles.forEach((tile, k) => {
    tile.tasks.forEach((task, j) => {
      const g = taskBase[k] + j;
      task.ops.forEach((op, i) => {
        const where = () => `${source}: tiles[${k}] ${name(k)}: tasks[${j}].ops[${i}]`;
        if (op.op === 'send') addSource(k, op.colour, { task: g, length: op.src.length, conditional: false, embed: false }, where);
        else if (op.op === 'dispatch') {
          for (const c of op.colours) if (c >= 0) addSource(k, c, { task: g, length: op.src.length, conditional: true, embed: false }, where);
        }
        else if (op.op === 'embed') op.colours.forEach((c, s) => addSource(k, c, { task: g, length: embedSlice(op, s).length, conditional: true, embed: true }, where));
      });
    });
  });

  // 2. The task graph and its order.
  const preds: number[][] = Array.from({ length: total }, () => []);
  program.tiles.forEach((tile, k) => {
    const byId = new Map(tile.tasks.map((t, j) => [t.id, taskBase[k] + j]));
    tile.tasks.forEach((task, j) => {
      const g = taskBase[k] + j;
      if (task.trigger.on === 'recv') for (const s of sources.get(k * 32 + task.trigger.colour) ?? []) preds[g].push(s.task);
      else if (task.trigger.on === 'after') for (const id of task.trigger.tasks) preds[g].push(byId.get(id)!);
    });
  });
  const order = topologicalOrder(preds, (g) => {
    throw new InputError(`${taskName(g)} waits, through its trigger, on its own output: the tasks wait on each other in a cycle (a deadlock)`, source, 'break the cycle: no task may wait on a stream or task that waits on it');
  });

  // 3. Which tasks run, in order.
  const supplies: TriggerSupply[] = [];
  const status = new Uint8Array(total);
  const tileOf = new Int32Array(total);
  program.tiles.forEach((t, k) => t.tasks.forEach((_, j) => (tileOf[taskBase[k] + j] = k)));
  for (const g of order) {
    const k = tileOf[g];
    const tile = program.tiles[k];
    const j = g - taskBase[k];
    const task = tile.tasks[j];
    const where = () => `${source}: tiles[${k}] ${name(k)}: tasks[${j}].trigger`;
    const trig = task.trigger;
    if (trig.on === 'start') status[g] = MUST;
    else if (trig.on === 'after') {
      const need = trig.count ?? trig.tasks.length;
      // preds[g] lists the tasks of an `after` trigger, in its order (step 2).
      const ps = preds[g].map((p) => status[p]);
      const must = ps.filter((s) => s === MUST).length;
      const can = ps.filter((s) => s !== NEVER).length;
      if (can < need) throw new InputError(`task ${task.id} waits for ${need} of its tasks, but only ${can} of them can ever complete: it never runs`, where(), 'name tasks that run, or lower "count"');
      status[g] = must >= need ? MUST : MAY;
    } else {
      const list = sources.get(k * 32 + trig.colour) ?? [];
      status[g] = recvStatus(list, status, trig.count, trig.colour, task.id, where);
      const { always, maybe } = supply(list, status);
      supplies.push({ tile: k, task: j, always, maybe });
    }
  }
  return supplies;
}

/**
 * What reaches a trigger per step: `always` wavelets from sends that happen every step, and the lengths of streams
 * that happen in some steps. The embed ops of a vocabulary split send one slice each to a trigger, and exactly one of
 * them holds the token (the host gives a token id inside the vocabulary, which their row ranges cover): when such
 * slices, all from tasks that always run, have one length, they count as one stream that always arrives.
 */
function supply(list: readonly Source[], status: Uint8Array): { always: number; maybe: number[] } {
  let always = 0;
  const maybe: number[] = [];
  const embeds = list.filter((s) => s.embed && status[s.task] !== NEVER);
  const oneOf = embeds.length > 0 && embeds.every((s) => status[s.task] === MUST && s.length === embeds[0].length);
  if (oneOf) always += embeds[0].length;
  for (const s of list) {
    if (status[s.task] === NEVER || (oneOf && s.embed)) continue;
    if (!s.conditional && status[s.task] === MUST) always += s.length;
    else maybe.push(s.length);
  }
  return { always, maybe };
}

/** The status of a recv trigger waiting for `count` wavelets from `list`; throws where it can never fire exactly. */
function recvStatus(list: readonly Source[], status: Uint8Array, count: number, colour: number, id: number, where: () => string): number {
  const { always, maybe } = supply(list, status);
  if (always === 0 && maybe.length === 0) {
    throw new InputError(`task ${id} waits for ${count} wavelets on colour ${colour}, but no send reaches this tile on it: it never runs`, where(), 'route a send of that colour to this tile, or remove the task');
  }
  if (always > count) {
    throw new InputError(`${always} wavelets arrive on colour ${colour} every step, but the trigger of task ${id} counts ${count}: the rest stay stuck in the router (a deadlock)`, where(), `make count ${always}, or send less`);
  }
  const rest = count - always;
  if (rest === 0) return maybe.length === 0 ? MUST : MAY;
  if (maybe.length * rest <= SUBSET_WORK && !subsetSums(maybe, rest)) {
    if (maybe.length === 0) {
      throw new InputError(`only ${always} wavelets arrive on colour ${colour} per step, but the trigger of task ${id} counts ${count}: a short receive`, where(), `make count ${always}, or send ${rest} more`);
    }
    throw new InputError(`the wavelets that can arrive on colour ${colour} (${always} every step, and any of ${maybe.length} streams of ${[...new Set(maybe)].slice(0, 4).join('/')}) never add up to the ${count} the trigger of task ${id} counts`, where(), 'make count match the streams that reach the tile');
  }
  return MAY;
}

/** True when some sub-multiset of `lengths` adds up to exactly `target` (bitset dynamic programming). */
function subsetSums(lengths: readonly number[], target: number): boolean {
  const can = new Uint8Array(target + 1);
  can[0] = 1;
  for (const len of lengths) {
    for (let s = target; s >= len; s--) if (can[s - len]) can[s] = 1;
    if (can[target]) return true;
  }
  return can[target] === 1;
}

/** Kahn's order of a graph given as predecessor lists; `onCycle` gets a task on a cycle (and must throw). */
function topologicalOrder(preds: readonly number[][], onCycle: (g: number) => never): number[] {
  const n = preds.length;
  const indeg = new Int32Array(n);
  const succ: number[][] = Array.from({ length: n }, () => []);
  preds.forEach((ps, g) => {
    for (const p of ps) {
      succ[p].push(g);
      indeg[g]++;
    }
  });
  const order: number[] = [];
  for (let g = 0; g < n; g++) if (indeg[g] === 0) order.push(g);
  for (let i = 0; i < order.length; i++) {
    for (const s of succ[order[i]]) if (--indeg[s] === 0) order.push(s);
  }
  if (order.length < n) onCycle(indeg.findIndex((d) => d > 0));
  return order;
}
