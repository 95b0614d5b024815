// One stage of a projection, compiled and estimated by the wafer compiler's own passes: a single layer (with stub
// tiles standing in for the previous layer's output and the next layer's hub), or the embedding + LM head. The
// stage is lowered (lower.ts, with the projection extensions where a real-size piece overflows a tile), placed at the
// scan offset where it sits on its wafer (place.ts), routed (route.ts) and timed by estimateStep (estimate.ts) on the
// engine's cost functions (fabric/mesh/cost.ts). Nothing here computes a time by itself.
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { FaultMap } from '../../fabric/faults/index.js';
import { tileSramBytes } from '../../fabric/isa/sram.js';
import type { ModelGraph, LayerNode } from '../graph/graph.js';
import { hubSliceCols, kvChunkingOf, lmHeadLayoutOf, lowerModel, type KvChunking, type Lowered, type LowerOptions, type ProjectionLowering } from '../wafer/lower.js';
import { placeTiles, type Placement } from '../wafer/place.js';
import { meshView, pickLinks, routeLinks, routeStreams, type RouteLinks, type StreamRoute } from '../wafer/route.js';
import { colourLinks, type RoutePreference } from '../wafer/colour.js';
import { verifyLinks } from '../wafer/verify.js';
import { estimateStep, PATH_CAUSES, type PathSplit } from '../wafer/estimate.js';
import type { ProgramDtype } from '../wafer/partition.js';
import type { StageBudgetFractions } from '../wafer/balance.js';
import type { TileTag, TileUnit } from '../wafer/plan.js';
import { kvChunker } from './kvChunks.js';

/** The mesh one wafer offers a stage: its spec (possibly a sub-grid), and its faults as the compiler sees them. */
export interface WaferMesh {
  spec: FabricSpec;
  /** Route-around faults on the logical grid, or null (fault-free, or hidden by remap). */
  faults: FaultMap | null;
  /** Remap bypass cycles per directed link (tile * 5 + port), or null. */
  linkExtraLatencyCycles: Uint16Array | null;
  usable: (tile: number) => boolean;
  usableTiles: number;
}

export interface StageRequest {
  graph: ModelGraph;
  /**
   * What the stage holds: one layer (between stub tiles for the previous layer's output and the next layer's hub),
   * the embedding (its output to a stub where the first layer's hub would be), or the final norm, LM head and argmax
   * (fed by a stub). Default: 'layer' when `layers` is not empty.
   */
  part?: 'layer' | 'embedding' | 'lm_head';
  /** The layer of a layer stage; empty otherwise. */
  layers: LayerNode[];
  mesh: WaferMesh;
  dtype: ProgramDtype;
  budgetBytes: number;
  /** Fractions of budgetBytes the layer's stages' blocks take (LowerOptions.stageBudgets; default 1 each). */
  stageBudgets?: StageBudgetFractions;
  maxFan: number;
  /** KV positions each attention head holds. */
  maxSeq: number;
  projection: ProjectionLowering;
  /** Users in flight: a layer holds a KV cache per user, the others' reserved behind the layer's tiles. */
  batch: number;
  /** Experts the router picks in the estimate (must be among those lowered). */
  expertChoice?: (k: number, experts: number) => number[];
  /** Columns of x per hub slice (default: hubSliceCols of the whole model at this fan-out). */
  sliceCols?: number;
  /** Fewer, longer streams into and out of a layer's hub slices, or into the LM head (LowerOptions.gatherFan, regionInputs, lmHeadInputs; default none). */
  narrow?: { gatherFan: number; regionInputs: number; lmHeadInputs?: number };
}

