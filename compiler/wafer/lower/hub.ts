// Hub slices. The residual stream x (d floats) of each half-layer is held by k hub tiles, slice j owning
// x[j·s, (j+1)·s): each slice normalises its part (a sum of squares per slice, added up a tree into slice 0 and
// multicast back: one wavelet per edge), feeds block column j of the regions it drives, and receives the rows of
// their outputs that fall in it. So no tile sends, receives or normalises more than s values of x per half-layer.
import type { Task } from '../../../fabric/isa/types.js';
import { slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from '../plan.js';
import { reduceUp, sliceLen, type Region } from '../region.js';
import { sl, type LowerContext } from './context.js';

/** Each root i of `r` sends y_i to `hub`, which receives it into `into` at the root's row offset; returns the recv tasks. */
export function gatherRoots(c: LowerContext, r: Region, hub: LogicalTile, into: string, label: string): Task[] {
  return r.roots.map((root, i) => {
    const s = c.p.stream([root.tile.id], [hub.id], root.rows, 'transfer', `${r.name}.out${i}`);
    root.final.ops.push({ op: 'send', colour: s.id, src: slice(root.buf, 0, root.rows) });
    return c.p.recv(hub, s, slice(into, i * r.grid.br, root.rows), [], label);
  });
}

/** The k hub tiles of a half-layer (roles `role`, `role`1, …): x, and with a norm its weight's slice, xn and Σx². */
export function hubSlices(c: LowerContext, role: string, group: string, tag: Omit<TileTag, 'index'>, norm: string | null): LogicalTile[] {
  const { p, s } = c;
  return Array.from({ length: c.k }, (_, j) => {
    const t = p.tile(j === 0 ? role : `${role}${j}`, group, { ...tag, index: [j] });
    p.buffer(t, 'x', 'f32', sl(c, j), zeros, 'activation');
    if (norm !== null) {
      p.buffer(t, 'xn', 'f32', sl(c, j), zeros, 'activation');
      p.buffer(t, 'nw', 'f32', sl(c, j), { kind: 'vector', tensor: norm, range: [j * s, j * s + sl(c, j)] }, 'weights');
      p.buffer(t, 'ss', 'f32', 1, zeros, 'activation');
    }
    return t;
  });
}

/** Each slice receives its part of x from `xs[j]` (a recv task per slice, to append ops to). */
export function receiveSlices(c: LowerContext, hubs: LogicalTile[], xs: StreamDecl[], label: string): Task[] {
  return hubs.map((t, j) => {
    xs[j].dst.push(t.id);
    return c.p.recv(t, xs[j], slice('x', 0, sl(c, j)), [], label);
  });
}

/**
 * Sums `len` floats of `buf` over the slices up a binary tree into slice 0, whose task then multicasts the total
 * back into every other slice's `buf`. `last[j]` is the task after which slice j's own part is in `buf`; returns,
 * per slice, the task after which its `buf` holds the total (append ops to it).
 */
export function allReduce(c: LowerContext, hubs: LogicalTile[], last: Task[], buf: string, len: number, label: string): Task[] {
  const { p } = c;
  const n = hubs.length;
  if (n === 1) return last;
  const value = slice(buf, 0, len);
  const out = reduceUp(p, 'tree', hubs, last, {
    len,
    src: value,
    recvBuffer: (m) => `${buf}.r${m}`,
    merge: (r) => [{ op: 'add', a: value, b: slice(r, 0, len), out: value }],
    streamLabel: (ch, c) => `${label}.red${ch}>${c}`,
    recvLabel: `${label}.recv`,
    mergeLabel: `${label}.add`,
  });
  const total = p.stream([hubs[0].id], hubs.slice(1).map((h) => h.id), len, 'transfer', `${label}.total`);
  out[0].ops.push({ op: 'send', colour: total.id, src: slice(buf, 0, len) });
  for (let i = 1; i < n; i++) out[i] = p.recv(hubs[i], total, slice(buf, 0, len), [], `${label}.total`);
  return out;
}

/** RMSNorm of x over the slices into xn (`first[j]` received slice j's x); returns the tasks after which xn is ready. */
export function normSlices(c: LowerContext, hubs: LogicalTile[], first: Task[], label: string): Task[] {
  hubs.forEach((_, j) => first[j].ops.push({ op: 'sumsq', x: slice('x', 0, sl(c, j)), out: slice('ss', 0, 1) }));
  const done = allReduce(c, hubs, first, 'ss', 1, label);
  hubs.forEach((_, j) => done[j].ops.push({ op: 'normScale', x: slice('x', 0, sl(c, j)), sumsq: slice('ss', 0, 1), count: c.d, weight: slice('nw', 0, sl(c, j)), out: slice('xn', 0, sl(c, j)), eps: c.graph.eps }));
  return done;
}

/** Each slice sends `src` to the input columns of a region of block width `bc` that lie in it (bc divides s). */
export function feedSlices(c: LowerContext, hubs: LogicalTile[], tasks: Task[], inputs: StreamDecl[], src: string, bc: number): void {
  const { s, k } = c;
  if (k > 1 && s % bc !== 0) throw new Error(`lower: block width ${bc} does not divide the hub slice width ${s}`);
  inputs.forEach((input, i) => {
    const j = Math.floor((i * bc) / s);
    input.src.push(hubs[j].id);
    tasks[j].ops.push({ op: 'send', colour: input.id, src: slice(src, i * bc - j * s, sliceLen(c.d, bc, i)) });
  });
}

/**
 * Each root of `r` (rows of a d-long output) sends the part of y_i that falls in each slice to that slice's `into`
 * at its offset there; returns per slice its recv tasks.
 */
export function gatherToSlices(c: LowerContext, r: Region, hubs: LogicalTile[], into: string, label: string): Task[][] {
  const { p, s, k } = c;
  const got: Task[][] = hubs.map(() => []);
  r.roots.forEach((root, i) => {
    const r0 = i * r.grid.br;
    for (let j = Math.floor(r0 / s); j < k && j * s < r0 + root.rows; j++) {
      const a = Math.max(r0, j * s);
      const b = Math.min(r0 + root.rows, j * s + sl(c, j));
      const st = p.stream([root.tile.id], [hubs[j].id], b - a, 'transfer', `${r.name}.out${i}.${j}`);
      root.final.ops.push({ op: 'send', colour: st.id, src: slice(root.buf, a - r0, b - a) });
      got[j].push(p.recv(hubs[j], st, slice(into, a - j * s, b - a), [], label));
    }
  });
  return got;
}
