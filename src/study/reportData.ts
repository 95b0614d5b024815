// The report's data document: everything the HTML report draws, as JSON (`wafer report … --json` prints it, and
// `wafer report --from FILE` reads it back). Per tile: position, role, layer, SRAM bytes and busy cycles; the routes;
// the dead tiles; the run's summary and the faults it ran with; optionally the compare result (memory wall), points
// drawn apart on it (the run itself), the headline ratio, and a NoC sweep.
import { assumptionsOf } from '../../fabric/spec/assumptions.js';
import { z } from 'zod';
import { tileSramBytes } from '../../fabric/isa/sram.js';
import { InputError, inputErrorFromZod } from '../../fabric/errors.js';
import type { CompileJob } from '../wafer/compileJob.js';
import type { TileTag, TileUnit } from '../../compiler/wafer/plan.js';
import type { MeshRunResult } from '../wafer/runJob.js';
import { countParameters } from '../../compiler/model/config.js';
import type { CompareResult, SweepPoint, WallMark } from './compare.js';
import { headlineOf, type Headline } from './headline.js';
import type { FaultSetting } from './setting.js';
import type { TileStats } from './meshStats.js';

export const REPORT_DATA_VERSION = 2;

/** Tile roles the wafer map colours, in legend order. */
export const ROLE_GROUPS = ['hub', 'qkv', 'attention-kv', 'o', 'gate-up', 'down', 'expert', 'embedding', 'lm-head', 'relay', 'other'] as const;
export type RoleGroup = (typeof ROLE_GROUPS)[number];

/** Map group of each tile unit (an expert's tiles, whatever their unit, are 'expert'). */
const UNIT_GROUP: Record<TileUnit, RoleGroup> = {
  'attn-hub': 'hub',
  'mlp-hub': 'hub',
  'final-hub': 'hub',
  'expert-hub': 'hub',
  qkv: 'qkv',
  kv: 'attention-kv',
  'qk-head': 'attention-kv',
  'kv-chunk': 'attention-kv',
  o: 'o',
  'gate-up': 'gate-up',
  down: 'down',
  'reserved-expert': 'expert',
  embedding: 'embedding',
  'lm-head': 'lm-head',
  relay: 'relay',
  router: 'other',
  'stage-in': 'other',
  'stage-out': 'other',
};

/** A tile's tag (compiler/wafer/plan.ts) → its map group and layer; no tag (a program from a file): 'other'. */
export function classifyRole(tag: TileTag | null): { group: RoleGroup; layer: number | null } {
  if (!tag) return { group: 'other', layer: null };
  return { group: tag.expert !== null ? 'expert' : UNIT_GROUP[tag.unit], layer: tag.layer };
}

const port = z.enum(['ramp', 'N', 'E', 'S', 'W']);
const nonNegInt = z.number().int().nonnegative();
const num = z.number().nullable();

const tileSchema = z.strictObject({
  x: nonNegInt,
  y: nonNegInt,
  role: z.string(),
  group: z.enum(ROLE_GROUPS),
  layer: nonNegInt.nullable(),
  sramBytes: z.number().nonnegative(),
  /** CE busy cycles over the whole run (null: no run). */
  busyCycles: z.number().nonnegative().nullable(),
  /** Router entries: [colour, from, to ports]. */
  routes: z.array(z.tuple([nonNegInt, port, z.array(port)])),
});

/** `wafer noc --sweep --json` output: the fields the chart reads (other fields are kept as they are). */
export const nocSweepSchema = z.looseObject({
  pattern: z.string(),
  width: nonNegInt,
  height: nonNegInt,
  bisectionBoundRate: num,
  sweep: z
    .array(
      z.looseObject({
        offeredRate: z.number(),
        acceptedRate: z.number(),
        meanLatencyCycles: num,
        p99LatencyCycles: num,
        saturated: z.boolean(),
      }),
    )
    .min(1),
});
export type NocSweep = z.infer<typeof nocSweepSchema>;