/** A stage lowered once (tile counts known), to be placed and timed at one or more scan offsets. */
export interface LoweredStage {
  req: StageRequest;
  lowered: Lowered;
  /** Mesh tiles the stage holds (spans included, stubs excluded), and of those the embedding's and LM head's. */
  tiles: number;
  embeddingTiles: number;
  lmHeadTiles: number;
  /** Tiles holding KV cache (one user). */
  kvTiles: number;
  /** KV positions one attention tile holds (maxSeq when the head is not chunked; 0 without attention). */
  kvPositionsPerTile: number;
  /** Logical tiles whose buffers overflow one tile's SRAM and so hold a span of tiles (hubs of wide models). */
  overflowTiles: number;
  /** Tiles each hub is split over. */
  hubSlices: number;
  /** KV positions a chunk tile holds when full (0 without attention). */
  kvFillPositions: number;
  /** Pieces a chunked KV head's partial goes up its combine in (null: no chunked heads). */
  combinePieces: number | null;
  /** The most streams any tile of the stage (stubs aside) receives: the colours its compute engine receives on. */
  receiveStreams: number;
  /** What the first tile receiving that many is (null: no tile receives anything). */
  receiveUnit: TileUnit | null;
  /**
   * The tile that receives the most of the plan's own streams (the ones the projection routes and colours: without an
   * unlowered expert's returns) and how many, or null where no tile receives one.
   */
  mostRouted: { streams: number; role: string; unit: TileUnit } | null;
}

/** A stage's routes coloured by the compiler's pass (compiler/wafer/colour.ts) within its fabric's colours. */
export interface StageColours {
  /**
   * Colours the stage's routes use (the most any tile or link needs is at most this). Above the fabric's budget only
   * where the projection found no layout within it (then null where even 32 do not suffice).
   */
  colours: number | null;
  /** Streams on the other route (the same hops) than the one chosen for them (row first, or the estimate's). */
  alternativeRoutes: number;
}

export interface TimedStage {
  /**
   * Layer stage: cycles from the layer's hub receiving its input to the next layer's hub (the `stage.out` stub)
   * receiving the output — the layer's share of a token. Embedding: step start to the first layer's hub (the stub)
   * receiving the row. LM head: its hub receiving the last layer's output to the argmax's end.
   */
  cycles: number;
  /** The same cycles along the critical path, by cause (they sum to `cycles`). */
  path: PathSplit;
  placement: Placement;
  routes: StreamRoute[];
  colours: StageColours;
}

function partOf(req: StageRequest): 'layer' | 'embedding' | 'lm_head' {
  return req.part ?? (req.layers.length > 0 ? 'layer' : 'embedding');
}

/** The stage as an error names it: the embedding, the LM head, or its layer. */
function stageName(req: StageRequest): string {
  const part = partOf(req);
  return part === 'embedding' ? 'the embedding' : part === 'lm_head' ? 'the LM head' : `layer ${req.layers[0].index}`;
}

/** What lowerModel is given for a stage: the graph of its layers (none for the embedding or LM head) and the options. */
function stageLowering(req: StageRequest): { graph: ModelGraph; opts: LowerOptions } {
  const part = partOf(req);
  const graph: ModelGraph = { ...req.graph, layers: part === 'layer' ? req.layers : [] };
  const opts: LowerOptions = {
    dtype: req.dtype,
    maxSeq: req.maxSeq,
    budgetBytes: req.budgetBytes,
    stageBudgets: req.stageBudgets,
    spec: req.mesh.spec,
    maxFan: req.maxFan,
    embedding: part === 'embedding',
    lmHead: part === 'lm_head',
    // The projection's own paths plug in here: chunked KV heads (kvChunks.ts).
    projection: { ...req.projection, kvChunks: kvChunker },
    // The model's hub slices, also in a stage without layers.
    sliceCols: req.sliceCols ?? hubSliceCols(req.graph, req),
    ...req.narrow,
  };
  return { graph, opts };
}

/**
 * The KV chunking lowerStage would give `req`'s layers (null: none), without lowering them: the only way the KV
 * chunk size asked for (ProjectionLowering.kvChunkPositions, kvChunkFitting) reaches the lowering, so two requests
 * alike but for those lower alike where this is the same.
 */
export function stageKvChunking(req: StageRequest): KvChunking | null {
  const { graph, opts } = stageLowering(req);
  return kvChunkingOf(graph, opts);
}

/**
 * What an LM head stage's lowering takes from its fan-out and hub slices (wafer/lower.ts lmHeadLayoutOf), as a key:
 * two requests alike but for the fan-out lower alike where this is the same.
 */
export function stageLmHeadLayout(req: StageRequest): string {
  const { graph, opts } = stageLowering(req);
  const { sliceCols, grid, group } = lmHeadLayoutOf(graph, opts);
  return `${sliceCols}:${grid.br}x${grid.bc}:${grid.gr}x${grid.gc}:${group}`;
}

