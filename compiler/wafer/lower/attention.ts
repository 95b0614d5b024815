// A layer's attention half: the attention hub slices normalise x and feed the q/k/v regions (one per KV head, rows
// aligned to heads); each KV head's attention tile gathers q/k/v from its region's roots, applies RoPE, appends to
// its KV cache (in its SRAM) and attends; its output feeds one row of the O region, whose roots return each slice its
// rows (residual add).
import type { Op } from '../../../fabric/isa/types.js';
import type { LayerNode } from '../../graph/graph.js';
import { slice, zeros, type StreamDecl, type TileTag } from '../plan.js';
import { sliceLen } from '../region.js';
import { nonNull, region, sl, type KvChunking, type LowerContext } from './context.js';
import { feedSlices, gatherRoots, gatherToSlices, hubSlices, normSlices, receiveSlices } from './hub.js';

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
    const gots = gatherRoots(c, qkv, at, 'qkv', `${L}.attn.gather`);
    const ops: Op[] = [];
    if (a.qNorm && a.kNorm) {
      p.buffer(at, 'qn', 'f32', hd, { kind: 'vector', tensor: a.qNorm, range: [0, hd] }, 'weights');
      p.buffer(at, 'kn', 'f32', hd, { kind: 'vector', tensor: a.kNorm, range: [0, hd] }, 'weights');
      for (let h = 0; h <= group; h++) {
        const x = slice('qkv', h * hd, hd);
        ops.push({ op: 'rmsnorm', x, weight: slice(h < group ? 'qn' : 'kn', 0, hd), out: x, eps: c.graph.eps });
      }
    }
    // RoPE on the group's q heads and the k head together (they lie side by side): one set of angles per step.
    ops.push({ op: 'rope', x: slice('qkv', 0, (group + 1) * hd), numHeads: group + 1, headDim: hd, theta: a.ropeTheta });
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
