// Route: each stream becomes a tree of static paths on live routers and links — a multicast tree out of one source,
// or an in-tree into one destination when several sources share a stream. A tree per colour has no cycle, so the
// routes of one colour cannot deadlock among themselves (the verifier checks it again after colouring).
import { InputError } from '../../fabric/errors.js';
import type { FaultMap } from '../../fabric/faults/index.js';
import { MESH_PORTS, OPPOSITE_PORT, manhattan, neighbour, tileName } from '../../fabric/geometry.js';
import type { StreamDecl } from './plan.js';
import { anyI16, anyI32, meshScratch, stamps, type Stamps } from './scratch.js';

export const RAMP = 0;

/** One stream's routing: per mesh tile it touches, the input ports wavelets enter by and the ports they leave by. */
export interface StreamRoute {
  stream: number;
  /** tile -> entries of (from port, to-port bitmask over 0..4). */
  entries: Map<number, { from: number; toMask: number }[]>;
  /** Directed links used, as tile * 5 + out port. */
  links: number[];
  /** Longest source-to-destination path in hops. */
  maxHops: number;
  /**
   * Hop distance of each destination mesh tile (for the estimate). With RouteOptions.hopsOnly, only a multicast to
   * several tiles lists them: a stream into one tile is maxHops away from it (read `hopsTo.get(t) ?? maxHops`).
   */
  hopsTo: Map<number, number>;
  /** With RouteOptions.hopsOnly: the number of links the stream uses (`entries` and `links` are then left empty). */
  linkCount?: number;
}

export interface MeshView {
  width: number;
  height: number;
  /** Router alive and the link between a and its neighbour through port p alive. */
  linkAlive(a: number, p: number): boolean;
  /** Every router and link alive (no fault map): lets routing skip the checks. */
  faultFree?: boolean;
  /**
   * Per tile, bit p set where linkAlive(tile, p): the same answers as one array read each, made on first call (what a
   * BFS over a faulty wafer reads four times per tile it reaches).
   */
  alivePorts?: () => Uint8Array;
}

export interface RouteOptions {
  /**
   * Route each stream along dimension-ordered paths (a multicast tree: the source's row, then each destination's
   * column; an in-tree: each source's column, then the destination's row) wherever every link on them is alive, and
   * by BFS otherwise. Both are shortest paths, so hop counts (all the estimate reads) are the same as BFS's; it costs
   * the path lengths instead of the area a BFS explores, which is what makes ~10^6-tile wafers routable. Default
   * false: BFS everywhere (the programs the golden tests pin).
   */
  dimensionOrdered?: boolean;
  /**
   * With dimensionOrdered: the other order (a multicast tree: the source's column, then each destination's row; an
   * in-tree: each source's row, then the destination's column). Also shortest, so the same hop counts: the colouring
   * may take it for a stream whose first route finds no free colour.
   */
  columnFirst?: boolean;
  /**
   * Only what a timing estimate reads: hop distances and the count of links (RouteStream.linkCount), without the
   * per-router entries the emitter needs. Much less memory on a full wafer. Default false.
   */
  hopsOnly?: boolean;
}

/**
 * Port masks by fault map, with the map's counts when made: a projection makes a view per stage it routes, each of a
 * full wafer. A map that gained a fault since (killLink) counts differently and gets a new mask.
 */
const MASKS = new WeakMap<FaultMap, { width: number; height: number; counts: string; mask: Uint8Array }>();

export function meshView(width: number, height: number, faults: FaultMap | null): MeshView {
  let mask: Uint8Array | null = null;
  const view: MeshView = {
    width,
    height,
    faultFree: faults === null,
    linkAlive(a, p) {
      const b = neighbour(a, p, width, height);
      if (b < 0) return false;
      if (!faults) return true;
      return faults.isLinkAlive(a, p) && faults.isRouterAlive(a) && faults.isRouterAlive(b);
    },
    alivePorts() {
      if (mask) return mask;
      const counts = faults ? JSON.stringify(faults.counts()) : '';
      const kept = faults ? MASKS.get(faults) : undefined;
      if (kept && kept.width === width && kept.height === height && kept.counts === counts) return (mask = kept.mask);
      mask = new Uint8Array(width * height);
      for (let a = 0; a < mask.length; a++) for (let p = 1; p <= 4; p++) if (view.linkAlive(a, p)) mask[a] |= 1 << p;
      if (faults) MASKS.set(faults, { width, height, counts, mask });
      return mask;
    },
  };
  return view;
}

