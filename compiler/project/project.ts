// Projection of a real-size model onto full wafers and multi-wafer pipelines, by the compiler's own passes at tile
// granularity. A model's layers of one kind are identical, so the projection compiles ONE layer of each kind (dense,
// MoE, sliding-window, …), the embedding and the LM head as stages (stage.ts: lower, place at the stage's scan offset on
// its wafer, route, estimateStep with its critical path), then composes a token: the embedding's cycles to the first
// hub, every layer's hub-to-next-hub cycles, the LM head's from its hub to the argmax, and the inter-wafer transfers. Wafers come from packing the stages' tile footprints
// in layer order (embedding first, LM head last) into each wafer's usable tiles.
//
// Batch B: B users' tokens in flight through a pipeline whose stages are the layers (each holds one token at a time),
// the embedding, the LM head, and the inter-wafer links; a user's token interval is max(token latency, B × slowest stage), aggregate
// throughput B per interval. Time to first token: the prompt's L tokens go through the same pipeline one step each
// (the mesh program is a decode step, as `wafer run` prefills), so it is the token latency + (L − 1) × slowest stage,
// with every step costed at the decode context (an upper bound: early prompt positions attend over less).
import { InputError, OptionError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import { assumptionsOf, type AssumptionInUse } from '../../fabric/spec/assumptions.js';
import { remapRepair, type FaultMap, type RepairPolicy } from '../../fabric/faults/index.js';
import type { ModelConfig } from '../model/config.js';
import type { LayerNode, ModelGraph } from '../graph/graph.js';
import { tileBudgetBytes } from '../wafer/partition.js';
import { PATH_CAUSES, type PathSplit } from '../wafer/estimate.js';
import { MIN_SPREAD_BUDGET_BYTES, searchSpread } from '../wafer/spread.js';
import { PACKED_FRACTIONS, balancedFractions, type StageBudgetFractions } from '../wafer/balance.js';
import type { ReduceShape } from '../wafer/region.js';
import { reserveMeshScratch } from '../wafer/scratch.js';
import { chooseRoutes, ColourError, coloursPast, estimateStage, lowerStage, placeStage, receiveOverflow, releasePlan, routeStage, stageKvChunking, stageLmHeadLayout, stageColours, type LoweredStage, type StageColours, type StageRequest, type StageRoutes, type WaferMesh } from './stage.js';
import type { Placement } from '../wafer/place.js';
import { MAX_COMBINE_PIECES } from './kvChunks.js';
import { projectionGraph } from './graph.js';
import { projectFloor, type FloorReport } from './floor.js';

export type ProjectDtype = 'bf16' | 'int8' | 'mxfp4';
export const PROJECT_DTYPES: readonly ProjectDtype[] = ['bf16', 'int8', 'mxfp4'];
export type KvDtype = 'bf16' | 'f32';
export const KV_DTYPES: readonly KvDtype[] = ['bf16', 'f32'];

// MXFP4's bits per weight (routed experts only) and the bytes per activation value on an inter-wafer link are
// spec.costs (fabric/spec/assumptions.ts), so one override changes every stage that reads them.
/** The next token's id (i32) goes back from the last wafer to the first. */
export const TOKEN_ID_BYTES = 4;
/** Default decode context (capped by the model's max positions). */
export const DEFAULT_CONTEXT = 4096;
/** Default prompt length for the time to first token. */
export const DEFAULT_PROMPT_LENGTH = 1024;
/** Models with at most this many layers get every layer placed and timed at its own offset; others one layer per kind. */
const EXACT_LAYERS = 8;
/** Fan-outs the lowering tries, smallest first, until every matrix partitions under them (colours are not checked). */
const FAN_STEPS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
/** Builds the spread search may try. */
const SPREAD_STEPS = 6;

export interface ProjectOptions {
  /** bf16 (default), int8 (per-row scales), or mxfp4 (routed experts at 4.25 bits, everything else bf16). */
  dtype?: ProjectDtype;
  /**
   * The KV cache's dtype: bf16 (default, as bf16 models are served) or f32 (as the mesh engine runs it — what the
   * projection is checked against).
   */
  kvDtype?: KvDtype;
  /** Wafers in the pipeline: 'auto' (default) packs into as few as fit; N spreads the layers evenly over N. */
  wafers?: number | 'auto';
  /** Restrict each wafer to this sub-grid of the fabric (from its corner). */
  grid?: { width: number; height: number } | null;
  /** Users decoding at once (default 1). */
  batch?: number;
  /** Prompt length for the time to first token (default 1024, at most the context). */
  promptLength?: number;
  /** KV positions provisioned per user; decode is timed at the last (default min(4096, max positions), at least the prompt). */
  context?: number;
  /** A fault map of each wafer (the same on every wafer): logical grid for route-around, physical for remap. */
  faults?: FaultMap | null;
  repair?: RepairPolicy;
  /** Shrink blocks until the fullest wafer uses this fraction of its usable tiles (0 or absent: pack). */
  spread?: number;
  /** Fan-out bound for the lowering (default: the smallest of 8, 16, … that partitions every matrix). */
  maxFan?: number;
  /** Tiles each half-layer's hub is split over (default: one per q/k/v block column, lower.ts hubSliceCols). */
  hubSlices?: number;
  /**
   * KV positions per chunk tile of a chunked KV head: a number, 'fill' (as many as fit), or absent (the cheapest
   * attention over a chunk plus combine; as many as fit when the extra chunk tiles would not fit a wafer).
   */
  kvChunkPositions?: number | 'fill';
  /** Split KV heads over chunk tiles of kvChunkPositions (a number) even where a head's cache fits one tile (default false). */
  kvChunkFitting?: boolean;
  /** The KV combine's shape (default: the fastest as the engine runs it); for tests that run each on the engine. */
  kvCombineShape?: ReduceShape;
  /** With automatic KV chunks: prefer fewer wafers over faster (smaller) chunks (default true; a grid sweep: false). */
  fewestWafers?: boolean;
  /**
   * Balance the stages' blocks (compiler/wafer/balance.ts): smaller blocks for the lighter stages where the wafers
   * hold them without one more and the layers are faster (default true, without a spread); false: every stage's
   * blocks at the full tile budget.
   */
  balance?: boolean;
}

/** Seconds of a user's decode token, by cause. */
export interface ProjectionBreakdown {
  /** CE work: matvecs, attention, other vector ops, task starts and send issues. */
  compute: number;
  /** What SRAM bandwidth adds beyond the arithmetic. */
  sram: number;
  /** On-wafer fabric: hop and ramp latency, and the serialisation of reductions, broadcasts and transfers. */
  communication: number;
  interWafer: number;
  /** Waiting for a pipeline slot when more users are in flight than the slowest stage serves in one token latency. */
  bubbles: number;
}

export interface ProjectionDetail extends PathSplit {
  interWafer: number;
  bubbles: number;
}

export interface ProjectionStage {
  kind: string;
  /** Layers of this kind. */
  layers: number;
  tilesPerLayer: number;
  /** Cycles of one layer (hub to next hub); with several layers of the kind, the first's. */
  cycles: number;
  kvPositionsPerTile: number;
  /** Tiles whose buffers overflow a tile's SRAM (held as spans, costed as one compute engine). */
  overflowTiles: number;
  /**
   * Colours its routes use, as the compiler's colouring assigns them; with several layers of the kind placed apart,
   * the most any needs. At most colourBudget unless coloursWithinBudget is false (then null: more than 32).
   */
  colours: number | null;
  /** The most streams any tile of the layer receives. */
  receiveStreams: number;
}

export interface ProjectionReport {
  model: string;
  fabric: string;
  dtype: ProjectDtype;
  kvDtype: KvDtype;
  grid: { width: number; height: number };
  usableTilesPerWafer: number;
  batch: number;
  promptLength: number;
  context: number;
  /** Longest context (positions per user, at this batch) the wafers could hold, every KV chunk tile full. */
  maxContext: number;
  /** Per user. */
  decodeTokensPerSecond: number;
  aggregateTokensPerSecond: number;
  timeToFirstTokenSeconds: number;
  /** One token through every stage, alone. */
  tokenLatencySeconds: number;
  /** The slowest pipeline stage (a layer, the embedding, the LM head, or an inter-wafer link): what bounds aggregate throughput and prefill. */
  slowestStageSeconds: number;
  wafers: number;
  /** The fullest wafer's tiles. */
  tilesUsedPerWafer: number;
  tilesPerWafer: number[];
  layersPerWafer: number[];
  /** Seconds of a user's token by cause (they sum to 1 / decodeTokensPerSecond). */
  breakdown: ProjectionBreakdown;
  breakdownDetail: ProjectionDetail;
  /** The largest cause in breakdownDetail. */
  boundBy: string;
  stages: ProjectionStage[];
  /** The embedding (step start to the first layer's hub) and the final norm + LM head + argmax (its hub to the end). */
  head: { embeddingTiles: number; lmHeadTiles: number; embeddingCycles: number; lmHeadCycles: number; cycles: number; embeddingColours: number | null; lmHeadColours: number | null };
  /** Colours a tile's router offers (the fabric's). */
  colourBudget: number;
  /** Every stage coloured within colourBudget (false: no layout the projection tries fits; see approximations). */
  coloursWithinBudget: boolean;
  /**
   * The most streams any tile of the projection's stages receives (each on a colour of its own). Where that is more
   * than receiveQueues, the approximations say so: the layout is not held to the fabric's input queues.
   */
  receiveStreamsPerTile: number;
  /** Colours a tile can receive on at once (the fabric's input queues; null: one per routable colour). */
  receiveQueues: number | null;
  /**
   * Pieces a chunked KV head's partial goes up its combine tree in, at most (each a stream with a colour): 8 unless
   * the routes needed fewer to fit the colour budget (null without chunked KV heads).
   */
  kvCombinePieces: number | null;
  /**
   * The fewer, longer streams the layout took to fit the colour budget (LoweringStep): into and out of the layers' hub
   * slices (gather trees; with MLP inputs grouped too), and the LM head's input streams grouped.
   */
  narrowStreams: { layers: 'none' | 'gather-trees' | 'gather-trees+grouped-inputs'; lmHeadInputsGrouped: boolean };
  interWafer: { bytesPerToken: number; secondsPerBoundary: number; boundaries: number };
  maxFan: number;
  /** Tiles each half-layer's hub (its part of the residual, its norm) is split over. */
  hubSlices: number;
  budgetBytesPerTile: number;
  /** Fractions of budgetBytesPerTile the blocks of q/k/v, O and dense MLPs take (balance.ts; 1: packed). */
  stageBudgets: StageBudgetFractions;
  clockHz: number;
  approximations: string[];
  /** The floor (floor.ts, docs/floor.md): the fewest cycles per token the fabric allows under the same cost functions. */
  floorTokensPerSecond: number;
  /** decodeTokensPerSecond ÷ floorTokensPerSecond: 1 at the floor. */
  efficiency: number;
  floor: FloorReport;
  /** Every assumption of the cost model (fabric/spec/assumptions.ts) with the value this projection charged. */
  assumptions: AssumptionInUse[];
  method: string;
}

export const PROJECTION_METHOD =
  'one layer per kind, the embedding and the LM head compiled at tile granularity (lower, place at their offsets on their wafers, route), timed by estimateStep on the engine’s cost functions; a token = embedding + Σ layer hub-to-hub cycles + LM head + inter-wafer transfers';

/** Bad input in `option` (a ProjectOptions field, or the fabric). */
function bad(what: string, option: keyof ProjectOptions | 'fabric', fix: string): never {
  throw new OptionError(option, what, fix);
}

/** Validates and fills the options. */
function resolveOptions(cfg: ModelConfig, spec: FabricSpec, o: ProjectOptions) {
  const dtype = o.dtype ?? 'bf16';
  if (!PROJECT_DTYPES.includes(dtype)) bad(`unknown dtype "${dtype}"`, 'dtype', `use one of ${PROJECT_DTYPES.join(', ')}`);
  const kvDtype = o.kvDtype ?? 'bf16';
  if (!KV_DTYPES.includes(kvDtype)) bad(`unknown KV-cache dtype "${kvDtype}"`, 'kvDtype', `use one of ${KV_DTYPES.join(', ')}`);
  if (dtype === 'mxfp4' && !cfg.moe) bad(`mxfp4 quantises routed experts, and ${cfg.name} has none`, 'dtype', 'use bf16 or int8 for a dense model');
  const batch = o.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) bad(`batch must be a whole number ≥ 1, got ${batch}`, 'batch', 'give 1 or more');
  const promptLength = o.promptLength ?? Math.min(DEFAULT_PROMPT_LENGTH, o.context ?? DEFAULT_CONTEXT);
  if (!Number.isInteger(promptLength) || promptLength < 1) bad(`prompt length must be a whole number ≥ 1, got ${promptLength}`, 'promptLength', 'give 1 or more');
  const context = o.context ?? Math.max(Math.min(DEFAULT_CONTEXT, cfg.maxPositionEmbeddings), promptLength);
  if (!Number.isInteger(context) || context < 1) bad(`context must be a whole number ≥ 1, got ${context}`, 'context', 'give 1 or more');
  if (promptLength > context) bad(`prompt length ${promptLength} does not fit a context of ${context}`, 'promptLength', `give at most ${context}, or a longer context`);
  const grid = o.grid ?? { width: spec.widthTiles, height: spec.heightTiles };
  if (!Number.isInteger(grid.width) || !Number.isInteger(grid.height) || grid.width < 1 || grid.height < 1) bad(`grid ${grid.width}x${grid.height} is not a size in tiles`, 'grid', 'give WxH with whole numbers ≥ 1, e.g. 420x420');
  if (grid.width > spec.widthTiles || grid.height > spec.heightTiles) bad(`grid ${grid.width}x${grid.height} is larger than ${spec.name}'s ${spec.widthTiles}x${spec.heightTiles}`, 'grid', `give at most ${spec.widthTiles}x${spec.heightTiles}`);
  const wafers = o.wafers ?? 'auto';
  if (wafers !== 'auto' && (!Number.isInteger(wafers) || wafers < 1)) bad(`wafers must be "auto" or a whole number ≥ 1, got ${wafers}`, 'wafers', 'give auto or 1 or more');
  const spread = o.spread ?? 0;
  if (!(spread >= 0 && spread <= 1)) bad(`spread must be in [0, 1], got ${spread}`, 'spread', 'give a fraction such as 0.9');
  if (o.maxFan !== undefined && (!Number.isInteger(o.maxFan) || o.maxFan < 1)) bad(`maxFan must be a whole number ≥ 1, got ${o.maxFan}`, 'maxFan', 'give 8 or more');
  if (o.hubSlices !== undefined && !(Number.isInteger(o.hubSlices) && o.hubSlices >= 1)) bad(`hub slices must be a whole number ≥ 1, got ${o.hubSlices}`, 'hubSlices', 'give auto or a number such as 16');
  if (o.hubSlices !== undefined && o.hubSlices > cfg.hiddenSize) bad(`${o.hubSlices} hub slices are more than the model's ${cfg.hiddenSize} hidden columns`, 'hubSlices', `give auto or at most ${cfg.hiddenSize}`);
  return { dtype, kvDtype, batch, promptLength, context, grid, wafers, spread, repair: o.repair ?? 'route-around', faults: o.faults ?? null };
}

