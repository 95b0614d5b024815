// A layer's attention half: the attention hub slices normalise x and feed the q/k/v regions (one per KV head, rows
// aligned to heads); each KV head's attention tile gathers q/k/v from its region's roots, applies RoPE (with q/k
// norms, where it is faster, each head on a tile of its own does its norm and RoPE first), appends to its KV cache (in
// its SRAM) and attends; its output feeds one row of the O region, whose roots return each slice its
// rows (residual add).
import type { Op, Slice, Task } from '../../../fabric/isa/types.js';
import { opCycles, streamArrivalCycles } from '../../../fabric/mesh/cost.js';
import type { LayerNode } from '../../graph/graph.js';
import { slice, zeros, type LogicalTile, type StreamDecl, type TileTag } from '../plan.js';
import { sliceLen, type Region } from '../region.js';
import { nonNull, region, sl, type KvChunking, type LowerContext } from './context.js';
import { feedSlices, gatherRoots, gatherToSlices, hubSlices, normSlices, receiveSlices } from './hub.js';

/**
 * Whether each q head and the k head get a tile of their own for their q/k norms and RoPE (in parallel) instead of
 * the attention tile doing all group + 1 heads in turn. Only with q/k norms (Qwen3): without them the split spreads
 * only RoPE's rotation, a gain that the extra tiles' traffic, which the estimate does not see, can take back on the
 * mesh engine (gpt2-small-dense on mini-128 split this way: the estimate 78 cycles faster per layer, the engine 264
 * slower). With them, chosen where it is faster by the engine's cost functions: one
 * head's ops plus passing the head on (a task start, a send, a one-hop stream of headDim wavelets) against the heads'
 * ops in turn. Never where a q/k/v block row holds more than one head (its root would have to split).
 */
export function perHeadTiles(c: LowerContext, qkNorm: boolean, br: number): boolean {
  const { group, hd, spec } = c;
  if (!qkNorm || br > hd) return false;
  const ctx = { position: 0, dtypeOf: () => 'f32' as const };
  const norm = opCycles(spec, { op: 'rmsnorm', x: slice('x', 0, hd), weight: slice('w', 0, hd), out: slice('x', 0, hd), eps: 1e-6 }, ctx);
  const rope = (heads: number) => opCycles(spec, { op: 'rope', x: slice('x', 0, heads * hd), numHeads: heads, headDim: hd, theta: 1e4, angles: slice('ang', 0, hd) }, ctx);
  const together = (group + 1) * norm + rope(group + 1);
  const apart = norm + rope(1) + spec.taskStartCycles + spec.costs.sendIssueCycles + streamArrivalCycles(spec, 1, hd);
  return apart < together;
}

