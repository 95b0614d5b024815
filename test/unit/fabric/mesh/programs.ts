// Small hand-written ISA programs and a weight provider for the engine tests.
import type { BufferDecl, BufferInit, Op, Program, RouteEntry, Task, TileProgram, Trigger } from '../../../../fabric/isa/types.js';
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

export function seededVector(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[i] = ((s >>> 0) / 4294967296 - 0.5) * 2;
  }
  return v;
}

export const f32 = (name: string, length: number, init: BufferInit = { kind: 'zeros' }, role: BufferDecl['role'] = 'activation'): BufferDecl => ({ name, dtype: 'f32', length, init, role });
export const sl = (buf: string, length: number, offset = 0) => ({ buf, offset, length });
export const route = (colour: number, from: RouteEntry['from'], ...to: RouteEntry['to']): RouteEntry => ({ colour, from, to });
export const task = (id: number, trigger: Trigger, ops: Op[], label?: string): Task => (label === undefined ? { id, trigger, ops } : { id, trigger, ops, label });
export const tile = (x: number, y: number, parts: Partial<TileProgram>): TileProgram => ({ x, y, buffers: [], routes: [], tasks: [], role: 'test', ...parts });

export function program(w: number, h: number, tiles: TileProgram[], tokenOutput: string, extra: Partial<Program> = {}): Program {
  return { isaVersion: 1, fabric: 'mini-16', widthTiles: w, heightTiles: h, maxSeq: 8, tiles, hostInputs: [], tokenOutput, logitOutputs: [], ...extra };
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
