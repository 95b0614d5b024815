// The floor (compiler/project/floor.ts, docs/floor.md) is a lower bound: no projection is faster, the mesh engine's
// measured cycles per token are never fewer, more tiles or a faster clock never make it slower, and one small case
// worked by hand from the cost formulas.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import fc from 'fast-check';
import { diamondRadius, matvecFloor, matvecHops, projectFloor, spreadStreamCycles, type FloorOptions } from '../../../../compiler/project/floor.js';
import { projectWafer, projectionGraph, type ProjectDtype } from '../../../../compiler/project/index.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { generateFaults } from '../../../../fabric/faults/index.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { matvecCost, matvecCyclesPerMac } from '../../../../fabric/mesh/cost.js';
import { applyAssumptions } from '../../../../fabric/spec/assumptions.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const wse3 = getFabricPreset('wse3');

describe('the floor by hand', () => {
  it('diamond radii and a stream over them', () => {
    // 1 tile; 2–5 tiles within one hop; 6–13 within two; 14–25 within three.
    expect([1, 2, 5, 6, 13, 14, 25, 26].map(diamondRadius)).toEqual([0, 1, 1, 2, 2, 3, 3, 4]);
    // 4 wavelets to the farthest of 5 tiles: 2 ramps of 2 cycles, 1 hop, 3 more wavelets.
    expect(spreadStreamCycles(wse3, 4, 5)).toBe(2 * 2 + 1 + 3);
    expect(spreadStreamCycles(wse3, 100, 1)).toBe(0);
  });

  it('a 64 × 64 f32 matvec on 4 tiles: four row blocks beat one tile, and a 2 × 2 matrix stays on one', () => {
    // One tile: 1 setup + max(4096 FMACs at width 1, (16 KiB of weights + 16 KiB of x reread per row) / 16 B per
    // cycle) + 64 rows of overhead; then its task start 4 and a send issue 1.
    const one = 1 + Math.max(4096, 32768 / 16) + 64 + 4 + 1;
    expect(matvecFloor(wse3, 64, 64, 'f32', 1).cycles).toBe(one);
    // Four blocks of 16 rows: x's 64 values to the farthest of 4 tiles (2·2 ramps + 1 hop + 63 more), a 16 × 64 block
    // (1 + max(1024, 8192 / 16) + 16, task start, send issue), no partials to add (one block column).
    const rows4 = 2 * 2 + 1 + 63 + (1 + 1024 + 16 + 4 + 1);
    // The other shapes on 4 tiles: 2 × 2 blocks of 32 × 32 (x's 32 values out, 32 partials back, one hop each) and
    // 4 block columns of 64 × 16 (64 partials back).
    const square = 2 * (2 * 2 + 1 + 31) + (1 + 1024 + 32 + 4 + 1);
    const columns = 1 + 1024 + 64 + 4 + 1 + (2 * 2 + 1 + 63);
    expect(rows4).toBeLessThan(Math.min(one, square, columns));
    expect(matvecFloor(wse3, 64, 64, 'f32', 4)).toMatchObject({ tiles: 4, cycles: rows4 });
    // 2 × 2: 1 + max(4 FMACs, 32 bytes / 16) + 2 rows, task start and send issue; any split adds a stream of ≥ 5.
    expect(matvecFloor(wse3, 2, 2, 'f32', 4)).toMatchObject({ tiles: 1, cycles: 1 + 4 + 2 + 4 + 1 });
  });
});

