// Colours within the fabric's budget: an independent checker of a colouring (rebuilt from each route's per-router
// entries, not the colour pass's own link lists), a toy compiled under a budget its first routes do not fit (it takes
// the column-first routes and still runs on the mesh engine with the reference's tokens), the projection under the
// same budget, a clear error where nothing fits, and a real-size layer of a dense and of an MoE model on wse3.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { projectionGraph, projectWafer } from '../../../../compiler/project/index.js';
import { NARROW_GATHER_FAN } from '../../../../compiler/project/project.js';
import { ColourError, colourStage, lowerStage, type StageRequest } from '../../../../compiler/project/stage.js';
import { assignColours, colourLinks, largestFirst } from '../../../../compiler/wafer/colour.js';
import fc from 'fast-check';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { tileBudgetBytes } from '../../../../compiler/wafer/partition.js';
import { placeTiles } from '../../../../compiler/wafer/place.js';
import type { StreamDecl } from '../../../../compiler/wafer/plan.js';
import { meshView, routeStreams, type StreamRoute } from '../../../../compiler/wafer/route.js';
import { verifyLinks } from '../../../../compiler/wafer/verify.js';
import { neighbour } from '../../../../fabric/geometry.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import type { FabricSpec } from '../../../../fabric/spec/schema.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';

/**
 * Checks a colouring from first principles: per directed link (rebuilt from each tile's route entries) and colour at
 * most one stream; streams that share a source or a destination tile on different colours; at most `budget` colours
 * configured on any router; and every destination reached in as many hops as a shortest path on a fault-free mesh.
 */
function checkColouring(streams: StreamDecl[], routes: StreamRoute[], colourOf: Int32Array, tileOf: Int32Array, width: number, budget: number): void {
  const onLink = new Map<number, number>();
  const atEnd = new Map<string, number>();
  const perTile = new Map<number, Set<number>>();
  for (const r of routes) {
    const c = colourOf[r.stream];
    if (!(c >= 0 && c < budget)) throw new Error(`stream ${r.stream} has colour ${c}, outside [0, ${budget})`);
    for (const [tile, list] of r.entries) {
      let set = perTile.get(tile);
      if (!set) perTile.set(tile, (set = new Set()));
      set.add(c);
      for (const e of list) {
        for (let p = 1; p < 5; p++) {
          if (!(e.toMask & (1 << p))) continue;
          const key = (tile * 5 + p) * 32 + c;
          const other = onLink.get(key);
          if (other !== undefined && other !== r.stream) throw new Error(`streams ${other} and ${r.stream} share colour ${c} on link ${tile}:${p}`);
          onLink.set(key, r.stream);
        }
      }
    }
    const s = streams[r.stream];
    for (const [side, ends] of [['src', s.src], ['dst', s.dst]] as const) {
      for (const t of new Set(ends.map((x) => tileOf[x]))) {
        const key = `${side}:${t}:${c}`;
        const other = atEnd.get(key);
        if (other !== undefined && other !== r.stream) throw new Error(`streams ${other} and ${r.stream} share colour ${c} at ${side} tile ${t}`);
        atEnd.set(key, r.stream);
      }
    }
    // Shortest: each destination of a multicast is as many hops from the source as its Manhattan distance.
    if (s.src.length === 1) {
      const a = tileOf[s.src[0]];
      const hops = treeHops(r, a, width);
      for (const d of new Set(s.dst.map((x) => tileOf[x]))) {
        const shortest = Math.abs((a % width) - (d % width)) + Math.abs(Math.floor(a / width) - Math.floor(d / width));
        if (hops.get(d) !== shortest) throw new Error(`stream ${r.stream} reaches tile ${d} in ${hops.get(d)} hops, not ${shortest}`);
      }
    }
  }
  expect(Math.max(...[...perTile.values()].map((x) => x.size))).toBeLessThanOrEqual(budget);
}