const runSummarySchema = z.strictObject({
  prompt: z.array(nonNegInt),
  tokens: z.array(nonNegInt),
  steps: nonNegInt,
  prefillCycles: z.number(),
  decodeCyclesPerToken: z.number(),
  tokensPerSecond: z.number(),
  clockHz: z.number(),
  matchesReference: z.boolean(),
  maxLogitRelativeError: z.number(),
  utilisation: z.strictObject({ fmacOfPeak: z.number(), sramBandwidthOfPeak: z.number(), linkUtilisation: z.number(), busyTileFraction: z.number() }),
  totalCycles: z.number(),
});

export const reportDataSchema = z.strictObject({
  kind: z.literal('wafer-report-data'),
  version: z.literal(REPORT_DATA_VERSION),
  model: z.string(),
  fabric: z.string(),
  dtype: z.string(),
  repair: z.string(),
  widthTiles: nonNegInt,
  heightTiles: nonNegInt,
  sramBytesPerTile: z.number().positive(),
  clockHz: z.number().positive(),
  /** Tiles whose router is dead (nothing passes), and tiles with a dead core but a live router (relays may cross). */
  deadTiles: z.array(z.tuple([nonNegInt, nonNegInt])),
  deadCores: z.array(z.tuple([nonNegInt, nonNegInt])),
  /** Defects hidden by the remap repair (not on the logical map). */
  hiddenDefects: nonNegInt,
  tiles: z.array(tileSchema),
  /** Where busyCycles came from. */
  busySource: z.enum(['mesh run', 'none']),
  expectedTokensPerSecond: z.number(),
  run: runSummarySchema.nullable(),
  /** The faults the compile drew or read (null: fault-free). */
  faults: z.strictObject({ density: z.number().nullable(), seed: z.number().nullable(), file: z.string().nullable(), deadTiles: nonNegInt }).nullable(),
  compare: z.unknown().nullable(),
  marks: z.array(z.unknown()),
  headline: z.unknown().nullable(),
  noc: nocSweepSchema.nullable(),
  /** Every assumption of the cost model (fabric/spec/assumptions.ts) at the value the run's fabric holds; absent in older files. */
  assumptions: z.array(z.strictObject({ name: z.string(), value: z.number(), default: z.number(), low: z.number(), high: z.number(), unit: z.string(), source: z.string() })).optional(),
});
export type ReportData = Omit<z.infer<typeof reportDataSchema>, 'compare' | 'marks' | 'headline' | 'faults'> & { compare: CompareResult | null; marks: WallMark[]; headline: Headline | null; faults: FaultSetting | null };
export type ReportTile = ReportData['tiles'][number];

export interface ReportInputs {
  job: CompileJob;
  run: { result: MeshRunResult; stats: TileStats; prompt: number[] } | null;
  faults: FaultSetting | null;
  compare: CompareResult | null;
  /** Points drawn apart on the memory wall (the run itself). */
  marks: WallMark[];
  /** The model the headline compares (default: the compare's own). */
  headlineModel?: string;
  noc: NocSweep | null;
}

