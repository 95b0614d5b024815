import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../fabric/errors.js';
import { FaultMap, generateFaults, meshComponents } from '../../../../fabric/faults/index.js';
import { manhattan, neighbour } from '../../../../fabric/geometry.js';
import {
  RoutingTable,
  UNREACHABLE,
  buildRoutingTable,
  checkDeadlockFree,
  routePath,
  validateRoutingTable,
  xyRoute,
} from '../../../../fabric/routing/index.js';

const map = (w: number, h: number, deadTiles: [number, number][], deadCores: [number, number][] = [], deadLinks: [number, number, 'E' | 'S'][] = []): FaultMap =>
  FaultMap.fromJson({ width: w, height: h, deadTiles, deadCores, deadLinks }, 'test');

/** Shortest live-link distance between every pair (BFS), for comparing path lengths. */
function bfsDist(m: FaultMap, src: number): Int32Array {
  const d = new Int32Array(m.tiles).fill(-1);
  const q = [src];
  d[src] = 0;
  for (let k = 0; k < q.length; k++) {
    for (let p = 1; p <= 4; p++) {
      if (!m.isLinkAlive(q[k], p)) continue;
      const j = neighbour(q[k], p, m.width, m.height);
      if (d[j] < 0) {
        d[j] = d[q[k]] + 1;
        q.push(j);
      }
    }
  }
  return d;
}

describe('dimension-order routing on a perfect mesh', () => {
  it('xy goes along x first, then y; every route is minimal; deadlock-free', () => {
    const t = buildRoutingTable(8, 6, null, 'xy');
    expect(t.nextPort.length).toBe(48 * 48);
    expect(t.path(0, 6 + 5 * 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 14, 22, 30, 38, 46]);
    // At (6,0) bound for (6,5): S (3); at (0,0): E (2); at the destination: ramp (0).
    expect([t.next(6, 46), t.next(0, 46), t.next(46, 46), t.next(47, 40)]).toEqual([3, 2, 0, 4]);
    for (let s = 0; s < 48; s++) for (let d = 0; d < 48; d++) expect(t.hops(s, d)).toBe(manhattan(s, d, 8));
    const dl = checkDeadlockFree(t);
    expect(dl.deadlockFree).toBe(true);
    expect(dl.cycle).toBeNull();
    expect(dl.channels).toBe(2 * (7 * 6 + 8 * 5));
    expect(validateRoutingTable(t)).toEqual([]);
  });

  it('yx goes along y first', () => {
    const t = buildRoutingTable(8, 6, null, 'yx');
    expect(t.path(0, 6 + 5 * 8)).toEqual([0, 8, 16, 24, 32, 40, 41, 42, 43, 44, 45, 46]);
    expect(checkDeadlockFree(t).deadlockFree).toBe(true);
  });

  it('xy with faults leaves broken pairs unreachable, never crosses a fault, and stays deadlock-free', () => {
    const m = map(6, 6, [[3, 0]], [[2, 2]], [[4, 4, 'S']]);
    const t = buildRoutingTable(6, 6, m, 'xy');
    expect(t.reachable(0, 5)).toBe(false); // along row 0 through dead (3,0)
    expect(t.next(0, 5)).toBe(UNREACHABLE);
    expect(t.hops(0, 5)).toBe(-1);
    expect(t.path(0, 5)).toEqual([]);
    expect(t.reachable(0, 2 + 2 * 6)).toBe(true); // a dead-core tile is still a destination router
    expect(t.reachable(4 + 3 * 6, 4 + 5 * 6)).toBe(false); // dead S link below (4,4)
    expect(validateRoutingTable(t, false)).toEqual([]);
    expect(validateRoutingTable(t, true).map((p) => p.kind)).toContain('unrouted');
    expect(checkDeadlockFree(t).deadlockFree).toBe(true);
  });
});