/**
 * BFS scratch sized to the mesh. `stamp[t] === gen` marks t as reached in the current search, so a search costs the
 * area it explores, not the whole mesh (a full wafer has ~10^6 tiles and a model ~10^5 streams).
 */
interface BfsScratch {
  parent: Int16Array;
  dist: Int32Array;
  queue: Int32Array;
  stamp: Uint32Array;
  gen: number;
  /** Starts a search: its generation. */
  next(): number;
}

const BFS_PARENT = meshScratch('route.bfs.parent', 'i16', 1);
const BFS_DIST = meshScratch('route.bfs.dist', 'i32', 1);
const BFS_QUEUE = meshScratch('route.bfs.queue', 'i32', 1);
const BFS_STAMP = meshScratch('route.bfs.stamp', 'stamps', 1);
const TREE = meshScratch('route.tree', 'stamps', 1);
const BFS_TARGET = meshScratch('route.bfs.target', 'stamps', 1);
const COUNTED = meshScratch('route.counted', 'stamps', 1);

/**
 * The search scratch for an n-tile mesh, kept between calls (scratch.ts says why): its stamps carry on from the
 * last generation, so a kept scratch needs no clearing.
 */
function bfsScratch(n: number): BfsScratch {
  const marks = stamps(BFS_STAMP, n);
  return { parent: anyI16(BFS_PARENT, n), dist: anyI32(BFS_DIST, n), queue: anyI32(BFS_QUEUE, n), stamp: marks.stamp, gen: 0, next: marks.next };
}

/** Parent port of t in the last search (-1 at the root), or -2 when the search did not reach t. */
function parentOf(s: BfsScratch, t: number): number {
  return s.stamp[t] === s.gen ? s.parent[t] : -2;
}

/** BFS from `root` over live links; parentPort[t] = port of t leading back toward root (-1 at root, -2 unreached). */
function bfs(view: MeshView, root: number, targets: Set<number>, scratch: BfsScratch): void {
  if (view.faultFree) {
    boxedBfs(view.width, view.height, null, root, targets, scratch, 0);
    return;
  }
  if (view.alivePorts) {
    const alive = view.alivePorts();
    // Where the confined search may not be exact, the whole mesh (the box widened past every edge).
    if (!nearBfs(view.width, view.height, alive, root, targets, scratch)) boxedBfs(view.width, view.height, alive, root, targets, scratch, Infinity);
    return;
  }
  const { parent, dist, queue, stamp } = scratch;
  const gen = (scratch.gen = scratch.next());
  stamp[root] = gen;
  parent[root] = -1;
  dist[root] = 0;
  let head = 0;
  let tail = 0;
  queue[tail++] = root;
  let remaining = targets.size - (targets.has(root) ? 1 : 0);
  while (head < tail && remaining > 0) {
    const a = queue[head++];
    for (const p of MESH_PORTS) {
      if (!view.linkAlive(a, p)) continue;
      const b = neighbour(a, p, view.width, view.height);
      if (stamp[b] === gen) continue;
      stamp[b] = gen;
      parent[b] = OPPOSITE_PORT[p];
      dist[b] = dist[a] + 1;
      queue[tail++] = b;
      if (targets.has(b)) remaining--;
    }
  }
}

/** Tiles a confined search (nearBfs) reaches past the bounding box of its root and targets on every side. */
const BFS_MARGIN = 16;

