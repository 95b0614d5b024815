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

/** The colouring's outcome: a colour per stream, or where more streams meet than a tile has colours (an expected outcome the caller may answer with fewer hub slices). */
export type Colouring = { ok: true; colourOf: Int32Array } | { ok: false; error: InputError };

export function assignColours(streams: StreamDecl[], routes: StreamRoute[], tileOf: Int32Array, tiles: number, maxColours: number, width: number): Colouring {
  if (maxColours > 32) throw new Error('colour: at most 32 colours are supported');
  const linkMask = new Uint32Array(tiles * 5);
  const srcMask = new Uint32Array(tiles);
  const dstMask = new Uint32Array(tiles);
  const allMask = new Uint32Array(tiles);
  const colourOf = new Int32Array(streams.length).fill(-1);
  const order = routes.map((r) => r.stream).sort((a, b) => routes[b].entries.size - routes[a].entries.size || a - b);
  for (const id of order) {
    const s = streams[id];
    const r = routes[id];
    const srcTiles = s.src.map((t) => tileOf[t]);
    const dstTiles = s.dst.map((t) => tileOf[t]);
    let forbidden = 0;
    for (const l of r.links) forbidden |= linkMask[l];
    for (const t of srcTiles) forbidden |= srcMask[t];
    for (const t of dstTiles) forbidden |= dstMask[t];
    let chosen = -1;
    let fullTile = -1;
    for (let c = 0; c < maxColours && chosen < 0; c++) {
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
      if (fits) chosen = c;
    }
    if (chosen < 0) {
      const where = fullTile >= 0 ? `tile ${tileName(fullTile, width)}` : `stream ${s.label}`;
      return { ok: false, error: new InputError(`routing needs more than ${maxColours} colours at ${where}`, 'colour', 'use a larger fabric so regions spread out, or a fabric spec with more colours') };
    }
    const bit = 1 << chosen;
    colourOf[id] = chosen;
    for (const l of r.links) linkMask[l] |= bit;
    for (const t of srcTiles) srcMask[t] |= bit;
    for (const t of dstTiles) dstMask[t] |= bit;
    for (const t of r.entries.keys()) allMask[t] |= bit;
  }
  return { ok: true, colourOf };
}
