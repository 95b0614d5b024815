// Routing on a fault-free mesh searches only the bounding box of a stream's tiles (compiler/wafer/route.ts boxedBfs),
// and on a faulty one that box widened where every target is reached near its Manhattan distance (nearBfs): both must
// give the very routes of the unbounded BFS over every live link.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linkTableOf, meshView, routeLinks, routeStreams, type LinkTable, type MeshView } from '../../../../compiler/wafer/route.js';
import type { StreamDecl } from '../../../../compiler/wafer/plan.js';
import { OPPOSITE_PORT, neighbour } from '../../../../fabric/geometry.js';
import { FaultMap, generateFaults } from '../../../../fabric/faults/index.js';

/** The fault-free view with its `faultFree` mark dropped: routing then takes the unbounded BFS over every link. */
function unmarked(view: MeshView): MeshView {
  return { width: view.width, height: view.height, linkAlive: (a, p) => view.linkAlive(a, p) };
}

const plain = (r: ReturnType<typeof routeStreams>[number]) => ({ ...r, entries: [...r.entries], hopsTo: [...r.hopsTo] });

/** Random meshes with random multicasts and in-trees (2 to 7 distinct end tiles each). */
const meshes = () =>
  fc
      .record({ w: fc.integer({ min: 1, max: 24 }), h: fc.integer({ min: 1, max: 24 }) })
      .chain(({ w, h }) =>
        fc.record({
          w: fc.constant(w),
          h: fc.constant(h),
          streams: fc.array(
            fc.record({ ends: fc.uniqueArray(fc.integer({ min: 0, max: w * h - 1 }), { minLength: 2, maxLength: 7 }), inTree: fc.boolean() }),
            { minLength: 1, maxLength: 12 },
          ),
        }),
      );

function declsOf(streams: { ends: number[]; inTree: boolean }[]): StreamDecl[] {
  return streams.map((s, id) => {
    const [one, ...many] = s.ends;
    return { id, src: s.inTree ? many : [one], dst: s.inTree ? [one] : many, wavelets: 1, kind: 'transfer', label: `s${id}` };
  });
}

describe('bounded BFS on a fault-free mesh', () => {
  it('routes every multicast and in-tree exactly as the unbounded BFS', () => {
    fc.assert(
      fc.property(meshes(), ({ w, h, streams }) => {
        const decls = declsOf(streams);
        const tileOf = Int32Array.from({ length: w * h }, (_, i) => i);
        const view = meshView(w, h, null);
        expect(view.faultFree).toBe(true);
        const boxed = routeStreams(decls, tileOf, view).map(plain);
        const full = routeStreams(decls, tileOf, unmarked(view)).map(plain);
        expect(boxed).toEqual(full);
      }),
      { numRuns: 200, seed: 21 },
    );
  });
});