/** Lowers `layer`'s attention fed by `xIn` (one stream per hub slice); returns the streams of x after the residual add. */
export function lowerAttention(c: LowerContext, layer: LayerNode, xIn: StreamDecl[], kvChunk: KvChunking | null): StreamDecl[] {
  const { p, d, group, hd, qkvRows, kvDtype, opts } = c;
  const L = `L${layer.index}`;
  const a = layer.attention;
  const qkvGrid = nonNull(c.qkvGrid);
  const oGrid = nonNull(c.oGrid);
  const tagOf = (unit: TileTag['unit']) => ({ unit, layer: layer.index, expert: null });
  // Attention hub slices.
  const hubA = hubSlices(c, `${L}.attn.hub`, `${L}.attn`, tagOf('attn-hub'), layer.inputNorm);
  hubA.forEach((t, j) => p.buffer(t, 'o', 'f32', sl(c, j), zeros, 'activation'));
  const qkvInputs = Array.from({ length: qkvGrid.gc }, (_, j) => p.stream([], [], sliceLen(d, qkvGrid.bc, j), 'broadcast', `${L}.qkv.in${j}`));
  feedSlices(c, hubA, normSlices(c, hubA, receiveSlices(c, hubA, xIn, `${L}.attn.norm`), `${L}.attn.norm`), qkvInputs, 'xn', qkvGrid.bc);
  const o = region(c, `${L}.attn.o`, `${L}.attn`, tagOf('o'), [a.o], oGrid);
  for (let g = 0; g < a.numKvHeads; g++) {
    // Rows of this KV head's region: its group's q heads, then its k head, then its v head (one tensor per block-row).
    const rowMap = (i: number) => {
      const r = i * qkvGrid.br;
      const rows = sliceLen(qkvRows, qkvGrid.br, i);
      if (r < group * hd) return [{ tensorIndex: 0, row0: g * group * hd + r, rows }];
      if (r < (group + 1) * hd) return [{ tensorIndex: 1, row0: g * hd + r - group * hd, rows }];
      return [{ tensorIndex: 2, row0: g * hd + r - (group + 1) * hd, rows }];
    };
    const qkv = region(c, `${L}.attn.qkv${g}`, `${L}.attn`, tagOf('qkv'), [a.q, a.k, a.v], qkvGrid, rowMap, qkvInputs);
    const at = p.tile(`${L}.attn.kv${g}`, `${L}.attn`, { ...tagOf('kv'), index: [g] });
    p.buffer(at, 'qkv', 'f32', qkvRows, zeros, 'activation');
    if (!kvChunk) {
      p.buffer(at, 'kc', kvDtype, opts.maxSeq * hd, zeros, 'kv-cache');
      p.buffer(at, 'vc', kvDtype, opts.maxSeq * hd, zeros, 'kv-cache');
      p.buffer(at, 'out', 'f32', group * hd, zeros, 'activation');
    }
    const qkNorm = a.qNorm !== null && a.kNorm !== null;
    const ops: Op[] = [];
    let gots: Task[];
    if (perHeadTiles(c, qkNorm, qkvGrid.br)) gots = lowerHeadTiles(c, layer, g, qkv, at);
    else {
      gots = gatherRoots(c, qkv, at, 'qkv', `${L}.attn.gather`);
      normWeights(c, layer, at, 'both');
      gots.push(anglesTask(c, layer, at));
      if (qkNorm) for (let h = 0; h <= group; h++) ops.push(headOps(c, layer, slice('qkv', h * hd, hd), h === group)[0]);
      // RoPE on the group's q heads and the k head together (they lie side by side), on the step's angles.
      ops.push({ op: 'rope', x: slice('qkv', 0, (group + 1) * hd), numHeads: group + 1, headDim: hd, theta: a.ropeTheta, angles: slice('ang', 0, hd) });
    }
    if (kvChunk) ops.push(...c.proj!.kvChunks!.lowerHead(c, layer.index, g, at, o.inputs[g], kvChunk));
    else {
      ops.push(
        { op: 'kvAppend', k: slice('qkv', group * hd, hd), v: slice('qkv', (group + 1) * hd, hd), kCache: 'kc', vCache: 'vc', rowLength: hd },
        { op: 'attention', q: slice('qkv', 0, group * hd), kCache: 'kc', vCache: 'vc', out: slice('out', 0, group * hd), numHeads: group, numKvHeads: 1, headDim: hd },
      );
      o.inputs[g].src.push(at.id);
      ops.push({ op: 'send', colour: o.inputs[g].id, src: slice('out', 0, group * hd) });
    }
    p.task(at, { on: 'after', tasks: gots.map((t) => t.id) }, ops, `${L}.attn.core`);
  }
  // Residual: each slice adds the rows of O's output that fall in it and passes its part of x on.
  const oGots = gatherToSlices(c, o, hubA, 'o', `${L}.attn.gather`);
  const toMlp = hubA.map((t, j) => p.stream([t.id], [], sl(c, j), 'transfer', `${L}.attn.residual${j}`));
  hubA.forEach((t, j) =>
    p.task(t, { on: 'after', tasks: oGots[j].map((x) => x.id) }, [{ op: 'add', a: slice('x', 0, sl(c, j)), b: slice('o', 0, sl(c, j)), out: slice('x', 0, sl(c, j)) }, { op: 'send', colour: toMlp[j].id, src: slice('x', 0, sl(c, j)) }], `${L}.attn.residual`),
  );
  return toMlp;
}