/** The mesh of one wafer: the (sub-)grid spec, and its faults as placement and the estimate see them. */
function waferMesh(spec: FabricSpec, grid: { width: number; height: number }, faults: FaultMap | null, repair: RepairPolicy): WaferMesh {
  const sub: FabricSpec = grid.width === spec.widthTiles && grid.height === spec.heightTiles ? spec : { ...spec, widthTiles: grid.width, heightTiles: grid.height };
  const n = sub.widthTiles * sub.heightTiles;
  if (!faults) return { spec: sub, faults: null, linkExtraLatencyCycles: null, usable: () => true, usableTiles: n };
  if (repair === 'remap') {
    const r = remapRepair(faults, sub);
    return { spec: sub, faults: null, linkExtraLatencyCycles: r.extraLatencyCycles, usable: () => true, usableTiles: n };
  }
  if (faults.width !== sub.widthTiles || faults.height !== sub.heightTiles) {
    bad(`the fault map is ${faults.width}x${faults.height} but each wafer is ${sub.widthTiles}x${sub.heightTiles}`, 'faults', 'give a map of the (sub-)grid, or a fault density (a map is generated per wafer)');
  }
  let usableTiles = 0;
  for (let i = 0; i < n; i++) if (faults.isTileUsable(i)) usableTiles++;
  return { spec: sub, faults, linkExtraLatencyCycles: null, usable: (i) => faults.isTileUsable(i), usableTiles };
}

