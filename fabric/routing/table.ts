// Destination-based routing tables: nextPort[cur * tiles + dst] = the port (0 ramp, 1 N, 2 E, 3 S, 4 W — PORTS order
// in fabric/isa/types.ts) a wavelet at router `cur` bound for tile `dst` leaves by; 0 at cur === dst (deliver through
// the ramp); 255 = unreachable. Entries exist for every pair of live routers that the live mesh connects.
//
// Algorithms:
// - 'xy' / 'yx': dimension order (X first / Y first). Deadlock-free on any mesh; with faults, a pair whose
//   dimension-order path crosses a dead router or link is unreachable (no detour).
// - 'updown': up*/down* (Schroeder et al., Autonet 1991) on a BFS spanning tree of the live routers. Each component's
//   root is its live router nearest the mesh centre (lowest index on a tie); a link is "up" when it leads to a router
//   of smaller (BFS level, index). A legal route takes zero or more up links, then zero or more down links, so no
//   cycle of channel dependencies can close (a down→up turn never happens). To keep a table indexed only by
//   (cur, dst) legal whatever way a wavelet arrived: a router that has a down-only path to dst always takes the
//   shortest one (and so does every router after it on that path), and only a router with no down-only path goes
//   up, to the up-neighbour with the shortest legal route. checkDeadlockFree proves the result acyclic.
import { InputError } from '../errors.js';
import { PORT_E, PORT_N, PORT_S, PORT_W, neighbour, tileName } from '../geometry.js';
import type { FaultMap } from '../faults/faultMap.js';
import { meshComponents } from '../faults/analysis.js';

export type RoutingAlgorithm = 'xy' | 'yx' | 'updown';
export const ROUTING_ALGORITHMS: readonly RoutingAlgorithm[] = ['xy', 'yx', 'updown'];
export const UNREACHABLE = 255;
/** Tables are tiles² bytes; beyond this many tiles (128×128 = 268 MB) building one is refused. */
export const MAX_TABLE_TILES = 128 * 128;

export class RoutingTable {
  readonly tiles: number;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly algorithm: RoutingAlgorithm,
    /** (cur, dst) row-major: nextPort[cur * tiles + dst]. */
    readonly nextPort: Uint8Array,
    readonly faults: FaultMap | null,
  ) {
    this.tiles = width * height;
  }

  next(cur: number, dst: number): number {
    return this.nextPort[cur * this.tiles + dst];
  }

  reachable(src: number, dst: number): boolean {
    return this.nextPort[src * this.tiles + dst] !== UNREACHABLE;
  }

  /** Tiles visited from src to dst, both included; [] when unreachable. Throws on a routing loop (a table bug). */
  path(src: number, dst: number): number[] {
    if (!this.reachable(src, dst)) return [];
    const out = [src];
    let cur = src;
    while (cur !== dst) {
      const p = this.nextPort[cur * this.tiles + dst];
      const next = p === UNREACHABLE || p === 0 ? -1 : neighbour(cur, p, this.width, this.height);
      if (next < 0 || out.length > this.tiles) {
        throw new Error(`routing table (${this.algorithm}) is broken from ${tileName(src, this.width)} to ${tileName(dst, this.width)} at ${tileName(cur, this.width)}`);
      }
      out.push(next);
      cur = next;
    }
    return out;
  }

  /** Links crossed from src to dst; -1 when unreachable. */
  hops(src: number, dst: number): number {
    if (!this.reachable(src, dst)) return -1;
    let n = 0;
    let cur = src;
    while (cur !== dst) {
      cur = neighbour(cur, this.nextPort[cur * this.tiles + dst], this.width, this.height);
      if (cur < 0 || ++n > this.tiles) throw new Error(`routing table (${this.algorithm}) is broken from ${tileName(src, this.width)} to ${tileName(dst, this.width)}`);
    }
    return n;
  }
}

