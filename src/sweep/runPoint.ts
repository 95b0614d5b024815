// One sweep point computed: the fabric (a preset with the point's overrides), then the existing entry point of its
// kind — projectWafer, the mesh engine through runOnMesh, estimateGpu, runNoc — and the outputs the study keeps.
// Bad input found while running (a model that does not fit, a mesh the defects cut in two) is the point's result,
// recorded as its `error`; anything else is a failure of the run and throws.
import { buildGraph } from '../../compiler/graph/graph.js';
import { getPreset } from '../../compiler/model/presets.js';
import { projectWafer, type ProjectionReport, type ProjectDtype, type KvDtype } from '../../compiler/project/index.js';
import { estimateGpu, type GpuReport } from '../../compiler/gpu/estimate.js';
import type { GpuWeightDtype } from '../../compiler/gpu/lower.js';
import { compileModel } from '../../compiler/wafer/compile.js';
import { estimateStep } from '../../compiler/wafer/estimate.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import { InputError } from '../../fabric/errors.js';
import { generateFaults, type FaultMap, type RepairPolicy } from '../../fabric/faults/index.js';
import { getGpuPreset } from '../../fabric/gpu/spec.js';
import { runNoc, type NocResult, type TrafficPattern } from '../../fabric/mesh/noc.js';
import { getFabricPreset, type FabricSpec } from '../../fabric/spec/index.js';
import { resolveModelWeights } from '../io/loadModel.js';
import { runOnMesh, type MeshRunResult } from '../wafer/runJob.js';
import type { Params, ParamValue, SweepPoint } from './points.js';
import type { SweepKind } from './schema.js';

export type OutputValue = number | string | boolean | null;

/** What a point leaves behind: the same for the same inputs, wherever it ran (no wall time, no host). */
export interface SweepRecord {
  key: string;
  kind: SweepKind;
  params: Params;
  /** The kept outputs, or null where the point's inputs did not go (then `error` says why). */
  outputs: Record<string, OutputValue> | null;
  error: string | null;
}

type Extract<R> = (r: R) => OutputValue;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const TOKEN_SECONDS = (r: ProjectionReport) => 1 / r.decodeTokensPerSecond;

/** The outputs a study may keep, by kind; the first few of each are kept when a study names none. */
export const OUTPUTS: { project: Record<string, Extract<ProjectionReport>>; mesh: Record<string, Extract<MeshRunResult>>; gpu: Record<string, Extract<GpuReport>>; noc: Record<string, Extract<NocResult>> } = {
  project: {
    decodeTokensPerSecond: (r) => r.decodeTokensPerSecond,
    aggregateTokensPerSecond: (r) => r.aggregateTokensPerSecond,
    tilesUsed: (r) => sum(r.tilesPerWafer),
    wafers: (r) => r.wafers,
    usableTilesPerWafer: (r) => r.usableTilesPerWafer,
    timeToFirstTokenSeconds: (r) => r.timeToFirstTokenSeconds,
    tilesUsedPerWafer: (r) => r.tilesUsedPerWafer,
    tokenLatencySeconds: (r) => r.tokenLatencySeconds,
    maxContext: (r) => r.maxContext,
    boundBy: (r) => r.boundBy,
    computeShare: (r) => r.breakdown.compute / TOKEN_SECONDS(r),
    communicationShare: (r) => r.breakdown.communication / TOKEN_SECONDS(r),
    interWaferShare: (r) => r.breakdown.interWafer / TOKEN_SECONDS(r),
  },
  mesh: {
    decodeTokensPerSecond: (r) => r.tokensPerSecond,
    tilesUsed: (r) => r.tilesUsed,
    deadTiles: (r) => r.deadTiles,
    decodeCyclesPerToken: (r) => r.decodeCyclesPerToken,
    matchesReference: (r) => r.matchesReference,
    prefillCycles: (r) => r.prefillCycles,
    tokens: (r) => r.tokens.join(','),
    maxLogitRelativeError: (r) => r.maxLogitRelativeError,
    waveletHops: (r) => r.stats.waveletHops,
    fmacOfPeak: (r) => r.utilisation.fmacOfPeak,
    linkUtilisation: (r) => r.utilisation.linkUtilisation,
  },
  gpu: {
    decodeTokensPerSecond: (r) => r.decodeTokensPerSecond,
    aggregateTokensPerSecond: (r) => r.aggregateTokensPerSecond,
    gpus: (r) => r.gpus,
    timeToFirstTokenSeconds: (r) => r.timeToFirstTokenSeconds,
    hbmRooflineTokensPerSecond: (r) => r.hbmRooflineTokensPerSecond,
    decodeStepSeconds: (r) => r.decodeStepSeconds,
    memoryBoundShare: (r) => r.boundBy.memory,
    computeBoundShare: (r) => r.boundBy.compute,
    communicationBoundShare: (r) => r.boundBy.communication,
  },
  noc: {
    acceptedRate: (r) => r.acceptedRate,
    meanLatencyCycles: (r) => r.meanLatencyCycles,
    p99LatencyCycles: (r) => r.p99LatencyCycles,
    saturated: (r) => r.saturated,
    offeredRate: (r) => r.offeredRate,
    meanHops: (r) => r.meanHops,
    zeroLoadLatencyCycles: (r) => r.zeroLoadLatencyCycles,
    waveletHops: (r) => r.waveletHops,
  },
};

