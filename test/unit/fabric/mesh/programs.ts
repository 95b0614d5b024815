// Small hand-written ISA programs and a weight provider for the engine tests.
import { seededValues } from '../../../../fabric/mesh/workloads.js';
import { ISA_VERSION, type BufferDecl, type BufferInit, type Op, type Program, type RouteEntry, type Task, type TileProgram, type Trigger } from '../../../../fabric/isa/types.js';
import type { WeightProvider } from '../../../../fabric/mesh/engine.js';

/** Tensors as f32 (outDim, inDim) row-major matrices or 1-D vectors. */
export type Tensors = Record<string, { data: Float32Array; cols: number }>;

export function provider(tensors: Tensors): WeightProvider {
  return (init: BufferInit, decl: BufferDecl): Uint8Array => {
    if (init.kind === 'zeros') return new Uint8Array(decl.length * 4);
    const t = tensors[init.tensor];
    if (!t) throw new Error(`no tensor ${init.tensor}`);
    const out = new Float32Array(decl.length);
    if (init.kind === 'vector') out.set(t.data.subarray(init.range[0], init.range[1]));
    else {
      const [r0, r1] = init.rows;
      const [c0, c1] = init.cols;
      let o = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[o++] = t.data[r * t.cols + c];
    }
    return new Uint8Array(out.buffer);
  };
}

/** Deterministic values in [-1, 1) from a seed: the engine workloads' generator. */
export const seededVector = seededValues;

export const f32 = (name: string, length: number, init: BufferInit = { kind: 'zeros' }, role: BufferDecl['role'] = 'activation'): BufferDecl => ({ name, dtype: 'f32', length, init, role });
export const sl = (buf: string, length: number, offset = 0) => ({ buf, offset, length });
export const route = (colour: number, from: RouteEntry['from'], ...to: RouteEntry['to']): RouteEntry => ({ colour, from, to });
export const task = (id: number, trigger: Trigger, ops: Op[], label?: string): Task => (label === undefined ? { id, trigger, ops } : { id, trigger, ops, label });
export const tile = (x: number, y: number, parts: Partial<TileProgram>): TileProgram => ({ x, y, buffers: [], routes: [], tasks: [], role: 'test', ...parts });

export function program(w: number, h: number, tiles: TileProgram[], tokenOutput: string, extra: Partial<Program> = {}): Program {
  return { isaVersion: ISA_VERSION, fabric: 'mini-4', widthTiles: w, heightTiles: h, maxSeq: 8, tiles, hostInputs: [], tokenOutput, logitOutputs: [], ...extra };
}

/**
 * A 1×4 chain reduction of n-element vectors: tile 0 sends its vector east; tiles 1 and 2 add theirs and pass the sum
 * on; tile 3 adds its own and outputs "sum". Colours alternate 0, 1, 0 along the chain.
 */
export function chainProgram(n: number): { program: Program; tensors: Tensors } {
  const tensors: Tensors = {};
  for (let i = 0; i < 4; i++) tensors[`v${i}`] = { data: seededVector(n, 11 + i), cols: n };
  const own = (i: number) => f32('own', n, { kind: 'vector', tensor: `v${i}`, range: [0, n] }, 'weights');
  const tiles: TileProgram[] = [
    tile(0, 0, { buffers: [own(0)], routes: [route(0, 'ramp', 'E')], tasks: [task(0, { on: 'start' }, [{ op: 'send', colour: 0, src: sl('own', n) }], 'head')] }),
  ];
  for (let i = 1; i < 4; i++) {
    const inColour = (i - 1) % 2;
    const outColour = i % 2;
    const ops: Op[] = [{ op: 'add', a: sl('own', n), b: sl('in', n), out: sl('acc', n) }];
    ops.push(i < 3 ? { op: 'send', colour: outColour, src: sl('acc', n) } : { op: 'output', name: 'sum', src: sl('acc', n) });
    const routes = [route(inColour, 'W', 'ramp')];
    if (i < 3) routes.push(route(outColour, 'ramp', 'E'));
    tiles.push(tile(i, 0, { buffers: [own(i), f32('in', n), f32('acc', n)], routes, tasks: [task(0, { on: 'recv', colour: inColour, count: n, into: sl('in', n) }, ops, 'link')] }));
  }
  return { program: program(4, 1, tiles, 'sum'), tensors };
}

/** Tile 0 of a 1×4 row broadcasts n values on colour 0; tiles 1..3 each receive a copy (multicast W -> ramp + E). */
export function broadcastProgram(n: number): { program: Program; tensors: Tensors } {
  const tensors: Tensors = { v: { data: seededVector(n, 5), cols: n } };
  const tiles: TileProgram[] = [
    tile(0, 0, {
      buffers: [f32('v', n, { kind: 'vector', tensor: 'v', range: [0, n] }, 'weights')],
      routes: [route(0, 'ramp', 'E')],
      tasks: [task(0, { on: 'start' }, [{ op: 'send', colour: 0, src: sl('v', n) }])],
    }),
  ];
  for (let i = 1; i < 4; i++) {
    tiles.push(
      tile(i, 0, {
        buffers: [f32('in', n)],
        routes: [i < 3 ? route(0, 'W', 'ramp', 'E') : route(0, 'W', 'ramp')],
        tasks: [task(0, { on: 'recv', colour: 0, count: n, into: sl('in', n) }, [{ op: 'output', name: `copy${i}`, src: sl('in', n) }])],
      }),
    );
  }
  return { program: program(4, 1, tiles, 'copy3'), tensors };
}

/**
 * y = W·x for W (2b × 2b) split over 2×2 tiles: tile (bx, by) holds block (rows by·b.., cols bx·b..) and x's slice
 * bx; the right column sends its partial west, the left column adds and outputs rows "y0" / "y1".
 */