/** Lowers a stage and sizes it on the mesh. Throws the compiler's InputError when a piece cannot be partitioned. */
export function lowerStage(req: StageRequest): LoweredStage {
  const layerStage = partOf(req) === 'layer';
  const { graph, opts } = stageLowering(req);
  const sliceCols = opts.sliceCols!;
  const lowered = lowerModel(graph, opts);
  const tiles = lowered.plan.tiles;
  // A tile whose buffers overflow its SRAM holds as many tiles as its bytes need (costed as one compute engine).
  let overflowTiles = 0;
  let kvTiles = 0;
  let kvPositionsPerTile = 0;
  const hd = req.layers[0]?.attention.headDim ?? 0;
  for (const t of tiles) {
    const bytes = tileSramBytes(t);
    if (bytes > req.budgetBytes && t.span === undefined) {
      t.span = Math.ceil(bytes / req.budgetBytes);
      overflowTiles++;
    }
    const kc = t.buffers.find((b) => b.role === 'kv-cache');
    if (kc) {
      kvTiles++;
      kvPositionsPerTile = kc.length / hd;
    }
  }
  if (layerStage && req.batch > 1 && kvTiles > 0) {
    // The last tile before the `stage.out` stubs reserves the other users' KV tiles behind it.
    const last = tiles.findLast((t) => !isStub(t.tag))!;
    last.span = (last.span ?? 1) + (req.batch - 1) * kvTiles;
  }
  let total = 0;
  let embeddingTiles = 0;
  let lmHeadTiles = 0;
  for (const t of tiles) {
    if (isStub(t.tag)) continue;
    const n = t.span ?? 1;
    total += n;
    if (t.tag.unit === 'embedding') embeddingTiles += n;
    else if (t.tag.unit === 'final-hub' || t.tag.unit === 'lm-head') lmHeadTiles += n;
  }
  return { req, lowered, tiles: total, embeddingTiles, lmHeadTiles, kvTiles, kvPositionsPerTile, overflowTiles, hubSlices: Math.ceil(req.graph.hidden / sliceCols), kvFillPositions: lowered.kvFillPositions ?? 0, combinePieces: lowered.kvChunking?.pieces ?? null, ...mostReceived(lowered) };
}

/**
 * The most streams any tile of a stage (stubs aside: they stand for other stages' tiles) is a destination of. An MoE
 * layer's hub slices also count a return from each expert the stage does not lower (a reserved span): a full layout
 * has every expert's.
 */
function mostReceived(lowered: Lowered): Pick<LoweredStage, 'receiveStreams' | 'receiveUnit' | 'mostRouted'> {
  const tiles = lowered.plan.tiles;
  const received = new Int32Array(tiles.length);
  for (const s of lowered.plan.streams) for (const t of s.dst) received[t]++;
  let reserved = 0;
  for (const t of tiles) if (t.tag.unit === 'reserved-expert') reserved++;
  let most = 0;
  let unit: TileUnit | null = null;
  let routed = -1;
  for (let t = 0; t < tiles.length; t++) {
    if (isStub(tiles[t].tag)) continue;
    const n = received[t] + (tiles[t].tag.unit === 'mlp-hub' ? reserved : 0);
    if (n > most) {
      most = n;
      unit = tiles[t].tag.unit;
    }
    if (received[t] > 0 && (routed < 0 || received[t] > received[routed])) routed = t;
  }
  const mostRouted = routed < 0 ? null : { streams: received[routed], role: tiles[routed].role, unit: tiles[routed].tag.unit };
  return { receiveStreams: most, receiveUnit: unit, mostRouted };
}

/**
 * Where one tile of the stage receives more of its streams than the fabric has colours, the ColourError its colouring
 * would end in, found without routing: streams into one tile need colours of their own there (colour.ts), so no
 * routes can colour them. As colourStage offers fewer combine pieces only for a stream into or out of a KV chunk
 * tile, so does this, for a chunk tile. Null where every tile receives few enough (the routes then decide).
 */
