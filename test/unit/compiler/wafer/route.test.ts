// Routing on a fault-free mesh searches only the bounding box of a stream's tiles (compiler/wafer/route.ts boxedBfs):
// it must give the very routes of the unbounded BFS that a mesh with faults (here: none, but not known to be free) runs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { meshView, routeStreams, type MeshView } from '../../../../compiler/wafer/route.js';
import type { StreamDecl } from '../../../../compiler/wafer/plan.js';

/** The fault-free view with its `faultFree` mark dropped: routing then takes the unbounded BFS over every link. */
function unmarked(view: MeshView): MeshView {
  return { width: view.width, height: view.height, linkAlive: (a, p) => view.linkAlive(a, p) };
}

const plain = (r: ReturnType<typeof routeStreams>[number]) => ({ ...r, entries: [...r.entries], hopsTo: [...r.hopsTo] });

describe('bounded BFS on a fault-free mesh', () => {
  it('routes every multicast and in-tree exactly as the unbounded BFS', () => {
    const arb = fc
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
    fc.assert(
      fc.property(arb, ({ w, h, streams }) => {
        const decls: StreamDecl[] = streams.map((s, id) => {
          const [one, ...many] = s.ends;
          return { id, src: s.inTree ? many : [one], dst: s.inTree ? [one] : many, wavelets: 1, kind: 'transfer', label: `s${id}` };
        });
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