describe('the hops of a matvec\'s broadcast and reduce together (matvecHops)', () => {
  // Blocks (i, j) on distinct tiles of a W × W patch of the mesh; each block column's source and each row block's sum
  // tile placed anywhere on the (unbounded) mesh where they are nearest to their farthest tile: the two radii a layout
  // cannot avoid. A set's radius in rotated coordinates (u = x + y, v = x − y, where a hop distance is the larger of
  // |Δu| and |Δv|), its centre a tile (u and v of one parity).
  const W = 40;
  const radius = (tiles: number[]) => {
    const u = tiles.map((t) => (t % W) + Math.floor(t / W));
    const v = tiles.map((t) => (t % W) - Math.floor(t / W));
    const [u0, u1, v0, v1] = [Math.min(...u), Math.max(...u), Math.min(...v), Math.max(...v)];
    for (let r = Math.max(Math.ceil((u1 - u0) / 2), Math.ceil((v1 - v0) / 2)); ; r++) {
      // Centres within r of every tile: u in [u1 − r, u0 + r], v in [v1 − r, v0 + r]; one pair of equal parity.
      const [ua, ub, va, vb] = [u1 - r, u0 + r, v1 - r, v0 + r];
      if (ua <= ub && va <= vb && (ub > ua || vb > va || (((ua - va) % 2) + 2) % 2 === 0)) return r;
    }
  };
  const radii = (nR: number, nC: number, at: number[]) => {
    const tile = (i: number, j: number) => at[i * nC + j];
    const r1 = Math.max(...Array.from({ length: nC }, (_, j) => radius(Array.from({ length: nR }, (_, i) => tile(i, j)))));
    const r2 = Math.max(...Array.from({ length: nR }, (_, i) => radius(Array.from({ length: nC }, (_, j) => tile(i, j)))));
    return r1 + r2;
  };

  it('a set\'s radius is the brute-force least farthest distance from any tile', () => {
    const dist = (a: number, b: number) => Math.abs((a % W) - (b % W)) + Math.abs(Math.floor(a / W) - Math.floor(b / W));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 12 * W - 1 }).filter((t) => t % W < 12), { minLength: 1, maxLength: 8 }), (tiles) => {
        const brute = Math.min(...Array.from({ length: W * W }, (_, c) => Math.max(...tiles.map((t) => dist(c, t)))));
        expect(radius(tiles)).toBe(brute);
      }),
    );
  });

  it('no layout of the blocks gets both streams under it: rectangles, random layouts and layouts improved by swaps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (nR, nC, seed) => {
        let x = seed;
        const rand = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
        const bound = matvecHops(nR, nC);
        // The blocks as an nR × nC rectangle, and as its transpose (the layouts the compiler's regions take).
        expect(radii(nR, nC, Array.from({ length: nR * nC }, (_, q) => Math.floor(q / nC) * W + (q % nC)))).toBeGreaterThanOrEqual(bound);
        expect(radii(nR, nC, Array.from({ length: nR * nC }, (_, q) => (q % nC) * W + Math.floor(q / nC)))).toBeGreaterThanOrEqual(bound);
        // From a random layout in a patch about twice the blocks' area, swaps of two blocks or a block onto a free
        // tile, kept where they do not lengthen the streams.
        const side = Math.min(W, Math.ceil(Math.sqrt(2 * nR * nC)) + 1);
        const cells = Array.from({ length: side * side }, (_, i) => Math.floor(i / side) * W + (i % side));
        for (let i = cells.length - 1; i > 0; i--) {
          const k = rand(i + 1);
          [cells[i], cells[k]] = [cells[k], cells[i]];
        }
        let at = cells.slice(0, nR * nC);
        let cur = radii(nR, nC, at);
        for (let step = 0; step < 300; step++) {
          const next = [...at];
          const a = rand(next.length);
          if (rand(2) === 0) next[a] = cells[rand(cells.length)];
          else {
            const b = rand(next.length);
            [next[a], next[b]] = [next[b], next[a]];
          }
          if (new Set(next).size < next.length) continue;
          const r = radii(nR, nC, next);
          expect(r).toBeGreaterThanOrEqual(bound);
          if (r <= cur) [at, cur] = [next, r];
        }
      }),
      { numRuns: 40 },
    );
  });

  it('is the separate radii where one stream has one tile, and far above them where both are large', () => {
    expect(matvecHops(1, 1)).toBe(0);
    expect(matvecHops(16, 1)).toBe(diamondRadius(16));
    expect(matvecHops(1, 16)).toBe(diamondRadius(16));
    // 512 × 512 blocks: each stream alone over a 512-tile diamond (16 hops), but the 262,144 tiles span 362 hops.
    expect(diamondRadius(512) + diamondRadius(512)).toBe(32);
    expect(matvecHops(512, 512)).toBeGreaterThanOrEqual(Math.ceil((2 * diamondRadius(512 * 512)) / 3));
    expect(matvecHops(512, 512)).toBeGreaterThan(200);
  });
});

describe('the block-layout bound', () => {
  it('no matvec block is charged fewer cycles than its MACs at matvecCyclesPerMac', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), fc.constantFrom('bf16', 'int8', 'f32', 'mxfp4'), (rows, cols, d) => {
        const format = d === 'mxfp4' ? 'mxfp4' : undefined;
        const dtype = d === 'mxfp4' ? 'int8' : d;
        expect(matvecCost(wse3, rows, cols, dtype, false, format).cycles).toBeGreaterThanOrEqual(rows * cols * matvecCyclesPerMac(wse3, dtype, format));
      }),
    );
  });

  it('is the least matvec time over every split of the tiles among a dense layer stack (toy-dense), and scales as 1 / tiles', () => {
    const { graph } = projectionGraph(getPreset('toy-dense'));
    const o: FloorOptions = { usableTiles: 4096, budgetBytes: 40000, dtype: 'bf16', kvDtype: 'bf16', context: 16, batch: 1, wafers: 1 };
    const bound = projectFloor(graph, wse3, o).blockLayout;
    const c = matvecCyclesPerMac(wse3, 'bf16');
    const h = graph.hidden;
    const stages = graph.layers.flatMap((l) => {
      const a = l.attention;
      const i = l.mlp.kind === 'dense' ? l.mlp.dense.intermediate : 0;
      return [(a.q.rows + a.k.rows + a.v.rows) * h, a.o.rows * a.o.cols, 2 * i * h, h * i].map((macs) => macs * c);
    });
    // Random splits of the 4096 tiles (whole or not) never beat it; the split in proportion to √(work) meets it.
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1, noNaN: true }), { minLength: stages.length, maxLength: stages.length }), (shares) => {
        const total = shares.reduce((a, b) => a + b, 0);
        const time = stages.reduce((sum, w, i) => sum + w / ((shares[i] / total) * 4096), 0);
        expect(time).toBeGreaterThanOrEqual(bound.cyclesPerToken * (1 - 1e-12));
      }),
    );
    const roots = stages.map(Math.sqrt);
    const sum = roots.reduce((a, b) => a + b, 0);
    expect(stages.reduce((t, w, i) => t + w / ((roots[i] / sum) * 4096), 0)).toBeCloseTo(bound.cyclesPerToken, 6);
    expect(projectFloor(graph, wse3, { ...o, wafers: 2 }).blockLayout.cyclesPerToken).toBeCloseTo(bound.cyclesPerToken / 2, 9);
  });
});

