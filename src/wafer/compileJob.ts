// Compiling a model given on the command line: resolve the model (weights when it has them), fabric and faults,
// compile, estimate, and compare with the same model on the fault-free wafer so the faults' cost is visible.
import { existsSync } from 'node:fs';
import { buildGraph } from '../../compiler/graph/graph.js';
import { compileModel, type CompileResult } from '../../compiler/wafer/compile.js';
import { estimateStep } from '../../compiler/wafer/estimate.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import { findPreset } from '../../compiler/model/presets.js';
import { isDirectory, resolveModelConfig, resolveModelWeights } from '../io/loadModel.js';
import { countParameters, type ModelConfig } from '../../compiler/model/config.js';
import type { ModelWeights } from '../../compiler/model/weights.js';
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import type { FaultMap, RepairPolicy } from '../../fabric/faults/index.js';
import { loadFabric } from '../io/fabric.js';
import { MAX_POSITIONS, parseDtypeOption, parseIntOption, parseNumberOption, parseSeedOption } from '../io/parse.js';
import { PROGRAM_DTYPES, faultsFrom, parseFaultSource, parseRepair, type FaultOptions, type FaultSource } from './setup.js';

export interface CompileCliOptions extends FaultOptions {
  model: string;
  fabric: string;
  dtype?: string;
  maxSeq?: string;
  spread?: string;
  hubSlices?: string;
  context?: string;
  weightsSeed?: string;
}

export interface CompileJob {
  config: ModelConfig;
  /** Weights in the program's dtype, when the model has weights (a directory or a runnable preset). */
  weights: ModelWeights | null;
  spec: FabricSpec;
  faults: FaultMap | null;
  repair: RepairPolicy;
  dtype: ProgramDtype;
  maxSeq: number;
  spread: number;
  result: CompileResult;
  /** The same model compiled on the fault-free wafer (when there are faults), for the cost of the faults. */
  baseline: CompileResult | null;
  estimate: { context: number; cyclesPerToken: number; baselineCyclesPerToken: number | null };
}

/** The default weight dtype: that of the weights file for a directory, f32 for runnable presets, bf16 for config-only ones. */
function defaultDtype(modelArg: string, weights: ModelWeights | null): ProgramDtype {
  if (weights) {
    const first = [...weights.tensors.values()].find((t) => t.shape.length === 2);
    if (first?.dtype === 'bf16' || first?.dtype === 'int8') return first.dtype;
    return 'f32';
  }
  return findPreset(modelArg)?.runnable ? 'f32' : 'bf16';
}

/**
 * Refuses, before any placement search, a model whose weights alone exceed the SRAM of every tile of the wafer put
 * together: no partition can fit it, and the search for one (smaller and smaller blocks) would only take long to say so.
 */
function assertModelCanFit(config: ModelConfig, spec: FabricSpec, dtype: ProgramDtype): void {
  const bytesPerWeight = dtype === 'f32' ? 4 : dtype === 'bf16' ? 2 : 1;
  const need = countParameters(config).total * bytesPerWeight;
  const have = spec.widthTiles * spec.heightTiles * spec.sramBytesPerTile;
  if (need > have) {
    throw new InputError(
      `${config.name} cannot fit: its ${dtype} weights need ${need.toExponential(2)} bytes, ${spec.name}'s ${spec.widthTiles}x${spec.heightTiles} tiles of ${spec.sramBytesPerTile} B hold ${have.toExponential(2)}`,
      '--fabric',
      'pick a larger fabric, a narrower --dtype, or `wafer project` (which spreads a model over several wafers)',
    );
  }
}

/**
 * The compile options, typed and frozen: what the command line's strings mean, parsed once at the edge (the fabric
 * resolved, the fault source read). Plain data, so a `run` job carries it to its worker thread as it is. The checks
 * that need the model (positions within it, hub slices within its width) run in compileJob.
 */
export interface CompileOptions {
  readonly model: string;
  readonly fabric: FabricSpec;
  /** null: the weights' own dtype (f32 for runnable presets, bf16 for config-only ones). */
  readonly dtype: ProgramDtype | null;
  readonly maxSeq: number;
  readonly spread: number;
  /** Tiles per hub; null: the compiler's choice (auto). */
  readonly hubSlices: number | null;
  /** Position to estimate at; null: min(16, maxSeq). */
  readonly context: number | null;
  readonly weightsSeed: number;
  readonly faults: FaultSource;
  readonly repair: RepairPolicy;
}