/** Layers that lower identically share a kind: the MLP's shape and the attention window. */
function kindOf(layer: LayerNode): string {
  const mlp = layer.mlp.kind === 'dense' ? `dense-${layer.mlp.dense.intermediate}` : `moe-${layer.mlp.moe.experts.length}x${layer.mlp.moe.experts[0].intermediate}`;
  return layer.attention.window !== null ? `${mlp}-window${layer.attention.window}` : mlp;
}

/** The experts an estimate routes to: spread evenly over the experts, so their distances are typical, not the nearest. */
export function spreadExperts(k: number, experts: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * experts) / k));
}

interface Build {
  maxFan: number;
  budgetBytes: number;
  fractions: StageBudgetFractions;
  embedding: LoweredStage;
  lmHead: LoweredStage;
  kinds: Map<string, LoweredStage>;
}

/** Packs [embedding, layers…, LM head] in order into wafers: as few as fit, or exactly `wafers` evenly. */
function assignWafers(embTiles: number, layerTiles: number[], lmTiles: number, usable: number, wafers: number | 'auto', where: 'grid' | 'fabric') {
  const items = [embTiles, ...layerTiles, lmTiles];
  const biggest = Math.max(...items);
  const names = (i: number) => (i === 0 ? 'the embedding' : i === items.length - 1 ? 'the LM head' : `layer ${i - 1}`);
  const big = items.findIndex((t) => t > usable);
  if (big >= 0) bad(`${names(big)} needs ${items[big]} tiles but a wafer has ${usable} usable`, where, 'use a larger grid, the int8 or mxfp4 dtype, or a fabric with more SRAM per tile');
  const pack = (capacity: number) => {
    const waferOf: number[] = [];
    const offset: number[] = [];
    const tiles: number[] = [0];
    for (const t of items) {
      if (tiles[tiles.length - 1] + t > capacity) tiles.push(0);
      waferOf.push(tiles.length - 1);
      offset.push(tiles[tiles.length - 1]);
      tiles[tiles.length - 1] += t;
    }
    return { waferOf, offset, tiles };
  };
  let packed = pack(usable);
  if (wafers !== 'auto') {
    if (wafers < packed.tiles.length) bad(`${wafers} wafer${wafers === 1 ? '' : 's'} cannot hold the model: it needs ${packed.tiles.length}`, 'wafers', `give at least ${packed.tiles.length}, or auto`);
    // The smallest capacity that still packs into the wafers asked for: the layers spread evenly over them.
    let lo = Math.max(biggest, Math.ceil(items.reduce((a, b) => a + b, 0) / wafers));
    let hi = usable;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (pack(mid).tiles.length <= wafers) hi = mid;
      else lo = mid + 1;
    }
    packed = pack(lo);
  }
  return packed;
}

export function projectWafer(cfg: ModelConfig, spec: FabricSpec, opts: ProjectOptions = {}): ProjectionReport {
  // Where a stage's routes need more colours than the fabric has, the KV combine goes up in fewer pieces (fewer
  // streams on its links), and then the layers' hub slices take fewer, longer streams (gather trees and grouped MLP
  // inputs, NARROW); the estimate charges the slower combine and times the relays. Each alternative re-lowers the
  // layers; the memo keeps what it does not change (the embedding and LM head lowered, and every stage placed at the
  // same offset: its colours and its time), so a retry costs only the stages it changes.
  const memo = new StageMemo();
  // The first layout that built, kept as its step: built again only where none fits (its plans, kept through a search
  // of several layouts, were the largest live objects: llama-3.1-70b tries four).
  let first: { step: LoweringStep; opts: ProjectOptions } | null = null;
  const search = new LoweringSearch(opts.hubSlices !== undefined);
  let lastColour: ColourError | null = null;
  const fitted = firstThatColours(
    LOWERING_STEPS,
    (step, last) => {
      lastColour = last;
      return search.worth(step, last);
    },
    (alt) => {
      const step = search.take(alt);
      let built: Built;
      const stepOpts = step.hubSlices !== undefined ? { ...opts, hubSlices: step.hubSlices } : opts;
      try {
        built = buildProjection(cfg, spec, stepOpts, step, memo);
      } catch (e) {
        memo.releasePlans([], true);
        // Slices that no partition fits are not a layout to try: the colours are what still overflows.
        if (step.hubSlices === undefined || !(e instanceof InputError) || !lastColour) throw e;
        throw lastColour;
      }
      first ??= { step, opts: stepOpts };
      search.slices = built.b.embedding.hubSlices;
      try {
        return timeProjection(cfg, spec, opts, built, memo, true);
      } finally {
        memo.releasePlans([], true);
      }
    },
  );
  if (fitted.ok) return fitted.result;
  // Balanced blocks take more streams: where no layout of them fits the colours, every layout packed.
  if (opts.balance !== false) return projectWafer(cfg, spec, { ...opts, balance: false });
  // Not yet: a mechanism for every stage (the embedding's rows, the LM head's reductions). Until then the first
  // layout is timed and reported as beyond the budget, with the colours it needs.
  const r = timeProjection(cfg, spec, opts, buildProjection(cfg, spec, first!.opts, first!.step, memo), memo, false);
  r.approximations.push(`routes beyond the fabric's ${r.colourBudget} colours (${fitted.last.what}): no layout the projection tries fits, so this one is timed as if the routers had the colours it needs`);
  return r;
}

/** Which of LOWERING_STEPS may relieve the last overflow, given the layouts a projection has tried. */
export class LoweringSearch {
  tried: LoweringStep = LOWERING_STEPS[0];
  /** Hub slices of the last layout built: a fewer-slices step must have fewer. */
  slices = Infinity;
  /** Once the LM head needed grouped inputs, every later layout keeps them (narrower slices do not relieve it). */
  private headGrouped = false;