export function receiveOverflow(stage: LoweredStage): ColourError | null {
  const most = stage.mostRouted;
  const colours = stage.req.mesh.spec.colours;
  if (!most || most.streams <= colours) return null;
  return new ColourError(
    `${stageName(stage.req)}: tile ${most.role} receives ${most.streams} streams, more than the ${colours} colours a tile has`,
    'colour',
    'use a larger fabric so regions spread out, or a fabric spec with more colours',
    most.unit === 'kv-chunk' ? stage.combinePieces : null,
    partOf(stage.req),
  );
}

/**
 * Drops a lowered stage's plan, the largest thing it holds (a full wafer's layer is ~10^5 tiles of objects): read
 * again, `lowered` lowers the request again (lowering is deterministic, so the plan is the same) and keeps that. The
 * projection keeps its layers' tile counts, colours and times across the layouts it tries without keeping their plans.
 */
export function releasePlan(stage: LoweredStage): void {
  let kept: Lowered | null = null;
  Object.defineProperty(stage, 'lowered', { get: () => (kept ??= lowerStage(stage.req).lowered), configurable: true, enumerable: true });
}

/** A stage's stub tiles: where its input comes from and its output goes (other wafers), not tiles of its own. */
const isStub = (tag: TileTag): boolean => tag.unit === 'stage-in' || tag.unit === 'stage-out';

/**
 * Places, routes, colours (then chooseRoutes) and estimates a lowered stage at `scanOffset` usable tiles into its
 * wafer, at step `position`.
 */
export function timeStage(stage: LoweredStage, scanOffset: number, position: number, strictColours = true): TimedStage {
  const placement = placeStage(stage, scanOffset);
  const routes = routeStage(stage, placement);
  const coloured = stageColours(stage, placement, strictColours, routes);
  const { colours, timed } = chooseRoutes(stage, placement, position, routes, coloured);
  return { ...(timed ?? estimateStage(stage, placement, position, routes)), colours };
}

/**
 * A coloured stage's routes chosen by its estimate: each stream takes whichever of its two routes frees it first
 * (estimateStage's `choose`), and the stage is coloured again on those, each stream keeping its choice where a colour
 * is free on it. Where that colouring fails, `coloured` and its routes stand. `timed`: the choosing estimate, where
 * the colouring kept every choice (else the caller times the routes in `routes.take`).
 */
export function chooseRoutes(stage: LoweredStage, placement: Placement, position: number, routes: StageRoutes, coloured: StageColours): { colours: StageColours; timed: Omit<TimedStage, 'colours'> | null } {
  const before = routes.take;
  const chosen = estimateStage(stage, placement, position, routes, true);
  const choice = routes.take;
  try {
    const { colours, alternativeRoutes } = colourStage(stage, placement, routes);
    return { colours: { colours, alternativeRoutes }, timed: sameTake(choice, routes.take) ? chosen : null };
  } catch (e) {
    if (!(e instanceof ColourError)) throw e;
    routes.take = before;
    return { colours: coloured, timed: null };
  }
}

