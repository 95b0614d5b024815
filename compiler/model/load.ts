// Loading a model directory (config.json + model.safetensors). The one place in compiler/ that reads files: a thin
// shell over the pure parsers, so callers in src/ and tests need not repeat it. Writing stays in src/.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../fabric/errors.js';
import { parseModelConfig, type ModelConfig } from './config.js';
import { weightsFromSafetensors, type ModelWeights } from './weights.js';

function readFile(path: string, what: string): Buffer {
  if (!existsSync(path)) throw new InputError(`${what} not found`, path, `a model directory holds config.json and model.safetensors (create one with: wafer model init toy-dense --out DIR)`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read ${what}: ${(e as Error).message}`, path, 'check the path and its permissions');
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
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, path, 'fix the JSON syntax');
  }
  return parseModelConfig(json, path);
}

/** Loads DIR/config.json and DIR/model.safetensors; a missing file, tensor or wrong shape is an InputError. */
export function loadModelDir(dir: string): ModelWeights {
  if (!isDirectory(dir)) throw new InputError('model directory not found', dir, 'give a directory holding config.json and model.safetensors');
  const config = loadModelConfig(dir);
  const stPath = join(dir, 'model.safetensors');
  const bytes = readFile(stPath, 'model.safetensors');
  return weightsFromSafetensors(config, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), stPath);
}