  /** `userSlices`: the user fixed the hub slices, so no step changes them. */
  constructor(private readonly userSlices: boolean) {}

  worth(step: LoweringStep, last: ColourError): boolean {
    // The LM head's inputs grouped: right after the same layout failed there, and only once.
    if (step.groupHead) return !this.headGrouped && last.part === 'lm_head' && sameLayout(step, this.tried);
    // Fewer hub slices only where the user left them to the projection, and fewer than the layout that failed.
    if (step.hubSlices !== undefined && (this.userSlices || step.hubSlices >= this.slices)) return false;
    return worthTrying(step, this.tried, last);
  }

  /** The layout to build for `alt`: grouped LM head inputs kept once taken. */
  take(alt: LoweringStep): LoweringStep {
    this.headGrouped ||= alt.groupHead === true;
    this.tried = { ...alt, groupHead: this.headGrouped };
    return this.tried;
  }
}

/**
 * A lowering the projection tries: the KV combine's most pieces (undefined: as many as help), narrow hub streams, and
 * the hub slices (undefined: the projection's own count, or the user's).
 */
export interface LoweringStep {
  pieces: number | undefined;
  /** 'gather': gather trees into the hub slices; 'all': those and grouped MLP inputs; false: neither. */
  narrow: false | 'gather' | 'all';
  hubSlices?: number;
  /** The LM head's input streams grouped to the fabric's colours (LowerOptions.lmHeadInputs). */
  groupHead?: boolean;
}

const sameLayout = (a: LoweringStep, b: LoweringStep): boolean => a.pieces === b.pieces && a.narrow === b.narrow && a.hubSlices === b.hubSlices;

/**
 * Most streams a hub slice takes from one region's roots where the layers are lowered narrow: wide models return up
 * to ~17 O-projection roots into each slice, which beside the slice's norm tree and input used every colour at the
 * hub and more on the links into it. Four leave a quarter of a 24-colour budget for them; more roots gather first.
 */
export const NARROW_GATHER_FAN = 4;

/**
 * Hub slices tried, narrow, where a layer still overflows: each slice feeds every KV head's q/k/v region one stream
 * (its block column), so a wide model's slices (24 for llama-3.1-70b) multicast that many streams across the whole
 * attention; fewer, wider slices send fewer (the hub and q/k/v tiles hold more of x; the estimate times them).
 */
const NARROW_HUB_SLICES = [16, 12, 8];

/**
 * Tried in order until every stage's colours fit: fewer combine pieces first, then gather trees, then gather trees
 * and grouped MLP inputs (with fewer combine pieces), then those with fewer hub slices; each followed by the same
 * layout with the LM head's inputs grouped, tried where the LM head was what overflowed.
 */
export const LOWERING_STEPS: readonly LoweringStep[] = (
  [
    ...[undefined, 4, 2, 1].map((pieces) => ({ pieces, narrow: false as const })),
    // Gather trees alone first: grouped inputs cost more (each MLP tile receives several block columns of x).
    { pieces: undefined, narrow: 'gather' as const },
    ...[undefined, 4, 2, 1].map((pieces) => ({ pieces, narrow: 'all' as const })),
    ...NARROW_HUB_SLICES.map((hubSlices) => ({ pieces: undefined, narrow: 'all' as const, hubSlices })),
  ] as LoweringStep[]
).flatMap((step) => [step, { ...step, groupHead: true }]);

/**
 * Whether `step` may relieve `last` (raised by `tried`): fewer pieces only where the KV combine overflowed with more;
 * narrow streams once, at the combine's most pieces, after the wide layout failed in a layer.
 */
function worthTrying(step: LoweringStep, tried: LoweringStep, last: ColourError): boolean {
  // Fewer slices change every stage (the embedding sends, and the LM head's hub receives, a stream per slice).
  if (step.hubSlices !== undefined) return true;
  if (step.narrow !== tried.narrow) return step.narrow !== false && step.pieces === undefined && last.part === 'layer';
  return last.combinePieces !== null && (step.pieces ?? MAX_COMBINE_PIECES) < last.combinePieces;
}

/**
 * Tries lowering alternatives in order until a projection's colours fit: `attempt` with each, skipping those that
 * `worth` says cannot relieve the last ColourError. The first fit, or the last error where none fits.
 */
export function firstThatColours<A, R>(alternatives: readonly A[], worth: (alt: A, last: ColourError) => boolean, attempt: (alt: A) => R): { ok: true; result: R } | { ok: false; last: ColourError } {
  let last: ColourError | null = null;
  for (const alt of alternatives) {
    if (last && !worth(alt, last)) continue;
    try {
      return { ok: true, result: attempt(alt) };
    } catch (e) {
      if (!(e instanceof ColourError)) throw e;
      last = e;
    }
  }
  return { ok: false, last: last! };
}

/** How many embedding and LM head plans the memo holds at once (a spread search lowers one per tile budget it tries). */
const MEMO_LOWERINGS = 4;

/**
 * What a projection computes once across its lowering alternatives: the embedding and LM head lowered (no KV cache,
 * so no alternative changes them), each layer lowered, and per lowered stage and scan offset its colours (they do not
 * depend on the KV position) and per position its time. A layout's plans are released once it is timed (releasePlans).
 */
export class StageMemo {
  /**
   * The tile budget the last spread search of this projection settled on: the next layout's search tries it first
   * (layouts the colour search tries differ in their streams, hardly in their tiles).
   */
  spreadBudget: number | null = null;
  /** The embedding and LM head lowered, by key; the keys of those whose plans are held, oldest first. */
  private readonly ends = new Map<string, LoweredStage>();
  private held: string[] = [];
  /** Per stage and offset: its colours (within the budget, or past it) and the routes they were found on (StageRoutes.take). */
  private readonly colours = new WeakMap<LoweredStage, Map<number, { fit: StageColours | null; error: ColourError | null; past: StageColours | null; take: Uint8Array | null }>>();
  private readonly times = new WeakMap<LoweredStage, Map<string, { cycles: number; path: PathSplit }>>();
  /**
   * Layer stages by what their lowering depends on, kept for the whole projection with their colours and times but
   * not their plans (releasePlans): a later layout that lowers a layer the same way (one that changes only the LM
   * head's streams, or a balance tried before) reuses it, lowered again only where it is placed somewhere new.
   */
  private readonly layers = new Map<string, LoweredStage>();

  /** The embedding or LM head `req()` lowers, kept under `key`; no more than MEMO_LOWERINGS of their plans held. */
  lower(key: string, req: () => StageRequest): LoweredStage {
    const kept = this.ends.get(key);
    if (kept) return kept;
    const stage = lowerStage(req());
    this.ends.set(key, stage);
    this.held.push(key);
    if (this.held.length > MEMO_LOWERINGS) releasePlan(this.ends.get(this.held.shift()!)!);
    return stage;
  }

  /** The layer stage `req()` lowers, kept under `key`. */
  layer(key: string, req: () => StageRequest): LoweredStage {
    let stage = this.layers.get(key);
    if (!stage) this.layers.set(key, (stage = lowerStage(req())));
    return stage;
  }

