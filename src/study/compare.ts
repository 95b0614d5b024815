// The data behind `wafer compare`: one model on several fabrics (HBM GPUs and wafers) at several batch sizes, where a
// token's time goes, and the sweeps the memory-wall chart draws — tokens/s against model size over every model
// preset, and against batch for the chosen model.
//
// Sources: GPUs through the GPU emulator (compiler/gpu estimateGpu); small meshes (≤ SMALL_MESH_TILES tiles, the
// mini-* presets) through the compiler's schedule estimate (waferEstimate.ts); full wafers through the projection
// adapter (projection.ts). A point a source cannot give is listed with its reason, never guessed. Every figure carries
// the setting that produced it (setting.ts), and the table, the chart and --json read the same records.
// Full-wafer projections take seconds each: projectionJobs lists the ones a call will ask for, so a caller can run them
// in worker threads first (projectPool.ts) and pass them in as `projections`.
import { estimateGpu, type GpuReport } from '../../compiler/gpu/estimate.js';
import { BITS_PER_WEIGHT, validTensorParallelSizes } from '../../compiler/gpu/lower.js';
import { countParameters, type ModelConfig } from '../../compiler/model/config.js';
import { getPreset, listPresets } from '../../compiler/model/presets.js';
import { InputError } from '../../fabric/errors.js';
import { getGpuPreset, listGpuPresets, parseGpuSpec, type GpuSpec } from '../../fabric/gpu/spec.js';
import { deriveFabric, getFabricPreset, listFabricPresets, parseFabricSpec, type FabricSpec } from '../../fabric/spec/index.js';
import { readUserJson } from '../io/atomicWrite.js';
import { PROJECTION_METHOD, projectOnWafer, type ProjectionOptions, type WaferPoint } from './projection.js';
import type { Setting } from './setting.js';
import { compileEstimate, MESH_SPLIT_METHOD, toSplit, type TimeSplit } from './waferEstimate.js';

/** Meshes up to this many tiles are compiled and estimated; larger fabrics go through the projection. */
export const SMALL_MESH_TILES = 256 * 256;
/** Longest context the small-mesh estimate uses (a tile's KV-cache slice must fit its SRAM). */
export const MESH_MAX_CONTEXT = 64;
/** Batch sizes the tokens/s-against-batch panel sweeps (plus the requested ones). */
export const BATCH_SWEEP = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
/** The batch sweep on full wafers, where each point is a projection (seconds each): every other power of two. */
export const PROJECTION_BATCH_SWEEP = [1, 4, 16, 64, 256] as const;
export const COMPARE_DTYPES = ['bf16', 'int8'] as const;
export type CompareDtype = (typeof COMPARE_DTYPES)[number];

export type FabricArg = { kind: 'gpu'; name: string; gpu: GpuSpec } | { kind: 'wafer'; name: string; spec: FabricSpec };

export interface CompareOptions {
  model: ModelConfig;
  fabrics: FabricArg[];
  batches: number[];
  /** Tensor-parallel GPUs; undefined: the fewest that hold the model at the largest batch. */
  gpus?: number;
  dtype: CompareDtype;
  promptLength: number;
  contextLength: number;
  /**
   * Compute the chart's sweeps — every model preset at batch 1, and the chosen model over BATCH_SWEEP — (the slow
   * part: a full-wafer projection takes seconds per point); default true. Without them the chart's series are the
   * table's own points.
   */
  sweepModels?: boolean;
  /** Called after each point is computed (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
  /** Projections already made (projectionJobs, run elsewhere): by projectionKey, a point or the refusal's message. */
  projections?: ReadonlyMap<string, WaferPoint | string>;
}

export interface CompareRow {
  fabric: string;
  kind: 'gpu' | 'wafer';
  batch: number;
  /** How the figures were obtained. */
  method: string;
  gpus: number | null;
  wafers: number | null;
  tilesUsed: number | null;
  /** Tokens/s one user sees; null where the source cannot say (see note). */
  decodeTokensPerSecond: number | null;
  aggregateTokensPerSecond: number | null;
  timeToFirstTokenSeconds: number | null;
  /** Fractions of one decode token's time. */
  tokenTimeSplit: TimeSplit | null;
  contextLength: number;
  note: string | null;
  /** What produced the figures (null where the source gave none). */
  setting: Setting | null;
}

