// The compiler extensions the projection stands on: dimension-ordered and hops-only routing (the same hop counts as
// BFS), the estimate's critical path (it sums to the step's cycles), stages without embedding / LM head, chunked KV
// heads, reserved expert spans and placement at a scan offset.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { ColourError, lowerStage, receiveOverflow, releasePlan, stageKvChunking, stageLmHeadLayout, timeStage, type StageRequest, type WaferMesh } from '../../../../compiler/project/stage.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { estimateStep, PATH_CAUSES, type EstimateOptions } from '../../../../compiler/wafer/estimate.js';
import { tileBudgetBytes } from '../../../../compiler/wafer/partition.js';
import { meshView, pickLinks, routeLinks, routeStreams } from '../../../../compiler/wafer/route.js';
import { generateFaults } from '../../../../fabric/faults/index.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const spec = getFabricPreset('mini-64');
const mesh: WaferMesh = { spec, faults: null, linkExtraLatencyCycles: null, usable: () => true, usableTiles: 64 * 64 };
const dense = buildGraph(getPreset('toy-dense'));
const moe = buildGraph(getPreset('toy-moe'));
const request = (graph: typeof dense, layers: typeof dense.layers, over: Partial<StageRequest> = {}): StageRequest => ({
  graph,
  layers,
  mesh,
  dtype: 'bf16',
  budgetBytes: tileBudgetBytes(spec),
  maxFan: 8,
  maxSeq: 16,
  projection: {},
  batch: 1,
  ...over,
});

