// Place: logical tiles -> live tiles of the mesh. Tiles are laid out in dataflow order along a boustrophedon scan of
// horizontal bands (down and up the columns of a band, left to right, then the next band right to left), so a
// region's reduction chains run down a column, its rows sit side by side, and each hub lands beside its regions.
// Dead tiles are skipped by the scan, so nothing is placed on one.
import { OptionError } from '../../fabric/errors.js';
import type { LogicalTile } from './plan.js';
import { anyI32, meshScratch } from './scratch.js';

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
  const bandHeight = Math.min(height, BAND_ROWS);
  const order = sharedScanOrder(width, height, bandHeight);
  const tileOf = new Int32Array(tiles.length);
  // The tile at each scan position (-1: none; -2: part of a span), over the positions the tiles take.
  const placedAt = anyI32(AT, order.length);
  const first = k0(opts, order, usable);
  let k = first;
  for (const t of tiles) {
    const at = opts.startAt?.get(t.id);
    if (at !== undefined) {
      if (k > at) throw new OptionError('fabric', `the tiles before ${t.role} need ${k} scan positions of ${what.fabric}, but it must begin at ${at}`, 'give each wafer more tiles, or put fewer layers on it');
      placedAt.fill(-1, k, at);
      k = at;
    }
    while (k < order.length && !usable(order[k])) placedAt[k++] = -1;
    if (k >= order.length) throw new OptionError('fabric', `${t.role} runs past the end of ${what.fabric}`, 'give the last wafer more tiles, or put fewer layers on it');
    tileOf[t.id] = order[k];
    // A span stays where the scan put it (its tiles together).
    placedAt[k] = (t.span ?? 1) > 1 ? -2 : t.id;
    k++;
    // The rest of a span: usable tiles it holds, with nothing of their own.
    for (let rest = (t.span ?? 1) - 1; rest > 0; rest--) {
      while (!usable(order[k])) placedAt[k++] = -1;
      placedAt[k++] = -2;
    }
  }
  if (bandHeight === BAND_ROWS) new RowPlacer(tiles, tileOf, order, placedAt, width).place(first, k);
  return { tileOf, width, height, bandHeight };
}

/** Tiles one scan column of a full band holds; a tile's `row` is a row of it. */
export const BAND_ROWS = 16;
const AT = meshScratch('place.at', 'i32', 1);

/** The scan position placeTiles starts from (the first usable one after `scanOffset` usable ones). */
function k0(opts: PlaceOptions, order: Int32Array, usable: (i: number) => boolean): number {
  let k = 0;
  for (let skip = opts.scanOffset ?? 0; skip > 0; skip--) {
    while (!usable(order[k])) k++;
    k++;
  }
  return k;
}

/**
 * Moves tiles within their scan column to the rows they ask for (LogicalTile.row), the others to the rest in scan
 * order. Only a column whose every position holds a tile of its own (no dead tile, no span, no gap) is rearranged,
 * and of two tiles asking for one row the first in scan order has it: the tiles stay in the column they were placed
 * in, so nothing moves farther than a band's height.
 */
class RowPlacer {
  /** The tile placed at each row of the column (-1: none yet), and the column's positions by row. */
  private readonly byRow = new Int32Array(BAND_ROWS);
  private readonly posOfRow = new Int32Array(BAND_ROWS);
  private readonly rest = new Int32Array(BAND_ROWS);

  constructor(
    private readonly tiles: readonly LogicalTile[],
    private readonly tileOf: Int32Array,
    private readonly order: Int32Array,
    private readonly at: Int32Array,
    private readonly width: number,
  ) {}

  /** Rearranges each whole scan column in positions [from, to) (columns start at multiples of BAND_ROWS). */
  place(from: number, to: number): void {
    for (let c = Math.ceil(from / BAND_ROWS) * BAND_ROWS; c + BAND_ROWS <= to; c += BAND_ROWS) if (this.asked(c)) this.column(c);
  }

  /** Whether column c holds a tile of its own at every position, some asking for a row (byRow, rest filled). */
  private asked(c: number): boolean {
    const { byRow, rest, tiles, at } = this;
    byRow.fill(-1);
    let asked = 0;
    let others = 0;
    const x = this.order[c] % this.width;
    for (let r = 0; r < BAND_ROWS; r++) {
      const id = at[c + r];
      // (A band shorter than BAND_ROWS, the mesh's last, puts several x in one block of positions.)
      if (id < 0 || this.order[c + r] % this.width !== x) return false;
      const row = tiles[id].row;
      // Where two tiles ask for one row (the ends of two groups in one column), the first in scan order has it.
      if (row === undefined || byRow[row] >= 0) rest[others++] = id;
      else {
        byRow[row] = id;
        asked++;
      }
    }
    return asked > 0;
  }

  private column(c: number): void {
    const { byRow, posOfRow, rest, order, width } = this;
    let top = Infinity;
    for (let r = 0; r < BAND_ROWS; r++) top = Math.min(top, Math.floor(order[c + r] / width));
    // Rows nobody asked for go, in scan order, to the tiles that asked for none.
    let next = 0;
    for (let r = 0; r < BAND_ROWS; r++) {
      const row = Math.floor(order[c + r] / width) - top;
      posOfRow[row] = order[c + r];
      if (byRow[row] < 0) byRow[row] = rest[next++];
    }
    for (let row = 0; row < BAND_ROWS; row++) this.tileOf[byRow[row]] = posOfRow[row];
  }
}
