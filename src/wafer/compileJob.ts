// Compiling a model given on the command line: resolve the model (weights when it has them), fabric and faults, then
// compile (compileCore.ts: with the fault-free baseline beside it, so the faults' cost is visible).
import { existsSync } from 'node:fs';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import { findPreset } from '../../compiler/model/presets.js';
import { isDirectory, resolveModelConfig, resolveModelWeights } from '../io/loadModel.js';
import { countParameters, type ModelConfig } from '../../compiler/model/config.js';
import type { ModelWeights } from '../../compiler/model/weights.js';
import { InputError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import { loadFabric } from '../io/fabric.js';
import { parseIntOption, parseNumberOption, parseSeedOption } from '../io/parse.js';
import { OPTION_FLAGS, parseProgramDtype, parseRepair, resolveFaults, withFlags, type FaultOptions } from './setup.js';
import { buildCompileJob, type CompileJob } from './compileCore.js';

export type { CompileJob };

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

/** The default weight dtype: that of the weights file for a directory, f32 for runnable presets, bf16 for config-only ones. */
function defaultDtype(modelArg: string, weights: ModelWeights | null): ProgramDtype {
  if (weights) {
    const first = [...weights.tensors.values()].find((t) => t.shape.length === 2);
    if (first?.dtype === 'bf16' || first?.dtype === 'int8') return first.dtype;
    return 'f32';
  }
  return findPreset(modelArg)?.runnable ? 'f32' : 'bf16';
}

/** --hub-slices: auto (the compiler's choice) or N tiles per hub, each holding ⌈d / N⌉ columns of x. */
function parseHubSlices(v: string | undefined, hidden: number): number | undefined {
  if (v === undefined || v === 'auto') return undefined;
  const n = parseIntOption(v, '--hub-slices', 1);
  if (n > hidden) throw new InputError(`${n} hub slices are more than the model's ${hidden} hidden columns`, '--hub-slices', `give auto or at most ${hidden}`);
  return Math.ceil(hidden / n);
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
 * `needWeights`: refuse a model without weights. `drawPresetWeights` false: leave a runnable preset's synthetic weights
 * undrawn (job.weights null) where nothing runs the program — `wafer compile` of a ~1B preset would otherwise spend
 * most of its time drawing weights it never reads.
 */
export function prepareCompile(o: CompileCliOptions, needWeights: boolean, drawPresetWeights = true): CompileJob {
  const config = resolveModelConfig(o.model);
  const preset = findPreset(o.model);
  const hasWeights = isDirectory(o.model) || (preset?.runnable ?? false);
  if (needWeights && !hasWeights) throw new InputError(`model ${o.model} has no weights to run`, '--model', 'use a model directory or a runnable preset (toy-dense, toy-moe, …), or `wafer compile` / `wafer project` for config-only models');
  if (!isDirectory(o.model) && !preset && existsSync(o.model)) throw new InputError(`${o.model} is not a model directory`, '--model', 'give a directory holding config.json and model.safetensors');
  // A preset's program dtype is known before its weights are drawn, and they are drawn in it (never whole in f32).
  const presetDtype = preset && !isDirectory(o.model) ? parseProgramDtype(o.dtype, defaultDtype(o.model, null)) : undefined;
  const seed = parseSeedOption(o.weightsSeed ?? '0', '--weights-seed'); // checked even where nothing is drawn
  const rawWeights = hasWeights && (drawPresetWeights || isDirectory(o.model)) ? resolveModelWeights(o.model, { seed, presetDtype }).weights : null;
  const dtype = presetDtype ?? parseProgramDtype(o.dtype, defaultDtype(o.model, rawWeights));
  const spec = loadFabric(o.fabric);
  assertModelCanFit(config, spec, dtype);
  const repair = parseRepair(o.repair);
  const faults = resolveFaults(spec, o, repair);
  const maxSeq = parseIntOption(o.maxSeq ?? '64', '--max-seq', 1, config.maxPositionEmbeddings);
  const spread = o.spread === undefined ? 0 : parseNumberOption(o.spread, '--spread', 0, 1);
  const context = o.context === undefined ? Math.min(16, maxSeq) : parseIntOption(o.context, '--context', 1, config.maxPositionEmbeddings);
  if (context > maxSeq) throw new InputError(`context ${context} is longer than --max-seq ${maxSeq}`, '--context', `give at most ${maxSeq}, or raise --max-seq`);
  const sliceCols = parseHubSlices(o.hubSlices, config.hiddenSize);
  return withFlags(OPTION_FLAGS, () => buildCompileJob({ config, weights: rawWeights, spec, faults, repair, dtype, maxSeq, spread, context, sliceCols }));
}
