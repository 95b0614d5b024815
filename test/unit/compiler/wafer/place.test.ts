// The placement's rows (compiler/wafer/place.ts RowPlacer): tiles that ask for a row of their scan column get it, the
// others keep the scan's order, and nothing leaves the column the scan put it in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAND_ROWS, placeTiles } from '../../../../compiler/wafer/place.js';
import { modelTag, type LogicalTile } from '../../../../compiler/wafer/plan.js';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const tile = (id: number, row?: number): LogicalTile => ({ id, role: `t${id}`, tag: modelTag('relay', [id]), group: 'g', buffers: [], tasks: [], ...(row === undefined ? {} : { row }) });

describe('rows asked for in the placement', () => {
  it('keeps each tile in its scan column and on the same positions; gives each asked row to the first tile asking for it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 16, max: 40 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.option(fc.integer({ min: 0, max: BAND_ROWS - 1 }), { nil: undefined }), { minLength: 1, maxLength: 300 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 4000 }), { maxLength: 6 }),
        (w, h, offset, rows, dead) => {
          const n = w * h;
          const usable = (i: number) => !dead.includes(i);
          const free = n - dead.filter((d) => d < n).length;
          const count = Math.max(0, Math.min(rows.length, free - offset));
          if (count === 0) return;
          const asked = rows.slice(0, count).map((r, i) => tile(i, r));
          const plain = asked.map((t) => tile(t.id));
          const what = { fabric: 'test', dead: 0 };
          const a = placeTiles(asked, w, h, usable, what, { scanOffset: offset }).tileOf;
          const b = placeTiles(plain, w, h, usable, what, { scanOffset: offset }).tileOf;
          expect([...a].sort((x, y) => x - y)).toEqual([...b].sort((x, y) => x - y));
          const columns = new Map<number, number[]>();
          for (let i = 0; i < count; i++) {
            // The same column: x, and the same band of rows.
            expect(a[i] % w).toBe(b[i] % w);
            const band = Math.floor(Math.floor(b[i] / w) / BAND_ROWS);
            expect(Math.floor(Math.floor(a[i] / w) / BAND_ROWS)).toBe(band);
            const key = band * w + (b[i] % w);
            columns.set(key, [...(columns.get(key) ?? []), i]);
          }
          // A column the tiles fill whole (ids ascend in scan order): the first to ask for a row has it.
          for (const ids of columns.values()) {
            if (ids.length !== BAND_ROWS) continue;
            const taken = new Set<number>();
            for (const i of ids) {
              const row = asked[i].row;
              if (row === undefined || taken.has(row)) continue;
              taken.add(row);
              expect(Math.floor(a[i] / w) % BAND_ROWS).toBe(row);
            }
          }
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('puts hub slice j at row j of its band in every hub of a compiled toy, whichever way the scan runs there', () => {
    const cfg = getPreset('toy-dense');
    const r = compileModel(buildGraph(cfg), { spec: getFabricPreset('mini-64'), faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16, sliceCols: 32 });
    const hubs = r.lowered.plan.tiles.filter((t) => t.tag.unit === 'attn-hub' || t.tag.unit === 'mlp-hub' || t.tag.unit === 'final-hub');
    expect(hubs.length).toBeGreaterThanOrEqual(8 * 8);
    for (const t of hubs) expect(Math.floor(r.placement.tileOf[t.id] / 64) % BAND_ROWS).toBe(t.tag.index[0] % BAND_ROWS);
  });
});