/** The q/k norm weights on tile `t` (for q heads, the k head, or both); none without q/k norms. */
function normWeights(c: LowerContext, layer: LayerNode, t: LogicalTile, heads: 'q' | 'k' | 'both'): void {
  const { qNorm, kNorm } = layer.attention;
  if (qNorm === null || kNorm === null) return;
  if (heads !== 'k') c.p.buffer(t, 'qn', 'f32', c.hd, { kind: 'vector', tensor: qNorm, range: [0, c.hd] }, 'weights');
  if (heads !== 'q') c.p.buffer(t, 'kn', 'f32', c.hd, { kind: 'vector', tensor: kNorm, range: [0, c.hd] }, 'weights');
}

/** One head's ops in place on `x`: its q/k norm (with q/k norms; `k`: the k head's weight), then RoPE. */
function headOps(c: LowerContext, layer: LayerNode, x: Slice, k: boolean): Op[] {
  const a = layer.attention;
  const norm: Op[] = a.qNorm !== null && a.kNorm !== null ? [{ op: 'rmsnorm', x, weight: slice(k ? 'kn' : 'qn', 0, c.hd), out: x, eps: c.graph.eps }] : [];
  return [...norm, { op: 'rope', x, numHeads: 1, headDim: c.hd, theta: a.ropeTheta, angles: slice('ang', 0, c.hd) }];
}

/**
 * RoPE's cos and sin for the step on tile `t` (buffer "ang"), by a task at step start: they depend only on the
 * position, so the tile has them before q and k arrive and its RoPE only rotates. Join the returned task before it.
 */
function anglesTask(c: LowerContext, layer: LayerNode, t: LogicalTile): Task {
  c.p.buffer(t, 'ang', 'f32', c.hd, zeros, 'activation');
  return c.p.task(t, { on: 'start' }, [{ op: 'ropeAngles', out: slice('ang', 0, c.hd), headDim: c.hd, theta: layer.attention.ropeTheta }], `L${layer.index}.attn.angles`);
}

/**
 * KV head `g`'s q heads and k head each on a tile of its own: the region roots' rows of a head are gathered there,
 * normalised and rotated in parallel with the other heads, and passed to the attention tile `at`; the v rows go to
 * `at` directly. Returns `at`'s recv tasks (its q, k and v all in `qkv`, as gatherRoots leaves them).
 */
function lowerHeadTiles(c: LowerContext, layer: LayerNode, g: number, qkv: Region, at: LogicalTile): Task[] {
  const { p, group, hd } = c;
  const L = `L${layer.index}`;
  const gots: Task[] = [];
  const heads = Array.from({ length: group + 1 }, (_, h) => {
    const t = p.tile(`${L}.attn.kv${g}.head${h}`, `${L}.attn`, { unit: 'qk-head', layer: layer.index, expert: null, index: [g, h] });
    p.buffer(t, 'x', 'f32', hd, zeros, 'activation');
    normWeights(c, layer, t, h < group ? 'q' : 'k');
    return { t, got: [anglesTask(c, layer, t)] };
  });
  qkv.roots.forEach((root, i) => {
    const r0 = i * qkv.grid.br;
    const h = Math.floor(r0 / hd);
    const s = p.stream([root.tile.id], [h <= group ? heads[h].t.id : at.id], root.rows, 'transfer', `${qkv.name}.out${i}`);
    root.final.ops.push({ op: 'send', colour: s.id, src: slice(root.buf, 0, root.rows) });
    if (h <= group) heads[h].got.push(p.recv(heads[h].t, s, slice('x', r0 - h * hd, root.rows), [], `${L}.attn.gather`));
    else gots.push(p.recv(at, s, slice('qkv', r0, root.rows), [], `${L}.attn.gather`));
  });
  heads.forEach(({ t, got }, h) => {
    const s = p.stream([t.id], [at.id], hd, 'transfer', `${L}.attn.kv${g}.head${h}.out`);
    p.task(t, { on: 'after', tasks: got.map((x) => x.id) }, [...headOps(c, layer, slice('x', 0, hd), h === group), { op: 'send', colour: s.id, src: slice('x', 0, hd) }], `${L}.attn.rope`);
    gots.push(p.recv(at, s, slice('qkv', h * hd, hd), [], `${L}.attn.gather`));
  });
  return gots;
}