export interface SweepPoint {
  model: string;
  totalParams: number;
  activeParams: number;
  decodeTokensPerSecond: number;
  /** GPUs or wafers used. */
  devices: number;
  setting: Setting;
}

/** A point drawn apart from the sweeps, with its own marker and label: a toy run beside the real-size memory wall. */
export interface WallMark {
  label: string;
  fabric: string;
  kind: 'gpu' | 'wafer';
  point: SweepPoint;
}

export interface ModelSweep {
  fabric: string;
  kind: 'gpu' | 'wafer';
  points: SweepPoint[];
  unavailable: { model: string; reason: string }[];
}

export interface BatchSweep {
  fabric: string;
  kind: 'gpu' | 'wafer';
  devices: number | null;
  points: { batch: number; decodeTokensPerSecond: number; aggregateTokensPerSecond: number; setting: Setting }[];
}

/** A GPU's HBM roofline: tokens/s per user ≤ gpus × hbmBytesPerSecond ÷ (params × bytesPerParam). */
export interface HbmRoofline {
  fabric: string;
  hbmBytesPerSecond: number;
  usableHbmBytes: number;
  bytesPerParam: number;
  /** The GPU count when --gpus fixes it; null: the fewest (power of two) whose usable HBM holds the weights. */
  fixedGpus: number | null;
}

/** A wafer's SRAM capacity edge: the model size whose weights fill one wafer's SRAM. */
export interface SramEdge {
  fabric: string;
  sramBytes: number;
  bytesPerParam: number;
  params: number;
}

export interface CompareResult {
  model: string;
  totalParams: number;
  activeParams: number;
  dtype: CompareDtype;
  promptLength: number;
  contextLength: number;
  rows: CompareRow[];
  /** Whether modelSweep and batchSweep are the sweeps (true) or the table's own points (false). */
  sweeps: boolean;
  modelSweep: ModelSweep[];
  batchSweep: BatchSweep[];
  hbmRooflines: HbmRoofline[];
  sramEdges: SramEdge[];
  notes: string[];
}

/** A --fabrics entry: a GPU preset, a wafer preset, or a spec file of either kind ("kind": "gpu" | "wafer", or a GPU file's "extends"). */
export function resolveFabricArg(value: string, option = '--fabrics'): FabricArg {
  const name = value.trim();
  if (listGpuPresets().some((g) => g.name === name)) return { kind: 'gpu', name, gpu: getGpuPreset(name, option) };
  if (listFabricPresets().includes(name)) return { kind: 'wafer', name, spec: getFabricPreset(name) };
  if (name.endsWith('.json')) {
    const json = readUserJson(name, option);
    const obj = json && typeof json === 'object' ? (json as Record<string, unknown>) : {};
    if (obj.kind === 'gpu' || 'extends' in obj) {
      const gpu = parseGpuSpec(json, name);
      return { kind: 'gpu', name: gpu.name, gpu };
    }
    const spec = parseFabricSpec(json, name);
    return { kind: 'wafer', name: spec.name, spec };
  }
  throw new InputError(`unknown fabric "${name}"`, option, `use GPU presets (${listGpuPresets().map((g) => g.name).join(', ')}), wafer presets (${listFabricPresets().join(', ')}) or spec .json files, comma-separated`);
}

const bytesPerParam = (dtype: CompareDtype): number => BITS_PER_WEIGHT[dtype] / 8;

function gpuSplit(r: GpuReport): TimeSplit {
  return toSplit({ compute: r.boundBy.compute, memory: r.boundBy.memory, communication: r.boundBy.communication, other: r.boundBy.launch });
}

function gpuOptions(o: CompareOptions, batch: number, gpus: number) {
  return { gpus, batch, dtype: o.dtype, promptLength: o.promptLength, contextLength: o.contextLength };
}

function gpuSetting(o: CompareOptions, r: GpuReport): Setting {
  return { source: 'GPU emulator', batch: r.batch, promptLength: r.promptLength, contextLength: r.contextLength, dtype: o.dtype, spread: null, hubSlices: null, faults: null };
}