describe('the floor is a lower bound', () => {
  it.each<[string, string, number, number, ProjectDtype?]>([
    ['toy-dense', 'mini-32', 1, 0],
    ['toy-dense', 'mini-64', 4, 0.03],
    ['toy-moe', 'mini-64', 1, 0],
    ['toy-moe', 'mini-32', 2, 0.02],
    ['toy-moe', 'mini-64', 1, 0, 'mxfp4'],
  ])('no projection is faster: %s on %s, batch %s, fault density %s %s', (model, fabric, batch, density, dtype = 'bf16') => {
    const spec = getFabricPreset(fabric);
    const faults = density > 0 ? generateFaults({ width: spec.widthTiles, height: spec.heightTiles, density, seed: 3 }) : null;
    const r = projectWafer(getPreset(model), spec, { context: 16, promptLength: 4, batch, faults, dtype });
    expect(r.decodeTokensPerSecond).toBeLessThanOrEqual(r.floorTokensPerSecond);
    expect(r.efficiency).toBeGreaterThan(0);
    expect(r.efficiency).toBeLessThanOrEqual(1);
    expect(r.floor.wafers).toBeLessThanOrEqual(r.wafers);
    // The compiler's layouts give each tile blocks of one stage: no projection's token beats that family's bound.
    expect(r.tokenLatencySeconds * spec.clockHz).toBeGreaterThanOrEqual(r.floor.blockLayout.cyclesPerToken);
    expect(r.floor.blockLayout.tiles).toBe(r.wafers * r.usableTilesPerWafer);
  });

  it('the mesh engine never measures fewer cycles per token (toy-moe on mini-32)', async () => {
    const cfg = getPreset('toy-moe');
    const spec = getFabricPreset('mini-32');
    const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
    const engine = await MeshEngine.create(spec, compiled.program, weightProvider(castWeights(syntheticWeights(cfg, 0), 'bf16')));
    const { cycles } = await decodeOnEngine(engine, 3);
    cycles.forEach((c, position) => {
      const floor = projectWafer(cfg, spec, { context: position + 1, promptLength: 1, kvDtype: 'f32' }).floor;
      expect(c).toBeGreaterThanOrEqual(floor.cyclesPerToken);
      expect(c).toBeGreaterThanOrEqual(floor.blockLayout.cyclesPerToken);
    });
  });
});

describe('the floor is monotone', () => {
  const { graph } = projectionGraph(getPreset('llama-3.1-8b'));
  const base: FloorOptions = { usableTiles: 1000, budgetBytes: 46 * 1024, dtype: 'bf16', kvDtype: 'bf16', context: 4096, batch: 1 };
  it('more usable tiles never make it slower (nor need more wafers)', () => {
    let last = projectFloor(graph, wse3, base);
    for (const tiles of [3000, 10_000, 60_000, 250_000, 883_350]) {
      const f = projectFloor(graph, wse3, { ...base, usableTiles: tiles });
      expect(f.cyclesPerToken).toBeLessThanOrEqual(last.cyclesPerToken);
      expect(f.tokensPerSecond).toBeGreaterThanOrEqual(last.tokensPerSecond);
      expect(f.wafers).toBeLessThanOrEqual(last.wafers);
      last = f;
    }
  });
  it('a faster clock never makes it slower; slower cost constants never make it faster', () => {
    const at = (name: string, value: number) => projectFloor(graph, applyAssumptions(wse3, [{ name, value }]), { ...base, usableTiles: 100_000 });
    expect(at('clock-hz', 1.1e9).tokensPerSecond).toBeGreaterThan(at('clock-hz', 850e6).tokensPerSecond);
    for (const name of ['transcendental-cycles', 'task-start-cycles', 'ramp-latency-cycles', 'op-setup-cycles']) {
      expect(at(name, 2).cyclesPerToken).toBeLessThanOrEqual(at(name, 12).cyclesPerToken);
    }
  });
});
