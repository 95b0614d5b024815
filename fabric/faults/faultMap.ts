// The fault map: which tiles, cores and links of a mesh are dead. JSON format (validated strictly):
//   { "width": 8, "height": 8,
//     "deadTiles": [[x, y], ...],        // router and core dead: nothing placed there, nothing routed through
//     "deadCores": [[x, y], ...],        // core dead, router still forwards: nothing placed, routes may cross
//     "deadLinks": [[x, y, "E"|"S"], ...] } // the link between (x,y) and its east/south neighbour, both directions
// In memory: typed arrays, one byte per tile (and per tile per port for links), so routing and the engine index them
// directly. A link is alive when the link itself is not dead and the routers at both ends are alive.
import { z } from 'zod';
import { InputError, inputErrorFromZod } from '../errors.js';
import { OPPOSITE_PORT, PORT_E, PORT_S, neighbour, tileName } from '../geometry.js';
import { MAX_MESH_SIDE, MAX_MESH_TILES } from '../spec/schema.js';

/** A fault map covers a fabric's physical grid: its rectangle and spares, so up to 2 × MAX_MESH_SIDE a side. */
export const MAX_FAULT_MAP_SIDE = 2 * MAX_MESH_SIDE;
const side = z.number().int().positive().max(MAX_FAULT_MAP_SIDE);
const coordinate = z.number().int().min(-MAX_FAULT_MAP_SIDE).max(MAX_FAULT_MAP_SIDE);
const coord = z.tuple([coordinate, coordinate]);
export const faultMapSchema = z
  .strictObject({
    width: side,
    height: side,
    // At most one entry per tile (two links per tile): longer lists repeat entries, and are refused before reading.
    deadTiles: z.array(coord).max(MAX_MESH_TILES),
    deadCores: z.array(coord).max(MAX_MESH_TILES),
    deadLinks: z.array(z.tuple([coordinate, coordinate, z.enum(['E', 'S'])])).max(2 * MAX_MESH_TILES),
  })
  .superRefine((m, ctx) => {
    if (m.width * m.height > MAX_MESH_TILES) ctx.addIssue({ code: 'custom', path: ['height'], message: `a ${m.width}x${m.height} map has more than the ${MAX_MESH_TILES} tiles of the largest fabric` });
  });

export type FaultMapJson = z.infer<typeof faultMapSchema>;

