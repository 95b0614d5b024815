import { describe, expect, it } from 'vitest';
import { blockTileBytes, packedRowBytes, partitionMatrix, tileBudgetBytes, type BlockGrid } from '../../../../compiler/wafer/partition.js';
import { routerRegionGrid } from '../../../../compiler/wafer/lower/moe.js';
import type { LowerOptions } from '../../../../compiler/wafer/lower.js';
import { matvecCost } from '../../../../fabric/mesh/cost.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { mxfp4Bytes } from '../../../../kernels/mxfp4.js';
import { COMBINE_SHAPES, reduceChildren, reduceCostCycles } from '../../../../compiler/wafer/region.js';

describe('partition', () => {
  const base = { matricesPerTile: 1, forcedBc: 0, rowAlign: 0, maxGr: Infinity, maxGc: Infinity } as const;

  it('splits a matrix into blocks that fit the budget and cover it', () => {
    for (const [rows, cols, dtype] of [[688, 256, 'f32'], [256, 688, 'bf16'], [512, 256, 'int8'], [1, 1, 'f32']] as const) {
      const g = partitionMatrix({ ...base, rows, cols, dtype, budgetBytes: 40_000 })!;
      expect(g.gr * g.br).toBeGreaterThanOrEqual(rows);
      expect(g.gc * g.bc).toBeGreaterThanOrEqual(cols);
      expect((g.gr - 1) * g.br).toBeLessThan(rows);
      expect(blockTileBytes(g.br, g.bc, dtype, 1, g.gc > 1 ? Math.ceil(Math.log2(g.gc)) : 0)).toBeLessThanOrEqual(40_000);
    }
  });

  it('honours a forced input slice, a row alignment and fan limits', () => {
    const g = partitionMatrix({ ...base, rows: 128, cols: 256, dtype: 'f32', budgetBytes: 40_000, rowAlign: 32 })!;
    expect(32 % g.br).toBe(0);
    const f = partitionMatrix({ ...base, rows: 256, cols: 256, dtype: 'f32', budgetBytes: 40_000, forcedBc: 64 })!;
    expect(f.bc).toBe(64);
    expect(partitionMatrix({ ...base, rows: 4096, cols: 4096, dtype: 'f32', budgetBytes: 40_000, maxGr: 2, maxGc: 2 })).toBeNull();
  });

  it('nests block columns in a producer\'s slices (bcDivides)', () => {
    for (const slice of [256, 96, 64]) {
      const g = partitionMatrix({ ...base, rows: 688, cols: 768, dtype: 'bf16', budgetBytes: 20_000, bcDivides: slice })!;
      expect(slice % g.bc).toBe(0);
      expect(blockTileBytes(g.br, g.bc, 'bf16', 1, g.gc > 1 ? Math.ceil(Math.log2(g.gc)) : 0)).toBeLessThanOrEqual(20_000);
    }
  });

  it('returns null when not even one row fits', () => {
    expect(partitionMatrix({ ...base, rows: 8, cols: 100_000, dtype: 'f32', budgetBytes: 40_000, forcedBc: 100_000 })).toBeNull();
  });
});

