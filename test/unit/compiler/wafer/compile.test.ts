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