export class FaultMap {
  readonly tiles: number;
  /** 1 where the whole tile (router and core) is dead. */
  readonly tileDead: Uint8Array;
  /** 1 where only the core is dead (the router forwards). */
  readonly coreDead: Uint8Array;
  /** linkDead[i * 5 + p] = 1 where the link out of tile i through mesh port p (1..4) is listed dead; set on both ends. */
  readonly linkDead: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new InputError(`fault map size must be positive integers, got ${width}x${height}`, 'fault map', 'give at least 1 tile');
    }
    if (width * height > MAX_MESH_TILES) throw new InputError(`a ${width}x${height} fault map is larger than ${MAX_MESH_TILES} tiles`, 'fault map', `give at most ${MAX_MESH_TILES} tiles`);
    this.tiles = width * height;
    this.tileDead = new Uint8Array(this.tiles);
    this.coreDead = new Uint8Array(this.tiles);
    this.linkDead = new Uint8Array(this.tiles * 5);
  }

  /** A map with no faults (a perfect mesh). */
  static empty(width: number, height: number): FaultMap {
    return new FaultMap(width, height);
  }

  /** Validates a parsed JSON value strictly; `source` (a file path) is named in every message. */
  static fromJson(json: unknown, source: string): FaultMap {
    const r = faultMapSchema.safeParse(json);
    if (!r.success) throw inputErrorFromZod(r.error, source, undefined, json);
    const { width, height } = r.data;
    const map = new FaultMap(width, height);
    const fix = `use 0 ≤ x < ${width} and 0 ≤ y < ${height}`;
    const seen = new Map<number, string>();
    const place = (list: 'deadTiles' | 'deadCores', entries: [number, number][]): void => {
      entries.forEach(([x, y], k) => {
        const where = `${source}: ${list}[${k}]`;
        if (x < 0 || y < 0 || x >= width || y >= height) throw new InputError(`tile (${x},${y}) is outside the ${width}x${height} mesh`, where, fix);
        const i = y * width + x;
        const before = seen.get(i);
        if (before !== undefined) throw new InputError(`tile (${x},${y}) is listed twice (also ${before})`, where, 'list each tile once, as a dead tile or a dead core');
        seen.set(i, `${list}[${k}]`);
        (list === 'deadTiles' ? map.tileDead : map.coreDead)[i] = 1;
      });
    };
    place('deadTiles', r.data.deadTiles);
    place('deadCores', r.data.deadCores);
    const seenLinks = new Map<number, number>();
    r.data.deadLinks.forEach(([x, y, dir], k) => {
      const where = `${source}: deadLinks[${k}]`;
      if (x < 0 || y < 0 || x >= width || y >= height) throw new InputError(`tile (${x},${y}) is outside the ${width}x${height} mesh`, where, fix);
      const i = y * width + x;
      const p = dir === 'E' ? PORT_E : PORT_S;
      if (neighbour(i, p, width, height) < 0) {
        throw new InputError(`link ${dir} from (${x},${y}) leaves the mesh`, where, dir === 'E' ? `x must be below ${width - 1} for an E link` : `y must be below ${height - 1} for an S link`);
      }
      const key = i * 5 + p;
      const before = seenLinks.get(key);
      if (before !== undefined) throw new InputError(`link ${dir} from (${x},${y}) is listed twice (also deadLinks[${before}])`, where, 'list each link once');
      seenLinks.set(key, k);
      map.killLink(i, p);
    });
    return map;
  }

  /** Marks the link from tile i through mesh port p dead, on both ends. */
  killLink(i: number, p: number): void {
    const j = neighbour(i, p, this.width, this.height);
    if (j < 0) throw new RangeError(`no link from tile ${tileName(i, this.width)} through port ${p}`);
    this.linkDead[i * 5 + p] = 1;
    this.linkDead[j * 5 + OPPOSITE_PORT[p]] = 1;
  }

  /** A tile that can host work: router and core alive. */
  isTileUsable(i: number): boolean {
    return this.tileDead[i] === 0 && this.coreDead[i] === 0;
  }

  /** The router forwards (the tile may still have a dead core). */
  isRouterAlive(i: number): boolean {
    return this.tileDead[i] === 0;
  }

  /** The link out of tile i through mesh port p (1..4) exists, is not dead, and both its routers are alive. */
  isLinkAlive(i: number, p: number): boolean {
    const j = neighbour(i, p, this.width, this.height);
    return j >= 0 && this.linkDead[i * 5 + p] === 0 && this.tileDead[i] === 0 && this.tileDead[j] === 0;
  }

  /** True when nothing is dead. */
  isPerfect(): boolean {
    const c = this.counts();
    return c.deadTiles + c.deadCores + c.deadLinks === 0;
  }

  counts(): { deadTiles: number; deadCores: number; deadLinks: number; usableTiles: number } {
    let deadTiles = 0;
    let deadCores = 0;
    let deadLinks = 0;
    for (let i = 0; i < this.tiles; i++) {
      deadTiles += this.tileDead[i];
      deadCores += this.coreDead[i];
      deadLinks += this.linkDead[i * 5 + PORT_E] + this.linkDead[i * 5 + PORT_S];
    }
    return { deadTiles, deadCores, deadLinks, usableTiles: this.tiles - deadTiles - deadCores };
  }

  /** The JSON form, entries in tile-index order (so equal maps give identical bytes). */
  toJson(): FaultMapJson {
    const out: FaultMapJson = { width: this.width, height: this.height, deadTiles: [], deadCores: [], deadLinks: [] };
    for (let i = 0; i < this.tiles; i++) {
      const x = i % this.width;
      const y = Math.floor(i / this.width);
      if (this.tileDead[i]) out.deadTiles.push([x, y]);
      if (this.coreDead[i]) out.deadCores.push([x, y]);
      if (this.linkDead[i * 5 + PORT_E]) out.deadLinks.push([x, y, 'E']);
      if (this.linkDead[i * 5 + PORT_S]) out.deadLinks.push([x, y, 'S']);
    }
    return out;
  }
}