describe('reductions', () => {
  it('every shape visits every tile once with root 0', () => {
    for (const shape of COMBINE_SHAPES) {
      for (const gc of [1, 2, 3, 5, 8, 9, 13, 30]) {
        const seen = new Set<number>([0]);
        const stack = [0];
        while (stack.length) for (const c of reduceChildren(shape, stack.pop()!, gc)) {
          expect(seen.has(c)).toBe(false);
          seen.add(c);
          stack.push(c);
        }
        expect(seen.size).toBe(gc);
      }
    }
  });

  it('a binary heap tree keeps two receive buffers per tile at any size, where a binomial root needs ⌈log2 n⌉', () => {
    for (const gc of [3, 64, 683]) {
      let most = 0;
      for (let j = 0; j < gc; j++) most = Math.max(most, reduceChildren('bintree', j, gc).length);
      expect(most).toBe(2);
      expect(reduceChildren('tree', 0, gc).length).toBe(Math.ceil(Math.log2(gc)));
    }
    // Its extra add per level makes it a little slower than the binomial tree at equal size.
    expect(reduceCostCycles('bintree', 683, 520, 1, 260)).toBeGreaterThan(reduceCostCycles('tree', 683, 520, 1, 260));
    expect(reduceCostCycles('bintree', 683, 520, 1, 260)).toBeLessThan(1.3 * reduceCostCycles('tree', 683, 520, 1, 260));
  });

  it('a K-tree beats a chain when hops are expensive relative to the data, and a tree beats it when they are not', () => {
    expect(reduceCostCycles('ktree', 16, 8, 1, 2)).toBeLessThan(reduceCostCycles('chain', 16, 8, 1, 2));
    expect(reduceCostCycles('tree', 16, 64, 1, 8)).toBeLessThan(reduceCostCycles('ktree', 16, 64, 1, 8));
  });

  it('a tree beats a chain on long reductions and not on two tiles', () => {
    expect(reduceCostCycles('tree', 16, 64, 1, 8)).toBeLessThan(reduceCostCycles('chain', 16, 64, 1, 8));
    expect(reduceCostCycles('tree', 2, 64, 1, 8)).toBe(reduceCostCycles('chain', 2, 64, 1, 8));
  });

  it('a packed MXFP4 block row is sized for the kernel layout at any block offset its columns can start at', () => {
    for (let bc = 1; bc <= 200; bc++) {
      // Block column j of a matrix starts at column j·bc: its offset in a block of 32 is j·bc mod 32.
      const offsets = new Set(Array.from({ length: 32 }, (_, j) => (j * bc) % 32));
      const most = Math.max(...[...offsets].map((o) => mxfp4Bytes(1, bc, o)));
      expect(packedRowBytes(bc, 4.25)).toBeGreaterThanOrEqual(most);
      expect(packedRowBytes(bc, 4.25)).toBeLessThanOrEqual(most + 17);
    }
  });
});

describe('a router region\'s grid (moe.ts routerRegionGrid)', () => {
  // qwen3-235b-a22b's router on wse3: 128 experts × 4096 columns of bf16, fed by 12 hub slices of 342 columns.
  const spec = getFabricPreset('wse3');
  const budgetBytes = tileBudgetBytes(spec);
  const c = { spec, dtype: 'bf16' as const, opts: { budgetBytes } as LowerOptions, k: 12 };
  const req = { rows: 128, cols: 4096, matricesPerTile: 1, forcedBc: 0, bcDivides: 342, rowAlign: 0, maxGr: 512, maxGc: 512 };
  const matvec = (g: BlockGrid) => matvecCost(spec, g.br, g.bc, 'bf16').cycles;

  it('covers the router in blocks that fit a tile, within its roots and feeds, and runs each in under half the packed block\'s time', () => {
    const packed = partitionMatrix({ ...req, dtype: 'bf16', budgetBytes })!;
    const g = routerRegionGrid(c, 'router', req);
    expect(g.gr * g.br).toBeGreaterThanOrEqual(req.rows);
    expect(g.gc * g.bc).toBeGreaterThanOrEqual(req.cols);
    expect(342 % g.bc).toBe(0);
    expect(blockTileBytes(g.br, g.bc, 'bf16', 1, g.gc > 1 ? Math.ceil(Math.log2(g.gc)) : 0)).toBeLessThanOrEqual(budgetBytes);
    expect(g.gr).toBeLessThanOrEqual(Math.max(packed.gr, 8));
    expect(g.gc).toBeLessThanOrEqual(Math.max(packed.gc, 4 * c.k));
    expect(g.packedRoots).toBe(packed.gr);
    // A packed block is a full tile's weights (~5,600 cycles on wse3); the chosen blocks are few tiles more.
    expect(matvec(g)).toBeLessThan(matvec(packed) / 2);
    expect(g.gr * g.gc).toBeLessThanOrEqual(16 * packed.gr * packed.gc);
  });
});
