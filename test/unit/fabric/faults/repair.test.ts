import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../fabric/errors.js';
import { FaultMap, generateFaults, remapDefects, remapRepair, type RepairGeometry } from '../../../../fabric/faults/index.js';
import { PORT_E, PORT_N, PORT_S, PORT_W } from '../../../../fabric/geometry.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

// mini-4: a 4x4 logical mesh on a 6x5 physical grid (2 spare columns, 1 spare row), bypass 1 cycle per skipped tile.
const g: RepairGeometry = getFabricPreset('mini-4');
const PW = 6;

function physical(deadTiles: [number, number][], extra: Partial<{ deadCores: [number, number][]; deadLinks: [number, number, 'E' | 'S'][] }> = {}): FaultMap {
  return FaultMap.fromJson({ width: 6, height: 5, deadTiles, deadCores: extra.deadCores ?? [], deadLinks: extra.deadLinks ?? [] }, 'phys');
}

const at = (r: ReturnType<typeof remapRepair>, x: number, y: number): [number, number] => {
  const p = r.logicalToPhysical[y * 4 + x];
  return [p % PW, Math.floor(p / PW)];
};

describe('remap repair', () => {
  it('a perfect grid maps the rectangle onto the top-left physical tiles with no extra latency', () => {
    const r = remapRepair(FaultMap.empty(6, 5), g);
    expect([r.logicalWidth, r.logicalHeight, r.physicalWidth, r.physicalHeight]).toEqual([4, 4, 6, 5]);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(at(r, x, y)).toEqual([x, y]);
    expect(r.extraLatencyCycles.every((v) => v === 0)).toBe(true);
    expect([r.hiddenDefects, r.linksWithBypass, r.maxExtraLatencyCycles, r.skippedRows.length]).toEqual([0, 0, 0, 0]);
  });

  it('a dead tile shifts the rest of its row toward the spare; the bypass costs bypassLatencyCycles per skipped tile', () => {
    const r = remapRepair(physical([[1, 0]]), g);
    expect([0, 1, 2, 3].map((x) => at(r, x, 0))).toEqual([[0, 0], [2, 0], [3, 0], [4, 0]]);
    expect(at(r, 1, 1)).toEqual([1, 1]);
    // (0,0) -> (1,0) skips physical (1,0): one extra cycle, both directions.
    expect(r.extraLatencyCycles[0 * 5 + PORT_E]).toBe(1);
    expect(r.extraLatencyCycles[1 * 5 + PORT_W]).toBe(1);
    // (1,0) -> (1,1): physical (2,0) -> (1,1), distance 2: one extra cycle. (0,0) -> (0,1) is direct.
    expect(r.extraLatencyCycles[1 * 5 + PORT_S]).toBe(1);
    expect(r.extraLatencyCycles[5 * 5 + PORT_N]).toBe(1);
    expect(r.extraLatencyCycles[0 * 5 + PORT_S]).toBe(0);
    expect([r.hiddenDefects, r.maxSpareColumnsUsed, r.linksWithBypass, r.maxExtraLatencyCycles]).toEqual([1, 1, 4, 1]);
  });

  it('dead cores and the east/south end of a dead link are retired too', () => {
    const m = physical([], { deadCores: [[0, 1]], deadLinks: [[2, 2, 'E'], [3, 0, 'S']] });
    expect(Array.from(remapDefects(m)).flatMap((v, i) => (v ? [[i % PW, Math.floor(i / PW)]] : []))).toEqual([[0, 1], [3, 1], [3, 2]]);
    const r = remapRepair(m, g);
    expect([0, 1, 2, 3].map((x) => at(r, x, 1))).toEqual([[1, 1], [2, 1], [4, 1], [5, 1]]);
    expect(at(r, 3, 2)).toEqual([4, 2]);
  });

  it('a row with more defects than spare columns is bypassed with a spare row', () => {
    const r = remapRepair(physical([[0, 1], [2, 1], [4, 1]]), g);
    expect(r.skippedRows).toEqual([1]);
    expect(Array.from(r.physicalRow)).toEqual([0, 2, 3, 4]);
    expect(at(r, 2, 1)).toEqual([2, 2]);
    // Logical (x,0) -> (x,1) crosses the skipped row: +1 cycle.
    expect(r.extraLatencyCycles[0 * 5 + PORT_S]).toBe(1);
  });

  it('fails naming the row, its defects and the spares when spare rows run out', () => {
    const e = (() => {
      try {
        remapRepair(physical([[0, 1], [2, 1], [4, 1], [1, 3], [2, 3], [3, 3]]), g);
      } catch (x) {
        return x as InputError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(InputError);
    expect(e.what).toBe('row 3 has 3 defective tiles but only 2 spare columns (and all 1 spare rows are used)');
    expect(e.where).toBe('remap repair');
    expect(e.fix).toBe('use repair route-around, a lower defect density, or a fabric with more spares');
    const noRows = { ...g, spareRows: 0 };
    expect(() => remapRepair(FaultMap.fromJson({ width: 6, height: 4, deadTiles: [[0, 2], [1, 2], [2, 2]], deadCores: [], deadLinks: [] }, 'p'), noRows)).toThrow(
      'row 2 has 3 defective tiles but only 2 spare columns (and no spare rows) (remap repair)',
    );
  });

  it('refuses a fault map that is not the physical grid', () => {
    expect(() => remapRepair(FaultMap.empty(4, 4), g)).toThrow(
      'fault map is 4x4 but the physical grid (4x4 plus 2 spare columns and 1 spare rows) is 6x5 (remap repair): give a fault map of 6x5',
    );
  });

  it('on random maps: either a valid injective, order-preserving map that avoids every defect, or an error naming a row', () => {
    const spec = getFabricPreset('mini-16');
    let ok = 0;
    let failed = 0;
    for (let seed = 0; seed < 60; seed++) {
      const density = 0.005 + (seed % 6) * 0.01;
      const m = generateFaults({ width: 18, height: 17, density, seed, clusterAlpha: seed % 2 ? 0.7 : undefined });
      let r: ReturnType<typeof remapRepair>;
      try {
        r = remapRepair(m, spec);
      } catch (e) {
        expect((e as Error).message).toMatch(/^row \d+ has \d+ defective tiles but only 2 spare columns/);
        failed++;
        continue;
      }
      ok++;
      const bad = remapDefects(m);
      expect(new Set(r.logicalToPhysical).size).toBe(256);
      const wrong: string[] = [];
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const p = r.logicalToPhysical[y * 16 + x];
          if (bad[p]) wrong.push(`(${x},${y}) on a defect`);
          if (Math.floor(p / 18) !== r.physicalRow[y]) wrong.push(`(${x},${y}) off its row`);
          if (x > 0 && p <= r.logicalToPhysical[y * 16 + x - 1]) wrong.push(`(${x},${y}) out of order`);
        }
        if (y > 0 && r.physicalRow[y] <= r.physicalRow[y - 1]) wrong.push(`row ${y} out of order`);
      }
      expect(wrong).toEqual([]);
      expect(r.hiddenDefects).toBeLessThanOrEqual(m.tiles);
    }
    expect(ok).toBeGreaterThan(10);
    expect(failed).toBeGreaterThan(5);
  });
});
