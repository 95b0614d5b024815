import { describe, expect, it } from 'vitest';
import { FaultMap } from '../../../../fabric/faults/index.js';
import { PORT_E, PORT_N, PORT_S, PORT_W, tileIndex } from '../../../../fabric/geometry.js';
import { catchInputError as err } from '../../inputError.js';

const base = { width: 4, height: 3, deadTiles: [] as unknown[], deadCores: [] as unknown[], deadLinks: [] as unknown[] };

describe('FaultMap', () => {
  it('reads the JSON format into typed arrays and writes it back in tile order', () => {
    const json = { width: 4, height: 3, deadTiles: [[2, 1], [0, 0]], deadCores: [[3, 2]], deadLinks: [[1, 2, 'E'], [0, 1, 'S']] };
    const m = FaultMap.fromJson(json, 'm.json');
    expect(m.tiles).toBe(12);
    expect(m.tileDead[tileIndex(2, 1, 4)]).toBe(1);
    expect(m.coreDead[tileIndex(3, 2, 4)]).toBe(1);
    expect(m.toJson()).toEqual({ width: 4, height: 3, deadTiles: [[0, 0], [2, 1]], deadCores: [[3, 2]], deadLinks: [[0, 1, 'S'], [1, 2, 'E']] });
    expect(FaultMap.fromJson(m.toJson(), 'again').toJson()).toEqual(m.toJson());
    expect(m.counts()).toEqual({ deadTiles: 2, deadCores: 1, deadLinks: 2, usableTiles: 9 });
    expect(m.isPerfect()).toBe(false);
    expect(FaultMap.empty(4, 3).isPerfect()).toBe(true);
  });

  it('dead tile, dead core and dead link mean different things', () => {
    const m = FaultMap.fromJson({ width: 3, height: 3, deadTiles: [[1, 1]], deadCores: [[0, 0]], deadLinks: [[0, 2, 'E']] }, 'm');
    const c = tileIndex(1, 1, 3);
    expect(m.isTileUsable(c)).toBe(false);
    expect(m.isRouterAlive(c)).toBe(false);
    // Links into a dead router are dead from both sides.
    expect(m.isLinkAlive(tileIndex(1, 0, 3), PORT_S)).toBe(false);
    expect(m.isLinkAlive(c, PORT_N)).toBe(false);
    // A dead core: nothing placed, the router forwards.
    expect(m.isTileUsable(0)).toBe(false);
    expect(m.isRouterAlive(0)).toBe(true);
    expect(m.isLinkAlive(0, PORT_E)).toBe(true);
    // A dead link is dead in both directions; its tiles stay usable.
    expect(m.isLinkAlive(tileIndex(0, 2, 3), PORT_E)).toBe(false);
    expect(m.isLinkAlive(tileIndex(1, 2, 3), PORT_W)).toBe(false);
    expect(m.isTileUsable(tileIndex(0, 2, 3))).toBe(true);
    // Off the mesh: no link.
    expect(m.isLinkAlive(tileIndex(2, 0, 3), PORT_E)).toBe(false);
    expect(m.isLinkAlive(0, PORT_N)).toBe(false);
  });

  const cases: [string, Record<string, unknown>, string, string, string][] = [
    ['a dead tile outside', { deadTiles: [[0, 0], [4, 1]] }, 'tile (4,1) is outside the 4x3 mesh', 'm.json: deadTiles[1]', 'use 0 ≤ x < 4 and 0 ≤ y < 3'],
    ['a negative coordinate', { deadCores: [[-1, 0]] }, 'tile (-1,0) is outside the 4x3 mesh', 'm.json: deadCores[0]', 'use 0 ≤ x < 4 and 0 ≤ y < 3'],
    ['a dead link outside', { deadLinks: [[0, 3, 'E']] }, 'tile (0,3) is outside the 4x3 mesh', 'm.json: deadLinks[0]', 'use 0 ≤ x < 4 and 0 ≤ y < 3'],
    ['an E link off the edge', { deadLinks: [[3, 0, 'E']] }, 'link E from (3,0) leaves the mesh', 'm.json: deadLinks[0]', 'x must be below 3 for an E link'],
    ['an S link off the edge', { deadLinks: [[0, 0, 'S'], [1, 2, 'S']] }, 'link S from (1,2) leaves the mesh', 'm.json: deadLinks[1]', 'y must be below 2 for an S link'],
    ['a tile listed twice', { deadTiles: [[1, 1], [1, 1]] }, 'tile (1,1) is listed twice (also deadTiles[0])', 'm.json: deadTiles[1]', 'list each tile once, as a dead tile or a dead core'],
    ['a tile dead and core-dead', { deadTiles: [[1, 1]], deadCores: [[1, 1]] }, 'tile (1,1) is listed twice (also deadTiles[0])', 'm.json: deadCores[0]', 'list each tile once, as a dead tile or a dead core'],
    ['a link listed twice', { deadLinks: [[0, 0, 'E'], [0, 0, 'E']] }, 'link E from (0,0) is listed twice (also deadLinks[0])', 'm.json: deadLinks[1]', 'list each link once'],
    ['an unknown key', { deadRouters: [] }, 'unknown key "deadRouters"', 'm.json: (root)', 'remove it or check its spelling'],
    ['a zero width', { width: 0 }, 'Too small: expected number to be >0', 'm.json: width', 'make it >0'],
    ['a short coordinate', { deadTiles: [[0]] }, 'Too small: expected array to have >=2 items', 'm.json: deadTiles.0', 'make it >=2 items'],
    ['a bad link direction', { deadLinks: [[0, 0, 'N']] }, 'unsupported value', 'm.json: deadLinks.0.2', 'use one of "E", "S"'],
    ['a fractional coordinate', { deadTiles: [[0.5, 0]] }, 'expected an integer, got 0.5', 'm.json: deadTiles.0.0', 'give a whole number'],
  ];
  it.each(cases)('rejects %s', (_label, patch, what, where, fix) => {
    const e = err(() => FaultMap.fromJson({ ...base, ...patch }, 'm.json'));
    expect([e.what, e.where, e.fix]).toEqual([what, where, fix]);
  });

  it('rejects a missing list and a bad constructor size', () => {
    const { deadLinks: _omit, ...rest } = base;
    const e = err(() => FaultMap.fromJson(rest, 'm.json'));
    expect([e.what, e.where]).toEqual(['missing required field', 'm.json: deadLinks']);
    expect(err(() => new FaultMap(0, 3)).message).toBe('fault map size must be positive integers, got 0x3 (fault map): give at least 1 tile');
    expect(() => FaultMap.empty(2, 2).killLink(1, PORT_E)).toThrow(RangeError);
  });
});