export function buildRoutingTable(width: number, height: number, faults: FaultMap | null, algorithm: RoutingAlgorithm): RoutingTable {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InputError(`mesh size must be positive integers, got ${width}x${height}`, 'routing', 'give at least 1 tile');
  }
  if (faults && (faults.width !== width || faults.height !== height)) {
    throw new InputError(`fault map is ${faults.width}x${faults.height} but the mesh is ${width}x${height}`, 'routing', `give a fault map of ${width}x${height}`);
  }
  const tiles = width * height;
  if (tiles > MAX_TABLE_TILES) {
    throw new InputError(`a routing table for ${width}x${height} tiles would take ${tiles * tiles} bytes`, 'routing', `use at most ${MAX_TABLE_TILES} tiles, or routePath for single routes`);
  }
  if (!ROUTING_ALGORITHMS.includes(algorithm)) {
    throw new InputError(`unknown routing algorithm "${String(algorithm)}"`, 'routing', `use one of ${ROUTING_ALGORITHMS.join(', ')}`);
  }
  // The fills work one destination at a time, so they write a destination-major table (byDst[dst * tiles + cur],
  // contiguous per destination) that is transposed once into the (cur, dst) layout.
  const byDst = new Uint8Array(tiles * tiles).fill(UNREACHABLE);
  if (algorithm === 'updown') fillUpDown(width, height, faults, byDst);
  else fillDimensionOrder(width, height, faults, algorithm === 'xy', byDst);
  return new RoutingTable(width, height, algorithm, transpose(byDst, tiles), faults);
}

/** In-place blocked transpose of an n × n byte matrix (no second tiles² buffer). */
function transpose(a: Uint8Array, n: number): Uint8Array {
  const B = 64;
  for (let i0 = 0; i0 < n; i0 += B) {
    const i1 = Math.min(n, i0 + B);
    for (let j0 = i0; j0 < n; j0 += B) {
      const j1 = Math.min(n, j0 + B);
      for (let i = i0; i < i1; i++) {
        const row = i * n;
        for (let j = j0 === i0 ? i + 1 : j0; j < j1; j++) {
          const t = a[row + j];
          a[row + j] = a[j * n + i];
          a[j * n + i] = t;
        }
      }
    }
  }
  return a;
}

function linkOk(faults: FaultMap | null, i: number, p: number, width: number, height: number): boolean {
  return faults ? faults.isLinkAlive(i, p) : neighbour(i, p, width, height) >= 0;
}

/**
 * Dimension order, per destination in O(tiles): first the column (xy) or row (yx) through dst, walking outward from
 * dst and stopping at the first broken link; then every row (column) outward from that line.
 */
function fillDimensionOrder(width: number, height: number, faults: FaultMap | null, xFirst: boolean, byDst: Uint8Array): void {
  const tiles = width * height;
  const alive = (i: number): boolean => (faults ? faults.isRouterAlive(i) : true);
  // In xy order the last leg is vertical (along dst's column); in yx it is horizontal (along dst's row).
  const lastLen = xFirst ? height : width;
  const firstLen = xFirst ? width : height;
  const at = (line: number, pos: number): number => (xFirst ? pos * width + line : line * width + pos);
  // Ports that move +1 / -1 along a leg: last leg and first leg.
  const lastPlus = xFirst ? PORT_S : PORT_E;
  const lastMinus = xFirst ? PORT_N : PORT_W;
  const firstPlus = xFirst ? PORT_E : PORT_S;
  const firstMinus = xFirst ? PORT_W : PORT_N;
  const lineOk = new Uint8Array(lastLen);
  for (let dst = 0; dst < tiles; dst++) {
    if (!alive(dst)) continue;
    const dLine = xFirst ? dst % width : Math.floor(dst / width); // dst's column (xy) or row (yx)
    const dPos = xFirst ? Math.floor(dst / width) : dst % width; // dst's position along that line
    lineOk.fill(0);
    lineOk[dPos] = 1;
    byDst[dst * tiles + dst] = 0;
    for (const [step, port] of [[1, lastMinus], [-1, lastPlus]] as const) {
      // Walk away from dst; a router at pos reaches dst by moving back toward it through `port`.
      for (let pos = dPos + step; pos >= 0 && pos < lastLen; pos += step) {
        const i = at(dLine, pos);
        if (!alive(i) || !linkOk(faults, i, port, width, height)) break;
        lineOk[pos] = 1;
        byDst[dst * tiles + i] = port;
      }
    }
    for (let pos = 0; pos < lastLen; pos++) {
      if (!lineOk[pos]) continue;
      for (const [step, port] of [[1, firstMinus], [-1, firstPlus]] as const) {
        for (let q = dLine + step; q >= 0 && q < firstLen; q += step) {
          const i = at(q, pos);
          if (!alive(i) || !linkOk(faults, i, port, width, height)) break;
          byDst[dst * tiles + i] = port;
        }
      }
    }
  }
}