/** Kept when a study lists no outputs. */
export const DEFAULT_OUTPUTS: Readonly<Record<SweepKind, readonly string[]>> = {
  project: ['decodeTokensPerSecond', 'aggregateTokensPerSecond', 'tilesUsed', 'wafers', 'usableTilesPerWafer', 'timeToFirstTokenSeconds'],
  mesh: ['decodeTokensPerSecond', 'tilesUsed', 'deadTiles', 'decodeCyclesPerToken', 'matchesReference'],
  gpu: ['decodeTokensPerSecond', 'aggregateTokensPerSecond', 'gpus', 'timeToFirstTokenSeconds', 'hbmRooflineTokensPerSecond'],
  noc: ['acceptedRate', 'meanLatencyCycles', 'p99LatencyCycles', 'saturated'],
};

const str = (v: ParamValue): string => v as string;
const num = (v: ParamValue): number => v as number;
const opt = <T>(v: ParamValue): T | undefined => (v === null ? undefined : (v as T));

/** "32x32" -> { width, height }. */
export function gridOf(v: string): { width: number; height: number } {
  const [width, height] = v.split('x').map(Number);
  return { width, height };
}

/**
 * The point's fabric: the preset with its overrides. `gridReplaces`: the grid is the fabric's whole mesh (mesh runs,
 * NoC traffic) rather than a sub-grid a projection restricts each wafer to.
 */
export function fabricOf(p: Params, gridReplaces: boolean): FabricSpec {
  const base = getFabricPreset(str(p.fabric));
  const grid = p.grid === null || !gridReplaces ? null : gridOf(str(p.grid));
  return Object.freeze({
    ...base,
    ...(p.sramBytesPerTile !== null ? { sramBytesPerTile: num(p.sramBytesPerTile) } : {}),
    ...(p.clockHz !== null ? { clockHz: num(p.clockHz) } : {}),
    ...(grid ? { widthTiles: grid.width, heightTiles: grid.height } : {}),
    simdWidth: Object.freeze({ ...base.simdWidth, ...((p.simdWidth ?? {}) as Record<string, number>) }),
  });
}

/** The point's fault map on the grid its repair policy works on, as `wafer project`/`wafer run` generate it. */
function faultsOf(p: Params, spec: FabricSpec): FaultMap {
  const repair = str(p.repair) as RepairPolicy;
  const width = spec.widthTiles + (repair === 'remap' ? spec.spareColumns : 0);
  const height = spec.heightTiles + (repair === 'remap' ? spec.spareRows : 0);
  return generateFaults({ width, height, density: num(p.faultDensity), seed: num(p.seed), clusterAlpha: opt<number>(p.clustered) });
}