/**
 * bfs over live links confined to the bounding box of the root and its targets widened by BFS_MARGIN, where that
 * reaches every target at most 2·BFS_MARGIN + 1 hops beyond its Manhattan distance (false where it does not: then
 * only the unconfined search is exact). Exact then for what the routes read, the parents and distances of the tiles
 * on some shortest path to a target. A path that leaves the box goes BFS_MARGIN + 1 tiles past the target's bounding
 * box and back, so it is longer than that: every shortest path to such a target lies in the box, and so does every
 * shortest path to a tile on one. Those tiles are found only by tiles of their own kind (a neighbour one hop nearer
 * the root lies on a shortest path too), so they enter the queue in the same order as in the unconfined search and
 * each is found by the same neighbour. On a faulty wafer most detours round a dead tile are a few hops, and the box is
 * a sliver of the diamond the unconfined search fills.
 */
function nearBfs(W: number, H: number, alive: Uint8Array, root: number, targets: Set<number>, scratch: BfsScratch): boolean {
  boxedBfs(W, H, alive, root, targets, scratch, BFS_MARGIN);
  const { dist, stamp, gen } = scratch;
  for (const t of targets) if (stamp[t] !== gen || dist[t] > manhattan(root, t, W) + 2 * BFS_MARGIN + 1) return false;
  return true;
}

/**
 * bfs confined to the bounding box of the root and its targets widened by `margin` (within the mesh), over the live
 * ports of `alive` (null: every link of the mesh). On a fault-free mesh with no margin it gives the same parents and
 * distances on every tile it reaches as the unbounded search, in a fraction of the area (a row-long stream on a full
 * wafer explores its row, not a diamond of ~10^5 tiles): a box holds every shortest path between its tiles, so a
 * tile's neighbours one hop nearer the root lie in it, and each in-box tile is found by the same neighbour, in the
 * same queue order, as by the unbounded search (which reaches the targets at the same point of that order and stops).
 * With faults, nearBfs says where it is exact.
 */
