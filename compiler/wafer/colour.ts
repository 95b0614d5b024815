// Colour: give each stream a colour (a virtual channel). Two streams need different colours when they share a
// directed link, a source tile or a destination tile — there, one colour could not tell their wavelets apart. A
// tile may configure at most `maxColours` colours (24 on the WSE): every colour is drawn from [0, maxColours), so no
// tile can hold more. Greedy, largest stream first, lowest colour first.
import { InputError } from '../../fabric/errors.js';
import type { StreamDecl } from './plan.js';
import type { LinkRows, StreamRoute } from './route.js';
import { extent, meshScratch, zeroedU32 } from './scratch.js';

const LINK_MASK = meshScratch('colour.link', 'u32', 5);
const SRC_MASK = meshScratch('colour.src', 'u32', 1);
const DST_MASK = meshScratch('colour.dst', 'u32', 1);

/**
 * The colouring's outcome: a colour per stream and the route each stream takes (its first route, or the alternative
 * where only that one found a free colour), or where more streams meet than a tile has colours (an expected outcome
 * the caller may answer with a lowering that needs fewer).
 */
export type Colouring = { ok: true; colourOf: Int32Array; routes: StreamRoute[]; coloursUsed: number } | { ok: false; error: InputError; /** The stream no colour was left for. */ stream: number };

/** colourLinks' outcome: a colour per stream, and which streams took their alternative route (1). */
export type LinkColouring = { ok: true; colourOf: Int32Array; alternative: Uint8Array; coloursUsed: number } | { ok: false; error: InputError; stream: number };

/**
 * Colours `streams` routed by `routes`. With `alternatives` (a second shortest route per stream, in the same order), a
 * stream none of whose colours is free on its first route takes its alternative where a colour is free there: both
 * are shortest, so the hop counts the estimate reads do not change.
 */
export function assignColours(streams: StreamDecl[], routes: StreamRoute[], tileOf: Int32Array, tiles: number, maxColours: number, _width: number, alternatives?: StreamRoute[], prefer: RoutePreference = 'lower'): Colouring {
  const c = colourLinks(streams, linksOf(routes), tileOf, tiles, maxColours, alternatives && linksOf(alternatives), routes.map((r) => r.entries.size), prefer);
  if (!c.ok) return c;
  return { ok: true, colourOf: c.colourOf, routes: routes.map((r, i) => (c.alternative[i] ? alternatives![i] : r)), coloursUsed: c.coloursUsed };
}

/** Routes' links in compressed rows (route.ts LinkRows), route i at row i. */
function linksOf(routes: StreamRoute[]): LinkRows {
  const start = new Int32Array(routes.length + 1);
  routes.forEach((r, i) => (start[i + 1] = start[i] + r.links.length));
  const links = new Int32Array(start[routes.length]);
  routes.forEach((r, i) => links.set(r.links, start[i]));
  return { start, links };
}

/**
 * How a stream chooses between its two routes where both find a colour: 'lower' takes the lower colour; 'fewer-links'
 * takes the route with fewer links (a multicast's two trees reach the same tiles at the same hops, but one may use far
 * fewer links, which leaves their colours to the streams after it), the lower colour between equal ones. Neither is
 * better everywhere: a caller may try one and then the other. 'first' keeps each stream's first route wherever it has a
 * colour free (the routes a timing chose), the alternative only where it has none.
 */
export type RoutePreference = 'lower' | 'fewer-links' | 'first';

/**
 * assignColours on links alone (route.ts routeLinks): what a stage's colouring needs, without per-router entries.
 * Streams go largest first: by `sizes` where given (the tiles a route touches), else by links (a tree touches one
 * tile more than it has links, so the order is the same).
 */
export function colourLinks(streams: StreamDecl[], routes: LinkRows, tileOf: Int32Array, tiles: number, maxColours: number, alternatives?: LinkRows, sizes?: ArrayLike<number>, prefer: RoutePreference = 'lower'): LinkColouring {
  if (maxColours > 32) throw new Error('colour: at most 32 colours are supported');
  const c = new LinkColourer(streams, routes, tileOf, tiles, maxColours, alternatives);
  const order = largestFirst(routes, streams.length, sizes);
  for (let k = 0; k < order.length; k++) {
    const id = order[k];
    if (!c.colour(id, prefer)) {
      const error = new InputError(`routing needs more than ${maxColours} colours at stream ${streams[id].label}`, 'colour', 'use a larger fabric so regions spread out, or a fabric spec with more colours');
      return { ok: false, stream: id, error };
    }
  }
  return { ok: true, colourOf: c.colourOf, alternative: c.alternative, coloursUsed: c.used };
}