describe('up*/down* routing', () => {
  it('routes every pair of a perfect mesh, nearly minimally, deadlock-free', () => {
    const t = buildRoutingTable(8, 8, null, 'updown');
    let hops = 0;
    let minimal = 0;
    for (let s = 0; s < 64; s++)
      for (let d = 0; d < 64; d++) {
        expect(t.hops(s, d)).toBeGreaterThanOrEqual(manhattan(s, d, 8));
        hops += t.hops(s, d);
        minimal += manhattan(s, d, 8);
      }
    expect(hops / minimal).toBeLessThan(1.1);
    expect(checkDeadlockFree(t).deadlockFree).toBe(true);
    expect(validateRoutingTable(t)).toEqual([]);
  });

  it('detours around a wall that xy cannot pass', () => {
    // A wall in column 3 with one gap at the bottom.
    const m = map(7, 5, [[3, 0], [3, 1], [3, 2], [3, 3]]);
    const t = buildRoutingTable(7, 5, m, 'updown');
    const path = t.path(0, 6);
    expect(path[0]).toBe(0);
    expect(path.at(-1)).toBe(6);
    expect(path).toContain(3 + 4 * 7);
    expect(t.hops(0, 6)).toBe(bfsDist(m, 0)[6]);
    expect(buildRoutingTable(7, 5, m, 'xy').reachable(0, 6)).toBe(false);
    expect(validateRoutingTable(t)).toEqual([]);
    expect(checkDeadlockFree(t).deadlockFree).toBe(true);
  });

  it('leaves separate components unreachable from each other, routes inside each', () => {
    const m = map(5, 3, [[2, 0], [2, 1], [2, 2]]);
    const t = buildRoutingTable(5, 3, m, 'updown');
    expect(t.reachable(0, 4)).toBe(false);
    expect(t.reachable(0, 1 + 2 * 5)).toBe(true);
    expect(t.reachable(3, 4 + 2 * 5)).toBe(true);
    expect(t.reachable(2, 2)).toBe(false); // a dead router has no entries, not even to itself
    expect(validateRoutingTable(t)).toEqual([]);
  });

  it('property: 200 seeded fault maps at 1–5% — every connected pair routed, no fault touched, the CDG acyclic', () => {
    let pairs = 0;
    let hops = 0;
    let shortest = 0;
    for (let seed = 0; seed < 200; seed++) {
      const side = 8 + (seed % 9); // 8x8 .. 16x16
      const density = 0.01 + (seed % 5) * 0.01;
      const m = generateFaults({ width: side, height: side, density, seed, clusterAlpha: seed % 3 === 0 ? 1 : undefined });
      const t = buildRoutingTable(side, side, m, 'updown');
      // Complete and fault-free: every pair in one component routed to its destination over live links only;
      // no route between components; no loops.
      expect(validateRoutingTable(t)).toEqual([]);
      const dl = checkDeadlockFree(t);
      expect(dl.cycle).toBeNull();
      expect(dl.deadlockFree).toBe(true);
      // Count the usable pairs and the path stretch on a sample of sources.
      const comp = meshComponents(m).component;
      for (let s = 0; s < m.tiles; s += 5) {
        if (!m.isTileUsable(s)) continue;
        const dist = bfsDist(m, s);
        for (let d = 0; d < m.tiles; d++) {
          if (!m.isTileUsable(d) || comp[d] !== comp[s]) continue;
          pairs++;
          hops += t.hops(s, d);
          shortest += dist[d];
        }
      }
    }
    expect(pairs).toBeGreaterThan(100_000);
    // up*/down* pays a little over the shortest live path (measured ≈ 1.03–1.05).
    expect(hops / shortest).toBeLessThan(1.15);
  });

  it('builds a 64x64 table with faults (4096² entries) whose routes are valid and deadlock-free', () => {
    const m = generateFaults({ width: 64, height: 64, density: 0.03, seed: 1 });
    const t = buildRoutingTable(64, 64, m, 'updown');
    expect(t.nextPort.length).toBe(4096 * 4096);
    expect(checkDeadlockFree(t).deadlockFree).toBe(true);
    const comp = meshComponents(m).component;
    const wrong: string[] = [];
    let routed = 0;
    for (let s = 0; s < 4096; s += 97) {
      for (let d = 0; d < 4096; d += 89) {
        if (!m.isRouterAlive(s) || !m.isRouterAlive(d)) continue;
        if (t.reachable(s, d) !== (comp[s] === comp[d])) wrong.push(`${s} -> ${d} reachability`);
        const path = t.path(s, d);
        if (path.length) routed++;
        if (path.some((i) => !m.isRouterAlive(i))) wrong.push(`${s} -> ${d} crosses a dead router`);
      }
    }
    expect(wrong).toEqual([]);
    expect(routed).toBeGreaterThan(1500);
  });
});

