// Place: logical tiles -> live tiles of the mesh. Tiles are laid out in dataflow order along a boustrophedon scan of
// horizontal bands (down and up the columns of a band, left to right, then the next band right to left), so a
// region's reduction chains run down a column, its rows sit side by side, and each hub lands beside its regions.
// Dead tiles are skipped by the scan, so nothing is placed on one.
import { OptionError } from '../../fabric/errors.js';
import type { LogicalTile } from './plan.js';

export interface Placement {
  /** Mesh tile index (y * width + x) of each logical tile. */
  tileOf: Int32Array;
  width: number;
  height: number;
  bandHeight: number;
}

/** The last scan order made (a stage is placed several times on the same wafer): read only. */
let keptOrder: { width: number; height: number; bandHeight: number; order: Int32Array } | null = null;

/** The scan order of all mesh tiles (usable or not). */
export function scanOrder(width: number, height: number, bandHeight: number): Int32Array {
  return sharedScanOrder(width, height, bandHeight).slice();
}

function sharedScanOrder(width: number, height: number, bandHeight: number): Int32Array {
  if (!keptOrder || keptOrder.width !== width || keptOrder.height !== height || keptOrder.bandHeight !== bandHeight) keptOrder = { width, height, bandHeight, order: makeScanOrder(width, height, bandHeight) };
  return keptOrder.order;
}

function makeScanOrder(width: number, height: number, bandHeight: number): Int32Array {
  const order = new Int32Array(width * height);
  let k = 0;
  for (let b = 0, y0 = 0; y0 < height; b++, y0 += bandHeight) {
    const y1 = Math.min(height, y0 + bandHeight);
    for (let c = 0; c < width; c++) {
      const x = b % 2 === 0 ? c : width - 1 - c;
      const down = c % 2 === 0;
      for (let r = 0; r < y1 - y0; r++) order[k++] = (down ? y0 + r : y1 - 1 - r) * width + x;
    }
  }
  return order;
}

export interface PlaceOptions {
  /** Usable scan positions to leave empty before the first tile (the projection places one layer where it sits in the whole model). */
  scanOffset?: number;
  /**
   * Logical tiles that begin at a given scan position, the tiles after them following on: each later wafer's first
   * tile of a model split over wafers side by side in one mesh. The scan positions before it stay empty.
   */
  startAt?: ReadonlyMap<number, number>;
}

export function placeTiles(tiles: LogicalTile[], width: number, height: number, usable: (i: number) => boolean, what: { fabric: string; dead: number }, opts: PlaceOptions = {}): Placement {
  let usableCount = 0;
  for (let i = 0; i < width * height; i++) if (usable(i)) usableCount++;
  let needed = opts.scanOffset ?? 0;
  for (const t of tiles) needed += t.span ?? 1;
  if (needed > usableCount) {
    throw new OptionError(
      'fabric',
      `the model needs ${needed} tiles but ${what.fabric} has ${usableCount} usable (${width}×${height}${what.dead ? ` minus ${what.dead} dead` : ''})`,
      'try a larger fabric (e.g. mini-128 or wse3), the int8 or bf16 dtype, or more wafers (wafer project)',
    );
  }
  const bandHeight = Math.min(height, 16);
  const order = sharedScanOrder(width, height, bandHeight);
  const tileOf = new Int32Array(tiles.length);
  let k = 0;
  for (let skip = opts.scanOffset ?? 0; skip > 0; skip--) {
    while (!usable(order[k])) k++;
    k++;
  }
  for (const t of tiles) {
    const at = opts.startAt?.get(t.id);
    if (at !== undefined) {
      if (k > at) throw new OptionError('fabric', `the tiles before ${t.role} need ${k} scan positions of ${what.fabric}, but it must begin at ${at}`, 'give each wafer more tiles, or put fewer layers on it');
      k = at;
    }
    while (k < order.length && !usable(order[k])) k++;
    if (k >= order.length) throw new OptionError('fabric', `${t.role} runs past the end of ${what.fabric}`, 'give the last wafer more tiles, or put fewer layers on it');
    tileOf[t.id] = order[k];
    k++;
    // The rest of a span: usable tiles it holds, with nothing of their own.
    for (let rest = (t.span ?? 1) - 1; rest > 0; rest--) {
      while (!usable(order[k])) k++;
      k++;
    }
  }
  return { tileOf, width, height, bandHeight };
}