function projectionSetting(o: CompareOptions, p: WaferPoint, batch: number): Setting {
  return { source: 'projection', batch, promptLength: p.promptLength, contextLength: p.contextLength, dtype: o.dtype, spread: 0, balanced: p.balanced, hubSlices: p.hubSlices, faults: null };
}

function meshSetting(o: CompareOptions, context: number): Setting {
  return { source: 'mesh schedule estimate', batch: 1, promptLength: null, contextLength: context, dtype: o.dtype, spread: 0, hubSlices: null, faults: null };
}

/** The fewest tensor-parallel GPUs (≥ min) that hold `cfg` at `batch`, with the estimate there; null if none does. */
export function fewestGpus(cfg: ModelConfig, gpu: GpuSpec, o: CompareOptions, batch: number, min = 1): { gpus: number; report: GpuReport } | null {
  // Counts whose usable HBM cannot even hold the weights are skipped without lowering (lowering them is the slow part).
  const weightBytes = countParameters(cfg).total * bytesPerParam(o.dtype);
  const usable = gpu.hbmBytes * gpu.hbmUsableFraction;
  for (const n of validTensorParallelSizes(cfg)) {
    if (n < min || n * usable < weightBytes) continue;
    try {
      return { gpus: n, report: estimateGpu(cfg, gpu, gpuOptions(o, batch, n)) };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }
  return null;
}

/** A point a source cannot give (the reason is its message). */
class Unavailable extends Error {}

/** A full-wafer projection a compare call will ask for: what projectOnWafer is given, and where its result goes. */
export interface ProjectionJob {
  key: string;
  model: ModelConfig;
  spec: FabricSpec;
  options: ProjectionOptions;
}

export function projectionKey(model: string, fabric: string, batch: number): string {
  return `${model}|${fabric}|${batch}`;
}

function projectionJob(o: CompareOptions, cfg: ModelConfig, f: Extract<FabricArg, { kind: 'wafer' }>, batch: number): ProjectionJob {
  return { key: projectionKey(cfg.name, f.name, batch), model: cfg, spec: f.spec, options: { batch, promptLength: o.promptLength, contextLength: o.contextLength, dtype: o.dtype } };
}

/** Every full-wafer projection compareFabrics(o) asks for (the table's, the size sweep's and the batch sweep's), once each. */
export function projectionJobs(o: CompareOptions): ProjectionJob[] {
  const jobs = new Map<string, ProjectionJob>();
  const add = (j: ProjectionJob) => jobs.set(j.key, j);
  for (const f of o.fabrics) {
    if (f.kind !== 'wafer' || isSmallMesh(f.spec)) continue;
    for (const b of o.batches) add(projectionJob(o, o.model, f, b));
    if (o.sweepModels === false) continue;
    for (const preset of listPresets()) add(projectionJob(o, getPreset(preset.name), f, 1));
    for (const b of sweepBatches(o, f)) add(projectionJob(o, o.model, f, b));
  }
  return [...jobs.values()];
}

/** One projection job, its refusal (an InputError) as its message. */
export function runProjectionJob(j: ProjectionJob): WaferPoint | string {
  try {
    return projectOnWafer(j.model, j.spec, j.options);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.message;
  }
}

/** One compareFabrics call: its options, projections already made (a point is asked for by the table and the sweeps), progress. */
interface Run {
  o: CompareOptions;
  projections: Map<string, WaferPoint | string>;
  done: number;
  total: number;
}

function tick(run: Run): void {
  run.done++;
  run.o.onProgress?.(run.done, run.total);
}

/** projectOnWafer, once per (model, fabric, batch) in a run; a refusal is an Unavailable with its message. */
function projected(run: Run, cfg: ModelConfig, f: Extract<FabricArg, { kind: 'wafer' }>, batch: number): WaferPoint {
  const job = projectionJob(run.o, cfg, f, batch);
  let p = run.projections.get(job.key);
  if (p === undefined) {
    p = runProjectionJob(job);
    run.projections.set(job.key, p);
  }
  if (typeof p === 'string') throw new Unavailable(p);
  return p;
}

function isSmallMesh(spec: FabricSpec): boolean {
  return spec.widthTiles * spec.heightTiles <= SMALL_MESH_TILES;
}

function meshContext(o: CompareOptions): number {
  return Math.min(o.contextLength, MESH_MAX_CONTEXT);
}

function emptyRow(f: FabricArg, batch: number, method: string, contextLength: number, note: string): CompareRow {
  return { fabric: f.name, kind: f.kind, batch, method, gpus: null, wafers: null, tilesUsed: null, decodeTokensPerSecond: null, aggregateTokensPerSecond: null, timeToFirstTokenSeconds: null, tokenTimeSplit: null, contextLength, note, setting: null };
}

const GPU_METHOD = 'GPU emulator (compiler/gpu estimateGpu)';
const MESH_METHOD = 'mesh schedule estimate (compile + estimateStep, streams sharing a link take turns)';

function gpuRows(o: CompareOptions, f: Extract<FabricArg, { kind: 'gpu' }>): { rows: CompareRow[]; gpus: number | null } {
  const maxBatch = Math.max(...o.batches);
  let gpus = o.gpus ?? null;
  if (gpus === null) {
    const fit = fewestGpus(o.model, f.gpu, o, maxBatch);
    if (!fit) return { rows: o.batches.map((b) => emptyRow(f, b, GPU_METHOD, o.contextLength, `${o.model.name} does not fit any tensor-parallel group of ${f.name} at batch ${maxBatch}`)), gpus: null };
    gpus = fit.gpus;
  }
  const rows = o.batches.map((batch): CompareRow => {
    const r = estimateGpu(o.model, f.gpu, gpuOptions(o, batch, gpus!));
    return {
      fabric: f.name,
      kind: 'gpu',
      batch,
      method: GPU_METHOD,
      gpus,
      wafers: null,
      tilesUsed: null,
      decodeTokensPerSecond: r.decodeTokensPerSecond,
      aggregateTokensPerSecond: r.aggregateTokensPerSecond,
      timeToFirstTokenSeconds: r.timeToFirstTokenSeconds,
      tokenTimeSplit: gpuSplit(r),
      contextLength: r.contextLength,
      note: null,
      setting: gpuSetting(o, r),
    };
  });
  return { rows, gpus };
}

function meshRows(o: CompareOptions, f: Extract<FabricArg, { kind: 'wafer' }>): CompareRow[] {
  const ctx = meshContext(o);
  let est;
  try {
    est = compileEstimate(o.model, f.spec, { dtype: o.dtype, maxSeq: ctx });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return o.batches.map((b) => emptyRow(f, b, MESH_METHOD, ctx, `does not compile: ${e.message}`));
  }
  return o.batches.map((batch): CompareRow => {
    if (batch !== 1) return emptyRow(f, batch, MESH_METHOD, ctx, 'the mesh program decodes one sequence per step: batch 1 only');
    return {
      fabric: f.name,
      kind: 'wafer',
      batch,
      method: MESH_METHOD,
      gpus: null,
      wafers: 1,
      tilesUsed: est.tilesUsed,
      decodeTokensPerSecond: est.tokensPerSecond,
      aggregateTokensPerSecond: est.tokensPerSecond,
      timeToFirstTokenSeconds: null,
      tokenTimeSplit: est.split,
      contextLength: ctx,
      note: `mesh prefill is one token per step (wafer run measures it); context ${ctx}`,
      setting: meshSetting(o, ctx),
    };
  });
}

function waferRows(run: Run, f: Extract<FabricArg, { kind: 'wafer' }>): CompareRow[] {
  const { o } = run;
  if (isSmallMesh(f.spec)) return meshRows(o, f);
  return o.batches.map((batch): CompareRow => {
    try {
      const p = projected(run, o.model, f, batch);
      return {
        fabric: f.name,
        kind: 'wafer',
        batch,
        method: p.method,
        gpus: null,
        wafers: p.wafers,
        tilesUsed: p.tilesUsed,
        decodeTokensPerSecond: p.decodeTokensPerSecond,
        aggregateTokensPerSecond: p.aggregateTokensPerSecond,
        timeToFirstTokenSeconds: p.timeToFirstTokenSeconds,
        tokenTimeSplit: p.split,
        contextLength: p.contextLength,
        note: null,
        setting: projectionSetting(o, p, batch),
      };
    } catch (e) {
      if (e instanceof Unavailable) return emptyRow(f, batch, PROJECTION_METHOD, o.contextLength, e.message);
      throw e;
    }
  });
}

function waferPoint(run: Run, cfg: ModelConfig, f: Extract<FabricArg, { kind: 'wafer' }>, batch: number): { perUser: number; aggregate: number; devices: number; setting: Setting } {
  const { o } = run;
  if (isSmallMesh(f.spec)) {
    if (batch !== 1) throw new Unavailable('the mesh program decodes one sequence per step');
    const weights = countParameters(cfg).total * bytesPerParam(o.dtype);
    const sram = deriveFabric(f.spec).sramBytes;
    if (weights > sram) throw new Unavailable(`weights ${(weights / 1e9).toFixed(2)} GB exceed the mesh's ${(sram / 1e9).toFixed(2)} GB of SRAM`);
    const e = compileEstimate(cfg, f.spec, { dtype: o.dtype, maxSeq: meshContext(o) });
    return { perUser: e.tokensPerSecond, aggregate: e.tokensPerSecond, devices: 1, setting: meshSetting(o, meshContext(o)) };
  }
  const p = projected(run, cfg, f, batch);
  return { perUser: p.decodeTokensPerSecond, aggregate: p.aggregateTokensPerSecond, devices: p.wafers, setting: projectionSetting(o, p, batch) };
}

function modelSweep(run: Run, f: FabricArg): ModelSweep {
  const { o } = run;
  const sweep: ModelSweep = { fabric: f.name, kind: f.kind, points: [], unavailable: [] };
  for (const preset of listPresets()) {
    tick(run);
    const cfg = getPreset(preset.name);
    const count = countParameters(cfg);
    try {
      if (f.kind === 'gpu') {
        const fit = fewestGpus(cfg, f.gpu, o, 1, o.gpus ?? 1);
        if (!fit || (o.gpus !== undefined && fit.gpus !== o.gpus)) {
          sweep.unavailable.push({ model: preset.name, reason: o.gpus !== undefined ? `does not fit ${o.gpus} × ${f.name}` : `does not fit any tensor-parallel group of ${f.name}` });
          continue;
        }
        sweep.points.push({ model: preset.name, totalParams: count.total, activeParams: count.activePerToken, decodeTokensPerSecond: fit.report.decodeTokensPerSecond, devices: fit.gpus, setting: gpuSetting(o, fit.report) });
      } else {
        const p = waferPoint(run, cfg, f, 1);
        sweep.points.push({ model: preset.name, totalParams: count.total, activeParams: count.activePerToken, decodeTokensPerSecond: p.perUser, devices: p.devices, setting: p.setting });
      }
    } catch (e) {
      if (!(e instanceof Unavailable || e instanceof InputError)) throw e;
      sweep.unavailable.push({ model: preset.name, reason: e.message });
    }
  }
  return sweep;
}

function sweepBatches(o: CompareOptions, f: FabricArg): number[] {
  const base = f.kind === 'wafer' && !isSmallMesh(f.spec) ? PROJECTION_BATCH_SWEEP : BATCH_SWEEP;
  return [...new Set([...base, ...o.batches])].sort((a, b) => a - b);
}

function batchSweep(run: Run, f: FabricArg, gpus: number | null): BatchSweep {
  const { o } = run;
  const out: BatchSweep = { fabric: f.name, kind: f.kind, devices: f.kind === 'gpu' ? gpus : null, points: [] };
  const batches = sweepBatches(o, f);
  const end = run.done + batches.length;
  for (const batch of batches) {
    tick(run);
    try {
      if (f.kind === 'gpu') {
        if (gpus === null) break;
        const r = estimateGpu(o.model, f.gpu, gpuOptions(o, batch, gpus));
        out.points.push({ batch, decodeTokensPerSecond: r.decodeTokensPerSecond, aggregateTokensPerSecond: r.aggregateTokensPerSecond, setting: gpuSetting(o, r) });
      } else {
        const p = waferPoint(run, o.model, f, batch);
        out.devices = p.devices;
        out.points.push({ batch, decodeTokensPerSecond: p.perUser, aggregateTokensPerSecond: p.aggregate, setting: p.setting });
      }
    } catch (e) {
      if (!(e instanceof Unavailable || e instanceof InputError)) throw e;
      // Larger batches stop fitting (KV cache) or are not modelled: the sweep ends there.
      break;
    }
  }
  if (run.done < end) {
    run.done = end - 1;
    tick(run);
  }
  return out;
}

/** Without sweeps, the size panel shows the table's batch-1 point of each fabric. */
function sweepFromRows(o: CompareOptions, f: FabricArg, rows: CompareRow[]): ModelSweep {
  const count = countParameters(o.model);
  const r = rows.find((x) => x.fabric === f.name && x.batch === 1);
  const sweep: ModelSweep = { fabric: f.name, kind: f.kind, points: [], unavailable: [] };
  if (r && r.decodeTokensPerSecond !== null && r.setting) sweep.points.push({ model: o.model.name, totalParams: count.total, activeParams: count.activePerToken, decodeTokensPerSecond: r.decodeTokensPerSecond, devices: r.gpus ?? r.wafers ?? 1, setting: r.setting });
  else sweep.unavailable.push({ model: o.model.name, reason: r?.note ?? 'batch 1 not in the table' });
  return sweep;
}

/** Without sweeps, the batch panel shows the table's batches. */
function batchSweepFromRows(f: FabricArg, rows: CompareRow[]): BatchSweep {
  const mine = rows.filter((r) => r.fabric === f.name && r.decodeTokensPerSecond !== null && r.aggregateTokensPerSecond !== null && r.setting !== null);
  return { fabric: f.name, kind: f.kind, devices: mine[0]?.gpus ?? mine[0]?.wafers ?? null, points: mine.map((r) => ({ batch: r.batch, decodeTokensPerSecond: r.decodeTokensPerSecond!, aggregateTokensPerSecond: r.aggregateTokensPerSecond!, setting: r.setting! })) };
}

export function compareFabrics(o: CompareOptions): CompareResult {
  if (o.fabrics.length === 0) throw new InputError('no fabrics given', '--fabrics', 'give a comma-separated list, e.g. wse3,h100,b200');
  const count = countParameters(o.model);
  const sweeps = o.sweepModels !== false;
  const run: Run = { o, projections: new Map(o.projections ?? []), done: 0, total: o.fabrics.length * o.batches.length };
  if (sweeps) run.total += o.fabrics.reduce((n, f) => n + listPresets().length + sweepBatches(o, f).length, 0);
  const rows: CompareRow[] = [];
  const gpusOf = new Map<string, number | null>();
  for (const f of o.fabrics) {
    if (f.kind === 'gpu') {
      const g = gpuRows(o, f);
      rows.push(...g.rows);
      gpusOf.set(f.name, g.gpus);
    } else rows.push(...waferRows(run, f));
    for (let i = 0; i < o.batches.length; i++) tick(run);
  }
  const bpp = bytesPerParam(o.dtype);
  const notes: string[] = [];
  if (o.fabrics.some((f) => f.kind === 'wafer' && isSmallMesh(f.spec))) notes.push(`small-mesh time split: ${MESH_SPLIT_METHOD}`);
  return {
    model: o.model.name,
    totalParams: count.total,
    activeParams: count.activePerToken,
    dtype: o.dtype,
    promptLength: o.promptLength,
    contextLength: o.contextLength,
    rows,
    sweeps,
    modelSweep: sweeps ? o.fabrics.map((f) => modelSweep(run, f)) : o.fabrics.map((f) => sweepFromRows(o, f, rows)),
    batchSweep: sweeps ? o.fabrics.map((f) => batchSweep(run, f, gpusOf.get(f.name) ?? null)) : o.fabrics.map((f) => batchSweepFromRows(f, rows)),
    hbmRooflines: o.fabrics.flatMap((f) => (f.kind === 'gpu' ? [{ fabric: f.name, hbmBytesPerSecond: f.gpu.hbmBytesPerSecond, usableHbmBytes: f.gpu.hbmBytes * f.gpu.hbmUsableFraction, bytesPerParam: bpp, fixedGpus: o.gpus ?? null }] : [])),
    sramEdges: o.fabrics.flatMap((f) => (f.kind === 'wafer' ? [{ fabric: f.name, sramBytes: deriveFabric(f.spec).sramBytes, bytesPerParam: bpp, params: deriveFabric(f.spec).sramBytes / bpp }] : [])),
    notes,
  };
}