export function matvec2x2Program(b: number): { program: Program; tensors: Tensors } {
  const n = 2 * b;
  const tensors: Tensors = { W: { data: seededVector(n * n, 3), cols: n }, x: { data: seededVector(n, 4), cols: n } };
  const tiles: TileProgram[] = [];
  for (let by = 0; by < 2; by++) {
    for (let bx = 0; bx < 2; bx++) {
      const buffers = [
        { name: 'w', dtype: 'f32' as const, length: b * b, init: { kind: 'weights' as const, tensor: 'W', rows: [by * b, by * b + b] as [number, number], cols: [bx * b, bx * b + b] as [number, number] }, role: 'weights' as const },
        f32('x', b, { kind: 'vector', tensor: 'x', range: [bx * b, bx * b + b] }),
        f32('part', b),
      ];
      const mv: Op = { op: 'matvec', w: 'w', rows: b, cols: b, x: sl('x', b), y: sl('part', b), accumulate: false };
      const colour = by;
      if (bx === 1) {
        tiles.push(tile(1, by, { buffers, routes: [route(colour, 'ramp', 'W')], tasks: [task(0, { on: 'start' }, [mv, { op: 'send', colour, src: sl('part', b) }], 'mv')] }));
      } else {
        buffers.push(f32('in', b), f32('y', b));
        tiles.push(
          tile(0, by, {
            buffers,
            routes: [route(colour, 'E', 'ramp')],
            tasks: [
              task(0, { on: 'start' }, [mv], 'mv'),
              task(1, { on: 'recv', colour, count: b, into: sl('in', b) }, [{ op: 'add', a: sl('part', b), b: sl('in', b), out: sl('y', b) }, { op: 'output', name: `y${by}`, src: sl('y', b) }], 'reduce'),
            ],
          }),
        );
      }
    }
  }
  return { program: program(2, 2, tiles, 'y0'), tensors };
}

/** Two senders, (0,0) on colour 0 and (2,0) on colour 1, stream n wavelets each into the one CE of (1,0). */
export function contendedProgram(n: number, senders: 1 | 2): { program: Program; tensors: Tensors } {
  const tensors: Tensors = { a: { data: seededVector(n, 1), cols: n }, b: { data: seededVector(n, 2), cols: n } };
  const sender = (x: number, colour: number, dir: 'E' | 'W', t: string) =>
    tile(x, 0, { buffers: [f32('v', n, { kind: 'vector', tensor: t, range: [0, n] })], routes: [route(colour, 'ramp', dir)], tasks: [task(0, { on: 'start' }, [{ op: 'send', colour, src: sl('v', n) }], 'send')] });
  const recvTasks = [task(0, { on: 'recv', colour: 0, count: n, into: sl('a', n) }, [], 'recv')];
  const routes = [route(0, 'W', 'ramp')];
  const tiles = [sender(0, 0, 'E', 'a')];
  if (senders === 2) {
    recvTasks.push(task(1, { on: 'recv', colour: 1, count: n, into: sl('b', n) }, [], 'recv'));
    routes.push(route(1, 'E', 'ramp'));
    tiles.push(sender(2, 1, 'W', 'b'));
  }
  tiles.push(tile(1, 0, { buffers: [f32('a', n), f32('b', n)], routes, tasks: [...recvTasks, task(5, { on: 'after', tasks: recvTasks.map((t) => t.id) }, [{ op: 'output', name: 'a', src: sl('a', n) }])] }));
  return { program: program(3, 1, tiles, 'a'), tensors };
}

/** A 2×2 ring on colour 0 (E, S, W, N) into which every tile sends `n` wavelets; nothing ever leaves the ring. */
export function ringProgram(n: number): Program {
  const dirs: [number, number, 'E' | 'S' | 'W' | 'N', 'W' | 'N' | 'E' | 'S'][] = [
    [0, 0, 'E', 'S'],
    [1, 0, 'S', 'W'],
    [1, 1, 'W', 'N'],
    [0, 1, 'N', 'E'],
  ];
  const tiles = dirs.map(([x, y, out, from]) =>
    tile(x, y, {
      buffers: [f32('v', n)],
      routes: [route(0, 'ramp', out), route(0, from, out)],
      tasks: [task(0, { on: 'start' }, [{ op: 'send', colour: 0, src: sl('v', n) }, { op: 'output', name: `o${x}${y}`, src: sl('v', 1) }])],
    }),
  );
  return program(2, 2, tiles, 'o00');
}

/**
 * The 1×4 chain reduction with its adds as separate tasks: each of tiles 1–3 copies its own vector into `acc` at step
 * start (its partial, ready early), receives the stream on an op-less recv task, and adds it in a task after both —
 * with `streamed`, a piecewise receive (Task.streams) that adds the wavelets as they land.
 */
export function piecewiseChainProgram(n: number, streamed: boolean): { program: Program; tensors: Tensors } {
  const { program: chain, tensors } = chainProgram(n);
  const tiles = chain.tiles.map((t, i) => {
    if (i === 0) return t;
    const inColour = (i - 1) % 2;
    const [add, last] = t.tasks[0].ops;
    const merge: Task = { ...task(2, { on: 'after', tasks: [0, 1] }, [{ ...add, a: sl('acc', n) } as Op, last], 'merge'), ...(streamed ? { streams: 1 } : {}) };
    return {
      ...t,
      tasks: [task(0, { on: 'start' }, [{ op: 'copy', src: sl('own', n), out: sl('acc', n) }], 'own'), task(1, { on: 'recv', colour: inColour, count: n, into: sl('in', n) }, [], 'recv'), merge],
    };
  });
  return { program: { ...chain, tiles }, tensors };
}
