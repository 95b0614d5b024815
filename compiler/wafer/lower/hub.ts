// Hub slices. The residual stream x (d floats) of each half-layer is held by k hub tiles, slice j owning
// x[j·s, (j+1)·s): each slice normalises its part (a sum of squares per slice, added up a tree into slice 0 and
// multicast back: one wavelet per edge), feeds block column j of the regions it drives, and receives the rows of
// their outputs that fall in it. So no tile sends, receives or normalises more than s values of x per half-layer.
import type { Slice, Task } from '../../../fabric/isa/types.js';
import { slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from '../plan.js';
import { reduceChildren, reduceUp, sliceLen, type Region, type RegionRoot } from '../region.js';
import { sl, type LowerContext } from './context.js';
import { BAND_ROWS } from '../place.js';

/**
 * Each root i of `r` sends y_i to `hub`, which receives it into `into` at the root's row offset; returns the recv
 * tasks. More roots than `opts.gatherFan` gather up trees of consecutive roots first (gatherRun), each tree's first
 * root sending its run.
 */
export function gatherRoots(c: LowerContext, r: Region, hub: LogicalTile, into: string, label: string): Task[] {
  const fan = c.opts.gatherFan ?? Infinity;
  const n = r.roots.length;
  if (n > fan) {
    return Array.from({ length: fan }, (_, q) => {
      const first = Math.floor((q * n) / fan);
      const run = r.roots.slice(first, Math.floor(((q + 1) * n) / fan));
      const rows = run.reduce((a, x) => a + x.rows, 0);
      const s = c.p.stream([run[0].tile.id], [hub.id], rows, 'transfer', `${r.name}.out${first}`);
      const { task, send } = gatherRun(c, r.name, first, run);
      task.ops.push({ op: 'send', colour: s.id, src: send });
      return c.p.recv(hub, s, slice(into, first * r.grid.br, rows), [], label);
    });
  }
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
    // Slice j at row j of the band in every hub: what passes from a hub's slice j to the next's runs along one row.
    // (More slices than rows would share rows whatever the placement did: then the scan's order stands.)
    if (c.k <= BAND_ROWS) t.row = j;
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
    merge: (_, into) => [{ op: 'add', a: value, b: into, out: value }],
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
 * at its offset there; returns per slice its recv tasks. Where more roots than `opts.gatherFan` lie wholly inside one
 * slice, they first gather up trees of consecutive roots (gatherRun), so that slice receives at most that many
 * streams from the region, each carrying a run of rows: fewer streams converge on the hub (each needs its own colour
 * on the links into it and at the hub itself), for a relay hop per tree level whose rows the estimate charges.
 */
export function gatherToSlices(c: LowerContext, r: Region, hubs: LogicalTile[], into: string, label: string): Task[][] {
  const { p, s, k } = c;
  const got: Task[][] = hubs.map(() => []);
  const fan = c.opts.gatherFan ?? Infinity;
  const inside: number[][] = hubs.map(() => []);
  r.roots.forEach((root, i) => {
    const r0 = i * r.grid.br;
    const j0 = Math.floor(r0 / s);
    if (fan < Infinity && r0 + root.rows <= j0 * s + sl(c, j0)) {
      inside[j0].push(i);
      return;
    }
    for (let j = j0; j < k && j * s < r0 + root.rows; j++) {
      const a = Math.max(r0, j * s);
      const b = Math.min(r0 + root.rows, j * s + sl(c, j));
      const st = p.stream([root.tile.id], [hubs[j].id], b - a, 'transfer', `${r.name}.out${i}.${j}`);
      root.final.ops.push({ op: 'send', colour: st.id, src: slice(root.buf, a - r0, b - a) });
      got[j].push(p.recv(hubs[j], st, slice(into, a - j * s, b - a), [], label));
    }
  });
  inside.forEach((roots, j) => {
    // Runs of consecutive roots, as even as `fan` runs allow.
    const runs = Math.min(roots.length, fan);
    for (let q = 0; q < runs; q++) {
      const run = roots.slice(Math.floor((q * roots.length) / runs), Math.floor(((q + 1) * roots.length) / runs));
      const head = r.roots[run[0]];
      const r0 = run[0] * r.grid.br;
      const rows = run.reduce((n, i) => n + r.roots[i].rows, 0);
      const st = p.stream([head.tile.id], [hubs[j].id], rows, 'transfer', `${r.name}.out${run[0]}.${j}`);
      const { send, task } = gatherRun(c, r.name, run[0], run.map((i) => r.roots[i]));
      task.ops.push({ op: 'send', colour: st.id, src: send });
      got[j].push(p.recv(hubs[j], st, slice(into, r0 - j * s, rows), [], label));
    }
  });
  return got;
}

/**
 * Roots `run` of a region (consecutive block rows, the first block row `first`) gather their rows into the first's buffer `gat` up a binomial tree:
 * each copies its own rows into the front of its `gat`, receives each child's subtree behind them (a stream per
 * edge), and then sends the lot to its parent. Returns the first root's task after which `gat` holds every row of
 * the run, and that slice; a run of one root returns its own rows.
 */
export function gatherRun(c: LowerContext, name: string, first: number, run: RegionRoot[]): { task: Task; send: Slice } {
  const { p } = c;
  const n = run.length;
  const root = (m: number) => run[m];
  if (n === 1) return { task: root(0).final, send: slice(root(0).buf, 0, root(0).rows) };
  // Rows before member m of the run; member m's subtree is [m, m + span) with span its lowest set bit (capped at n).
  const before = [0];
  for (let m = 0; m < n; m++) before.push(before[m] + root(m).rows);
  const end = (m: number) => (m === 0 ? n : Math.min(n, m + (m & -m)));
  const rowsOf = (m: number) => before[end(m)] - before[m];
  const up = new Map<number, StreamDecl>();
  for (let m = 1; m < n; m++) {
    const parent = m - (m & -m);
    up.set(m, p.stream([root(m).tile.id], [root(parent).tile.id], rowsOf(m), 'transfer', `${name}.gather${first + m}>${first + parent}`));
  }
  const done: Task[] = [];
  for (let m = n - 1; m >= 0; m--) {
    const t = root(m);
    p.buffer(t.tile, 'gat', 'f32', rowsOf(m), zeros, 'activation');
    t.final.ops.push({ op: 'copy', src: slice(t.buf, 0, t.rows), out: slice('gat', 0, t.rows) });
    const waits = [t.final.id];
    for (const ch of reduceChildren('tree', m, n)) waits.push(p.recv(t.tile, up.get(ch)!, slice('gat', before[ch] - before[m], rowsOf(ch)), [], `${name}.gather`).id);
    done[m] = p.task(t.tile, { on: 'after', tasks: waits }, m > 0 ? [{ op: 'send', colour: up.get(m)!.id, src: slice('gat', 0, rowsOf(m)) }] : [], `${name}.gather`);
  }
  return { task: done[0], send: slice('gat', 0, rowsOf(0)) };
}