function fillUpDown(width: number, height: number, faults: FaultMap | null, byDst: Uint8Array): void {
  const tiles = width * height;
  const alive = (i: number): boolean => (faults ? faults.isRouterAlive(i) : true);
  // Live links as a neighbour table (-1 = none), resolved once.
  const nb = new Int32Array(tiles * 5).fill(-1);
  for (let i = 0; i < tiles; i++) {
    if (!alive(i)) continue;
    for (let p = 1; p <= 4; p++) if (linkOk(faults, i, p, width, height)) nb[i * 5 + p] = neighbour(i, p, width, height);
  }
  // Components and a BFS from each component's root (the live router nearest the centre).
  const component = faults ? meshComponents(faults).component : new Int32Array(tiles);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const rootOf = new Map<number, number>();
  const rootDist = (i: number): number => Math.abs((i % width) - cx) + Math.abs(Math.floor(i / width) - cy);
  for (let i = 0; i < tiles; i++) {
    if (!alive(i)) continue;
    const r = rootOf.get(component[i]);
    if (r === undefined || rootDist(i) < rootDist(r)) rootOf.set(component[i], i);
  }
  const level = new Int32Array(tiles).fill(-1);
  const queue = new Int32Array(tiles);
  for (const root of rootOf.values()) {
    let head = 0;
    let tail = 0;
    queue[tail++] = root;
    level[root] = 0;
    while (head < tail) {
      const i = queue[head++];
      for (let p = 1; p <= 4; p++) {
        const j = nb[i * 5 + p];
        if (j >= 0 && level[j] < 0) {
          level[j] = level[i] + 1;
          queue[tail++] = j;
        }
      }
    }
  }
  // key(i) = (level, index): a link i -> j is up when key(j) < key(i).
  const key = new Float64Array(tiles);
  for (let i = 0; i < tiles; i++) key[i] = level[i] * tiles + i;
  const byKey = Int32Array.from({ length: tiles }, (_, i) => i)
    .filter((i) => level[i] >= 0)
    .sort((a, b) => key[a] - key[b]);

  const distDown = new Int32Array(tiles);
  const cost = new Int32Array(tiles);
  for (let dst = 0; dst < tiles; dst++) {
    if (level[dst] < 0) continue;
    const comp = component[dst];
    // Shortest down-only paths to dst: reverse BFS from dst over links p -> x that go down (key(p) < key(x)).
    distDown.fill(-1);
    let head = 0;
    let tail = 0;
    queue[tail++] = dst;
    distDown[dst] = 0;
    byDst[dst * tiles + dst] = 0;
    while (head < tail) {
      const x = queue[head++];
      for (let q = 1; q <= 4; q++) {
        const p = nb[x * 5 + q]; // p is x's neighbour through port q; p reaches x through the opposite port
        if (p < 0 || distDown[p] >= 0 || key[p] >= key[x]) continue;
        distDown[p] = distDown[x] + 1;
        byDst[dst * tiles + p] = OPP[q];
        queue[tail++] = p;
      }
    }
    // Routers with no down-only path go up, in increasing key order (their up-neighbours are already costed).
    for (let k = 0; k < byKey.length; k++) {
      const v = byKey[k];
      if (component[v] !== comp) continue;
      if (distDown[v] >= 0) {
        cost[v] = distDown[v];
        continue;
      }
      let best = -1;
      let bestCost = 0x7fffffff;
      for (let p = 1; p <= 4; p++) {
        const u = nb[v * 5 + p];
        if (u < 0 || key[u] >= key[v]) continue;
        if (cost[u] < bestCost) {
          bestCost = cost[u];
          best = p;
        }
      }
      // Every non-root router has an up link (its BFS parent), and the root has a down path to all of its component.
      cost[v] = bestCost + 1;
      byDst[dst * tiles + v] = best;
    }
  }
}

const OPP = [0, PORT_S, PORT_W, PORT_N, PORT_E];
