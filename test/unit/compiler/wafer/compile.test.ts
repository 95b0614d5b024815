import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { estimateStep } from '../../../../compiler/wafer/estimate.js';
import { InputError } from '../../../../fabric/errors.js';
import { generateFaults } from '../../../../fabric/faults/index.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { PORTS } from '../../../../fabric/isa/types.js';
import { neighbour } from '../../../../fabric/geometry.js';

const spec = getFabricPreset('mini-64');
const dense = buildGraph(getPreset('toy-dense'));
const moe = buildGraph(getPreset('toy-moe'));

describe('wafer compiler', () => {
  it('is deterministic: the same inputs give a byte-identical program', () => {
    const faults = generateFaults({ width: spec.widthTiles, height: spec.heightTiles, density: 0.02, seed: 3 });
    const a = compileModel(moe, { spec, faults, repair: 'route-around', dtype: 'bf16', maxSeq: 32 });
    const b = compileModel(moe, { spec, faults, repair: 'route-around', dtype: 'bf16', maxSeq: 32 });
    expect(JSON.stringify(a.program)).toBe(JSON.stringify(b.program));
  });

  it('places nothing on a dead tile and routes no hop through a dead router or link', () => {
    const faults = generateFaults({ width: spec.widthTiles, height: spec.heightTiles, density: 0.05, seed: 11 });
    const r = compileModel(dense, { spec, faults, repair: 'route-around', dtype: 'f32', maxSeq: 16 });
    const W = spec.widthTiles;
    for (const t of r.program.tiles) {
      const i = t.y * W + t.x;
      if (t.tasks.length || t.buffers.length) expect(faults.isTileUsable(i)).toBe(true);
      expect(faults.isRouterAlive(i)).toBe(true);
      for (const e of t.routes) for (const p of e.to) {
        if (p === 'ramp') continue;
        const port = PORTS.indexOf(p);
        expect(faults.isLinkAlive(i, port)).toBe(true);
        expect(faults.isRouterAlive(neighbour(i, port, W, spec.heightTiles))).toBe(true);
      }
    }
    expect(r.report.colours.maxPerTile).toBeLessThanOrEqual(spec.colours);
  });

  it('gives each MoE expert its own tiles and the router its hub', () => {
    const r = compileModel(moe, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
    // A tile receives on colours it is configured for, one per stream that ends there (the plan's count of them).
    const ending = new Int32Array(r.lowered.plan.tiles.length);
    for (const st of r.lowered.plan.streams) for (const d of st.dst) ending[d]++;
    expect(r.report.colours.receivePerTile).toBe(Math.max(...ending));
    expect(r.report.colours.receivePerTile).toBeLessThanOrEqual(r.report.colours.maxPerTile);
    expect(r.report.colours.receiveQueues).toBe(spec.receiveQueues ?? null);
    const groups = new Set(r.report.groups.map((g) => g.group));
    for (let e = 0; e < 8; e++) expect(groups.has(`L0.expert${e}`)).toBe(true);
    const hub = r.program.tiles.find((t) => t.role === 'L0.mlp.hub')!;
    expect(hub.tasks.some((t) => t.ops.some((o) => o.op === 'topk'))).toBe(true);
    expect(hub.tasks.some((t) => t.ops.some((o) => o.op === 'dispatch'))).toBe(true);
  });

  it('remap hides the faults: a perfect logical mesh with bypass latencies', () => {
    const faults = generateFaults({ width: spec.widthTiles + spec.spareColumns, height: spec.heightTiles + spec.spareRows, density: 0.01, seed: 2 });
    const r = compileModel(dense, { spec, faults, repair: 'remap', dtype: 'bf16', maxSeq: 16 });
    expect(r.engineFaults).toBeNull();
    expect(r.report.remap!.hiddenDefects).toBeGreaterThan(0);
    expect(r.linkExtraLatencyCycles!.some((c) => c > 0)).toBe(true);
  });

  it('spreading over more tiles shortens the expected step', () => {
    const packed = compileModel(dense, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
    const spread = compileModel(dense, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16, spread: 0.5 });
    expect(spread.report.tilesUsed).toBeGreaterThan(packed.report.tilesUsed);
    expect(spread.report.tilesUsed).toBeLessThanOrEqual(0.5 * spec.widthTiles * spec.heightTiles);
    const cycles = (r: typeof packed) => estimateStep(spec, r.lowered, r.placement, r.routes, { position: 4 }).cycles;
    expect(cycles(spread)).toBeLessThan(cycles(packed));
  });

  it.each([
    ['dense', 4],
    ['moe', 2],
  ] as const)('splits each %s hub over %d slices: no hub tile sends, receives or normalises more than its slice of x', (kind, k) => {
    const graph = kind === 'dense' ? dense : moe;
    const d = graph.hidden;
    const s = Math.ceil(d / k);
    const r = compileModel(graph, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16, sliceCols: s });
    const { tiles, streams } = r.lowered.plan;
    const hubs = tiles.filter((t) => /\.hub\d*$/.test(t.role));
    // Every half-layer (attention, MLP, final norm) has k slices; their norm weights cover [0, d) once.
    for (const base of ['L0.attn.hub', 'L0.mlp.hub', 'final.hub']) {
      const slices = hubs.filter((t) => t.role === base || new RegExp(`^${base.replace(/\./g, '\\.')}\\d+$`).test(t.role));
      expect(slices.length).toBe(k);
      const ranges = slices.map((t) => t.buffers.find((b) => b.name === 'nw')!.init).map((i) => (i.kind === 'vector' ? i.range : [0, 0]));
      expect(ranges.map(([a, b]) => b - a).reduce((a, b) => a + b, 0)).toBe(d);
      expect(ranges.map(([a]) => a).sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, j) => j * s));
    }
    // A stream to or from a hub slice carries at most its slice (or, between MoE slices, the router's logits).
    const mlp = graph.layers[0].mlp;
    const limit = Math.max(s, mlp.kind === 'moe' ? mlp.moe.experts.length : 0);
    const hubIds = new Set(hubs.map((t) => t.id));
    for (const st of streams) if (st.src.some((t) => hubIds.has(t)) || st.dst.some((t) => hubIds.has(t))) expect(st.wavelets).toBeLessThanOrEqual(limit);
    for (const t of hubs) for (const task of t.tasks) for (const op of task.ops) if (op.op === 'normScale' || op.op === 'sumsq') expect(op.x.length).toBeLessThanOrEqual(s);
    expect(r.report.colours.maxPerTile).toBeLessThanOrEqual(spec.colours);
  });

  it('splits hubs less where the default split runs out of colours; an explicit split is an error instead', () => {
    // toy-moe spread over 90% of mini-64: with its small blocks the default split (and a split in 4) needs more than
    // 24 colours around the experts' dispatches and returns; fewer slices fit.
    const o = { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16, spread: 0.9 } as const;
    const r = compileModel(moe, o);
    expect(r.lowered.plan.tiles.filter((t) => /^L0\.attn\.hub\d*$/.test(t.role)).length).toBeLessThan(4);
    expect(r.report.colours.maxPerTile).toBeLessThanOrEqual(spec.colours);
    expect(() => compileModel(moe, { ...o, sliceCols: 64 })).toThrowError(/routing needs more than 24 colours/);
  });

  it('a model too large for the fabric is one clear error with the tiles it needs', () => {
    const small = getFabricPreset('mini-16');
    expect(() => compileModel(dense, { spec: small, faults: null, repair: 'route-around', dtype: 'f32', maxSeq: 16 })).toThrowError(
      /the model needs \d+ tiles but fabric "mini-16" has \d+ usable.*larger fabric.*int8.*more wafers/,
    );
    try {
      compileModel(dense, { spec: small, faults: null, repair: 'route-around', dtype: 'f32', maxSeq: 16 });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
    }
  });

  it('refuses what the mesh does not lower, naming the model', () => {
    expect(() => compileModel(buildGraph(getPreset('kimi-k2')), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 })).toThrowError(/multi-head latent attention.*wafer project/);
  });
});
