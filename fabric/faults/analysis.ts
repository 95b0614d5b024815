// What a fault map leaves usable: connected components of the live mesh, the tiles cut off from the rest, and the
// largest fault-free rectangle.
import { InputError, OptionError, type OptionNamer } from '../errors.js';
import { PORT_E, PORT_S, neighbour, tileName } from '../geometry.js';
import type { FaultMap } from './faultMap.js';

export interface MeshComponents {
  /** component[i] = component id of tile i's router, -1 for a dead router. Ids are numbered in tile order. */
  component: Int32Array;
  count: number;
  /** Per component: usable tiles (router and core alive) and live routers. */
  usableTiles: number[];
  routers: number[];
  /** The component with the most usable tiles (lowest id on a tie); -1 when no tile is usable. */
  main: number;
  /** Usable tiles outside the main component, in tile order. */
  cutOff: number[];
}

/** Components of the graph of live routers joined by live links (BFS, deterministic). */
export function meshComponents(faults: FaultMap): MeshComponents {
  const { width, height, tiles } = faults;
  const component = new Int32Array(tiles).fill(-1);
  const queue = new Int32Array(tiles);
  const usableTiles: number[] = [];
  const routers: number[] = [];
  let count = 0;
  for (let s = 0; s < tiles; s++) {
    if (component[s] !== -1 || !faults.isRouterAlive(s)) continue;
    const id = count++;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    component[s] = id;
    let usable = 0;
    while (head < tail) {
      const i = queue[head++];
      if (faults.isTileUsable(i)) usable++;
      for (let p = 1; p <= 4; p++) {
        if (!faults.isLinkAlive(i, p)) continue;
        const j = neighbour(i, p, width, height);
        if (component[j] === -1) {
          component[j] = id;
          queue[tail++] = j;
        }
      }
    }
    usableTiles.push(usable);
    routers.push(tail);
  }
  let main = -1;
  for (let c = 0; c < count; c++) if (usableTiles[c] > 0 && (main < 0 || usableTiles[c] > usableTiles[main])) main = c;
  const cutOff: number[] = [];
  for (let i = 0; i < tiles; i++) if (faults.isTileUsable(i) && component[i] !== main) cutOff.push(i);
  return { component, count, usableTiles, routers, main, cutOff };
}

/**
 * Throws an InputError naming the first usable tile that the live mesh cannot reach from the main component, at
 * `where` (a place, or the option the map came in).
 */
export function assertConnected(faults: FaultMap, where: string | { option: string }): void {
  const c = meshComponents(faults);
  if (c.cutOff.length === 0) return;
  const first = tileName(c.cutOff[0], faults.width);
  const more = c.cutOff.length > 1 ? ` (and ${c.cutOff.length - 1} more)` : '';
  const what = `live tile ${first} is cut off from the rest of the mesh${more}`;
  const fix = (name: OptionNamer) => `use ${name('repair')} remap, a lower density or another seed, or leave those tiles unused`;
  throw typeof where === 'string' ? new InputError(what, where, fix) : new OptionError(where.option, what, fix);
}

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
  tiles: number;
}

/**
 * The largest rectangle of usable tiles with every link between them alive (maximal-rectangle histogram algorithm,
 * O(width × height)). Ties go to the first found in row-major scan order of the bottom edge. Horizontal links are
 * handled by interleaving: row y becomes 2·width − 1 cells, tile cells at even x and link cells at odd x; a
 * rectangle's tile count is the number of tile cells it spans. A dead vertical link resets the column's height.
 */
export function largestFaultFreeRectangle(faults: FaultMap): Rectangle {
  const { width, height } = faults;
  const cells = 2 * width - 1;
  const h = new Int32Array(cells);
  const stack = new Int32Array(cells + 1);
  let best: Rectangle = { x: 0, y: 0, width: 0, height: 0, tiles: 0 };
  // Tile cells (even) in the closed interval [a, b] of cells.
  const evens = (a: number, b: number): number => (b >> 1) - ((a + 1) >> 1) + 1;
  for (let y = 0; y < height; y++) {
    for (let c = 0; c < cells; c++) {
      const x = c >> 1;
      const i = y * width + x;
      let ok: boolean;
      let continues: boolean;
      if ((c & 1) === 0) {
        ok = faults.isTileUsable(i);
        continues = y > 0 && faults.isLinkAlive(i - width, PORT_S);
      } else {
        ok = faults.isTileUsable(i) && faults.isTileUsable(i + 1) && faults.isLinkAlive(i, PORT_E);
        continues = true; // its column's vertical continuity is carried by the tile cells either side
      }
      h[c] = ok ? (continues ? h[c] + 1 : 1) : 0;
    }
    // Largest rectangle under the histogram h, area = tile cells spanned × height.
    let top = 0;
    for (let c = 0; c <= cells; c++) {
      const cur = c === cells ? 0 : h[c];
      while (top > 0 && h[stack[top - 1]] >= cur) {
        const k = stack[--top];
        const hk = h[k];
        const left = top > 0 ? stack[top - 1] + 1 : 0;
        const right = c - 1;
        const tilesWide = evens(left, right);
        const area = tilesWide * hk;
        if (tilesWide > 0 && area > best.tiles) {
          best = { x: (left + 1) >> 1, y: y - hk + 1, width: tilesWide, height: hk, tiles: area };
        }
      }
      stack[top++] = c;
    }
  }
  return best;
}

/** Checks the dimensions of a fault map against the mesh it is meant for. */
export function assertFaultMapSize(faults: FaultMap, width: number, height: number, where: string, why: string): void {
  if (faults.width !== width || faults.height !== height) {
    throw new InputError(`fault map is ${faults.width}x${faults.height} but ${why} is ${width}x${height}`, where, `give a fault map of ${width}x${height}`);
  }
}