  /** Frees the plans of the layers kept but those of `keep`, and with `ends`, of the embeddings and LM heads but those. */
  releasePlans(keep: Iterable<LoweredStage> = [], ends = false): void {
    const kept = new Set(keep);
    for (const stage of this.layers.values()) if (!kept.has(stage)) releasePlan(stage);
    if (!ends) return;
    for (const key of this.held) if (!kept.has(this.ends.get(key)!)) releasePlan(this.ends.get(key)!);
    this.held = this.held.filter((key) => kept.has(this.ends.get(key)!));
  }

  /** timeStage's cycles, path and colours, each computed once. */
  time(stage: LoweredStage, scanOffset: number, position: number, strictColours: boolean): { cycles: number; path: PathSplit; colours: StageColours } {
    let placement: Placement | null = null;
    const placed = () => (placement ??= placeStage(stage, scanOffset));
    let routes: StageRoutes | null = null;
    const routed = () => (routes ??= routeStage(stage, placed()));
    let byOffset = this.colours.get(stage);
    if (!byOffset) this.colours.set(stage, (byOffset = new Map()));
    let byPosition = this.times.get(stage);
    if (!byPosition) this.times.set(stage, (byPosition = new Map()));
    const key = `${scanOffset}:${position}`;
    let c = byOffset.get(scanOffset);
    if (!c) {
      // Coloured on the row-first routes first (a layout that does not fit is refused before anything is timed); then
      // each stream on the route the estimate chooses at this step where that still colours (chooseRoutes).
      c = { fit: null, error: receiveOverflow(stage), past: null, take: null };
      // A tile receiving more streams than it has colours fails whatever the routes: not routed to find that out.
      if (!c.error) {
        try {
          const r = routed();
          const coloured = stageColours(stage, placed(), true, r);
          const { colours, timed } = chooseRoutes(stage, placed(), position, r, coloured);
          c.fit = colours;
          c.take = r.take;
          if (timed) byPosition.set(key, { cycles: timed.cycles, path: timed.path });
        } catch (e) {
          if (!(e instanceof ColourError)) throw e;
          c.error = e;
        }
      }
      byOffset.set(scanOffset, c);
    }
    if (c.error && strictColours) throw c.error;
    const withTake = (): StageRoutes => Object.assign(routed(), { take: c.take });
    if (!c.fit && !c.past) {
      const r = withTake();
      c.past = coloursPast(stage, placed(), r);
      c.take = r.take;
    }
    const colours = (c.fit ?? c.past)!;
    let t = byPosition.get(key);
    if (!t) {
      const { cycles, path } = estimateStage(stage, placed(), position, withTake());
      byPosition.set(key, (t = { cycles, path }));
    }
    return { ...t, colours };
  }
}

/** The narrow streams a stage of `part` is lowered with at `step` (StageRequest.narrow). */
function narrowOf(step: LoweringStep, part: StageRequest['part'], colours: number): StageRequest['narrow'] {
  if (part === 'lm_head') return step.groupHead ? { gatherFan: Infinity, regionInputs: Infinity, lmHeadInputs: colours } : undefined;
  if (part !== 'layer' || step.narrow === false) return undefined;
  return { gatherFan: NARROW_GATHER_FAN, regionInputs: step.narrow === 'all' ? colours : Infinity };
}

/** A projection's stages lowered and packed into wafers, ready to be timed where they sit. */
interface Built {
  o: ReturnType<typeof resolveOptions>;
  mesh: WaferMesh;
  graph: ModelGraph;
  approximations: readonly string[];
  programDtype: 'bf16' | 'int8';
  expertWeightBits: number | undefined;
  kindLayers: Map<string, LayerNode[]>;
  b: Build;
  packing: ReturnType<typeof assignWafers>;
  step: LoweringStep;
}

/** How far toward the balanced blocks a build goes (balance.ts `alpha`), tried in order until one keeps the wafers. */
const BALANCE_STEPS = [1, 0.5, 0.25];

/**
 * The build with its stages' blocks balanced as far as the wafers hold them without one more (BALANCE_STEPS), unless
 * its layers are slower (`cycles`: their sum where they sit, Infinity where their colours do not fit); else `b` as it
 * is. A balanced build whose colours do not fit is kept: the projection's colour search then tries its next layout
 * balanced, and only where none fits, every layout packed (projectWafer).
 */