export function buildReportData(a: ReportInputs): ReportData {
  const { job } = a;
  const program = job.result.program;
  const W = program.widthTiles;
  const busy = a.run?.stats.tileBusyCycles;
  const tiles = program.tiles.map((t, k): ReportTile => {
    const { group, layer } = classifyRole(job.result.tileTags?.[k] ?? null);
    return {
      x: t.x,
      y: t.y,
      role: t.role,
      group,
      layer,
      sramBytes: tileSramBytes(t),
      busyCycles: busy ? busy[t.y * W + t.x] : null,
      routes: t.routes.map((e) => [e.colour, e.from, [...e.to]] as [number, ReportTile['routes'][number][1], ReportTile['routes'][number][2]]),
    };
  });
  const deadTiles: [number, number][] = [];
  const deadCores: [number, number][] = [];
  const f = job.result.engineFaults;
  if (f) for (let i = 0; i < f.tiles; i++) if (!f.isTileUsable(i)) (f.isRouterAlive(i) ? deadCores : deadTiles).push([i % W, Math.floor(i / W)]);
  const r = a.run?.result;
  return {
    kind: 'wafer-report-data',
    version: REPORT_DATA_VERSION,
    model: job.config.name,
    fabric: job.spec.name,
    dtype: job.dtype,
    repair: job.result.report.repair,
    widthTiles: W,
    heightTiles: program.heightTiles,
    sramBytesPerTile: job.spec.sramBytesPerTile,
    clockHz: job.spec.clockHz,
    deadTiles,
    deadCores,
    hiddenDefects: job.result.report.remap?.hiddenDefects ?? 0,
    tiles,
    busySource: busy ? 'mesh run' : 'none',
    expectedTokensPerSecond: job.spec.clockHz / job.estimate.cyclesPerToken,
    assumptions: assumptionsOf(job.spec),
    run:
      r && a.run
        ? {
            prompt: a.run.prompt,
            tokens: r.tokens,
            steps: r.steps,
            prefillCycles: r.prefillCycles,
            decodeCyclesPerToken: r.decodeCyclesPerToken,
            tokensPerSecond: r.tokensPerSecond,
            clockHz: r.clockHz,
            matchesReference: r.matchesReference,
            maxLogitRelativeError: r.maxLogitRelativeError,
            utilisation: { ...r.utilisation },
            totalCycles: a.run.stats.totalCycles,
          }
        : null,
    faults: a.faults,
    compare: a.compare,
    marks: a.marks,
    headline: a.compare ? headlineOf(a.compare, a.headlineModel) : null,
    noc: a.noc,
  };
}

/** Validates a report data document (from `wafer report --json`); a `wafer run --json` document gets its own message. */
export function parseReportData(json: unknown, source: string): ReportData {
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const o = json as Record<string, unknown>;
    if (o.kind === undefined && 'stepCycles' in o && 'tokens' in o) {
      throw new InputError('this is `wafer run --json` output, which has no per-tile data', source, 'write the report data with `wafer report --model … --fabric … --json > run.json` (same options as run) and pass that file');
    }
    if (o.kind !== 'wafer-report-data') throw new InputError('not a wafer report data file (no "kind": "wafer-report-data")', source, 'write one with `wafer report --model … --fabric … --json > run.json` and pass that file');
    if (o.version !== REPORT_DATA_VERSION) {
      throw new InputError(`report data version ${String(o.version)} is not supported (this build reads version ${REPORT_DATA_VERSION})`, source, 'regenerate it with this build: wafer report … --json');
    }
  }
  const r = reportDataSchema.safeParse(json);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, json);
  const d = r.data;
  for (const t of d.tiles) {
    if (t.x >= d.widthTiles || t.y >= d.heightTiles) throw new InputError(`tile (${t.x},${t.y}) lies outside the ${d.widthTiles}×${d.heightTiles} mesh`, `${source}: tiles`, 'regenerate the file with wafer report … --json');
  }
  return d as ReportData;
}

export function parseNocSweep(json: unknown, source: string): NocSweep {
  if (!json || typeof json !== 'object' || !Array.isArray((json as Record<string, unknown>).sweep)) {
    throw new InputError('not a NoC sweep (no "sweep" list)', source, 'write one with `wafer noc … --sweep --json > noc.json` and pass that file');
  }
  const r = nocSweepSchema.safeParse(json);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, json);
  return r.data;
}

/** A mesh run as a memory-wall point: the figure `wafer run` prints, with the setting it ran at. */
export function meshRunPoint(job: CompileJob, run: MeshRunResult, prompt: number[], faults: FaultSetting | null): SweepPoint {
  const count = countParameters(job.config);
  return {
    model: job.config.name,
    totalParams: count.total,
    activeParams: count.activePerToken,
    decodeTokensPerSecond: run.tokensPerSecond,
    devices: 1,
    setting: { source: 'mesh run', batch: 1, promptLength: prompt.length, contextLength: prompt.length + run.tokens.length - 1, dtype: job.dtype, spread: job.spread, hubSlices: null, faults },
  };
}