describe('the deadlock checker', () => {
  it('finds the cycle of a table that routes clockwise around a 2x2 ring', () => {
    // Tiles 0 (0,0), 1 (1,0), 2 (0,1), 3 (1,1). Each goes clockwise to the opposite corner: 0 E 1 S 3 W 2 N 0.
    const N = 1;
    const E = 2;
    const S = 3;
    const W = 4;
    const next = new Uint8Array(16);
    const set = (cur: number, dst: number, p: number): void => {
      next[cur * 4 + dst] = p;
    };
    const routes: [number, number, number][] = [
      [0, 1, E], [0, 2, S], [0, 3, E],
      [1, 0, W], [1, 3, S], [1, 2, S],
      [3, 1, N], [3, 2, W], [3, 0, W],
      [2, 0, N], [2, 3, E], [2, 1, N],
    ];
    for (const [cur, dst, p] of routes) set(cur, dst, p);
    const t = new RoutingTable(2, 2, 'xy', next, null);
    expect(validateRoutingTable(t)).toEqual([]);
    const dl = checkDeadlockFree(t);
    expect(dl.deadlockFree).toBe(false);
    expect(dl.dependencies).toBe(4);
    const cycle = dl.cycle!.map((c) => `(${c.x},${c.y})${c.port}`);
    expect(cycle.length).toBe(4);
    expect(new Set(cycle)).toEqual(new Set(['(0,0)E', '(1,0)S', '(1,1)W', '(0,1)N']));
  });

  it('catches the cycles of unrestricted shortest-path tables on faulty meshes, each a real cycle', () => {
    let flagged = 0;
    for (let seed = 0; seed < 20; seed++) {
      const w = 8;
      const T = w * w;
      const m = generateFaults({ width: w, height: w, density: 0.05, seed });
      // Per destination BFS over live links, first-found parent: shortest paths, no turn restriction.
      const next = new Uint8Array(T * T).fill(UNREACHABLE);
      for (let dst = 0; dst < T; dst++) {
        if (!m.isRouterAlive(dst)) continue;
        const seen = new Uint8Array(T);
        seen[dst] = 1;
        next[dst * T + dst] = 0;
        const q = [dst];
        for (let k = 0; k < q.length; k++)
          for (const p of [1, 2, 3, 4]) {
            if (!m.isLinkAlive(q[k], p)) continue;
            const j = neighbour(q[k], p, w, w);
            if (seen[j]) continue;
            seen[j] = 1;
            next[j * T + dst] = [0, 3, 4, 1, 2][p];
            q.push(j);
          }
      }
      const t = new RoutingTable(w, w, 'xy', next, m);
      expect(validateRoutingTable(t)).toEqual([]);
      const dl = checkDeadlockFree(t);
      if (dl.deadlockFree) continue;
      flagged++;
      // Each channel of the cycle leads to the router the next one leaves from, and some route makes that turn.
      const cycle = dl.cycle!;
      const idx = (c: { x: number; y: number }): number => c.y * w + c.x;
      const port = (c: { port: string }): number => ['ramp', 'N', 'E', 'S', 'W'].indexOf(c.port);
      for (let k = 0; k < cycle.length; k++) {
        const a = cycle[k];
        const b = cycle[(k + 1) % cycle.length];
        expect(neighbour(idx(a), port(a), w, w)).toBe(idx(b));
        let turn = false;
        for (let dst = 0; dst < T && !turn; dst++) turn = t.next(idx(a), dst) === port(a) && t.next(idx(b), dst) === port(b) && idx(b) !== dst;
        expect(turn).toBe(true);
      }
    }
    expect(flagged).toBeGreaterThanOrEqual(10);
  });

  it('validation reports loops, dead routers, dead links and routes between components', () => {
    const loop = new Uint8Array(4).fill(0);
    loop[0 * 2 + 1] = 2; // (0,0) -> E to reach (1,0)
    loop[1 * 2 + 0] = 2; // (1,0) -> E: off the mesh
    const bad = new RoutingTable(2, 1, 'xy', loop, null);
    expect(validateRoutingTable(bad).map((p) => p.kind)).toEqual(['off-mesh']);
    const ring = new Uint8Array(9).fill(0);
    // 3x1: from (0,0) to (2,0): E to (1,0), which sends W back: a loop.
    ring[0 * 3 + 2] = 2;
    ring[1 * 3 + 2] = 4;
    ring[0 * 3 + 1] = 2;
    ring[1 * 3 + 0] = 4;
    ring[2 * 3 + 1] = 4;
    ring[2 * 3 + 0] = 4;
    ring[1 * 3 + 1] = 0;
    expect(validateRoutingTable(new RoutingTable(3, 1, 'xy', ring, null))[0]).toEqual({ kind: 'loop', src: '(0,0)', dst: '(2,0)', at: '(0,0)' });
    const perfect = buildRoutingTable(3, 3, null, 'xy');
    const m = map(3, 3, [[1, 0]], [], [[0, 1, 'E']]);
    const kinds = new Set(validateRoutingTable(new RoutingTable(3, 3, 'xy', perfect.nextPort, m), true, 100).map((p) => p.kind));
    expect(kinds).toEqual(new Set(['dead-router', 'dead-link', 'routed-unreachable']));
    const m2 = map(3, 1, [], [], [[0, 0, 'E']]);
    const across = validateRoutingTable(new RoutingTable(3, 1, 'xy', buildRoutingTable(3, 1, null, 'xy').nextPort, m2), true, 100);
    expect(across.map((p) => p.kind)).toContain('routed-unreachable');
  });
});