function balanceStages<B, P extends { tiles: number[] }>(b: B, packing: P, build: (alpha: number) => B, assign: (b: B) => P, cycles: (b: B, packing: P) => number): { b: B; packing: P } {
  for (const alpha of BALANCE_STEPS) {
    try {
      const next = build(alpha);
      const nextPacking = assign(next);
      if (nextPacking.tiles.length > packing.tiles.length) continue;
      // Smaller blocks take more streams, and a stage's time is more than its matvecs: kept only where faster.
      const balanced = cycles(next, nextPacking);
      return balanced === Infinity || balanced < cycles(b, packing) ? { b: next, packing: nextPacking } : { b, packing };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }
  return { b, packing };
}

/** Where a stage of `offsets` (the packing's: embedding, layers…, LM head) is timed: its `stage.in` stub takes the usable tile just before it. */
const stageOffset = (offsets: readonly number[], i: number): number => Math.max(0, offsets[i] - 1);

/** The decode step a stage is timed at: the last position its cache holds (its window's, for a windowed layer). */
function decodePosition(stage: LoweredStage, context: number): number {
  const window = stage.req.layers[0]?.attention.window ?? null;
  return Math.max(0, (window === null ? context : Math.min(context, window)) - 1);
}

/**
 * A build's layers' cycles where the first of each kind sits (memo.time, so the projection's timing reuses them), or
 * Infinity where a kind's routes do not colour.
 */
function buildLayerCycles(b: Build, offsets: readonly number[], layers: readonly LayerNode[], kindLayers: Map<string, LayerNode[]>, memo: StageMemo, context: number): number {
  let total = 0;
  for (const [k, ls] of kindLayers) {
    const stage = b.kinds.get(k)!;
    try {
      total += ls.length * memo.time(stage, stageOffset(offsets, layers.indexOf(ls[0]) + 1), decodePosition(stage, context), true).cycles;
    } catch (e) {
      if (e instanceof ColourError) return Infinity;
      throw e;
    }
  }
  return total;
}

// The build's phases (lower the stages, pick KV chunks, balance, spread) share the build and the packing they refine.
function buildProjection(cfg: ModelConfig, spec: FabricSpec, opts: ProjectOptions, step: LoweringStep, memo: StageMemo): Built {
  const kvCombinePieces = step.pieces;
  const o = resolveOptions(cfg, spec, opts);
  const mesh = waferMesh(spec, o.grid, o.faults, o.repair);
  reserveMeshScratch(mesh.spec.widthTiles * mesh.spec.heightTiles);
  const { graph, approximations } = projectionGraph(cfg);
  const programDtype: Built['programDtype'] = o.dtype === 'int8' ? 'int8' : 'bf16';
  const expertWeightBits = o.dtype === 'mxfp4' ? spec.costs.mxfp4BitsPerWeight : undefined;
  if (expertWeightBits) approximations.push(`MXFP4 experts held at ${expertWeightBits} bits per weight, each weight decoded to bf16 (assumption: ${spec.costs.mxfp4DecodeOpsPerWeight} 16-bit operations) and multiplied as bf16 into f32 sums`);

  // One representative layer per kind (the first of it), and for MoE the experts the estimate routes to.
  const kindLayers = new Map<string, LayerNode[]>();
  for (const l of graph.layers) {
    const k = kindOf(l);
    kindLayers.set(k, [...(kindLayers.get(k) ?? []), l]);
  }
  const chosen = cfg.moe ? new Set(spreadExperts(cfg.moe.topK, cfg.moe.numExperts)) : new Set<number>();
  const expertChoice = cfg.moe ? (k: number, e: number) => spreadExperts(k, e) : undefined;
  const request = (layers: LayerNode[], maxFan: number, budgetBytes: number, part: StageRequest['part'] = 'layer', stageBudgets = PACKED_FRACTIONS): StageRequest => {
    const window = layers[0]?.attention.window ?? null;
    return {
      graph,
      part,
      layers,
      mesh,
      dtype: programDtype,
      budgetBytes,
      stageBudgets,
      maxFan,
      maxSeq: window === null ? o.context : Math.min(o.context, window),
      projection: { lowerExpert: (_l, e) => chosen.has(e), expertWeightBits, kvDtype: o.kvDtype, kvChunkPositions, kvChunkFitting: opts.kvChunkFitting, kvCombineShape: opts.kvCombineShape, kvCombinePieces },
      batch: o.batch,
      expertChoice,
      sliceCols: opts.hubSlices !== undefined ? Math.ceil(graph.hidden / opts.hubSlices) : undefined,
      // An MLP region's input streams each span the region (a block column's tiles lie across all of it): no more of
      // them than a router has colours.
      narrow: narrowOf(step, part, spec.colours),
    };
  };
  /** One layer of each kind, lowered. */
  // Everything a layer's lowering reads that changes within a projection: its kind, fan-out, budgets, the KV chunking
  // the chunk size asked for comes to (a search's sizes often come to the chunking it already has), and the layout
  // step's combine pieces and narrow streams (the hub slices are the step's opts).
  const layerKey = (k: string, req: StageRequest) => {
    const f = req.stageBudgets ?? PACKED_FRACTIONS;
    const c = stageKvChunking(req);
    const chunks = c ? `${c.positions}/${c.chunks}/${c.reduce}/${c.pieces}` : 'none';
    return `${k}:${req.maxFan}:${req.budgetBytes}:${f.qkv}:${f.o}:${f.mlp}:${chunks}:${step.pieces}:${step.narrow}:${opts.hubSlices ?? 'auto'}`;
  };
  const lowerKinds = (maxFan: number, budgetBytes: number, fractions: StageBudgetFractions) =>
    new Map(
      [...kindLayers].map(([k, ls]) => {
        const req = request([ls[0]], maxFan, budgetBytes, 'layer', fractions);
        return [k, memo.layer(layerKey(k, req), () => req)] as const;
      }),
    );
  const build = (budgetBytes: number, fractions = PACKED_FRACTIONS): Build => {
    let lastError: unknown = null;
    for (const maxFan of opts.maxFan !== undefined ? [opts.maxFan] : FAN_STEPS) {
      try {
        // Layers first: their partitions are the ones a small fan-out refuses (the LM head takes any).
        const kinds = lowerKinds(maxFan, budgetBytes, fractions);
        // The embedding and LM head hold no KV cache: the KV options do not change them.
        const embedding = memo.lower(`embedding:${maxFan}:${budgetBytes}:${opts.hubSlices ?? 'auto'}`, () => request([], maxFan, budgetBytes, 'embedding'));
        // Nor does the fan-out, but through the hub slices and the LM head's blocks (a wider one often changes neither).
        const head = request([], maxFan, budgetBytes, 'lm_head');
        const lmHead = memo.lower(`lm_head:${budgetBytes}:${stageLmHeadLayout(head)}:${step.groupHead === true}`, () => head);
        return { maxFan, budgetBytes, fractions, embedding, lmHead, kinds };
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        lastError = e;
      }
    }
    throw lastError;
  };
  const assign = (b: Build, wafers: number | 'auto') =>
    assignWafers(b.embedding.tiles, graph.layers.map((l) => b.kinds.get(kindOf(l))!.tiles), b.lmHead.tiles, mesh.usableTiles, wafers, opts.grid ? 'grid' : 'fabric');

  // KV chunks of the fastest size (more, smaller chunk tiles) only where they need no more wafers than chunk tiles
  // as full as they fit: the wafer count comes first, then the smallest chunks that keep it.
  let kvChunkPositions: number | 'fill' | undefined = opts.kvChunkPositions;
  let b: Build;
  let packing: ReturnType<typeof assign>;
  try {
    b = build(tileBudgetBytes(mesh.spec));
    packing = assign(b, o.wafers);
  } catch (e) {
    if (!(e instanceof InputError) || kvChunkPositions !== undefined) throw e;
    kvChunkPositions = 'fill';
    b = build(tileBudgetBytes(mesh.spec));
    packing = assign(b, o.wafers);
  }
  const chunkedKinds = [...b.kinds.values()].filter((s) => s.kvTiles > 0 && s.kvPositionsPerTile < s.req.maxSeq);
  // (One wafer cannot become fewer.)
  if (kvChunkPositions === undefined && opts.fewestWafers !== false && chunkedKinds.length > 0 && packing.tiles.length > 1) {
    const withChunks = (positions: number | 'fill'): { build: Build; packing: ReturnType<typeof assign> } | null => {
      kvChunkPositions = positions;
      try {
        const built: Build = { ...b, kinds: lowerKinds(b.maxFan, b.budgetBytes, b.fractions) };
        return { build: built, packing: assign(built, o.wafers) };
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        return null;
      }
    };
    const fill = withChunks('fill');
    if (fill && fill.packing.tiles.length < packing.tiles.length) {
      // Fewer wafers with full chunk tiles: the smallest chunks (doubling from the fastest) that keep that count.
      let chosen = fill;
      let chosenPositions: number | 'fill' = 'fill';
      const fullest = Math.max(...chunkedKinds.map((s) => s.kvPositionsPerTile));
      const full = Math.max(...[...fill.build.kinds.values()].map((s) => s.kvPositionsPerTile));
      for (let positions = 2 * fullest; positions < full; positions *= 2) {
        const tried = withChunks(positions);
        if (tried && tried.packing.tiles.length === fill.packing.tiles.length) {
          chosen = tried;
          chosenPositions = positions;
          break;
        }
      }
      kvChunkPositions = chosenPositions;
      b = chosen.build;
      packing = chosen.packing;
    } else kvChunkPositions = undefined;
    memo.releasePlans(b.kinds.values());
  }
  // (A spread shrinks every stage's blocks alike: balanced and then spread, toy-dense over mini-32 ran 7% slower on the engine.)
  if (opts.balance !== false && o.spread === 0) {
    const fractions = (alpha: number) => balancedFractions(graph, mesh.spec, programDtype, alpha, expertWeightBits);
    const cycles = (x: Build, p: ReturnType<typeof assign>) => buildLayerCycles(x, p.offset, graph.layers, kindLayers, memo, o.context);
    const packed = b;
    // Each balance is tried once the ones before it were refused: only the packed build's plans are still needed. The
    // refused layers go before the next are lowered; the embedding and LM head after, but those the next build takes
    // again (they do not depend on the balance: at the same fan-out it is the same lowering, whose plan would be built
    // again when placed).
    const kept = [...packed.kinds.values(), packed.embedding, packed.lmHead];
    const balanced = (alpha: number) => {
      memo.releasePlans(kept);
      const next = build(packed.budgetBytes, fractions(alpha));
      memo.releasePlans([...kept, ...next.kinds.values(), next.embedding, next.lmHead], true);
      return next;
    };
    ({ b, packing } = balanceStages(b, packing, balanced, (next) => assign(next, o.wafers), cycles));
  }
  if (o.spread > 0) ({ b, packing } = spreadBlocks({ b, packing }, o.spread * mesh.usableTiles, memo, build, assign));

  return { o, mesh, graph, approximations, programDtype, expertWeightBits, kindLayers, b, packing, step };
}

/**
 * Smaller blocks until the fullest wafer holds about `target` tiles, the wafer count kept: a search on the tile budget
 * between a feasible one (hi: fewer tiles than the target) and an infeasible one (lo), from the budget this
 * projection's last search settled on where that lies between.
 */
function spreadBlocks(
  start: { b: Build; packing: ReturnType<typeof assignWafers> },
  target: number,
  memo: StageMemo,
  build: (budgetBytes: number, fractions: StageBudgetFractions) => Build,
  assign: (b: Build, wafers: number) => ReturnType<typeof assignWafers>,
): { b: Build; packing: ReturnType<typeof assignWafers> } {
  const wafers = start.packing.tiles.length;
  const tryBudget = (budget: number) => {
    try {
      const next = build(budget, start.b.fractions);
      const nextPacking = assign(next, wafers);
      return { built: { b: next, packing: nextPacking }, tiles: Math.max(...nextPacking.tiles) };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return null;
    }
  };
  const from = { hi: start.b.budgetBytes, hiTiles: Math.max(...start.packing.tiles), built: start, lo: MIN_SPREAD_BUDGET_BYTES };
  const hint = memo.spreadBudget;
  if (hint !== null && hint > from.lo && hint < from.hi) {
    const tried = tryBudget(hint);
    if (tried && tried.tiles <= target) Object.assign(from, { hi: hint, hiTiles: tried.tiles, built: tried.built });
    else from.lo = hint;
  }
  const found = searchSpread({ ...from, target, steps: SPREAD_STEPS, more: (hiTiles) => hiTiles < 0.95 * target, aim: true, build: tryBudget });
  memo.spreadBudget = found.budgetBytes;
  return found.built;
}

/** Times a built projection's stages where they sit and composes a token (throws ColourError with `strictColours`). */
function timeProjection(cfg: ModelConfig, spec: FabricSpec, opts: ProjectOptions, built: Built, memo: StageMemo, strictColours: boolean): ProjectionReport {
  const { o, mesh, graph, programDtype, expertWeightBits, kindLayers, b, packing } = built;
  const approximations = [...built.approximations];
  // Time the stages where they sit: the embedding at the start of the first wafer, a layer or the LM head at its offset
  // on its wafer (its `stage.in` stub takes the usable tile just before it).
  const L = graph.layers.length;
  const exact = L <= EXACT_LAYERS;
  // Decode is timed at the last position the cache holds: every KV chunk tile full but the last (attention and
  // kvAppend charge a chunk tile its window's rows up to the position).
  const positionFor = (stage: LoweredStage) => decodePosition(stage, o.context);
  const layerCycles: number[] = new Array(L);
  const layerPaths: PathSplit[] = new Array(L);
  const timedKinds = new Map<string, { cycles: number; path: PathSplit; colours: StageColours }>();
  const kindColours = new Map<string, number | null>();
  graph.layers.forEach((layer, l) => {
    const k = kindOf(layer);
    const stage = b.kinds.get(k)!;
    let t = exact ? undefined : timedKinds.get(k);
    if (!t) {
      t = memo.time(stage, stageOffset(packing.offset, l + 1), positionFor(stage), strictColours);
      timedKinds.set(k, t);
    }
    layerCycles[l] = t.cycles;
    layerPaths[l] = t.path;
    const before = kindColours.get(k);
    kindColours.set(k, before === null || t.colours.colours === null ? null : Math.max(before ?? 0, t.colours.colours));
  });
  // After the layers: a layout whose colours do not fit fails there first, before the LM head (the largest stage) is timed.
  const embedding = memo.time(b.embedding, 0, 0, strictColours);
  const lmHead = memo.time(b.lmHead, stageOffset(packing.offset, L + 1), 0, strictColours);
  const head = { cycles: embedding.cycles + lmHead.cycles, path: Object.fromEntries(PATH_CAUSES.map((c) => [c, embedding.path[c] + lmHead.path[c]])) as PathSplit };

  // Compose a token.
  const clock = mesh.spec.clockHz;
  const wafers = packing.tiles.length;
  const boundaries = wafers - 1;
  const activationBytes = graph.hidden * spec.costs.interWaferBytesPerValue;
  const link = spec.interWafer;
  const boundarySeconds = link.latencySeconds + activationBytes / link.bytesPerSecond;
  const interWaferSeconds = boundaries > 0 ? boundaries * boundarySeconds + link.latencySeconds + TOKEN_ID_BYTES / link.bytesPerSecond : 0;
  const onWafer = new Float64Array(PATH_CAUSES.length);
  PATH_CAUSES.forEach((c, i) => {
    onWafer[i] = head.path[c];
    for (let l = 0; l < L; l++) onWafer[i] += layerPaths[l][c];
  });
  const onWaferCycles = head.cycles + layerCycles.reduce((a, c) => a + c, 0);
  const latency = onWaferCycles / clock + interWaferSeconds;
  const slowest = Math.max(embedding.cycles / clock, lmHead.cycles / clock, ...layerCycles.map((c) => c / clock), boundaries > 0 ? activationBytes / link.bytesPerSecond : 0);
  const interval = Math.max(latency, o.batch * slowest);
  const bubbles = interval - latency;
  const seconds = (c: number) => c / clock;
  const detail = Object.fromEntries(PATH_CAUSES.map((c, i) => [c, seconds(onWafer[i])])) as PathSplit;
  const breakdownDetail: ProjectionDetail = { ...detail, interWafer: interWaferSeconds, bubbles };
  const breakdown: ProjectionBreakdown = {
    compute: detail.matvec + detail.attention + detail.vector + detail.overhead,
    sram: detail.sram,
    communication: detail.hops + detail.reduction + detail.broadcast + detail.transfer + detail.wait,
    interWafer: interWaferSeconds,
    bubbles,
  };
  const boundBy = Object.entries(breakdownDetail).reduce((best, e) => (e[1] > best[1] ? e : best))[0];

  // Longest context: with every KV chunk tile full, what each wafer's tiles outside the KV caches leave room for
  // (all users; sliding-window layers hold their window whatever the context).
  let longest = Infinity;
  for (let w = 0; w < wafers; w++) {
    let kvNow = 0;
    let tilesPerPosition = 0;
    graph.layers.forEach((layer, l) => {
      if (packing.waferOf[l + 1] !== w || layer.attention.window !== null) return;
      const s = b.kinds.get(kindOf(layer))!;
      if (s.kvTiles === 0 || s.kvFillPositions === 0) return;
      kvNow += s.kvTiles * o.batch;
      tilesPerPosition += (layer.attention.numKvHeads * o.batch) / s.kvFillPositions;
    });
    if (tilesPerPosition > 0) longest = Math.min(longest, (mesh.usableTiles - packing.tiles[w] + kvNow) / tilesPerPosition);
  }
  const maxContext = Number.isFinite(longest) ? Math.max(o.context, Math.floor(longest)) : o.context;

  const layersPerWafer = Array.from({ length: wafers }, (_, w) => graph.layers.filter((_, l) => packing.waferOf[l + 1] === w).length);
  const stages: ProjectionStage[] = [...kindLayers].map(([k, ls]) => {
    const s = b.kinds.get(k)!;
    const first = graph.layers.indexOf(ls[0]);
    return { kind: k, layers: ls.length, tilesPerLayer: s.tiles, cycles: layerCycles[first], kvPositionsPerTile: s.kvPositionsPerTile, overflowTiles: s.overflowTiles, colours: kindColours.get(k)!, receiveStreams: s.receiveStreams };
  });
  const receiving = mostReceiving(b);
  const floor = projectFloor(graph, mesh.spec, { usableTiles: mesh.usableTiles, budgetBytes: tileBudgetBytes(mesh.spec), dtype: programDtype, expertWeightBits, kvDtype: o.kvDtype, context: o.context, batch: o.batch, wafers });
  if (o.kvDtype === 'bf16') approximations.push('KV cache held in bf16, attention multiply-adds at the 16-bit-into-f32 width (`@fmachs`), as the mesh engine runs it with compileModel kvDtype bf16');
  if (stages.some((s) => s.overflowTiles > 0)) approximations.push('hub tiles whose vectors overflow one tile hold a span of tiles and are costed as one compute engine (as the lowering places them)');
  const moe = graph.layers.find((l) => l.mlp.kind === 'moe');
  if (moe && moe.mlp.kind === 'moe' && cfg.moe && cfg.moe.topK < moe.mlp.moe.experts.length) {
    const E = moe.mlp.moe.experts.length;
    const colours = mesh.spec.colours;
    const beyond = E > colours ? `, more than a tile's ${colours} colours: the dispatch trees or relays that needs are not charged` : ', not coloured here';
    approximations.push(`MoE layers route only the ${cfg.moe.topK} experts the estimate chooses (the other ${E - cfg.moe.topK} hold their tiles, without routes): a full layout's MoE hub slices send ${E} dispatches and take ${E} returns each${beyond}`);
  }
  const queues = mesh.spec.receiveQueues;
  if (queues !== undefined && receiving.streams > queues) {
    approximations.push(`tiles receive on up to ${receiving.streams} colours (${receiving.where}), more than the ${queues} input queues of a ${spec.name} tile (docs/hardware.md#tasks-and-queues): timed as if each receive had a queue; the relays or turns that needs are not charged`);
  }
  return {
    model: cfg.name,
    fabric: spec.name,
    dtype: o.dtype,
    kvDtype: o.kvDtype,
    grid: { width: mesh.spec.widthTiles, height: mesh.spec.heightTiles },
    usableTilesPerWafer: mesh.usableTiles,
    batch: o.batch,
    promptLength: o.promptLength,
    context: o.context,
    maxContext,
    decodeTokensPerSecond: 1 / interval,
    aggregateTokensPerSecond: o.batch / interval,
    timeToFirstTokenSeconds: latency + (o.promptLength - 1) * slowest,
    tokenLatencySeconds: latency,
    slowestStageSeconds: slowest,
    wafers,
    tilesUsedPerWafer: Math.max(...packing.tiles),
    tilesPerWafer: packing.tiles,
    layersPerWafer,
    breakdown,
    breakdownDetail,
    boundBy,
    stages,
    head: { embeddingTiles: b.embedding.tiles, lmHeadTiles: b.lmHead.tiles, embeddingCycles: embedding.cycles, lmHeadCycles: lmHead.cycles, cycles: head.cycles, embeddingColours: embedding.colours.colours, lmHeadColours: lmHead.colours.colours },
    colourBudget: mesh.spec.colours,
    coloursWithinBudget: strictColours,
    receiveStreamsPerTile: receiving.streams,
    receiveQueues: queues ?? null,
    kvCombinePieces: chunkedCombinePieces(b),
    narrowStreams: { layers: built.step.narrow === false ? 'none' : built.step.narrow === 'gather' ? 'gather-trees' : 'gather-trees+grouped-inputs', lmHeadInputsGrouped: built.step.groupHead === true },
    interWafer: { bytesPerToken: activationBytes, secondsPerBoundary: boundarySeconds, boundaries },
    maxFan: b.maxFan,
    hubSlices: b.embedding.hubSlices,
    budgetBytesPerTile: b.budgetBytes,
    stageBudgets: b.fractions,
    clockHz: clock,
    approximations,
    floorTokensPerSecond: floor.tokensPerSecond,
    efficiency: 1 / interval / floor.tokensPerSecond,
    floor,
    assumptions: assumptionsOf(spec),
    method: PROJECTION_METHOD + (exact ? ' (every layer placed and timed at its own offset)' : ''),
  };
}

/** The most streams a tile of any stage receives, and which stage and unit that is. */
function mostReceiving(b: Build): { streams: number; where: string } {
  const all: [string, LoweredStage][] = [...[...b.kinds].map(([k, s]) => [`layer ${k}`, s] as [string, LoweredStage]), ['embedding', b.embedding], ['LM head', b.lmHead]];
  let most = { streams: 0, where: '' };
  for (const [name, s] of all) if (s.receiveStreams > most.streams) most = { streams: s.receiveStreams, where: `${name}'s ${s.receiveUnit} tiles` };
  return most;
}

/** The most pieces any chunked KV head's combine uses (null: no chunked heads). */
function chunkedCombinePieces(b: Build): number | null {
  let most: number | null = null;
  for (const s of b.kinds.values()) if (s.combinePieces !== null) most = Math.max(most ?? 0, s.combinePieces);
  return most;
}

/** One point of a grid sweep: the projection on that sub-grid, or why the model does not go there. */
export interface GridPoint {
  grid: { width: number; height: number };
  tiles: number;
  report: ProjectionReport | null;
  error: string | null;
}

/** Sub-grid sides a sweep visits (squares within the fabric), then the full grid, plus `extra` when given. */
export function sweepGrids(spec: FabricSpec, extra?: { width: number; height: number } | null): { width: number; height: number }[] {
  const side = Math.min(spec.widthTiles, spec.heightTiles);
  const grids = [60, 90, 120, 180, 240, 300, 360, 420, 480, 540, 600, 660, 720, 900, 1080].filter((s) => s < side).map((s) => ({ width: s, height: s }));
  grids.push({ width: side, height: side });
  if (spec.widthTiles !== side || spec.heightTiles !== side) grids.push({ width: spec.widthTiles, height: spec.heightTiles });
  if (extra && !grids.some((g) => g.width === extra.width && g.height === extra.height)) grids.push(extra);
  return grids.sort((a, b) => a.width * a.height - b.width * b.height || a.width - b.width);
}

/**
 * The model projected on each sub-grid, its blocks spread to fill every wafer (`spread`, default 1), so a larger
 * grid really spreads the model: where more tiles stop helping (communication grows with the mesh) shows as a
 * flattening or falling tokens/s. A grid a layer does not fit is a point with its error, not a failure.
 */
export function sweepGrid(
  cfg: ModelConfig,
  spec: FabricSpec,
  opts: ProjectOptions,
  grids: { width: number; height: number }[],
  hooks: { faultsFor?: (grid: { width: number; height: number }) => FaultMap | null; onPoint?: (done: number, total: number) => void } = {},
): GridPoint[] {
  const points: GridPoint[] = [];
  for (const grid of grids) {
    let report: ProjectionReport | null = null;
    let error: string | null = null;
    try {
      const faults = hooks.faultsFor ? hooks.faultsFor(grid) : (opts.faults ?? null);
      report = projectWafer(cfg, spec, { ...opts, faults, grid, spread: opts.spread ?? 1, fewestWafers: opts.fewestWafers ?? false });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      error = e.message;
    }
    points.push({ grid, tiles: grid.width * grid.height, report, error });
    hooks.onPoint?.(points.length, grids.length);
  }
  return points;
}
