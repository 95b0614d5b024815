// Checks on a routing table: deadlock freedom (the channel-dependency graph of Dally & Seitz is acyclic) and validity
// (every route ends at its destination, touches no dead router or link, and every pair the live mesh connects is
// routed).
import { neighbour, neighbourTable, portName, tileName } from '../geometry.js';
import type { Port } from '../isa/types.js';
import { meshComponents } from '../faults/analysis.js';
import { UNREACHABLE, type RoutingTable } from './table.js';

export interface Channel {
  x: number;
  y: number;
  /** The output port of router (x, y) this channel leaves by. */
  port: Port;
}

export interface DeadlockCheck {
  deadlockFree: boolean;
  /** Mesh channels (one per router output port that exists). */
  channels: number;
  /** Distinct dependencies (a wavelet holding channel a waits for channel b). */
  dependencies: number;
  /** A dependency cycle when there is one, as the channels in order. */
  cycle: Channel[] | null;
}

/**
 * Builds the channel-dependency graph of the table — channel (v, p) depends on (w, q) when some route leaves v by p
 * and then w by q — and searches it for a cycle (iterative DFS). The same table serves every colour (each colour is
 * its own virtual channel with its own queues), so the graph and the verdict are the same per colour.
 * Channel id = tile * 4 + (port - 1); dependency (c, q) is stored as deps[c * 4 + (q - 1)].
 */
export function checkDeadlockFree(table: RoutingTable): DeadlockCheck {
  const { tiles, width, height, nextPort } = table;
  const deps = new Uint8Array(tiles * 16);
  const nb = neighbourTable(width, height);
  const NONE = UNREACHABLE;
  // Row-major walk (v outer, dst inner): both table rows read sequentially.
  for (let v = 0; v < tiles; v++) {
    const rowV = v * tiles;
    for (let dst = 0; dst < tiles; dst++) {
      const p = nextPort[rowV + dst];
      if (p === NONE || p === 0) continue;
      const w = nb[v * 5 + p];
      if (w < 0 || w === dst) continue;
      const q = nextPort[w * tiles + dst];
      if (q === NONE || q === 0) continue;
      deps[(v * 4 + (p - 1)) * 4 + (q - 1)] = 1;
    }
  }
  let dependencies = 0;
  for (let k = 0; k < deps.length; k++) dependencies += deps[k];
  let channels = 0;
  for (let v = 0; v < tiles; v++) for (let p = 1; p <= 4; p++) if (neighbour(v, p, width, height) >= 0) channels++;

  // Channel c = v * 4 + (p - 1) leads to router w = neighbour(v, p); its successors are (w, q) with deps set.
  const target = (c: number): number => neighbour(c >> 2, (c & 3) + 1, width, height);
  const colour = new Uint8Array(tiles * 4); // 0 white, 1 on stack, 2 done
  const stackC = new Int32Array(tiles * 4);
  const stackQ = new Int8Array(tiles * 4);
  for (let start = 0; start < tiles * 4; start++) {
    if (colour[start] !== 0) continue;
    let top = 0;
    stackC[top] = start;
    stackQ[top] = 0;
    top++;
    colour[start] = 1;
    while (top > 0) {
      const c = stackC[top - 1];
      const q = stackQ[top - 1];
      if (q >= 4) {
        colour[c] = 2;
        top--;
        continue;
      }
      stackQ[top - 1] = q + 1;
      if (!deps[c * 4 + q]) continue;
      const d = target(c) * 4 + q;
      if (colour[d] === 1) {
        // Cycle: from d's position on the stack to the top.
        let k = top - 1;
        while (stackC[k] !== d) k--;
        const cycle: Channel[] = [];
        for (; k < top; k++) cycle.push(channelOf(stackC[k], width));
        return { deadlockFree: false, channels, dependencies, cycle };
      }
      if (colour[d] === 0) {
        colour[d] = 1;
        stackC[top] = d;
        stackQ[top] = 0;
        top++;
      }
    }
  }
  return { deadlockFree: true, channels, dependencies, cycle: null };
}

function channelOf(c: number, width: number): Channel {
  const v = c >> 2;
  return { x: v % width, y: Math.floor(v / width), port: portName((c & 3) + 1) };
}

export interface TableProblem {
  kind: 'unrouted' | 'dead-link' | 'dead-router' | 'loop' | 'off-mesh' | 'routed-unreachable';
  src: string;
  dst: string;
  at: string;
}

/**
 * Validates every route of the table against its fault map (or the perfect mesh): each route from a live router
 * reaches its destination in finitely many hops over live links; each pair of live routers in one component is
 * routed unless the algorithm cannot (dimension order with faults: then `requireComplete` = false); no route exists
 * between components. O(tiles²) with memoisation per destination. Returns at most `limit` problems.
 */
export function validateRoutingTable(table: RoutingTable, requireComplete = true, limit = 10): TableProblem[] {
  const { tiles, width, height, nextPort, faults } = table;
  const problems: TableProblem[] = [];
  const NONE = UNREACHABLE;
  const component = faults ? meshComponents(faults).component : new Int32Array(tiles);
  const routerAlive = (i: number): boolean => (faults ? faults.isRouterAlive(i) : true);
  const linkAlive = (i: number, p: number): boolean => (faults ? faults.isLinkAlive(i, p) : neighbour(i, p, width, height) >= 0);
  const state = new Uint8Array(tiles); // 0 unknown, 1 in progress, 2 reaches dst, 3 bad
  const chain = new Int32Array(tiles + 1);
  const add = (kind: TableProblem['kind'], src: number, dst: number, at: number): void => {
    if (problems.length < limit) problems.push({ kind, src: tileName(src, width), dst: tileName(dst, width), at: tileName(at, width) });
  };
  for (let dst = 0; dst < tiles && problems.length < limit; dst++) {
    state.fill(0);
    for (let src = 0; src < tiles; src++) {
      const p0 = nextPort[src * tiles + dst];
      const connected = routerAlive(src) && routerAlive(dst) && component[src] === component[dst];
      if (p0 === NONE) {
        if (connected && requireComplete) add('unrouted', src, dst, src);
        continue;
      }
      if (!connected) {
        add('routed-unreachable', src, dst, src);
        continue;
      }
      // Follow until a known state, then mark the chain.
      let n = 0;
      let cur = src;
      let verdict = 0;
      for (;;) {
        if (state[cur] === 2 || cur === dst) {
          verdict = 2;
          break;
        }
        if (state[cur] === 3) {
          verdict = 3;
          break;
        }
        if (state[cur] === 1) {
          add('loop', src, dst, cur);
          verdict = 3;
          break;
        }
        state[cur] = 1;
        chain[n++] = cur;
        const p = nextPort[cur * tiles + dst];
        if (p === NONE || p === 0) {
          add('off-mesh', src, dst, cur);
          verdict = 3;
          break;
        }
        const next = neighbour(cur, p, width, height);
        if (next < 0) {
          add('off-mesh', src, dst, cur);
          verdict = 3;
          break;
        }
        if (!routerAlive(next)) {
          add('dead-router', src, dst, next);
          verdict = 3;
          break;
        }
        if (!linkAlive(cur, p)) {
          add('dead-link', src, dst, cur);
          verdict = 3;
          break;
        }
        cur = next;
      }
      for (let k = 0; k < n; k++) state[chain[k]] = verdict;
    }
  }
  return problems;
}
