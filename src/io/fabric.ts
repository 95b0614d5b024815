// The one fabric resolver of the command line: a preset name or a spec JSON file, parsed once into a frozen spec.
import { existsSync } from 'node:fs';
import { getFabricPreset, parseFabricSpec, type FabricSpec } from '../../fabric/spec/index.js';
import { readUserJson } from './atomicWrite.js';

/** A preset name, or a path to a spec JSON file (anything ending in .json or naming an existing file). */
export function loadFabric(value: string, option = '--fabric'): FabricSpec {
  if (value.endsWith('.json') || existsSync(value)) return parseFabricSpec(readUserJson(value, option), value);
  return getFabricPreset(value);
}
