// One static route for the compiler: the tiles from src to dst and the output port at each, avoiding dead routers
// and links (a tile whose core is dead but whose router forwards may be crossed).
//
// Without a table: the dimension-order (XY) path when it is intact, else a shortest path found by BFS over live
// links, preferring to keep going straight (fewest turns) and then port order N, E, S, W — deterministic. Such
// detours are minimal but not deadlock-free as a set: a compiler that puts several of them on one colour should check
// the union (or pass a RoutingTable built with 'updown', whose routes are deadlock-free together).
import { InputError } from '../errors.js';
import { PORT_E, PORT_N, PORT_S, PORT_W, neighbour, portName, tileName, type MeshSize } from '../geometry.js';
import type { Port } from '../isa/types.js';
import { FaultMap } from '../faults/faultMap.js';
import type { RoutingTable } from './table.js';

export interface StaticPath {
  /** Tiles from src to dst, both included. */
  tiles: number[];
  /** ports[k] = the output port at tiles[k]; the last is 'ramp' (delivered). */
  ports: Port[];
  hops: number;
}

/**
 * The dimension-order (X then Y) path on a perfect mesh (give its size) or on a fault map; null when it crosses a dead
 * router or link.
 */
export function xyRoute(src: number, dst: number, mesh: FaultMap | MeshSize): StaticPath | null {
  const faults = mesh instanceof FaultMap ? mesh : FaultMap.empty(mesh.width, mesh.height);
  const { width } = faults;
  const tiles = [src];
  const ports: Port[] = [];
  let cur = src;
  const dx = dst % width;
  const dy = Math.floor(dst / width);
  while (cur !== dst) {
    const x = cur % width;
    const y = Math.floor(cur / width);
    const p = x < dx ? PORT_E : x > dx ? PORT_W : y < dy ? PORT_S : PORT_N;
    if (!faults.isLinkAlive(cur, p)) return null;
    ports.push(portName(p));
    cur = neighbour(cur, p, width, faults.height);
    tiles.push(cur);
  }
  ports.push('ramp');
  return { tiles, ports, hops: tiles.length - 1 };
}

/** A static route from src to dst on the fault map (use FaultMap.empty for a perfect mesh), or by a table. */
export function routePath(src: number, dst: number, faults: FaultMap, table?: RoutingTable): StaticPath {
  const { width, height, tiles: n } = faults;
  for (const [name, t] of [['source', src], ['destination', dst]] as const) {
    if (!Number.isInteger(t) || t < 0 || t >= n) throw new InputError(`route ${name} ${t} is not a tile of the ${width}x${height} mesh`, 'routing', `give a tile index in [0, ${n})`);
    if (!faults.isRouterAlive(t)) throw new InputError(`route ${name} ${tileName(t, width)} is a dead tile`, 'routing', 'route between live tiles');
  }
  const unreachable = (): InputError =>
    new InputError(`no route from ${tileName(src, width)} to ${tileName(dst, width)}: the live mesh does not connect them`, 'routing', 'place both ends in one connected region');
  if (table) {
    const path = table.path(src, dst);
    if (path.length === 0) throw unreachable();
    const ports: Port[] = [];
    for (let k = 0; k + 1 < path.length; k++) ports.push(portName(table.next(path[k], dst)));
    ports.push('ramp');
    return { tiles: path, ports, hops: path.length - 1 };
  }
  const xy = xyRoute(src, dst, faults);
  if (xy) return xy;
  // BFS distances to dst over live links.
  const dist = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  queue[tail++] = dst;
  dist[dst] = 0;
  while (head < tail && dist[src] < 0) {
    const i = queue[head++];
    for (let p = 1; p <= 4; p++) {
      if (!faults.isLinkAlive(i, p)) continue;
      const j = neighbour(i, p, width, height);
      if (dist[j] < 0) {
        dist[j] = dist[i] + 1;
        queue[tail++] = j;
      }
    }
  }
  if (dist[src] < 0) throw unreachable();
  const tiles = [src];
  const ports: Port[] = [];
  let cur = src;
  let last = 0;
  while (cur !== dst) {
    let choice = -1;
    for (const p of last ? [last, PORT_N, PORT_E, PORT_S, PORT_W] : [PORT_N, PORT_E, PORT_S, PORT_W]) {
      if (!faults.isLinkAlive(cur, p)) continue;
      if (dist[neighbour(cur, p, width, height)] === dist[cur] - 1) {
        choice = p;
        break;
      }
    }
    ports.push(portName(choice));
    cur = neighbour(cur, choice, width, height);
    tiles.push(cur);
    last = choice;
  }
  ports.push('ramp');
  return { tiles, ports, hops: tiles.length - 1 };
}
