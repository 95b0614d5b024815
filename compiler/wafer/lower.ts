// Lowering: the layer graph -> a logical plan of tiles, tasks and streams for one decode step.
//
// Per layer: an attention hub tile holds the residual, normalises it and sends its slices to the QKV regions (one
// per KV head, rows aligned to heads); each KV head's attention tile gathers q/k/v from its region's roots, applies
// RoPE, appends to its KV cache (in its SRAM) and attends; its output feeds one row of the O region, whose roots
// return to the hub (residual add). An MLP hub does the same for gate+up (whose roots apply SwiGLU and feed the
// down region's rows directly) and down; an MoE hub runs the router and top-k itself and dispatches to the chosen
// experts only, each expert having its own hub and regions, and combines what comes back.
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { Op } from '../../fabric/isa/types.js';
import type { LayerNode, MatrixNode, MlpNode, ModelGraph } from '../graph/graph.js';
import { partitionMatrix, type BlockGrid, type ProgramDtype, dtypeBytes } from './partition.js';
import { PlanBuilder, slice, zeros, type LogicalTile, type StreamDecl } from './plan.js';
import { REDUCE_SHAPES, buildRegion, reduceCostCycles, sliceLen, type ReduceShape, type Region } from './region.js';

export interface LowerOptions {
  dtype: ProgramDtype;
  /** Longest context the KV caches hold. */
  maxSeq: number;
  /** Bytes a tile may spend on buffers. */
  budgetBytes: number;
  spec: FabricSpec;
  /** Most streams one hub tile sends to or receives from one region (each needs its own colour there). */
  maxFan: number;
}

export interface Lowered {
  plan: PlanBuilder;
  regions: Region[];
  /** Tiles the host writes the step's token into (buffer "tok"). */
  tokenTiles: number[];
  logitOutputs: { name: string; offset: number }[];
}

function fail(what: string, fix: string): never {
  throw new InputError(what, 'model', fix);
}

export function checkCompilable(graph: ModelGraph): void {
  const c = graph.config;
  if (c.mla) fail(`${c.name} uses multi-head latent attention, which the mesh compiler does not lower`, 'use `wafer project` for this model');
  if (c.attentionBias) fail(`${c.name} has attention biases, which the mesh compiler does not lower`, 'use `wafer project` or a llama/mistral/qwen3/mixtral model');
  if (graph.layers.some((l) => l.attention.window !== null)) fail(`${c.name} has sliding-window layers, which the mesh compiler does not lower`, 'use `wafer project`');
  if (c.moe && (c.moe.numSharedExperts > 0 || c.moe.routedScalingFactor !== 1)) fail(`${c.name} has shared experts or routed scaling`, 'use `wafer project` for this model');
  if (c.family === 'gpt_oss') fail(`${c.name} (gpt_oss) is not lowered to the mesh`, 'use `wafer project`');
}

