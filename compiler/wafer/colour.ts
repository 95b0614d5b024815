// Colour: give each stream a colour (a virtual channel). Two streams need different colours when they share a
// directed link, a source tile or a destination tile — there, one colour could not tell their wavelets apart. A
// tile may configure at most `maxColours` colours (24 on the WSE). Greedy, largest stream first, lowest colour first.
import { InputError } from '../../fabric/errors.js';
import { tileName } from '../../fabric/geometry.js';
import type { StreamDecl } from './plan.js';
import type { StreamRoute } from './route.js';

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * The colouring's outcome: a colour per stream and the route each stream takes (its first route, or the alternative
 * where only that one found a free colour), or where more streams meet than a tile has colours (an expected outcome
 * the caller may answer with a lowering that needs fewer).
 */
export type Colouring = { ok: true; colourOf: Int32Array; routes: StreamRoute[]; coloursUsed: number } | { ok: false; error: InputError; /** The stream no colour was left for. */ stream: number };

/**
 * Colours `streams` routed by `routes`. With `alternatives` (a second shortest route per stream, in the same order), a
 * stream none of whose colours is free on its first route takes its alternative where a colour is free there: both
 * are shortest, so the hop counts the estimate reads do not change.
 */
export function assignColours(streams: StreamDecl[], routes: StreamRoute[], tileOf: Int32Array, tiles: number, maxColours: number, width: number, alternatives?: StreamRoute[]): Colouring {
  if (maxColours > 32) throw new Error('colour: at most 32 colours are supported');
  const linkMask = new Uint32Array(tiles * 5);
  const srcMask = new Uint32Array(tiles);
  const dstMask = new Uint32Array(tiles);
  const allMask = new Uint32Array(tiles);
  const colourOf = new Int32Array(streams.length).fill(-1);
  const chosenRoutes = [...routes];
  let used = 0;
  const order = routes.map((r) => r.stream).sort((a, b) => routes[b].entries.size - routes[a].entries.size || a - b);
  // The lowest colour free for stream `id` on route `r`, or -1 (and the tile that was full, if one was).
  const pick = (id: number, r: StreamRoute): { colour: number; fullTile: number } => {
    const s = streams[id];
    let forbidden = 0;
    for (const l of r.links) forbidden |= linkMask[l];
    for (const t of s.src) forbidden |= srcMask[tileOf[t]];
    for (const t of s.dst) forbidden |= dstMask[tileOf[t]];
    let fullTile = -1;
    for (let c = 0; c < maxColours; c++) {
      const bit = 1 << c;
      if (forbidden & bit) continue;
      let fits = true;
      for (const t of r.entries.keys()) {
        if (!(allMask[t] & bit) && popcount(allMask[t]) >= maxColours) {
          fits = false;
          fullTile = t;
          break;
        }
      }
      if (fits) return { colour: c, fullTile };
    }
    return { colour: -1, fullTile };
  };
  for (const id of order) {
    const s = streams[id];
    let r = routes[id];
    let got = pick(id, r);
    const alt = alternatives?.[id];
    if (alt) {
      const again = pick(id, alt);
      if (again.colour >= 0 && (got.colour < 0 || again.colour < got.colour)) {
        got = again;
        r = alt;
      }
    }
    if (got.colour < 0) {
      const where = got.fullTile >= 0 ? `tile ${tileName(got.fullTile, width)}` : `stream ${s.label}`;
      return { ok: false, stream: id, error: new InputError(`routing needs more than ${maxColours} colours at ${where}`, 'colour', 'use a larger fabric so regions spread out, or a fabric spec with more colours') };
    }
    const bit = 1 << got.colour;
    colourOf[id] = got.colour;
    chosenRoutes[id] = r;
    used = Math.max(used, got.colour + 1);
    for (const l of r.links) linkMask[l] |= bit;
    for (const t of s.src) srcMask[tileOf[t]] |= bit;
    for (const t of s.dst) dstMask[tileOf[t]] |= bit;
    for (const t of r.entries.keys()) allMask[t] |= bit;
  }
  return { ok: true, colourOf, routes: chosenRoutes, coloursUsed: used };
}