function boxedBfs(W: number, H: number, alive: Uint8Array | null, root: number, targets: Set<number>, scratch: BfsScratch, margin: number): void {
  const { parent, dist, queue, stamp } = scratch;
  let x0 = root % W;
  let x1 = x0;
  let y0 = (root - x0) / W;
  let y1 = y0;
  for (const t of targets) {
    const x = t % W;
    const y = (t - x) / W;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  x0 = Math.max(0, x0 - margin);
  y0 = Math.max(0, y0 - margin);
  x1 = Math.min(W - 1, x1 + margin);
  y1 = Math.min(H - 1, y1 + margin);
  // The targets stamped (a Set lookup per tile reached was most of a long search).
  const marks = stamps(BFS_TARGET, W * H);
  const target = marks.next();
  for (const t of targets) marks.stamp[t] = target;
  const isTarget = marks.stamp;
  const gen = (scratch.gen = scratch.next());
  stamp[root] = gen;
  parent[root] = -1;
  dist[root] = 0;
  let head = 0;
  let tail = 0;
  queue[tail++] = root;
  let remaining = targets.size - (targets.has(root) ? 1 : 0);
  while (head < tail && remaining > 0) {
    const a = queue[head++];
    const ax = a % W;
    const ay = (a - ax) / W;
    const ports = alive === null ? 0b11110 : alive[a];
    const da = dist[a] + 1;
    // MESH_PORTS order (N, E, S, W), as bfs visits them.
    for (let p = 1; p <= 4; p++) {
      if ((ports & (1 << p)) === 0) continue;
      let b: number;
      if (p === 1) {
        if (ay <= y0) continue;
        b = a - W;
      } else if (p === 2) {
        if (ax >= x1) continue;
        b = a + 1;
      } else if (p === 3) {
        if (ay >= y1) continue;
        b = a + W;
      } else {
        if (ax <= x0) continue;
        b = a - 1;
      }
      if (stamp[b] === gen) continue;
      stamp[b] = gen;
      parent[b] = OPPOSITE_PORT[p];
      dist[b] = da;
      queue[tail++] = b;
      if (isTarget[b] === target) remaining--;
    }
  }
}

/**
 * Fills the scratch as a BFS from `root` would for `targets`, but along dimension-ordered paths: root's row to the
 * target's column, then the column. Walks back from each target and stops at a tile already on the tree (the paths
 * share prefixes, so the union is a tree). Returns false when a link on a path is dead (the caller then runs BFS).
 */
function dimensionOrderedTree(view: MeshView, root: number, targets: number[], scratch: BfsScratch, columnFirst: boolean): boolean {
  const { parent, dist, stamp } = scratch;
  const W = view.width;
  const gen = (scratch.gen = scratch.next());
  stamp[root] = gen;
  parent[root] = -1;
  dist[root] = 0;
  const rx = root % W;
  const ry = (root - rx) / W;
  const check = !view.faultFree;
  for (const d of targets) {
    const dx = d % W;
    let x = dx;
    let y = (d - dx) / W;
    const base = columnFirst ? Math.abs(y - ry) : Math.abs(dx - rx);
    for (let t = d; stamp[t] !== gen; ) {
      // Port of t back toward the root: the leg nearer the target first (row first: along the column toward ry, then
      // along the row toward rx; column first: the other way round).
      let back: number;
      if (columnFirst) {
        if (x !== rx) back = x > rx ? 4 : 2;
        else back = y > ry ? 1 : 3;
      } else if (y !== ry) back = y > ry ? 1 : 3;
      else back = x > rx ? 4 : 2;
      stamp[t] = gen;
      parent[t] = back;
      dist[t] = columnFirst ? (x !== rx ? base + Math.abs(x - rx) : Math.abs(y - ry)) : y !== ry ? base + Math.abs(y - ry) : Math.abs(x - rx);
      if (back === 1) y--;
      else if (back === 3) y++;
      else if (back === 4) x--;
      else x++;
      const prev = y * W + x;
      // The link as BFS would have found it: from the tile nearer the root to t.
      if (check && !view.linkAlive(prev, OPPOSITE_PORT[back])) return false;
      t = prev;
    }
  }
  return true;
}

const REPARENT = meshScratch('route.reparent', 'stamps', 1);

/**
 * A stream's search: its dimension-ordered tree where every link on it is alive, else the BFS tree, whose paths to the
 * targets are then bent back toward the dimension order (bentToOrder).
 */
function search(view: MeshView, opts: Pick<RouteOptions, 'dimensionOrdered' | 'columnFirst'>, root: number, targets: number[], scratch: BfsScratch): void {
  const columnFirst = opts.columnFirst === true;
  if (opts.dimensionOrdered && dimensionOrderedTree(view, root, targets, scratch, columnFirst)) return;
  bfs(view, root, new Set(targets), scratch);
  if (opts.dimensionOrdered) bentToOrder(view, root, targets, scratch, columnFirst);
}

/**
 * Re-parents the tiles on the BFS paths to `targets` so that each path is as dimension-ordered as the dead links let
 * it be: from a target back toward the root, each tile steps to a neighbour one hop nearer (the BFS distances) in the
 * order's direction where it can (row first: toward the root's row, then its column), else in the other, else any.
 * Still shortest paths, so the same hops; and still a tree (a tile's parent is set once, the first walk through it).
 * BFS trees of the streams passing a dead tile otherwise bend round it on the same links.
 */
function bentToOrder(view: MeshView, root: number, targets: number[], scratch: BfsScratch, columnFirst: boolean): void {
  const { parent, dist, stamp, gen } = scratch;
  const W = view.width;
  const rx = root % W;
  const ry = (root - rx) / W;
  const done = stamps(REPARENT, view.width * view.height);
  const g = done.next();
  done.stamp[root] = g;
  const order = [0, 0, 1, 2, 3, 4];
  for (const d of targets) {
    if (stamp[d] !== gen) continue;
    for (let t = d; done.stamp[t] !== g; ) {
      done.stamp[t] = g;
      const x = t % W;
      const y = (t - x) / W;
      const vertical = y > ry ? 1 : y < ry ? 3 : 0;
      const horizontal = x > rx ? 4 : x < rx ? 2 : 0;
      order[0] = columnFirst ? horizontal : vertical;
      order[1] = columnFirst ? vertical : horizontal;
      let next = -1;
      for (const p of order) {
        if (p === 0 || !view.linkAlive(t, p)) continue;
        const n = neighbour(t, p, W, view.height);
        if (stamp[n] === gen && dist[n] === dist[t] - 1 && view.linkAlive(n, OPPOSITE_PORT[p])) {
          parent[t] = p;
          next = n;
          break;
        }
      }
      if (next < 0) break;
      t = next;
    }
  }
}

/** routeStreams' error where faults cut a stream's path. */
function unreachableTile(s: StreamDecl, a: number, b: number, width: number): never {
  throw new InputError(`no live path from tile ${tileName(a, width)} to ${tileName(b, width)} for ${s.label}`, 'fault map', (name) => `the faults cut the mesh apart here: use fewer faults, ${name('repair')} remap, or another seed`);
}

/** The distinct mesh tiles of a stream's logical tiles, in first-seen order. */
function meshTiles(logical: number[], tileOf: Int32Array): number[] {
  if (logical.length === 1) return [tileOf[logical[0]]];
  return [...new Set(logical.map((t) => tileOf[t]))];
}

/** The `entries` and `links` of every hopsOnly route, and the `hopsTo` of one with a single destination (empty; shared, never written). */
const NO_ENTRIES: StreamRoute['entries'] = new Map();
const NO_LINKS: StreamRoute['links'] = [];
const NO_HOPS: StreamRoute['hopsTo'] = new Map();

/**
 * Each stream's directed links in compressed rows (stream i's are `links[start[i]] … links[start[i + 1] - 1]`) with,
 * for a multicast tree, the hops from its source to each link's near end (`depth`); -1 on an in-tree's links, whose
 * sources send apart. What the estimate reads to charge streams that share a link (estimate.ts `LinkBusy`).
 */
export interface LinkTable {
  start: Int32Array;
  links: Int32Array;
  depth: Int32Array;
}

/** Links alone in LinkTable's rows: what the colouring and its verifier read. */
export type LinkRows = Pick<LinkTable, 'start' | 'links'>;

/**
 * The directed links of every stream's route, as routeStreams would lay them (the same searches and walks, so the same
 * link sets), in compressed rows: stream i's links are `links[start[i]] … links[start[i + 1] - 1]`, in walk order.
 * What the colouring reads and nothing else (no per-router entries, no objects per stream): a full wafer's stage
 * colours in a fraction of the memory and time.
 */
export interface RouteLinks extends LinkTable {
  /** With `hops`: each stream's route as routeStreams' hopsOnly gives it (from the same search), for the estimate. */
  hops?: StreamRoute[];
}

export function routeLinks(streams: StreamDecl[], tileOf: Int32Array, view: MeshView, opts: Pick<RouteOptions, 'dimensionOrdered' | 'columnFirst'> & { hops?: boolean } = {}): RouteLinks {
  const r = new LinkRouter(view, opts, streams.length);
  for (let i = 0; i < streams.length; i++) r.route(i, streams[i], tileOf);
  return r.result();
}

/**
 * routeLinks' walk, one stream at a time. A class with a method per loop rather than closures in one function: V8
 * compiles a hot loop on the spot, and a function whose later loops have not run yet is compiled again for each (a
 * cold 8b projection routed its LM head in 70-109 ms as closures, 30-68 ms as methods; ~20 ms warm).
 */
class LinkRouter {
  private readonly scratch: BfsScratch;
  private readonly tree: Stamps;
  /** The tile one hop through a port (the walks follow live links, so never off the mesh). */
  private readonly step: Int32Array;
  readonly start: Int32Array;
  private readonly hops: StreamRoute[] | null;
  private links: Int32Array;
  private depth: Int32Array;
  private count = 0;
  /** The current stream's longest path, and its destinations' hops (a multicast to several tiles). */
  private maxHops = 0;
  private hopsTo: Map<number, number> | null = null;

  constructor(
    private readonly view: MeshView,
    private readonly opts: Pick<RouteOptions, 'dimensionOrdered' | 'columnFirst'> & { hops?: boolean },
    streams: number,
  ) {
    const n = view.width * view.height;
    this.scratch = bfsScratch(n);
    this.tree = stamps(TREE, n);
    this.step = Int32Array.of(0, -view.width, 1, view.width, -1);
    this.start = new Int32Array(streams + 1);
    this.hops = opts.hops ? [] : null;
    this.links = anyI32('route.links', Math.max(1024, streams * 8));
    this.depth = anyI32('route.depth', this.links.length);
  }

  route(i: number, s: StreamDecl, tileOf: Int32Array): void {
    if (s.src.length === 0 || s.dst.length === 0) throw new Error(`compiler: stream ${s.label} has no ${s.src.length ? 'destination' : 'source'}`);
    const srcs = meshTiles(s.src, tileOf);
    const dsts = meshTiles(s.dst, tileOf);
    const g = this.tree.next();
    this.maxHops = 0;
    this.hopsTo = null;
    if (srcs.length === 1) this.multicast(s, srcs[0], dsts, g);
    else {
      if (dsts.length !== 1) throw new Error(`compiler: stream ${s.label} has several sources and several destinations`);
      this.inTree(s, srcs, dsts[0], g);
    }
    this.start[i + 1] = this.count;
    if (this.hops) this.hops.push({ stream: s.id, entries: NO_ENTRIES, links: NO_LINKS, maxHops: this.maxHops, hopsTo: this.hopsTo ?? NO_HOPS, linkCount: this.count - this.start[i] });
  }

  result(): RouteLinks {
    return { start: this.start, links: this.links.slice(0, this.count), depth: this.depth.slice(0, this.count), ...(this.hops ? { hops: this.hops } : {}) };
  }

  private search(root: number, targets: number[]): void {
    search(this.view, this.opts, root, targets, this.scratch);
  }

  /** Multicast tree: each destination's path back until the tree holds the rest. */
  private multicast(s: StreamDecl, src: number, dsts: number[], g: number): void {
    const { scratch } = this;
    this.search(src, dsts);
    this.tree.stamp[src] = g;
    for (const d of dsts) {
      if (parentOf(scratch, d) === -2) unreachableTile(s, src, d, this.view.width);
      if (this.hops) {
        this.maxHops = Math.max(this.maxHops, scratch.dist[d]);
        if (dsts.length > 1) (this.hopsTo ??= new Map()).set(d, scratch.dist[d]);
      }
      this.walkBack(d, g);
    }
  }

  /** The links from the tree to `d`, each entered toward d (the walk's order: from d back). */
  private walkBack(d: number, g: number): void {
    const onTree = this.tree.stamp;
    const { parent } = this.scratch;
    for (let t = d; onTree[t] !== g; ) {
      const back = parent[t];
      const prev = t + this.step[back];
      onTree[t] = g;
      this.add(prev * 5 + OPPOSITE_PORT[back], this.scratch.dist[t] - 1);
      t = prev;
    }
  }

  /** In-tree: every source's path toward the destination until it joins a path already walked. */
  private inTree(s: StreamDecl, srcs: number[], dst: number, g: number): void {
    const { scratch } = this;
    this.search(dst, srcs);
    for (const src of srcs) {
      // (Named from the destination, as routeStreams' hopsOnly search names it: the projection's first routing did.)
      if (parentOf(scratch, src) === -2) unreachableTile(s, dst, src, this.view.width);
      if (this.hops) this.maxHops = Math.max(this.maxHops, scratch.dist[src]);
      this.walkOut(src, dst, g);
    }
  }

  /** The links from `src` toward `dst` until the walk meets the tree. */
  private walkOut(src: number, dst: number, g: number): void {
    const onTree = this.tree.stamp;
    const { parent } = this.scratch;
    for (let t = src; t !== dst && onTree[t] !== g; ) {
      onTree[t] = g;
      const out = parent[t];
      this.add(t * 5 + out, -1);
      t += this.step[out];
    }
  }

  private add(l: number, depth: number): void {
    if (this.count === this.links.length) {
      this.links = regrown('route.links', this.links);
      this.depth = regrown('route.depth', this.depth);
    }
    this.depth[this.count] = depth;
    this.links[this.count++] = l;
  }
}

/** `a` copied into its key's scratch at twice the length. */
function regrown(key: string, a: Int32Array): Int32Array {
  const b = anyI32(key, a.length * 2);
  b.set(a);
  return b;
}

export function routeStreams(streams: StreamDecl[], tileOf: Int32Array, view: MeshView, opts: RouteOptions = {}): StreamRoute[] {
  const n = view.width * view.height;
  const scratch = bfsScratch(n);
  // hopsOnly: tiles already counted on the current stream's tree.
  const counted = opts.hopsOnly ? stamps(COUNTED, n) : null;
  const seen = counted?.stamp ?? null;
  const W = view.width;
  // The tile one hop through a port (the walks follow live links, so never off the mesh).
  const step = Int32Array.of(0, -W, 1, W, -1);
  const routes: StreamRoute[] = [];
  for (const s of streams) {
    if (s.src.length === 0 || s.dst.length === 0) throw new Error(`compiler: stream ${s.label} has no ${s.src.length ? 'destination' : 'source'}`);
    const srcs = meshTiles(s.src, tileOf);
    const dsts = meshTiles(s.dst, tileOf);
    const unreachable = (a: number, b: number): never => {
      throw new InputError(`no live path from tile ${tileName(a, view.width)} to ${tileName(b, view.width)} for ${s.label}`, 'fault map', (name) => `the faults cut the mesh apart here: use fewer faults, ${name('repair')} remap, or another seed`);
    };
    let maxHops = 0;
    if (seen) {
      // Hop distances and link count only: walk each path back along the search's parents until a counted tile.
      const gen = counted!.next();
      let linkCount = 0;
      const { parent, dist } = scratch;
      const root = srcs.length === 1 ? srcs[0] : dsts[0];
      const ends = srcs.length === 1 ? dsts : srcs;
      if (srcs.length !== 1 && dsts.length !== 1) throw new Error(`compiler: stream ${s.label} has several sources and several destinations`);
      search(view, opts, root, ends, scratch);
      seen[root] = gen;
      // Only a multicast to several tiles lists them (a full wafer routes ~10^5 streams into one tile: a Map each made
      // a full-wafer projection ~0.4 s slower, most of it garbage collection).
      const hopsTo = srcs.length === 1 && ends.length > 1 ? new Map<number, number>() : NO_HOPS;
      for (const e of ends) {
        if (parentOf(scratch, e) === -2) unreachable(root, e);
        maxHops = Math.max(maxHops, dist[e]);
        if (hopsTo !== NO_HOPS) hopsTo.set(e, dist[e]);
        for (let t = e; seen[t] !== gen; ) {
          seen[t] = gen;
          linkCount++;
          t += step[parent[t]];
        }
      }
      routes.push({ stream: s.id, entries: NO_ENTRIES, links: NO_LINKS, maxHops, hopsTo, linkCount });
      continue;
    }
    const hopsTo = new Map<number, number>();
    const entries = new Map<number, { from: number; toMask: number }[]>();
    const linkSet = new Set<number>();
    const addEntry = (tile: number, from: number, to: number) => {
      let list = entries.get(tile);
      if (!list) entries.set(tile, (list = []));
      const e = list.find((x) => x.from === from);
      if (e) e.toMask |= 1 << to;
      else list.push({ from, toMask: 1 << to });
    };
    if (srcs.length === 1) {
      // Multicast tree: BFS from the source, then each destination's path back to it.
      const src = srcs[0];
      search(view, opts, src, dsts, scratch);
      const enteredBy = new Map<number, number>([[src, RAMP]]);
      const outs: [number, number][] = []; // (tile, port it forwards to)
      for (const d of dsts) {
        if (parentOf(scratch, d) === -2) unreachable(src, d);
        maxHops = Math.max(maxHops, scratch.dist[d]);
        hopsTo.set(d, scratch.dist[d]);
        outs.push([d, RAMP]);
        // Walk back until the tree already holds the path (BFS parents are consistent, so the rest is there).
        for (let t = d; !enteredBy.has(t); ) {
          const back = scratch.parent[t];
          const prev = neighbour(t, back, view.width, view.height);
          enteredBy.set(t, back);
          outs.push([prev, OPPOSITE_PORT[back]]);
          linkSet.add(prev * 5 + OPPOSITE_PORT[back]);
          t = prev;
        }
      }
      for (const [tile, to] of outs) addEntry(tile, enteredBy.get(tile)!, to);
    } else {
      // In-tree: BFS from the destination; every source's path toward it.
      if (dsts.length !== 1) throw new Error(`compiler: stream ${s.label} has several sources and several destinations`);
      const dst = dsts[0];
      search(view, opts, dst, srcs, scratch);
      for (const src of srcs) {
        if (parentOf(scratch, src) === -2) unreachable(src, dst);
        maxHops = Math.max(maxHops, scratch.dist[src]);
        let from = RAMP;
        for (let t = src; ; ) {
          if (t === dst) {
            addEntry(t, from, RAMP);
            break;
          }
          const out = scratch.parent[t];
          // A tile an earlier source's path already crossed has the rest of the path toward dst: join it there.
          const joined = entries.has(t);
          addEntry(t, from, out);
          if (joined) break;
          linkSet.add(t * 5 + out);
          from = OPPOSITE_PORT[out];
          t = neighbour(t, out, view.width, view.height);
        }
      }
      hopsTo.set(dst, maxHops);
    }
    routes.push({ stream: s.id, entries, links: [...linkSet].sort((a, b) => a - b), maxHops, hopsTo });
  }
  return routes;
}

/**
 * The LinkTable of routes that list their entries (routeStreams' full routes, as a compile colours them): a multicast
 * tree walked out from its source's entry, each link with its near end's hops; an in-tree's links at depth -1.
 */
export function linkTableOf(routes: readonly StreamRoute[], width: number, height: number): LinkTable {
  const start = new Int32Array(routes.length + 1);
  const links: number[] = [];
  const depth: number[] = [];
  for (let i = 0; i < routes.length; i++) {
    const { entries } = routes[i];
    const sources = [...entries].filter(([, list]) => list.some((e) => e.from === RAMP));
    if (sources.length === 1) treeLinks(entries, sources[0][0], width, height, links, depth);
    else {
      for (const l of routes[i].links) {
        links.push(l);
        depth.push(-1);
      }
    }
    start[i + 1] = links.length;
  }
  return { start, links: Int32Array.from(links), depth: Int32Array.from(depth) };
}

/** A multicast tree's links, breadth first from its source, each with the hops from the source to its near end. */
function treeLinks(entries: StreamRoute['entries'], src: number, width: number, height: number, links: number[], depth: number[]): void {
  const tiles = [src];
  const hops = [0];
  for (let k = 0; k < tiles.length; k++) {
    const t = tiles[k];
    for (const e of entries.get(t) ?? []) {
      for (const p of MESH_PORTS) {
        if ((e.toMask & (1 << p)) === 0) continue;
        links.push(t * 5 + p);
        depth.push(hops[k]);
        tiles.push(neighbour(t, p, width, height));
        hops.push(hops[k] + 1);
      }
    }
  }
}

/** Each stream's links from `b` where `takeB[i]` is 1, else from `a`: two routings of the same streams, mixed. */
export function pickLinks(a: LinkTable, b: LinkTable, takeB: Uint8Array): LinkTable {
  const n = a.start.length - 1;
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const t = takeB[i] === 1 ? b : a;
    start[i + 1] = start[i] + t.start[i + 1] - t.start[i];
  }
  const links = new Int32Array(start[n]);
  const depth = new Int32Array(start[n]);
  for (let i = 0; i < n; i++) {
    const t = takeB[i] === 1 ? b : a;
    links.set(t.links.subarray(t.start[i], t.start[i + 1]), start[i]);
    depth.set(t.depth.subarray(t.start[i], t.start[i + 1]), start[i]);
  }
  return { start, links, depth };
}