/**
 * Stream ids largest first: by `sizes` where given, else by links; ties in id order. A counting sort (sizes are
 * whole numbers no larger than a route): a full wafer's stage has ~10^5 streams, which a comparison sort took
 * a few percent of a projection to order.
 */
export function largestFirst(routes: LinkRows, n: number, sizes?: ArrayLike<number>): Int32Array {
  const size = sizes ?? Int32Array.from({ length: n }, (_, i) => routes.start[i + 1] - routes.start[i]);
  let most = 0;
  for (let i = 0; i < n; i++) {
    const v = size[i];
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`colour: stream ${i} has size ${v}, not a whole number`);
    if (v > most) most = v;
  }
  // start[v]: where the ids of size v begin in the order (the largest size first).
  const start = new Int32Array(most + 2);
  for (let i = 0; i < n; i++) start[most - size[i] + 1]++;
  for (let v = 1; v <= most + 1; v++) start[v] += start[v - 1];
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[start[most - size[i]]++] = i;
  return order;
}

/**
 * colourLinks' masks and choices, a stream at a time. A class with short methods rather than closures in one function:
 * V8 compiles each on first heavy use, where a function whose later loops have not run yet is compiled again for each.
 */
class LinkColourer {
  readonly colourOf: Int32Array;
  readonly alternative: Uint8Array;
  used = 0;
  private readonly linkMask: Uint32Array;
  private readonly srcMask: Uint32Array;
  private readonly dstMask: Uint32Array;
  private readonly palette: number;

  constructor(
    private readonly streams: StreamDecl[],
    private readonly routes: LinkRows,
    private readonly tileOf: Int32Array,
    tiles: number,
    maxColours: number,
    private readonly alternatives: LinkRows | undefined,
  ) {
    // Only the links the routes use and the tiles the streams touch are read or written.
    const [l0, l1] = extent(routes.links, alternatives?.links);
    const [t0, t1] = extent(tileOf);
    this.linkMask = zeroedU32(LINK_MASK, tiles * 5, l0, l1);
    this.srcMask = zeroedU32(SRC_MASK, tiles, t0, t1);
    this.dstMask = zeroedU32(DST_MASK, tiles, t0, t1);
    this.colourOf = new Int32Array(streams.length).fill(-1);
    this.alternative = new Uint8Array(streams.length);
    this.palette = maxColours === 32 ? 0xffffffff : (1 << maxColours) - 1;
  }

  /** Colours stream `id` on whichever of its routes `prefer` takes; false where neither has a colour free. */
  colour(id: number, prefer: RoutePreference): boolean {
    const { routes, alternatives } = this;
    let r = routes;
    let got = this.pick(id, r);
    // ('first' looks at the alternative only where the first route has no colour free.)
    if (alternatives && !(prefer === 'first' && got >= 0)) {
      const again = this.pick(id, alternatives);
      const links = (x: LinkRows) => x.start[id + 1] - x.start[id];
      const better = prefer === 'fewer-links' && links(alternatives) !== links(routes) ? links(alternatives) < links(routes) : again < got;
      if (again >= 0 && (got < 0 || better)) {
        got = again;
        r = alternatives;
        this.alternative[id] = 1;
      }
    }
    if (got < 0) return false;
    this.colourOf[id] = got;
    this.used = Math.max(this.used, got + 1);
    this.mark(id, r, 1 << got);
    return true;
  }

  /** The lowest colour free for stream `id` on the route in row `id` of `r`, or -1. */
  private pick(id: number, r: LinkRows): number {
    const s = this.streams[id];
    const { linkMask, srcMask, dstMask, tileOf } = this;
    let forbidden = 0;
    for (let k = r.start[id]; k < r.start[id + 1]; k++) forbidden |= linkMask[r.links[k]];
    for (const t of s.src) forbidden |= srcMask[tileOf[t]];
    for (const t of s.dst) forbidden |= dstMask[tileOf[t]];
    const free = ~forbidden & this.palette;
    return free === 0 ? -1 : 31 - Math.clz32(free & -free);
  }

  /** Takes colour `bit` on stream `id`'s links (of route `r`) and at its ends. */
  private mark(id: number, r: LinkRows, bit: number): void {
    const s = this.streams[id];
    const { linkMask, srcMask, dstMask, tileOf } = this;
    for (let k = r.start[id]; k < r.start[id + 1]; k++) linkMask[r.links[k]] |= bit;
    for (const t of s.src) srcMask[tileOf[t]] |= bit;
    for (const t of s.dst) dstMask[tileOf[t]] |= bit;
  }
}