/** Whether two choices of routes are the same. */
export function sameTake(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The stage's tiles placed `scanOffset` usable tiles into its wafer's scan. */
export function placeStage(stage: LoweredStage, scanOffset: number): Placement {
  const { mesh } = stage.req;
  const spec = mesh.spec;
  const W = spec.widthTiles;
  const H = spec.heightTiles;
  return placeTiles(stage.lowered.plan.tiles, W, H, mesh.usable, { fabric: `fabric "${spec.name}"`, dead: W * H - mesh.usableTiles }, { scanOffset });
}

/**
 * A placed stage's streams routed along dimension-ordered paths: row first (with the hops the estimate reads, from
 * the same search, where it reads no more than hops) and, when first asked for, column first.
 */
export interface StageRoutes {
  rowFirst: RouteLinks;
  columnFirst(): RouteLinks;
  /**
   * 1 for each stream whose route is its column-first one: what the estimate chose (estimateStage's `choose`: the route
   * that frees its wavelets first), then what the colouring kept of it (colourStage). Null: row first throughout.
   */
  take: Uint8Array | null;
}

export function routeStage(stage: LoweredStage, placement: Placement): StageRoutes {
  const { mesh } = stage.req;
  const streams = stage.lowered.plan.streams;
  const view = meshView(mesh.spec.widthTiles, mesh.spec.heightTiles, mesh.faults);
  const rowFirst = routeLinks(streams, placement.tileOf, view, { dimensionOrdered: true, hops: mesh.linkExtraLatencyCycles === null });
  let columnFirst: RouteLinks | null = null;
  return { rowFirst, columnFirst: () => (columnFirst ??= routeLinks(streams, placement.tileOf, view, { dimensionOrdered: true, columnFirst: true })), take: null };
}

/**
 * The colours a placed stage needs: within its fabric's budget (throws ColourError where it does not fit, with
 * `strictColours`), or else as many as 32 allow (null beyond).
 */
export function stageColours(stage: LoweredStage, placement: Placement, strictColours: boolean, routes = routeStage(stage, placement)): StageColours {
  if (strictColours) {
    const { colours, alternativeRoutes } = colourStage(stage, placement, routes);
    return { colours, alternativeRoutes };
  }
  return colourBeyondBudget(stage, placement, routes);
}

/**
 * A placed stage timed by estimateStep at step `position` on its routes (`routed.take`'s, colours play no part in the
 * time); with `choose`, each stream takes whichever of its two routes frees it first, and `routed.take` says which.
 */
export function estimateStage(stage: LoweredStage, placement: Placement, position: number, routed?: StageRoutes, choose = false): Omit<TimedStage, 'colours'> {
  const { req, lowered } = stage;
  const { mesh } = req;
  const spec = mesh.spec;
  const tiles = lowered.plan.tiles;
  const routes = routed?.rowFirst.hops ?? routeStreams(lowered.plan.streams, placement.tileOf, meshView(spec.widthTiles, spec.heightTiles, mesh.faults), { dimensionOrdered: true, hopsOnly: mesh.linkExtraLatencyCycles === null });
  const part = partOf(req);
  // Probes: where the stage's share of a token starts (the first hub slice's input) and ends (the last of the next
  // hub's slices to receive its part: the `stage.out` stubs). Both found in one pass (a full wafer's stage has ~10^5 tiles).
  const fromUnit: TileUnit | null = part === 'layer' ? 'attn-hub' : part === 'lm_head' ? 'final-hub' : null;
  const fromLayer = part === 'layer' ? req.layers[0].index : null;
  let from: (typeof tiles)[number] | undefined;
  const to: (typeof tiles)[number][] = [];
  for (const t of tiles) {
    const tag = t.tag;
    if (from === undefined && tag.unit === fromUnit && tag.layer === fromLayer && tag.expert === null && tag.index[0] === 0) from = t;
    if (part !== 'lm_head' && tag.unit === 'stage-out') to.push(t);
  }
  const est = estimateStep(spec, lowered, placement, routes, {
    position,
    links: routed?.rowFirst,
    alternativeLinks: routed && (choose || routed.take) ? routed.columnFirst() : undefined,
    alternativeTaken: choose ? undefined : (routed?.take ?? undefined),
    linkExtraLatencyCycles: mesh.linkExtraLatencyCycles,
    expertChoice: req.expertChoice,
    criticalPath: true,
    probeTiles: [...(from ? [from.id] : []), ...to.map((t) => t.id)],
  });
  if (choose && routed) routed.take = est.alternative!;
  // Every task after `from` depends on its input, so the path to the end runs through that arrival.
  const a = from ? est.firstArrival!.get(from.id)! : { cycles: 0, path: Object.fromEntries(PATH_CAUSES.map((c) => [c, 0])) as PathSplit };
  const arrivals = to.map((t) => est.firstArrival!.get(t.id)!);
  const b = arrivals.length > 0 ? arrivals.reduce((x, y) => (y.cycles > x.cycles ? y : x)) : { cycles: est.cycles, path: est.criticalPath! };
  const path = Object.fromEntries(PATH_CAUSES.map((c) => [c, b.path[c] - a.path[c]])) as PathSplit;
  return { cycles: b.cycles - a.cycles, path, placement, routes };
}

/** The colours a stage needs where its fabric's do not suffice: as many as 32 allow (null beyond). */
export function colourBeyondBudget(stage: LoweredStage, placement: Placement, routes = routeStage(stage, placement)): StageColours {
  try {
    const { colours, alternativeRoutes } = colourStage(stage, placement, routes);
    return { colours, alternativeRoutes };
  } catch (e) {
    if (!(e instanceof ColourError)) throw e;
  }
  return coloursPast(stage, placement, routes);
}

/** The colours a stage needs past its fabric's budget: as many as 32 allow (null beyond). */
export function coloursPast(stage: LoweredStage, placement: Placement, routes = routeStage(stage, placement)): StageColours {
  const wide: LoweredStage = { ...stage, req: { ...stage.req, mesh: { ...stage.req.mesh, spec: { ...stage.req.mesh.spec, colours: 32 } } } };
  try {
    const { colours, alternativeRoutes } = colourStage(wide, placement, routes);
    return { colours, alternativeRoutes };
  } catch (e) {
    if (!(e instanceof ColourError)) throw e;
    return { colours: null, alternativeRoutes: 0 };
  }
}

/** Where a stage's routes need more colours than its fabric has (the projection answers with a lowering that needs fewer). */
export class ColourError extends InputError {
  constructor(
    what: string,
    where: string,
    fix: string,
    /** Pieces the stage's chunked KV heads combine in, where fewer could relieve the stream that ran out (null: none, or that stream neither enters nor leaves a KV chunk tile). */
    readonly combinePieces: number | null,
    /** The stage that ran out (narrow hub streams change only layers). */
    readonly part: 'layer' | 'embedding' | 'lm_head' = 'layer',
  ) {
    super(what, where, fix);
  }
}

/**
 * Colours a placed stage as the compiler would emit it: every stream routed along dimension-ordered paths, row first
 * and column first (both shortest: the hops the estimate reads are the same), and coloured as assignColours does
 * (colourLinks, on the routes' links alone). Each stream keeps the route the estimate chose (`routes.take`) where that
 * fits, else takes whichever of its two routes needs the lower colour; `routes.take` and `alternative[i]` then say
 * which it took (1: column first). Throws ColourError where no colouring fits.
 */
export function colourStage(stage: LoweredStage, placement: Placement, routes = routeStage(stage, placement)): StageColours & { colourOf: Int32Array; alternative: Uint8Array } {
  const { mesh } = stage.req;
  const spec = mesh.spec;
  const W = spec.widthTiles;
  const streams = stage.lowered.plan.streams;
  const view = meshView(W, spec.heightTiles, mesh.faults);
  const take = routes.take;
  // Each stream's first route is the one the estimate chose (row first where it chose none), its other the second.
  const first = take ? pickLinks(routes.rowFirst, routes.columnFirst(), take) : routes.rowFirst;
  const second = take ? pickLinks(routes.columnFirst(), routes.rowFirst, take) : routes.columnFirst();
  const colourWith = (prefer: RoutePreference) => colourLinks(streams, first, placement.tileOf, W * spec.heightTiles, spec.colours, second, undefined, prefer);
  // The chosen routes, each where a colour is free on it, else the lower colour per stream; with none chosen, also
  // the smaller of each stream's two trees.
  let c = take ? colourWith('first') : colourWith('lower');
  if (!c.ok && take) c = colourWith('lower');
  if (!c.ok && !take) {
    const again = colourWith('fewer-links');
    if (again.ok) c = again;
  }
  if (!c.ok) {
    // Fewer combine pieces are offered only where the stream that ran out enters or leaves a KV chunk tile: elsewhere
    // they seldom free a colour, and each retry re-lowers and re-times the stages it changes.
    const s = streams[c.stream];
    const tiles = stage.lowered.plan.tiles;
    const chunkStream = [...s.src, ...s.dst].some((t) => tiles[t].tag.unit === 'kv-chunk');
    throw new ColourError(`${stageName(stage.req)}: ${c.error.what}`, c.error.where, c.error.fix, chunkStream ? stage.combinePieces : null, partOf(stage.req));
  }
  // The colouring must be one the compiler's verifier accepts.
  verifyLinks(streams, placement.tileOf, first, second, c.alternative, c.colourOf, view);
  let alternativeRoutes = 0;
  for (const a of c.alternative) alternativeRoutes += a;
  // What the stage is timed on from here: the routes coloured.
  routes.take = take ? take.map((t, i) => t ^ c.alternative[i]) : c.alternative;
  return { colours: c.coloursUsed, alternativeRoutes, colourOf: c.colourOf, alternative: routes.take };
}