describe('confined BFS on a faulty mesh', () => {
  /** Routes, or the error where faults cut a stream off. */
  const outcome = (f: () => ReturnType<typeof routeStreams>) => {
    try {
      return f().map(plain);
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('routes every multicast and in-tree exactly as the unconfined BFS, detours included', () => {
    fc.assert(
      fc.property(
        fc.record({ w: fc.integer({ min: 20, max: 90 }), h: fc.integer({ min: 20, max: 90 }), density: fc.double({ min: 0.005, max: 0.45, noNaN: true }), seed: fc.integer({ min: 1, max: 1e6 }) }).chain((m) =>
          fc.record({
            m: fc.constant(m),
            streams: fc.array(fc.record({ ends: fc.uniqueArray(fc.integer({ min: 0, max: m.w * m.h - 1 }), { minLength: 2, maxLength: 6 }), inTree: fc.boolean() }), { minLength: 1, maxLength: 8 }),
          }),
        ),
        ({ m, streams }) => {
          const faults = generateFaults({ width: m.w, height: m.h, density: m.density, seed: m.seed });
          const decls = declsOf(streams);
          const tileOf = Int32Array.from({ length: m.w * m.h }, (_, i) => i);
          const view = meshView(m.w, m.h, faults);
          expect(view.alivePorts).toBeDefined();
          // Without the port mask, routing runs the unconfined BFS over linkAlive.
          const reference: MeshView = { width: m.w, height: m.h, linkAlive: (a, p) => view.linkAlive(a, p) };
          for (const dimensionOrdered of [false, true]) {
            expect(outcome(() => routeStreams(decls, tileOf, view, { dimensionOrdered }))).toEqual(outcome(() => routeStreams(decls, tileOf, reference, { dimensionOrdered })));
          }
        },
      ),
      { numRuns: 150, seed: 33 },
    );
  });
});

describe('confined BFS: a detour the box cannot hold', () => {
  it('takes the shorter way round outside the box, not the longer one inside it', () => {
    // Two walls across a 120 × 100 mesh, each with a gap inside the box a search from (10,30) to (60,30) keeps to (its
    // bounding box widened by 16 rows) and a gap just below it: the way through the gaps inside takes 114 hops, the
    // way round below 84.
    const W = 120;
    const H = 100;
    const faults = new FaultMap(W, H);
    for (let y = 0; y < H; y++) {
      if (y !== 14 && y !== 47) faults.tileDead[y * W + 35] = 1;
      if (y !== 46 && y !== 47) faults.tileDead[y * W + 40] = 1;
    }
    const root = 30 * W + 10;
    const far = 30 * W + 60;
    const tileOf = Int32Array.from({ length: W * H }, (_, i) => i);
    const decls = declsOf([{ ends: [root, far], inTree: false }, { ends: [far, root], inTree: true }]);
    const routes = routeStreams(decls, tileOf, meshView(W, H, faults));
    expect(routes.map((r) => r.maxHops)).toEqual([84, 84]);
    const reference: MeshView = { width: W, height: H, linkAlive: (a, p) => meshView(W, H, faults).linkAlive(a, p) };
    expect(routes.map(plain)).toEqual(routeStreams(decls, tileOf, reference).map(plain));
  });
});

describe('dimension-ordered routes past a dead tile', () => {
  it('keep to lanes of the order, at the hops of the BFS, on fewer links than its tree', () => {
    // A multicast from (2,2) to the column x = 28, rows 0–9, with the tile at (10,2) dead on its row. Shortest, the
    // targets above row 2 go along row 1, those below along row 3, (28,2) round the dead tile: row first, those three
    // lanes and the column (72 links); the BFS tree's paths spread over more (88).
    const W = 30;
    const H = 10;
    const faults = new FaultMap(W, H);
    faults.tileDead[2 * W + 10] = 1;
    const tileOf = Int32Array.from({ length: W * H }, (_, i) => i);
    const decls = declsOf([{ ends: [2 * W + 2, ...Array.from({ length: H }, (_, y) => y * W + 28)], inTree: false }]);
    const view = meshView(W, H, faults);
    const [ordered] = routeStreams(decls, tileOf, view, { dimensionOrdered: true });
    const [bfs] = routeStreams(decls, tileOf, view);
    expect(ordered.maxHops).toBe(bfs.maxHops);
    expect([...ordered.hopsTo]).toEqual([...bfs.hopsTo]);
    expect(ordered.links).toHaveLength(72);
    expect(bfs.links).toHaveLength(88);
    for (const l of ordered.links) {
      const t = Math.floor(l / 5);
      const port = l % 5;
      if (port === 2 || port === 4) expect([1, 2, 3]).toContain(Math.floor(t / W));
      else expect([9, 11, 28]).toContain(t % W);
    }
  });
});

describe('the port mask of a fault map', () => {
  it('is made again for a map that gained a fault after a route was laid on it', () => {
    const W = 40;
    const faults = new FaultMap(W, 10);
    faults.tileDead[5 * W + 20] = 1;
    const tileOf = Int32Array.from({ length: W * 10 }, (_, i) => i);
    const decls = declsOf([{ ends: [5 * W + 2, 5 * W + 37], inTree: false }]);
    const before = routeStreams(decls, tileOf, meshView(W, 10, faults))[0];
    const used = before.links[Math.floor(before.links.length / 2)];
    faults.killLink(Math.floor(used / 5), used % 5);
    const after = routeStreams(decls, tileOf, meshView(W, 10, faults))[0];
    expect(after.links).not.toContain(used);
    const reference: MeshView = { width: W, height: 10, linkAlive: (a, p) => meshView(W, 10, faults).linkAlive(a, p) };
    expect(plain(after)).toEqual(plain(routeStreams(decls, tileOf, reference)[0]));
  });
});

describe('routeLinks: the links alone', () => {
  it('gives each stream the very links routeStreams lays, and the hops its hopsOnly search gives, in both dimension orders and by BFS where a link is dead', () => {
    fc.assert(
      fc.property(meshes(), fc.integer({ min: 0, max: 1 << 30 }), ({ w, h, streams }, cut) => {
        const decls = declsOf(streams);
        const tileOf = Int32Array.from({ length: w * h }, (_, i) => i);
        // One dead link (both directions) on a view that is not fault-free: dimension-ordered paths through it fall
        // back to BFS, and pairs it cuts apart throw the same error from both.
        const deadTile = cut % (w * h);
        const deadPort = 1 + (cut % 4);
        const free = meshView(w, h, null);
        const other = neighbour(deadTile, deadPort, w, h);
        const dead = (a: number, p: number) => (a === deadTile && p === deadPort) || (a === other && p === OPPOSITE_PORT[deadPort]);
        const faulty: MeshView = { width: w, height: h, linkAlive: (a, p) => free.linkAlive(a, p) && !dead(a, p) };
        for (const view of [free, faulty]) {
          for (const opts of [{}, { dimensionOrdered: true }, { dimensionOrdered: true, columnFirst: true }]) {
            let full: ReturnType<typeof routeStreams> | Error;
            try {
              full = routeStreams(decls, tileOf, view, opts);
            } catch (e) {
              full = e as Error;
            }
            // Where faults cut a stream, the same error as the estimate's (hopsOnly) routing gives.
            if (full instanceof Error) {
              let hopsError = '';
              try {
                routeStreams(decls, tileOf, view, { ...opts, hopsOnly: true });
              } catch (e) {
                hopsError = (e as Error).message;
              }
              expect(hopsError).not.toBe('');
              expect(() => routeLinks(decls, tileOf, view, opts)).toThrow(hopsError);
              continue;
            }
            const got = routeLinks(decls, tileOf, view, { ...opts, hops: true });
            const lite = routeStreams(decls, tileOf, view, { ...opts, hopsOnly: true });
            full.forEach((r, i) => expect([...got.links.subarray(got.start[i], got.start[i + 1])].sort((a, b) => a - b)).toEqual(r.links));
            // Its hops are the estimate's routes, from the same search.
            expect(got.hops!.map((r) => ({ ...r, hopsTo: [...r.hopsTo] }))).toEqual(lite.map((r) => ({ ...r, hopsTo: [...r.hopsTo] })));
          }
        }
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});

describe('link tables: where each stream holds a link (the estimate charges streams that share one)', () => {
  const pairs = (t: LinkTable, i: number) => [...t.links.subarray(t.start[i], t.start[i + 1])].map((l, k) => `${l}@${t.depth[t.start[i] + k]}`).sort();
  it("gives a multicast's links their near tile's hops from the source, the same from routeLinks as from a route's entries; an in-tree's none", () => {
    fc.assert(
      fc.property(meshes(), ({ w, h, streams }) => {
        const decls = declsOf(streams);
        const tileOf = Int32Array.from({ length: w * h }, (_, i) => i);
        const view = meshView(w, h, null);
        for (const opts of [{}, { dimensionOrdered: true }]) {
          const fromEntries = linkTableOf(routeStreams(decls, tileOf, view, opts), w, h);
          const walked = routeLinks(decls, tileOf, view, opts);
          decls.forEach((s, i) => {
            expect(pairs(fromEntries, i)).toEqual(pairs(walked, i));
            for (let k = walked.start[i]; k < walked.start[i + 1]; k++) {
              const near = Math.floor(walked.links[k] / 5);
              const src = s.src[0];
              // Every route is a shortest path, so on a fault-free mesh a tile's hops are its Manhattan distance.
              const manhattan = Math.abs((near % w) - (src % w)) + Math.abs(Math.floor(near / w) - Math.floor(src / w));
              expect(walked.depth[k]).toBe(s.src.length === 1 ? manhattan : -1);
            }
          });
        }
      }),
      { numRuns: 100, seed: 9 },
    );
  });
});
