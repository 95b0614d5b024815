// The floor (compiler/project/floor.ts, docs/floor.md) is a lower bound: no projection is faster, the mesh engine's
// measured cycles per token are never fewer, more tiles or a faster clock never make it slower, and one small case
// worked by hand from the cost formulas.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import fc from 'fast-check';
import { diamondRadius, matvecFloor, projectFloor, spreadStreamCycles, type FloorOptions } from '../../../../compiler/project/floor.js';
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
