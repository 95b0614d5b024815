import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../fabric/errors.js';
import { FaultMap, assertConnected, generateFaults, largestFaultFreeRectangle, meshComponents } from '../../../../fabric/faults/index.js';
import { PORT_E, PORT_S } from '../../../../fabric/geometry.js';

const map = (w: number, h: number, deadTiles: [number, number][], deadCores: [number, number][] = [], deadLinks: [number, number, 'E' | 'S'][] = []): FaultMap =>
  FaultMap.fromJson({ width: w, height: h, deadTiles, deadCores, deadLinks }, 'test');

/** Brute force: every rectangle, checked tile by tile and link by link. */
function bruteLargest(m: FaultMap): number {
  let best = 0;
  for (let y0 = 0; y0 < m.height; y0++)
    for (let x0 = 0; x0 < m.width; x0++)
      for (let y1 = y0; y1 < m.height; y1++)
        for (let x1 = x0; x1 < m.width; x1++) {
          const area = (x1 - x0 + 1) * (y1 - y0 + 1);
          if (area <= best) continue;
          let ok = true;
          for (let y = y0; y <= y1 && ok; y++)
            for (let x = x0; x <= x1 && ok; x++) {
              const i = y * m.width + x;
              if (!m.isTileUsable(i)) ok = false;
              else if (x < x1 && !m.isLinkAlive(i, PORT_E)) ok = false;
              else if (y < y1 && !m.isLinkAlive(i, PORT_S)) ok = false;
            }
          if (ok) best = area;
        }
  return best;
}

describe('connectivity', () => {
  it('a perfect mesh is one component', () => {
    const c = meshComponents(FaultMap.empty(5, 4));
    expect([c.count, c.main, c.cutOff.length, c.usableTiles[0], c.routers[0]]).toEqual([1, 0, 0, 20, 20]);
    expect(() => assertConnected(FaultMap.empty(5, 4), 'x')).not.toThrow();
  });

  it('a wall of dead tiles cuts off the smaller side, reported by name', () => {
    // Column x = 1 dead on a 5x3 mesh: {x = 0} (3 tiles) is cut off from {x = 2..4} (9 tiles).
    const m = map(5, 3, [[1, 0], [1, 1], [1, 2]]);
    const c = meshComponents(m);
    expect(c.count).toBe(2);
    expect(c.usableTiles[c.main]).toBe(9);
    expect(c.cutOff).toEqual([0, 5, 10]);
    let e: InputError | null = null;
    try {
      assertConnected(m, '--faults f.json');
    } catch (x) {
      e = x as InputError;
    }
    expect(e?.message).toBe(
      'live tile (0,0) is cut off from the rest of the mesh (and 2 more) (--faults f.json): use repair remap, a lower density or another seed, or leave those tiles unused',
    );
  });

  it('dead links isolate a corner tile; a dead-core tile still connects its neighbours', () => {
    const cut = map(3, 3, [], [], [[0, 0, 'E'], [0, 0, 'S']]);
    expect(meshComponents(cut).cutOff).toEqual([0]);
    expect(() => assertConnected(cut, 'w')).toThrow('live tile (0,0) is cut off from the rest of the mesh (w)');
    // Dead cores everywhere in column 1 leave the routers forwarding: connected, nothing cut off.
    const cores = map(3, 3, [], [[1, 0], [1, 1], [1, 2]]);
    const c = meshComponents(cores);
    expect([c.count, c.cutOff.length, c.usableTiles[0]]).toEqual([1, 0, 6]);
    // An isolated dead-core tile is not reported (nothing could be placed there anyway).
    const lone = map(3, 3, [[1, 0], [0, 1]], [[0, 0]]);
    expect(meshComponents(lone).cutOff).toEqual([]);
  });
});

describe('largest fault-free rectangle', () => {
  it('is the whole mesh when perfect, and avoids dead tiles and links', () => {
    expect(largestFaultFreeRectangle(FaultMap.empty(6, 4))).toEqual({ x: 0, y: 0, width: 6, height: 4, tiles: 24 });
    expect(largestFaultFreeRectangle(map(5, 5, [[2, 2]])).tiles).toBe(10);
    expect(largestFaultFreeRectangle(map(4, 4, [], [[0, 0]]))).toEqual({ x: 1, y: 0, width: 3, height: 4, tiles: 12 });
    // A dead horizontal link in the middle of a 4x2 mesh: a 2x2 half or the 4x1 bottom row, 4 tiles.
    expect(largestFaultFreeRectangle(map(4, 2, [], [], [[1, 0, 'E']])).tiles).toBe(4);
    // A dead vertical link: the rectangle may not span it.
    const r = largestFaultFreeRectangle(map(3, 4, [], [], [[1, 1, 'S']]));
    expect(r.tiles).toBe(6);
  });

  it('matches brute force on random maps', () => {
    for (let seed = 0; seed < 60; seed++) {
      const w = 3 + (seed % 5);
      const h = 3 + ((seed * 7) % 4);
      const m = generateFaults({ width: w, height: h, density: 0.05 + (seed % 4) * 0.05, seed, split: { coreFraction: 0.2, linkFraction: 0.4 } });
      const r = largestFaultFreeRectangle(m);
      expect(r.tiles).toBe(bruteLargest(m));
      expect(r.width * r.height).toBe(r.tiles);
      // The reported rectangle itself is fault-free.
      for (let y = r.y; y < r.y + r.height; y++)
        for (let x = r.x; x < r.x + r.width; x++) {
          const i = y * w + x;
          expect(m.isTileUsable(i)).toBe(true);
          if (x + 1 < r.x + r.width) expect(m.isLinkAlive(i, PORT_E)).toBe(true);
          if (y + 1 < r.y + r.height) expect(m.isLinkAlive(i, PORT_S)).toBe(true);
        }
    }
  });

  it('is empty when no tile is usable', () => {
    expect(largestFaultFreeRectangle(map(2, 1, [[0, 0], [1, 0]])).tiles).toBe(0);
  });
});