describe('routing for the projection', () => {
  it('dimension-ordered and hops-only routes have BFS hop counts, with and without faults', () => {
    for (const faults of [null, generateFaults({ width: 64, height: 64, density: 0.05, seed: 7 })]) {
      const r = compileModel(moe, { spec, faults, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
      const view = meshView(64, 64, faults);
      const streams = r.lowered.plan.streams;
      const xy = routeStreams(streams, r.placement.tileOf, view, { dimensionOrdered: true });
      const lite = routeStreams(streams, r.placement.tileOf, view, { dimensionOrdered: true, hopsOnly: true });
      r.routes.forEach((bfs, i) => {
        expect(xy[i].maxHops).toBe(bfs.maxHops);
        expect([...xy[i].hopsTo]).toEqual([...bfs.hopsTo]);
        expect(lite[i].maxHops).toBe(bfs.maxHops);
        // hops-only routes list the destinations of a multicast only (a single one is maxHops away)
        for (const [t, hops] of bfs.hopsTo) expect(lite[i].hopsTo.get(t) ?? lite[i].maxHops).toBe(hops);
        expect(lite[i].hopsTo.size).toBe(bfs.hopsTo.size > 1 ? bfs.hopsTo.size : 0);
        expect(lite[i].linkCount).toBe(xy[i].links.length);
        expect(lite[i].entries.size).toBe(0);
      });
      // The same estimate from the routes' entries as from routeLinks' table of the same routes; hop counts alone
      // (no links) share none, which never makes a step slower.
      const table = routeLinks(streams, r.placement.tileOf, view, { dimensionOrdered: true });
      const est = (routes: typeof xy, links?: typeof table) => estimateStep(spec, r.lowered, r.placement, routes, { position: 5, links }).cycles;
      expect(est(lite, table)).toBe(est(xy));
      expect(est(lite)).toBeLessThanOrEqual(est(xy));
    }
  });
});

describe('route choice in the estimate', () => {
  it('replays: told the routes it chose, or given them as one table, the estimate gives the same step', () => {
    const r = compileModel(moe, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
    const streams = r.lowered.plan.streams;
    const view = meshView(64, 64, null);
    const rowFirst = routeLinks(streams, r.placement.tileOf, view, { dimensionOrdered: true, hops: true });
    const columnFirst = routeLinks(streams, r.placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
    const est = (opts: Partial<EstimateOptions>) => estimateStep(spec, r.lowered, r.placement, rowFirst.hops!, { position: 5, links: rowFirst, ...opts });
    const chose = est({ alternativeLinks: columnFirst });
    const take = chose.alternative!;
    expect(take.some((t) => t === 1)).toBe(true);
    expect(est({ alternativeLinks: columnFirst, alternativeTaken: take }).cycles).toBe(chose.cycles);
    expect(est({ links: pickLinks(rowFirst, columnFirst, take) }).cycles).toBe(chose.cycles);
  });
});

describe('critical path of the estimate', () => {
  it('sums to the step and leaves no time unexplained; probes see the path up to their first arrival', () => {
    const r = compileModel(moe, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
    const hub = r.lowered.plan.tiles.find((t) => t.role === 'L1.attn.hub')!;
    const e = estimateStep(spec, r.lowered, r.placement, r.routes, { position: 7, criticalPath: true, probeTiles: [hub.id] });
    expect(e.cycles).toBe(estimateStep(spec, r.lowered, r.placement, r.routes, { position: 7 }).cycles);
    const p = e.criticalPath!;
    expect(Object.keys(p)).toEqual([...PATH_CAUSES]);
    expect(PATH_CAUSES.reduce((s, c) => s + p[c], 0)).toBe(e.cycles);
    expect(p.wait).toBe(0);
    for (const c of ['matvec', 'attention', 'vector', 'overhead', 'hops', 'reduction', 'broadcast', 'transfer'] as const) expect(p[c]).toBeGreaterThan(0);
    const a = e.firstArrival!.get(hub.id)!;
    expect(a.cycles).toBeGreaterThan(0);
    expect(a.cycles).toBeLessThan(e.cycles);
    expect(PATH_CAUSES.reduce((s, c) => s + a.path[c], 0)).toBe(a.cycles);
  });
});

describe('stages', () => {
  it('a layer stage has stub tiles in place of the embedding and LM head, and its cycles run hub to hub', () => {
    const s = lowerStage(request(dense, [dense.layers[2]]));
    const roles = s.lowered.plan.tiles.map((t) => t.role);
    expect(roles[0]).toBe('stage.in');
    expect(roles[1]).toBe('L2.attn.hub');
    expect(roles[roles.length - 1]).toBe('stage.out');
    expect(roles.some((r) => r.startsWith('embedding') || r.startsWith('lm_head'))).toBe(false);
    expect(s.tiles).toBe(roles.length - 2);
    const t = timeStage(s, 0, 15);
    expect(t.cycles).toBeGreaterThan(0);
    expect(PATH_CAUSES.reduce((a, c) => a + t.path[c], 0)).toBeCloseTo(t.cycles, 6);
  });

  it('the embedding and LM head stages hold only those, and add up to the step of a model without layers', () => {
    const emb = lowerStage(request(dense, [], { part: 'embedding' }));
    const lm = lowerStage(request(dense, [], { part: 'lm_head' }));
    expect(emb.tiles).toBe(emb.embeddingTiles);
    expect(lm.tiles).toBe(lm.lmHeadTiles);
    expect(emb.lowered.plan.tiles.map((t) => t.role).at(-1)).toBe('stage.out');
    expect(lm.lowered.plan.tiles.map((t) => [t.role, t.group])[0]).toEqual(['stage.in', 'stage']);
    expect(emb.kvTiles + lm.kvTiles).toBe(0);
    const e = timeStage(emb, 0, 0);
    const l = timeStage(lm, 0, 0);
    expect(e.cycles).toBeGreaterThan(0);
    expect(l.cycles).toBeGreaterThan(e.cycles);
    expect(PATH_CAUSES.reduce((a, c) => a + l.path[c], 0)).toBeCloseTo(l.cycles, 6);
  });

  it('a stage whose plan was released lowers it again as it was, and times the same, spans and batch reserve included', () => {
    const req = request(moe, [moe.layers[0]], { batch: 3, budgetBytes: 6000, maxSeq: 64 });
    const s = lowerStage(req);
    const plan = s.lowered.plan;
    const before = timeStage(s, 40, 63);
    releasePlan(s);
    const again = s.lowered;
    expect(again.plan).not.toBe(plan);
    expect(again.plan).toEqual(plan);
    // read twice, lowered once
    expect(s.lowered).toBe(again);
    expect(again.plan.tiles.some((t) => (t.span ?? 1) > 1)).toBe(true);
    const after = timeStage(s, 40, 63);
    expect(after.cycles).toBe(before.cycles);
    expect(after.path).toEqual(before.path);
    expect(after.colours).toEqual(before.colours);
  });

  it('placing at a scan offset moves the stage along the scan and keeps its shape', () => {
    const s = lowerStage(request(dense, [dense.layers[0]]));
    const at0 = timeStage(s, 0, 15);
    const at100 = timeStage(s, 100, 15);
    const used = (p: typeof at0.placement) => [...p.tileOf].sort((a, b) => a - b);
    expect(used(at100.placement)[0]).not.toBe(used(at0.placement)[0]);
    expect(Math.abs(at100.cycles / at0.cycles - 1)).toBeLessThan(0.05);
  });

  it('splits a KV cache too long for one tile over chunk tiles; each appends the positions of its window', () => {
    const s = lowerStage(request(dense, [dense.layers[0]], { maxSeq: 1024 }));
    const a = dense.layers[0].attention;
    const P = s.kvPositionsPerTile;
    const chunks = Math.ceil(1024 / P);
    expect(P).toBeLessThan(1024);
    expect(s.kvTiles).toBe(a.numKvHeads * chunks);
    // q, k and v go to every chunk in one multicast; the chunks' windows tile [0, chunks·P) in order.
    const q = s.lowered.plan.streams.find((x) => x.label === 'L0.attn.q0')!;
    expect(q.dst.length).toBe(chunks);
    expect(q.wavelets).toBe((a.numHeads / a.numKvHeads + 2) * a.headDim);
    const firsts = q.dst.map((t) => {
      const ops = s.lowered.plan.tiles[t].tasks.flatMap((k) => k.ops);
      const append = ops.find((o) => o.op === 'kvAppend');
      const attend = ops.find((o) => o.op === 'attention');
      expect(append?.op === 'kvAppend' && attend?.op === 'attention' && append.window).toEqual(attend?.op === 'attention' && attend.window);
      return append?.op === 'kvAppend' ? append.window : undefined;
    });
    expect(firsts).toEqual(Array.from({ length: chunks }, (_, c) => ({ first: c * P, positions: P })));
    // The partials go up the combine in pieces: every edge carries the whole partial, in the same number of pieces,
    // and no chunk tile has more streams than the fabric has colours.
    const group = a.numHeads / a.numKvHeads;
    const partLen = group * a.headDim + 2 * group;
    const pieces = s.lowered.plan.streams.filter((x) => /^L0\.attn\.kv0\.red1>/.test(x.label)).length;
    expect(pieces).toBeGreaterThanOrEqual(1);
    const perTile = new Map<number, number>();
    for (const st of s.lowered.plan.streams) for (const t of new Set([...st.src, ...st.dst])) perTile.set(t, (perTile.get(t) ?? 0) + 1);
    for (const t of s.lowered.plan.tiles) if (t.tag.unit === 'kv-chunk') expect(perTile.get(t.id)).toBeLessThanOrEqual(spec.colours);
    const edges = new Map<string, number[]>();
    for (const st of s.lowered.plan.streams) {
      const m = /^L0\.attn\.kv0\.red(\d+)>(\d+)\.(\d+)$/.exec(st.label);
      if (m) edges.set(`${m[1]}>${m[2]}`, [...(edges.get(`${m[1]}>${m[2]}`) ?? []), st.wavelets]);
    }
    expect(edges.size).toBe(chunks - 1);
    for (const w of edges.values()) {
      expect(w.length).toBe(pieces);
      expect(w.reduce((x, y) => x + y, 0)).toBe(partLen);
    }
    // The compiler proper (no projection options) never chunks: the toy program is the one the engine runs.
    expect(() => compileModel(dense, { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 1024 })).toThrow();
  });

  it('the KV chunking a stage comes to is known before lowering it: alike, the lowerings are alike', () => {
    const plan = (s: ReturnType<typeof lowerStage>) => JSON.stringify({ tiles: s.lowered.plan.tiles, streams: s.lowered.plan.streams });
    const at = (kvChunkPositions: number | 'fill' | undefined) => request(dense, [dense.layers[0]], { maxSeq: 1024, projection: { kvChunkPositions } });
    // Full chunk tiles, asked for as 'fill' or as the number of positions that comes to: one chunking, one lowering.
    const full = stageKvChunking(at('fill'))!;
    const asked = [undefined, 'fill', full.positions, 4] as const;
    const stages = asked.map((k) => {
      const s = lowerStage(at(k));
      // What the search reads before lowering is what the lowering did.
      expect(stageKvChunking(at(k))).toEqual(s.lowered.kvChunking ?? null);
      return s;
    });
    expect(stages[2].lowered.kvChunking).toEqual(full);
    expect(plan(stages[2])).toBe(plan(stages[1]));
    // Other sizes come to other chunkings and other plans.
    expect(new Set(stages.map((s) => JSON.stringify(s.lowered.kvChunking))).size).toBe(3);
    expect(new Set(stages.map(plan)).size).toBe(3);
    // No layers, no chunking.
    expect(stageKvChunking(request(dense, [], { part: 'lm_head' }))).toBeNull();
  });

  it('an LM head lowers alike at every fan-out that gives it the same hub slices and blocks', () => {
    const plan = (s: ReturnType<typeof lowerStage>) => JSON.stringify({ tiles: s.lowered.plan.tiles, streams: s.lowered.plan.streams });
    const byLayout = new Map<string, Set<string>>();
    const fans = [1, 2, 4, 8, 16, 32, 64, 256];
    for (const maxFan of fans) {
      const req = request(dense, [], { part: 'lm_head', maxFan, sliceCols: undefined });
      const key = stageLmHeadLayout(req);
      byLayout.set(key, (byLayout.get(key) ?? new Set()).add(plan(lowerStage(req))));
    }
    // One plan per layout, and fan-outs that share a layout as well as ones that do not (else this checks nothing).
    for (const plans of byLayout.values()) expect(plans.size).toBe(1);
    expect(byLayout.size).toBeGreaterThan(1);
    expect(byLayout.size).toBeLessThan(fans.length);
  });

  it('experts not routed to are reserved spans of the tiles they would take', () => {
    const all = lowerStage(request(moe, [moe.layers[0]]));
    const two = lowerStage(request(moe, [moe.layers[0]], { projection: { lowerExpert: (_l, e) => e === 1 || e === 5 }, expertChoice: () => [1, 5] }));
    expect(two.tiles).toBe(all.tiles);
    const reserved = two.lowered.plan.tiles.filter((t) => t.role.endsWith('.reserved'));
    expect(reserved.map((t) => t.role)).toEqual(['L0.expert0.reserved', 'L0.expert2.reserved', 'L0.expert3.reserved', 'L0.expert4.reserved', 'L0.expert6.reserved', 'L0.expert7.reserved']);
    const perExpert = all.lowered.plan.tiles.filter((t) => t.group === 'L0.expert0').length;
    for (const t of reserved) expect(t.span).toBe(perExpert);
    expect(timeStage(two, 0, 15).cycles).toBeGreaterThan(0);
    // A router that picks an expert with no tiles is a compiler bug, said so (by default the estimate picks lowered ones).
    const wrong = lowerStage(request(moe, [moe.layers[0]], { projection: { lowerExpert: (_l, e) => e === 1 || e === 5 }, expertChoice: (k) => [0, 1].slice(0, k) }));
    expect(() => timeStage(wrong, 0, 15)).toThrow('estimate: the router picks expert 0 of L0.mlp.hub, which was not lowered (pass an expertChoice among the lowered experts)');
  });

  it('users beyond the first hold their KV tiles behind the layer', () => {
    const one = lowerStage(request(dense, [dense.layers[0]], { maxSeq: 1024 }));
    const four = lowerStage(request(dense, [dense.layers[0]], { maxSeq: 1024, batch: 4 }));
    expect(four.tiles - one.tiles).toBe(3 * one.kvTiles);
  });
});

describe('a tile receiving more streams than it has colours', () => {
  it('is found without routing, and the routes then cannot colour', () => {
    const layer = (colours: number) => lowerStage(request(dense, dense.layers.slice(0, 1), { mesh: { ...mesh, spec: { ...spec, colours } } }));
    const n = layer(spec.colours).mostRouted!.streams;
    expect(n).toBeGreaterThan(1);
    expect(receiveOverflow(layer(n))).toBeNull();
    const few = layer(n - 1);
    const found = receiveOverflow(few);
    expect(found).toBeInstanceOf(ColourError);
    expect(found!.message).toContain(`receives ${n} streams, more than the ${n - 1} colours`);
    // The compiler's colouring on the routes, with both routes of every stream to choose from, fails too, in the same stage.
    let coloured: unknown = null;
    try {
      timeStage(few, 0, 5);
    } catch (e) {
      coloured = e;
    }
    expect(coloured).toBeInstanceOf(ColourError);
    expect((coloured as ColourError).part).toBe(found!.part);
    // Within the receives, the routes decide (with the fabric's colours, they fit).
    expect(timeStage(layer(spec.colours), 0, 5).colours.colours).toBeLessThanOrEqual(spec.colours);
  });
});