function runProject(p: Params): ProjectionReport {
  const fabric = fabricOf(p, false);
  const grid = p.grid === null ? null : gridOf(str(p.grid));
  const gridSpec = grid ? { ...fabric, widthTiles: grid.width, heightTiles: grid.height } : fabric;
  return projectWafer(getPreset(str(p.model)), fabric, {
    dtype: str(p.dtype) as ProjectDtype,
    kvDtype: str(p.kvDtype) as KvDtype,
    wafers: p.wafers as number | 'auto',
    grid,
    batch: num(p.batch),
    context: opt<number>(p.context),
    promptLength: opt<number>(p.promptLength),
    faults: faultsOf(p, gridSpec),
    repair: str(p.repair) as RepairPolicy,
  });
}

async function runMesh(p: Params): Promise<MeshRunResult> {
  const spec = fabricOf(p, true);
  const { weights } = resolveModelWeights(str(p.model), { seed: num(p.weightsSeed), option: 'model' });
  const dtype = (opt<string>(p.dtype) ?? 'f32') as ProgramDtype;
  const prompt = p.prompt as number[];
  const maxSeq = prompt.length + num(p.tokens) - 1;
  const repair = str(p.repair) as RepairPolicy;
  const faults = faultsOf(p, spec);
  const result = compileModel(buildGraph(weights.config), { spec, faults, repair, dtype, maxSeq });
  const cycles = estimateStep(spec, result.lowered, result.placement, result.routes, { position: maxSeq - 1, linkExtraLatencyCycles: result.linkExtraLatencyCycles }).cycles;
  const job = { config: weights.config, weights, spec, faults, repair, dtype, maxSeq, spread: 0, result, baseline: null, estimate: { context: maxSeq, cyclesPerToken: cycles, baselineCyclesPerToken: null } };
  // One thread per point: a sweep's parallelism is across points, which keeps each point's result independent of it.
  return runOnMesh(job, prompt, num(p.tokens), { workers: 0, baseline: false });
}

function runGpu(p: Params): GpuReport {
  return estimateGpu(getPreset(str(p.model)), getGpuPreset(str(p.gpu), 'gpu'), {
    gpus: num(p.gpus),
    batch: num(p.batch),
    dtype: opt<GpuWeightDtype>(p.dtype),
    promptLength: opt<number>(p.promptLength),
    contextLength: opt<number>(p.context),
  });
}

function runNocPoint(p: Params): NocResult {
  const spec = fabricOf(p, true);
  return runNoc({
    spec,
    width: spec.widthTiles,
    height: spec.heightTiles,
    pattern: str(p.pattern) as TrafficPattern,
    rate: num(p.rate),
    packetWavelets: num(p.packetWavelets),
    cycles: num(p.cycles),
    warmupCycles: num(p.warmup),
    vcs: num(p.vcs),
    seed: num(p.seed),
  });
}

function keep<R>(catalogue: Record<string, Extract<R>>, names: readonly string[], r: R): Record<string, OutputValue> {
  const out: Record<string, OutputValue> = {};
  for (const n of names) {
    const v = catalogue[n](r);
    // JSON has no Infinity or NaN: a saturated NoC's unbounded latency is kept as null, the same on every host.
    out[n] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  return out;
}

async function outputsOf(point: SweepPoint): Promise<Record<string, OutputValue>> {
  const p = point.params;
  switch (point.kind) {
    case 'project':
      return keep(OUTPUTS.project, point.outputs, runProject(p));
    case 'mesh':
      return keep(OUTPUTS.mesh, point.outputs, await runMesh(p));
    case 'gpu':
      return keep(OUTPUTS.gpu, point.outputs, runGpu(p));
    case 'noc':
      return keep(OUTPUTS.noc, point.outputs, runNocPoint(p));
  }
}

/** Computes one point; bad input met on the way is the record's `error`. */
export async function runPoint(point: SweepPoint, key: string): Promise<SweepRecord> {
  try {
    return { key, kind: point.kind, params: point.params, outputs: await outputsOf(point), error: null };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { key, kind: point.kind, params: point.params, outputs: null, error: e.message };
  }
}