export function lowerModel(graph: ModelGraph, opts: LowerOptions): Lowered {
  checkCompilable(graph);
  const p = new PlanBuilder();
  const regions: Region[] = [];
  const { dtype, spec } = opts;
  const d = graph.hidden;
  const simd = dtype === 'f32' ? spec.simdWidth.f32 : dtype === 'int8' ? spec.simdWidth.int8 : spec.simdWidth.f16;

  const partition = (what: string, req: Omit<Parameters<typeof partitionMatrix>[0], 'dtype' | 'budgetBytes'>): BlockGrid => {
    const grid = partitionMatrix({ ...req, dtype, budgetBytes: opts.budgetBytes });
    if (!grid) fail(`${what} (${req.rows}×${req.cols}) cannot be split into blocks that fit a tile of ${spec.sramBytesPerTile} bytes`, 'use a narrower dtype (--dtype bf16 or int8) or a fabric with more SRAM per tile');
    return grid;
  };
  const chooseReduce = (grid: BlockGrid, m: number): ReduceShape => {
    const w = m * grid.br;
    const add = Math.ceil(w / simd);
    // The cheapest shape; on a tie the simpler one (chain, then tree, then K-tree).
    let best: ReduceShape = 'chain';
    for (const shape of REDUCE_SHAPES) if (reduceCostCycles(shape, grid.gc, w, spec.hopLatencyCycles, add) < reduceCostCycles(best, grid.gc, w, spec.hopLatencyCycles, add)) best = shape;
    return best;
  };
  const region = (name: string, group: string, mats: MatrixNode[], grid: BlockGrid, rowMap?: Parameters<typeof buildRegion>[7], shared?: StreamDecl[]) => {
    const r = buildRegion(p, name, group, mats, grid, dtype, chooseReduce(grid, rowMap ? rowMap(0).length : mats.length), rowMap, shared);
    regions.push(r);
    return r;
  };
  /** A hub tile holding a full vector `x` (d floats) that it normalises and slices to a region's input rows. */
  const sendSlices = (src: string, inputs: StreamDecl[], hub: LogicalTile, bc: number): Op[] =>
    inputs.map((s, j) => {
      s.src.push(hub.id);
      return { op: 'send', colour: s.id, src: slice(src, j * bc, sliceLen(d, bc, j)) } as Op;
    });
  /** Each root i of `r` sends y_i to `hub`, which receives it into `into` at the root's row offset; returns the recv tasks. */
  const gatherRoots = (r: Region, hub: LogicalTile, into: string, label: string) =>
    r.roots.map((root, i) => {
      const s = p.stream([root.tile.id], [hub.id], root.rows, `${r.name}.out${i}`);
      root.final.ops.push({ op: 'send', colour: s.id, src: slice(root.buf, 0, root.rows) });
      return p.recv(hub, s, slice(into, i * r.grid.br, root.rows), [], label);
    });
  const vector = (t: LogicalTile, name: string, tensor: string, length: number) => p.buffer(t, name, 'f32', length, { kind: 'vector', tensor, range: [0, length] }, 'weights');

  // Partitions shared by every layer.
  const a0 = graph.layers[0].attention;
  const group = a0.numHeads / a0.numKvHeads;
  const hd = a0.headDim;
  const qkvRows = (group + 2) * hd;
  const qkvGrid = partition('the q/k/v projection of one KV head', { rows: qkvRows, cols: d, matricesPerTile: 1, forcedBc: 0, rowAlign: hd, maxGr: opts.maxFan * 2, maxGc: opts.maxFan });
  const oGrid = partition('the attention output projection', { rows: d, cols: a0.numHeads * hd, matricesPerTile: 1, forcedBc: group * hd, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity });

  // Embedding: rows of the table spread over tiles; the tile that owns the step's token sends its row.
  const rowBytes = d * dtypeBytes(dtype) + (dtype === 'int8' ? 4 : 0);
  const embRowsPerTile = Math.max(1, Math.floor((opts.budgetBytes - 64) / rowBytes));
  const embStream = p.stream([], [], d, 'embedding.out');
  const tokenTiles: number[] = [];
  for (let r0 = 0, k = 0; r0 < graph.embedding.rows; r0 += embRowsPerTile, k++) {
    const rows = Math.min(embRowsPerTile, graph.embedding.rows - r0);
    const t = p.tile(`embedding[${k}]`, 'embedding');
    const range = { tensor: graph.embedding.tensor, rows: [r0, r0 + rows] as [number, number], cols: [0, d] as [number, number] };
    p.buffer(t, 'table', dtype, rows * d, { kind: 'weights', ...range }, 'weights');
    const scales = dtype === 'int8' ? p.buffer(t, 'scales', 'f32', rows, { kind: 'scales', ...range }, 'weights') : undefined;
    p.buffer(t, 'tok', 'i32', 1, zeros, 'activation');
    p.task(t, { on: 'start' }, [{ op: 'embed', table: 'table', scales, rowBase: r0, rows, cols: d, token: slice('tok', 0, 1), colour: embStream.id }], 'embedding');
    embStream.src.push(t.id);
    tokenTiles.push(t.id);
  }

  let xIn = embStream;
  for (const layer of graph.layers) xIn = lowerLayer(layer, xIn);

  // Final norm, LM head, argmax.
  const hubF = p.tile('final.hub', 'lm_head');
  xIn.dst.push(hubF.id);
  p.buffer(hubF, 'x', 'f32', d, zeros, 'activation');
  p.buffer(hubF, 'xn', 'f32', d, zeros, 'activation');
  vector(hubF, 'nw', graph.finalNorm, d);
  const lmGrid = partition('the LM head', { rows: graph.lmHead.rows, cols: d, matricesPerTile: 1, forcedBc: 0, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan });
  const lm = region('lm_head', 'lm_head', [graph.lmHead], lmGrid);
  p.recv(hubF, xIn, slice('x', 0, d), [{ op: 'rmsnorm', x: slice('x', 0, d), weight: slice('nw', 0, d), out: slice('xn', 0, d), eps: graph.eps }, ...sendSlices('xn', lm.inputs, hubF, lmGrid.bc)], 'final.norm');
  const logitOutputs: { name: string; offset: number }[] = [];
  // Argmax: each root takes its slice's best, then a chain from the last root to root 0 merges the pairs.
  let prevPair: StreamDecl | null = null;
  for (let i = lm.roots.length - 1; i >= 0; i--) {
    const root = lm.roots[i];
    const t = root.tile;
    p.buffer(t, 'am', 'f32', 2, zeros, 'activation');
    root.final.ops.push({ op: 'argmax', x: slice(root.buf, 0, root.rows), indexBase: root.rowOffset, out: slice('am', 0, 2) });
    root.final.ops.push({ op: 'output', name: `logits${i}`, src: slice(root.buf, 0, root.rows) });
    logitOutputs.push({ name: `logits${i}`, offset: root.rowOffset });
    let last = root.final;
    if (prevPair) {
      p.buffer(t, 'amr', 'f32', 2, zeros, 'activation');
      const got = p.recv(t, prevPair, slice('amr', 0, 2), [], 'lm_head.argmax.recv');
      last = p.task(t, { on: 'after', tasks: [last.id, got.id] }, [{ op: 'argmaxMerge', a: slice('am', 0, 2), b: slice('amr', 0, 2), out: slice('am', 0, 2) }], 'lm_head.argmax');
    }
    if (i > 0) {
      const s = p.stream([t.id], [lm.roots[i - 1].tile.id], 2, `lm_head.argmax${i}`);
      last.ops.push({ op: 'send', colour: s.id, src: slice('am', 0, 2) });
      prevPair = s;
    } else last.ops.push({ op: 'output', name: 'token', src: slice('am', 0, 2) });
  }
  logitOutputs.reverse();
  return { plan: p, regions, tokenTiles, logitOutputs };

  function lowerLayer(layer: LayerNode, xIn: StreamDecl): StreamDecl {
    const L = `L${layer.index}`;
    const a = layer.attention;
    // Attention hub.
    const hubA = p.tile(`${L}.attn.hub`, `${L}.attn`);
    xIn.dst.push(hubA.id);
    p.buffer(hubA, 'x', 'f32', d, zeros, 'activation');
    p.buffer(hubA, 'xn', 'f32', d, zeros, 'activation');
    p.buffer(hubA, 'o', 'f32', d, zeros, 'activation');
    vector(hubA, 'nw', layer.inputNorm, d);
    const qkvInputs = Array.from({ length: qkvGrid.gc }, (_, j) => p.stream([], [], sliceLen(d, qkvGrid.bc, j), `${L}.qkv.in${j}`));
    p.recv(hubA, xIn, slice('x', 0, d), [{ op: 'rmsnorm', x: slice('x', 0, d), weight: slice('nw', 0, d), out: slice('xn', 0, d), eps: graph.eps }, ...sendSlices('xn', qkvInputs, hubA, qkvGrid.bc)], `${L}.attn.norm`);
    const o = region(`${L}.attn.o`, `${L}.attn`, [a.o], oGrid);
    for (let g = 0; g < a.numKvHeads; g++) {
      // Rows of this KV head's region: its group's q heads, then its k head, then its v head (one tensor per block-row).
      const rowMap = (i: number) => {
        const r = i * qkvGrid.br;
        const rows = sliceLen(qkvRows, qkvGrid.br, i);
        if (r < group * hd) return [{ tensorIndex: 0, row0: g * group * hd + r, rows }];
        if (r < (group + 1) * hd) return [{ tensorIndex: 1, row0: g * hd + r - group * hd, rows }];
        return [{ tensorIndex: 2, row0: g * hd + r - (group + 1) * hd, rows }];
      };
      const qkv = region(`${L}.attn.qkv${g}`, `${L}.attn`, [a.q, a.k, a.v], qkvGrid, rowMap, qkvInputs);
      const at = p.tile(`${L}.attn.kv${g}`, `${L}.attn`);
      p.buffer(at, 'qkv', 'f32', qkvRows, zeros, 'activation');
      p.buffer(at, 'kc', 'f32', opts.maxSeq * hd, zeros, 'kv-cache');
      p.buffer(at, 'vc', 'f32', opts.maxSeq * hd, zeros, 'kv-cache');
      p.buffer(at, 'out', 'f32', group * hd, zeros, 'activation');
      const gots = gatherRoots(qkv, at, 'qkv', `${L}.attn.gather`);
      const ops: Op[] = [];
      if (a.qNorm && a.kNorm) {
        vector(at, 'qn', a.qNorm, hd);
        vector(at, 'kn', a.kNorm, hd);
        for (let h = 0; h <= group; h++) {
          const s = slice('qkv', h * hd, hd);
          ops.push({ op: 'rmsnorm', x: s, weight: slice(h < group ? 'qn' : 'kn', 0, hd), out: s, eps: graph.eps });
        }
      }
      ops.push(
        { op: 'rope', x: slice('qkv', 0, group * hd), numHeads: group, headDim: hd, theta: a.ropeTheta },
        { op: 'rope', x: slice('qkv', group * hd, hd), numHeads: 1, headDim: hd, theta: a.ropeTheta },
        { op: 'kvAppend', k: slice('qkv', group * hd, hd), v: slice('qkv', (group + 1) * hd, hd), kCache: 'kc', vCache: 'vc', rowLength: hd },
        { op: 'attention', q: slice('qkv', 0, group * hd), kCache: 'kc', vCache: 'vc', out: slice('out', 0, group * hd), numHeads: group, numKvHeads: 1, headDim: hd },
      );
      o.inputs[g].src.push(at.id);
      ops.push({ op: 'send', colour: o.inputs[g].id, src: slice('out', 0, group * hd) });
      p.task(at, { on: 'after', tasks: gots.map((t) => t.id) }, ops, `${L}.attn.core`);
    }
    const oGots = gatherRoots(o, hubA, 'o', `${L}.attn.gather`);
    const toMlp = p.stream([hubA.id], [], d, `${L}.attn.residual`);
    p.task(hubA, { on: 'after', tasks: oGots.map((t) => t.id) }, [{ op: 'add', a: slice('x', 0, d), b: slice('o', 0, d), out: slice('x', 0, d) }, { op: 'send', colour: toMlp.id, src: slice('x', 0, d) }], `${L}.attn.residual`);

    // MLP hub.
    const hubM = p.tile(`${L}.mlp.hub`, `${L}.mlp`);
    toMlp.dst.push(hubM.id);
    p.buffer(hubM, 'x', 'f32', d, zeros, 'activation');
    p.buffer(hubM, 'xn', 'f32', d, zeros, 'activation');
    vector(hubM, 'nw', layer.postAttentionNorm, d);
    const out = p.stream([hubM.id], [], d, `${L}.out`);
    const norm: Op = { op: 'rmsnorm', x: slice('x', 0, d), weight: slice('nw', 0, d), out: slice('xn', 0, d), eps: graph.eps };
    if (layer.mlp.kind === 'dense') {
      p.buffer(hubM, 'y', 'f32', d, zeros, 'activation');
      const { inputs, down } = mlpRegions(`${L}.mlp`, layer.mlp.dense);
      p.recv(hubM, toMlp, slice('x', 0, d), [norm, ...sendSlices('xn', inputs, hubM, inputs.length ? Math.ceil(d / inputs.length) : d)], `${L}.mlp.norm`);
      const gots = gatherRoots(down, hubM, 'y', `${L}.mlp.gather`);
      p.task(hubM, { on: 'after', tasks: gots.map((t) => t.id) }, [{ op: 'add', a: slice('x', 0, d), b: slice('y', 0, d), out: slice('x', 0, d) }, { op: 'send', colour: out.id, src: slice('x', 0, d) }], `${L}.mlp.residual`);
      return out;
    }
    const moe = layer.mlp.moe;
    const E = moe.experts.length;
    p.buffer(hubM, 'acc', 'f32', d, zeros, 'activation');
    p.buffer(hubM, 'router', dtype, E * d, { kind: 'weights', tensor: moe.router.tensor, rows: [0, E], cols: [0, d] }, 'weights');
    const rscales = dtype === 'int8' ? p.buffer(hubM, 'rscales', 'f32', E, { kind: 'scales', tensor: moe.router.tensor, rows: [0, E], cols: [0, d] }, 'weights') : undefined;
    p.buffer(hubM, 'logits', 'f32', E, zeros, 'activation');
    p.buffer(hubM, 'idx', 'i32', moe.topK, zeros, 'activation');
    p.buffer(hubM, 'wts', 'f32', moe.topK, zeros, 'activation');
    p.buffer(hubM, 'dw', 'f32', E, zeros, 'activation');
    const dispatch: StreamDecl[] = [];
    const returns: number[] = [];
    moe.experts.forEach((expert, e) => {
      const EL = `${L}.expert${e}`;
      const hubE = p.tile(`${EL}.hub`, EL);
      p.buffer(hubE, 'x', 'f32', d, zeros, 'activation');
      p.buffer(hubE, 'y', 'f32', d, zeros, 'activation');
      const toExpert = p.stream([hubM.id], [hubE.id], d, `${EL}.dispatch`);
      dispatch.push(toExpert);
      const { inputs, down } = mlpRegions(EL, expert);
      p.recv(hubE, toExpert, slice('x', 0, d), sendSlices('x', inputs, hubE, Math.ceil(d / inputs.length)), `${EL}.fanout`);
      const gots = gatherRoots(down, hubE, 'y', `${EL}.gather`);
      const back = p.stream([hubE.id], [hubM.id], d, `${EL}.return`);
      p.task(hubE, { on: 'after', tasks: gots.map((t) => t.id) }, [{ op: 'send', colour: back.id, src: slice('y', 0, d) }], `${EL}.return`);
      const ye = p.buffer(hubM, `ye${e}`, 'f32', d, zeros, 'activation');
      returns.push(p.recv(hubM, back, slice(ye, 0, d), [{ op: 'axpy', a: slice(ye, 0, d), weight: slice('dw', 0, E), index: e, out: slice('acc', 0, d) }], `${L}.moe.combine`).id);
    });
    p.recv(
      hubM,
      toMlp,
      slice('x', 0, d),
      [
        norm,
        { op: 'matvec', w: 'router', scales: rscales, rows: E, cols: d, x: slice('xn', 0, d), y: slice('logits', 0, E), accumulate: false },
        { op: 'topk', logits: slice('logits', 0, E), k: moe.topK, renormalize: moe.renormalize, indices: slice('idx', 0, moe.topK), weights: slice('wts', 0, moe.topK), denseWeights: slice('dw', 0, E) },
        { op: 'copy', src: slice('x', 0, d), out: slice('acc', 0, d) },
        { op: 'dispatch', indices: slice('idx', 0, moe.topK), colours: dispatch.map((s) => s.id), src: slice('xn', 0, d) },
      ],
      `${L}.moe.router`,
    );
    p.task(hubM, { on: 'after', tasks: returns, count: moe.topK }, [{ op: 'send', colour: out.id, src: slice('acc', 0, d) }], `${L}.moe.residual`);
    return out;
  }

  /** gate+up region whose roots apply SwiGLU and feed the down region's rows; returns gate/up inputs and the down region. */
  function mlpRegions(name: string, m: MlpNode): { inputs: StreamDecl[]; down: Region } {
    const guGrid = partition(`${name} gate/up`, { rows: m.intermediate, cols: d, matricesPerTile: 2, forcedBc: 0, rowAlign: 0, maxGr: Infinity, maxGc: opts.maxFan });
    const gu = region(`${name}.gu`, name, [m.gate, m.up], guGrid);
    const downGrid = partition(`${name} down`, { rows: d, cols: m.intermediate, matricesPerTile: 1, forcedBc: guGrid.br, rowAlign: 0, maxGr: opts.maxFan, maxGc: Infinity });
    const down = region(`${name}.down`, name, [m.down], downGrid);
    gu.roots.forEach((root, i) => {
      down.inputs[i].src.push(root.tile.id);
      root.final.ops.push(
        { op: 'swiglu', gate: slice(root.buf, 0, root.rows), up: slice(root.buf, root.rows, root.rows), out: slice(root.buf, 0, root.rows) },
        { op: 'send', colour: down.inputs[i].id, src: slice(root.buf, 0, root.rows) },
      );
    });
    return { inputs: gu.inputs, down };
  }
}
