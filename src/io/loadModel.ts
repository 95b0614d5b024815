// Loading a model directory (config.json + model.safetensors), a config.json file or a preset: a thin shell of file
// reads over the pure parsers of compiler/model (only src/ touches files, docs/design.md#layers).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, parseJsonText } from '../../fabric/errors.js';
import { errnoReason, readUserFile } from './atomicWrite.js';
import { countParameters, parseModelConfig, type ModelConfig } from '../../compiler/model/config.js';
import { findPreset, getPreset, listPresets } from '../../compiler/model/presets.js';
import { syntheticWeights } from '../../compiler/model/synthetic.js';
import type { WeightDtype } from '../../kernels/index.js';
import { weightsFromSafetensors, type ModelWeights } from '../../compiler/model/weights.js';

function readFile(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new InputError(`${what} not found`, path, `a model directory holds config.json and model.safetensors (create one with: wafer model init toy-dense --out DIR)`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${what}: ${errnoReason(e)}`, path, 'check the path and its permissions');
  }
}

/** True when `path` is an existing directory. */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads and normalises DIR/config.json (the model's name is the directory's path unless the config names one). */
export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  const text = readFile(path, 'config.json').toString('utf8');
  return parseModelConfig(parseJsonText(text, path), path);
}

/** Loads DIR/config.json and DIR/model.safetensors; a missing file, tensor or wrong shape is an InputError. */
export function loadModelDir(dir: string): ModelWeights {
  if (!isDirectory(dir)) throw new InputError('model directory not found', dir, 'give a directory holding config.json and model.safetensors');
  const config = loadModelConfig(dir);
  const stPath = join(dir, 'model.safetensors');
  const bytes = readFile(stPath, 'model.safetensors');
  return weightsFromSafetensors(config, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), stPath);
}

/** Where a model came from: a checkpoint directory, or a preset with synthetic weights of a seed. */
export type ModelOrigin = { kind: 'dir'; dir: string } | { kind: 'preset'; preset: string; seed: number };

/**
 * The config of a model given on the command line as a directory (its config.json), a config.json file, or a
 * preset name (config-only presets included). `option` names the flag in errors.
 */
export function resolveModelConfig(spec: string, option = '--model'): ModelConfig {
  if (isDirectory(spec)) return loadModelConfig(spec);
  if (spec.endsWith('.json') && existsSync(spec)) {
    return parseModelConfig(parseJsonText(readUserFile(spec, option).toString('utf8'), `${option} ${spec}`), spec);
  }
  return getPreset(spec, option);
}

/**
 * Weights of a model given as a directory (config.json + model.safetensors) or a runnable preset name; a preset gets
 * syntheticWeights(config, seed) — the same weights `wafer model init <preset> --seed S` writes — with its matrices
 * cast to `presetDtype` where given (a large preset is then never held whole in f32; a directory keeps its dtype).
 */
export function resolveModelWeights(spec: string, opts: { seed?: number; option?: string; presetDtype?: WeightDtype } = {}): { weights: ModelWeights; origin: ModelOrigin } {
  const option = opts.option ?? '--model';
  if (isDirectory(spec)) return { weights: loadModelDir(spec), origin: { kind: 'dir', dir: spec } };
  const preset = findPreset(spec);
  if (!preset) {
    throw new InputError(
      `"${spec}" is neither a model directory nor a preset`,
      option,
      `give a directory with config.json and model.safetensors, or one of ${listPresets().map((p) => p.name).join(', ')}`,
    );
  }
  const config = getPreset(spec, option);
  assertPresetRunnable(spec, option);
  const seed = opts.seed ?? 0;
  return { weights: syntheticWeights(config, seed, opts.presetDtype), origin: { kind: 'preset', preset: spec, seed } };
}

/** Config-only (real-size) presets have no synthetic weights: an InputError pointing at the runnable ones. */
export function assertPresetRunnable(name: string, option: string): void {
  const preset = findPreset(name);
  if (preset && !preset.runnable) {
    const runnable = listPresets().filter((p) => p.runnable).map((p) => p.name);
    const billions = (countParameters(getPreset(name)).total / 1e9).toFixed(1);
    throw new InputError(`preset ${name} is config-only (${billions}B parameters, no weights)`, option, `use ${runnable.join(', ')}, or a model directory`);
  }
}