/** Parses the compile options of the command line (the one place their strings are read). */
export function parseCompileOptions(o: CompileCliOptions): CompileOptions {
  return Object.freeze({
    model: o.model,
    fabric: loadFabric(o.fabric),
    dtype: o.dtype === undefined ? null : parseDtypeOption(o.dtype, '--dtype', PROGRAM_DTYPES),
    maxSeq: parseIntOption(o.maxSeq ?? '64', '--max-seq', 1, MAX_POSITIONS),
    spread: o.spread === undefined ? 0 : parseNumberOption(o.spread, '--spread', 0, 1),
    hubSlices: o.hubSlices === undefined || o.hubSlices === 'auto' ? null : parseIntOption(o.hubSlices, '--hub-slices', 1, MAX_POSITIONS),
    context: o.context === undefined ? null : parseIntOption(o.context, '--context', 1, MAX_POSITIONS),
    weightsSeed: parseSeedOption(o.weightsSeed ?? '0', '--weights-seed'),
    faults: parseFaultSource(o),
    repair: parseRepair(o.repair),
  });
}

/** prepareCompile of the command line's strings: parseCompileOptions, then compileJob. */
export function prepareCompile(o: CompileCliOptions, needWeights: boolean): CompileJob {
  return compileJob(parseCompileOptions(o), needWeights);
}

export function compileJob(o: CompileOptions, needWeights: boolean): CompileJob {
  const config = resolveModelConfig(o.model);
  const preset = findPreset(o.model);
  const hasWeights = isDirectory(o.model) || (preset?.runnable ?? false);
  if (needWeights && !hasWeights) throw new InputError(`model ${o.model} has no weights to run`, '--model', 'use a model directory or a runnable preset (toy-dense, toy-moe, …), or `wafer compile` / `wafer project` for config-only models');
  if (!isDirectory(o.model) && !preset && existsSync(o.model)) throw new InputError(`${o.model} is not a model directory`, '--model', 'give a directory holding config.json and model.safetensors');
  const rawWeights = hasWeights ? resolveModelWeights(o.model, { seed: o.weightsSeed }).weights : null;
  const dtype = o.dtype ?? defaultDtype(o.model, rawWeights);
  const spec = o.fabric;
  assertModelCanFit(config, spec, dtype);
  const faults = faultsFrom(spec, o.faults, o.repair);
  const positions = config.maxPositionEmbeddings;
  if (o.maxSeq > positions) throw new InputError(`--max-seq ${o.maxSeq} is more than the ${positions} positions ${config.name} attends to`, '--max-seq', `give at most ${positions}`);
  const maxSeq = o.maxSeq;
  const context = o.context ?? Math.min(16, maxSeq);
  if (context > maxSeq) throw new InputError(`context ${context} is longer than --max-seq ${maxSeq}`, '--context', `give at most ${maxSeq}, or raise --max-seq`);
  const graph = buildGraph(config);
  if (o.hubSlices !== null && o.hubSlices > graph.hidden) throw new InputError(`--hub-slices ${o.hubSlices} is more than the model's ${graph.hidden} hidden columns`, '--hub-slices', `give auto or at most ${graph.hidden}`);
  const sliceCols = o.hubSlices === null ? undefined : Math.ceil(graph.hidden / o.hubSlices);
  const opts = { spec, repair: o.repair, dtype, maxSeq, spread: o.spread, sliceCols };
  const result = compileModel(graph, { ...opts, faults });
  const baseline = faults ? compileModel(graph, { ...opts, faults: null }) : null;
  const est = (r: CompileResult) => estimateStep(spec, r.lowered, r.placement, r.routes, { position: context - 1, linkExtraLatencyCycles: r.linkExtraLatencyCycles }).cycles;
  return {
    config,
    weights: rawWeights,
    spec,
    faults,
    repair: o.repair,
    dtype,
    maxSeq,
    spread: o.spread,
    result,
    baseline,
    estimate: { context, cyclesPerToken: est(result), baselineCyclesPerToken: baseline ? est(baseline) : null },
  };
}