describe('table building errors', () => {
  it('names the problem', () => {
    expect(() => buildRoutingTable(4, 4, FaultMap.empty(5, 4), 'xy')).toThrow('fault map is 5x4 but the mesh is 4x4 (routing): give a fault map of 4x4');
    expect(() => buildRoutingTable(256, 256, null, 'xy')).toThrow('a routing table for 256x256 tiles would take 4294967296 bytes (routing)');
    expect(() => buildRoutingTable(0, 4, null, 'xy')).toThrow('mesh size must be positive integers, got 0x4 (routing)');
    expect(() => buildRoutingTable(4, 4, null, 'zigzag' as never)).toThrow('unknown routing algorithm "zigzag" (routing): use one of xy, yx, updown');
  });
});

describe('routePath (one static route for the compiler)', () => {
  it('is the xy path when intact', () => {
    const m = FaultMap.empty(4, 4);
    expect(routePath(0, 15, m)).toEqual({ tiles: [0, 1, 2, 3, 7, 11, 15], ports: ['E', 'E', 'E', 'S', 'S', 'S', 'ramp'], hops: 6 });
    expect(xyRoute(0, 15, m)?.hops).toBe(6);
    expect(xyRoute(0, 15, { width: 4, height: 4 })?.tiles).toEqual([0, 1, 2, 3, 7, 11, 15]);
    expect(xyRoute(0, 3, map(4, 4, [[2, 0]]))).toBeNull();
    expect(routePath(5, 5, m)).toEqual({ tiles: [5], ports: ['ramp'], hops: 0 });
  });

  it('detours minimally around dead routers and links, crossing dead cores', () => {
    const failures: string[] = [];
    let checked = 0;
    for (let seed = 0; seed < 40; seed++) {
      const m = generateFaults({ width: 10, height: 10, density: 0.08, seed });
      const comp = meshComponents(m).component;
      for (let s = 0; s < 100; s += 7) {
        if (!m.isRouterAlive(s)) continue;
        const dist = bfsDist(m, s);
        for (let d = 0; d < 100; d += 3) {
          if (!m.isRouterAlive(d) || comp[d] !== comp[s]) continue;
          const r = routePath(s, d, m);
          let ok = r.hops === dist[d] && r.tiles[0] === s && r.tiles.at(-1) === d && r.ports.at(-1) === 'ramp';
          for (let k = 0; k + 1 < r.tiles.length; k++) {
            const p = ['ramp', 'N', 'E', 'S', 'W'].indexOf(r.ports[k]);
            ok &&= m.isLinkAlive(r.tiles[k], p) && neighbour(r.tiles[k], p, 10, 10) === r.tiles[k + 1];
          }
          checked++;
          if (!ok) failures.push(`seed ${seed}: ${s} -> ${d}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(10_000);
    const cores = map(3, 1, [], [[1, 0]]);
    expect(routePath(0, 2, cores).tiles).toEqual([0, 1, 2]);
  });

  it('follows a routing table when given one', () => {
    const m = map(7, 5, [[3, 0], [3, 1], [3, 2], [3, 3]]);
    const t = buildRoutingTable(7, 5, m, 'updown');
    expect(routePath(0, 6, m, t).tiles).toEqual(t.path(0, 6));
  });

  it('names unreachable and dead endpoints', () => {
    const m = map(3, 3, [[1, 0], [1, 1], [1, 2]]);
    expect(() => routePath(0, 2, m)).toThrow(
      'no route from (0,0) to (2,0): the live mesh does not connect them (routing): place both ends in one connected region',
    );
    expect(() => routePath(0, 1, m)).toThrow('route destination (1,0) is a dead tile (routing): route between live tiles');
    expect(() => routePath(9, 1, m)).toThrow('route source 9 is not a tile of the 3x3 mesh (routing): give a tile index in [0, 9)');
    const t = buildRoutingTable(3, 3, m, 'updown');
    expect(() => routePath(0, 2, m, t)).toThrow(InputError);
  });
});