/** Hops from `src` to every tile of a multicast tree, following the route's entries (each tile's ports out). */
function treeHops(r: StreamRoute, src: number, width: number): Map<number, number> {
  const height = 1 << 30;
  const seen = new Map<number, number>([[src, 0]]);
  const queue = [src];
  for (let head = 0; head < queue.length; head++) {
    const t = queue[head];
    for (const e of r.entries.get(t) ?? []) {
      for (let p = 1; p < 5; p++) {
        if (!(e.toMask & (1 << p))) continue;
        const n = neighbour(t, p, width, height);
        if (n >= 0 && !seen.has(n)) {
          seen.set(n, seen.get(t)! + 1);
          queue.push(n);
        }
      }
    }
  }
  return seen;
}

describe('colours within the budget', () => {
  // 8 colours, hub slices of 128 columns: fewer than toy-dense's BFS routes need on mini-64 (checked below), enough
  // with column-first routes.
  const small: FabricSpec = { ...getFabricPreset('mini-64'), colours: 8 };
  const sliceCols = 128;
  const cfg = getPreset('toy-dense');
  const graph = buildGraph(cfg);

  it('compiles a toy under a small budget with column-first routes, and the mesh engine decodes the reference tokens', async () => {
    const r = compileModel(graph, { spec: small, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16, sliceCols });
    const streams = r.lowered.plan.streams;
    const view = meshView(64, 64, null);
    // The first routes do not fit this budget: the fallback is what made it compile.
    expect(assignColours(streams, routeStreams(streams, r.placement.tileOf, view), r.placement.tileOf, 64 * 64, small.colours, 64).ok).toBe(false);
    for (const t of r.program.tiles) for (const task of t.tasks) if (task.trigger.on === 'recv') expect(task.trigger.colour).toBeLessThan(small.colours);
    // It compiled on column-first routes where the BFS ones did not fit, and its colouring holds, checked independently.
    const bfs = routeStreams(streams, r.placement.tileOf, view);
    const columnFirst = routeStreams(streams, r.placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((l, k) => l === b[k]);
    expect(r.routes.some((route, i) => !same(bfs[i].links, columnFirst[i].links) && same(route.links, columnFirst[i].links))).toBe(true);
    checkColouring(streams, r.routes, r.colourOf, r.placement.tileOf, 64, small.colours);

    const weights = castWeights(syntheticWeights(cfg, 0), 'bf16');
    const want = generate(weights, [1], 4).tokens;
    const engine = await MeshEngine.create(small, r.program, weightProvider(weights), { faults: r.engineFaults });
    expect((await decodeOnEngine(engine, want.length)).tokens).toEqual(want);
  });

  it('projects the toy under the same budget, every stage within it', () => {
    const p = projectWafer(cfg, small, { context: 4, promptLength: 1, kvDtype: 'f32', hubSlices: cfg.hiddenSize / sliceCols });
    expect(p.colourBudget).toBe(8);
    expect(p.coloursWithinBudget).toBe(true);
    for (const s of p.stages) expect(s.colours).toBeLessThanOrEqual(8);
    expect(p.head.embeddingColours).toBeLessThanOrEqual(8);
    expect(p.head.lmHeadColours).toBeLessThanOrEqual(8);
    // Under the full budget the same toy needs more than it is given here only where routes meet.
    const wide = projectWafer(cfg, getFabricPreset('mini-64'), { context: 4, promptLength: 1, kvDtype: 'f32', hubSlices: cfg.hiddenSize / sliceCols });
    expect(Math.max(...wide.stages.map((s) => s.colours ?? 99))).toBeGreaterThanOrEqual(Math.max(...p.stages.map((s) => s.colours ?? 99)));
  });

  it('refuses a budget no layout fits: the compiler with one error line, the projection flagged beyond the budget', () => {
    const tiny: FabricSpec = { ...getFabricPreset('mini-64'), colours: 4 };
    expect(() => compileModel(graph, { spec: tiny, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 })).toThrow(/more than 4 colours/);
    const p = projectWafer(cfg, tiny, { context: 4, promptLength: 1 });
    expect(p.coloursWithinBudget).toBe(false);
    expect(p.approximations.some((a) => /beyond the fabric's 4 colours.*more than 4 colours/.test(a))).toBe(true);
    expect(p.stages.some((s) => s.colours === null || s.colours > 4)).toBe(true);
  });
});

describe('the fewer-links colouring', () => {
  it('fits where the lower colour per stream does not: a stream whose second tree is smaller leaves its links free', () => {
    // Stream 0 (a multicast over links 0, 1, 2 or, column first, over link 3) and stream 1 (link 0 either way), one
    // colour: taking the lower colour, stream 0 keeps its first tree and stream 1 finds link 0 taken.
    const streams: StreamDecl[] = [
      { id: 0, src: [0], dst: [1, 2], wavelets: 1, kind: 'broadcast', label: 'a' },
      { id: 1, src: [3], dst: [4], wavelets: 1, kind: 'transfer', label: 'b' },
    ];
    const rowFirst = { start: Int32Array.from([0, 3, 4]), links: Int32Array.from([0, 1, 2, 0]) };
    const columnFirst = { start: Int32Array.from([0, 1, 2]), links: Int32Array.from([3, 0]) };
    const tileOf = Int32Array.from([0, 1, 2, 3, 4]);
    expect(colourLinks(streams, rowFirst, tileOf, 5, 1, columnFirst).ok).toBe(false);
    const fewer = colourLinks(streams, rowFirst, tileOf, 5, 1, columnFirst, undefined, 'fewer-links');
    expect(fewer.ok && [...fewer.alternative]).toEqual([1, 0]);
  });
});

describe('scratch kept between colourings', () => {
  it('a colouring and its verification do not depend on what earlier calls left in the kept masks', () => {
    // Stream pairs on a 4 x 4 mesh (links tile * 5 + port): `probe` shares links 20 and 21 between its streams, so
    // they need colours 0 and 1. Before it, calls whose links and tiles cover the probe's leave every colour set there.
    const tiles = 16;
    const probe: StreamDecl[] = [
      { id: 0, src: [0], dst: [1], wavelets: 4, kind: 'transfer', label: 'p0' },
      { id: 1, src: [2], dst: [3], wavelets: 4, kind: 'transfer', label: 'p1' },
    ];
    const probeLinks = { start: Int32Array.from([0, 2, 3]), links: Int32Array.from([20, 21, 20]) };
    const probeTiles = Int32Array.from([4, 5, 6, 7]);
    const fill = (count: number): StreamDecl[] => Array.from({ length: count }, (_, i) => ({ id: i, src: [0], dst: [1], wavelets: 1, kind: 'transfer' as const, label: `f${i}` }));
    const colourings = [null, 24, 3].map((before) => {
      if (before !== null) {
        // `before` streams on the same links and tiles, each on a colour of its own (the masks hold all of them).
        const many = fill(before);
        const links = { start: Int32Array.from({ length: before + 1 }, (_, i) => 2 * i), links: Int32Array.from({ length: 2 * before }, (_, i) => 20 + (i % 2)) };
        const c = colourLinks(many, links, Int32Array.from([4, 5]), tiles, 24);
        expect(c.ok && c.coloursUsed).toBe(before);
      }
      const c = colourLinks(probe, probeLinks, probeTiles, tiles, 24);
      if (!c.ok) throw c.error;
      return [...c.colourOf];
    });
    expect(colourings).toEqual([[0, 1], [0, 1], [0, 1]]);
  });

  it('a verification does not take a tile an earlier call marked for the same stream index as entered twice', () => {
    // Stream 0 enters tile 5 (link 22: tile 4 eastward) and stream 1 tile 9 (link 28: tile 5 southward), once each;
    // the same verification run first marks those tiles with the same stream indices.
    const view = meshView(4, 4, null);
    const streams: StreamDecl[] = [
      { id: 0, src: [0], dst: [1], wavelets: 1, kind: 'transfer', label: 'a' },
      { id: 1, src: [1], dst: [2], wavelets: 1, kind: 'transfer', label: 'b' },
    ];
    const links = { start: Int32Array.from([0, 1, 2]), links: Int32Array.from([22, 28]) };
    const tileOf = Int32Array.from([4, 5, 9]);
    const check = () => verifyLinks(streams, tileOf, links, null, null, Int32Array.from([0, 0]), view);
    check();
    expect(check).not.toThrow();
  });
});

describe('real-size layers on wse3 within 24 colours', () => {
  const wse3 = getFabricPreset('wse3');
  const mesh = { spec: wse3, faults: null, linkExtraLatencyCycles: null, usable: () => true, usableTiles: wse3.widthTiles * wse3.heightTiles };
  // A layer (one with full attention) as the projection lowers it: bf16, KV cache bf16, 4096 positions, two experts
  // lowered, at fan-out 128 (the smallest that partitions both models' matrices, as the projection finds; 256 for
  // qwen3-32b's).
  const layerStage = (model: string, over: Partial<StageRequest['projection']>, narrow?: StageRequest['narrow'], maxFan = 128) => {
    const pc = getPreset(model);
    const { graph: g } = projectionGraph(pc);
    const layer = g.layers.find((l) => l.attention.window === null)!;
    return lowerStage({
      graph: g,
      layers: [layer],
      mesh,
      dtype: 'bf16',
      budgetBytes: tileBudgetBytes(wse3),
      maxFan,
      maxSeq: 4096,
      projection: { lowerExpert: (_l, e) => e < 2, kvDtype: 'bf16', ...over },
      batch: 1,
      expertChoice: pc.moe ? () => [0, 1] : undefined,
      narrow,
    });
  };

  it.each([
    // Chunked KV heads combining in one piece per edge: the layout the projection falls back to for both.
    ['llama-3.1-8b', { kvCombinePieces: 1 }],
    ['gpt-oss-120b', { kvCombinePieces: 1 }],
    // A wide layer whose hub slices take fewer, longer streams (gather trees, grouped MLP inputs), as the projection
    // lowers it where the wide layout does not fit (below: it does not).
    ['qwen3-32b', { kvCombinePieces: 1 }, { gatherFan: NARROW_GATHER_FAN, regionInputs: 24 }, 256],
  ] as const)('%s: one layer coloured within the budget, checked independently', (model, over, narrow?: StageRequest['narrow'], maxFan?: number) => {
    const stage = layerStage(model, over, narrow, maxFan);
    const placement = placeTiles(stage.lowered.plan.tiles, wse3.widthTiles, wse3.heightTiles, () => true, { fabric: 'wse3', dead: 0 });
    const got = colourStage(stage, placement);
    expect(got.colours).toBeLessThanOrEqual(24);
    // The routes it chose, rebuilt in full (per-router entries) by the router the compiler emits from.
    const streams = stage.lowered.plan.streams;
    const view = meshView(wse3.widthTiles, wse3.heightTiles, null);
    const rowFirst = routeStreams(streams, placement.tileOf, view, { dimensionOrdered: true });
    const columnFirst = routeStreams(streams, placement.tileOf, view, { dimensionOrdered: true, columnFirst: true });
    const routes = rowFirst.map((r, i) => (got.alternative[i] ? columnFirst[i] : r));
    checkColouring(streams, routes, got.colourOf, placement.tileOf, wse3.widthTiles, 24);
  });

  it('qwen3-32b: the same layer lowered wide (a stream per block column and per root) does not fit', () => {
    const stage = layerStage('qwen3-32b', { kvCombinePieces: 1 }, undefined, 256);
    const placement = placeTiles(stage.lowered.plan.tiles, wse3.widthTiles, wse3.heightTiles, () => true, { fabric: 'wse3', dead: 0 });
    expect(() => colourStage(stage, placement)).toThrow(ColourError);
  });
});

describe('the colouring order', () => {
  it('is the streams by size, largest first, ties in id order: as a comparison sort orders them', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(40), { maxLength: 300 }), (sizes) => {
        const sorted = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
        expect([...largestFirst({ start: new Int32Array(sizes.length + 1), links: new Int32Array(0) }, sizes.length, sizes)]).toEqual(sorted);
      }),
    );
    // Without sizes, by the routes' links.
    const start = Int32Array.from([0, 2, 2, 7, 9]);
    expect([...largestFirst({ start, links: new Int32Array(9) }, 4)]).toEqual([2, 0, 3, 1]);
  });
});
