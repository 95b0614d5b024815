// Synthetic ISA workloads for engine tests and benchmarks: small, deterministic programs that exercise every part of
// the engine (broadcast trees, matvec, row reductions, the vector kernels, attention with a KV cache, embed from a
// host token) with seeded weights.
import { ISA_VERSION, type BufferDecl, type BufferInit, type Op, type Program, type RouteEntry, type TileProgram } from '../isa/types.js';
import type { WeightProvider } from './engine.js';

/** Deterministic values in [-1, 1) from a seed (xorshift32). */
export function seededValues(n: number, seed: number): Float32Array {
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

/** Weights for a synthetic program: every tensor is generated from a hash of its name, as f32. */
export function syntheticWeights(scale = 0.25): WeightProvider {
  return (init: BufferInit, decl: BufferDecl): Uint8Array => {
    if (init.kind === 'zeros') return new Uint8Array(decl.length * 4);
    let h = 2166136261;
    const key = `${init.tensor}/${init.kind}/${JSON.stringify('range' in init ? init.range : [init.rows, init.cols])}`;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    const v = seededValues(decl.length, h);
    for (let i = 0; i < v.length; i++) v[i] *= scale;
    return new Uint8Array(v.buffer);
  };
}

export interface GridOptions {
  /** Mesh side (side × side tiles). */
  side: number;
  /** Vector length broadcast to every tile; each tile holds an (n × n) f32 block. */
  n: number;
  /** Matvecs per tile per step (the compute weight). */
  repeats: number;
  /** Also run rmsnorm, RoPE, kvAppend, attention, swiglu and argmax on column 0. */
  extras: boolean;
  maxSeq?: number;
}

/**
 * Tile (0,0) embeds the host's token (a row of an (8, n) table) and broadcasts it on colour 0 down column 0 and
 * along every row. Every other tile runs `repeats` matvecs on it (each feeding the next), and each row reduces its
 * partial vectors westward on colour 1 into column 0, which outputs "row<y>" (and, with extras, a short transformer
 * tail: rmsnorm, RoPE, kvAppend + attention at the step's position, swiglu, argmax -> "att<y>", "am<y>").
 */
export function gridProgram(o: GridOptions): Program {
  const { side, n, repeats } = o;
  const maxSeq = o.maxSeq ?? 8;
  const tiles: TileProgram[] = [];
  const w = (name: string, tensor: string, rows: number, cols: number): BufferDecl => ({ name, dtype: 'f32', length: rows * cols, init: { kind: 'weights', tensor, rows: [0, rows], cols: [0, cols] }, role: 'weights' });
  const act = (name: string, length: number): BufferDecl => ({ name, dtype: 'f32', length, init: { kind: 'zeros' }, role: 'activation' });
  const s = (buf: string, length: number, offset = 0) => ({ buf, offset, length });
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const routes: RouteEntry[] = [];
      const buffers: BufferDecl[] = [];
      const tasks: TileProgram['tasks'] = [];
      if (x === 0 && y === 0) {
        buffers.push({ name: 'tok', dtype: 'i32', length: 1, init: { kind: 'zeros' }, role: 'activation' }, w('table', 'embed', 8, n));
        const to: RouteEntry['to'] = [];
        if (side > 1) to.push('E', 'S');
        if (to.length) routes.push({ colour: 0, from: 'ramp', to });
        tasks.push({ id: 0, trigger: { on: 'start' }, ops: to.length ? [{ op: 'embed', table: 'table', rowBase: 0, rows: 8, cols: n, token: s('tok', 1), colours: [0], sliceCols: n }] : [], label: 'embed' });
        tiles.push({ x, y, buffers, routes, tasks, role: 'embed' });
        continue;
      }
      // Broadcast tree: column 0 passes south and east; rows pass east.
      const to: RouteEntry['to'] = ['ramp'];
      if (x === 0 && y < side - 1) to.push('S');
      if (x < side - 1) to.push('E');
      routes.push({ colour: 0, from: x === 0 ? 'N' : 'W', to });
      buffers.push(act('x', n), w('w', `w${x}.${y}`, n, n), act('a', n), act('b', n));
      const ops: Op[] = [];
      for (let i = 0; i < repeats; i++) {
        const src = i === 0 ? 'x' : i % 2 === 1 ? 'a' : 'b';
        const dst = i % 2 === 0 ? 'a' : 'b';
        ops.push({ op: 'matvec', w: 'w', rows: n, cols: n, x: s(src, n), y: s(dst, n), accumulate: false });
      }
      const part = repeats % 2 === 1 ? 'a' : 'b';
      const hasEast = x < side - 1;
      if (y === 0) {
        // Row 0 (beside the embedding tile) only computes and hands its result to the host.
        tasks.push({ id: 0, trigger: { on: 'recv', colour: 0, count: n, into: s('x', n) }, ops: [...ops, { op: 'output', name: `top${x}`, src: s(part, n) }], label: 'matvec' });
      } else if (x > 0) {
        // Reduce westward on colour 1: receive the eastern partial (if any), add, send west.
        routes.push({ colour: 1, from: 'ramp', to: ['W'] });
        if (hasEast) {
          routes.push({ colour: 1, from: 'E', to: ['ramp'] });
          buffers.push(act('east', n), act('sum', n));
          tasks.push({ id: 0, trigger: { on: 'recv', colour: 0, count: n, into: s('x', n) }, ops, label: 'matvec' });
          tasks.push({ id: 1, trigger: { on: 'recv', colour: 1, count: n, into: s('east', n) }, ops: [], label: 'wait' });
          tasks.push({ id: 2, trigger: { on: 'after', tasks: [0, 1] }, ops: [{ op: 'add', a: s(part, n), b: s('east', n), out: s('sum', n) }, { op: 'send', colour: 1, src: s('sum', n) }], label: 'reduce' });
        } else {
          tasks.push({ id: 0, trigger: { on: 'recv', colour: 0, count: n, into: s('x', n) }, ops: [...ops, { op: 'send', colour: 1, src: s(part, n) }], label: 'matvec' });
        }
      } else {
        // Column 0 (y > 0): its own partial plus the row's, then the tail.
        const tail: Op[] = [];
        const rowBuf = hasEast ? 'sum' : part;
        if (hasEast) {
          routes.push({ colour: 1, from: 'E', to: ['ramp'] });
          buffers.push(act('east', n), act('sum', n));
          tail.push({ op: 'add', a: s(part, n), b: s('east', n), out: s('sum', n) });
        }
        tail.push({ op: 'output', name: `row${y}`, src: s(rowBuf, n) });
        if (o.extras && n % 4 === 0) {
          const hd = n / 2;
          buffers.push(w('norm', `norm${y}`, 1, n), act('h', n), act('att', n), act('g', n), act('am', 2));
          buffers.push({ name: 'kc', dtype: 'f32', length: maxSeq * hd, init: { kind: 'zeros' }, role: 'kv-cache' }, { name: 'vc', dtype: 'f32', length: maxSeq * hd, init: { kind: 'zeros' }, role: 'kv-cache' });
          tail.push(
            { op: 'rmsnorm', x: s(rowBuf, n), weight: s('norm', n), out: s('h', n), eps: 1e-5 },
            { op: 'rope', x: s('h', n), numHeads: 2, headDim: hd, theta: 10000 },
            { op: 'kvAppend', k: s('h', hd), v: s('h', hd, hd), kCache: 'kc', vCache: 'vc', rowLength: hd },
            { op: 'attention', q: s('h', n), kCache: 'kc', vCache: 'vc', out: s('att', n), numHeads: 2, numKvHeads: 1, headDim: hd },
            { op: 'swiglu', gate: s('att', n), up: s('h', n), out: s('g', n) },
            { op: 'argmax', x: s('g', n), indexBase: 0, out: s('am', 2) },
            { op: 'output', name: `att${y}`, src: s('g', n) },
            { op: 'output', name: `am${y}`, src: s('am', 2) },
          );
        }
        if (hasEast) {
          tasks.push({ id: 0, trigger: { on: 'recv', colour: 0, count: n, into: s('x', n) }, ops, label: 'matvec' });
          tasks.push({ id: 1, trigger: { on: 'recv', colour: 1, count: n, into: s('east', n) }, ops: [], label: 'wait' });
          tasks.push({ id: 2, trigger: { on: 'after', tasks: [0, 1] }, ops: tail, label: 'tail' });
        } else {
          tasks.push({ id: 0, trigger: { on: 'recv', colour: 0, count: n, into: s('x', n) }, ops: [...ops, ...tail], label: 'matvec' });
        }
      }
      tiles.push({ x, y, buffers, routes, tasks, role: `grid${x}.${y}` });
    }
  }
  const side0 = side > 1 ? 1 : 0;
  return {
    isaVersion: ISA_VERSION,
    fabric: 'synthetic',
    widthTiles: side,
    heightTiles: side,
    maxSeq,
    tiles,
    hostInputs: [{ x: 0, y: 0, buf: 'tok', value: 'token' }],
    tokenOutput: o.extras ? `am${side0}` : `row${side0}`,
    logitOutputs: [],
  };
}
