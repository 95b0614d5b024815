// Fabric specs: the schema, the frozen presets, strict parsing of user spec files, and derived figures.
import { InputError, OptionError, inputErrorFromZod } from '../errors.js';
import { fabricSpecSchema, type FabricSpec } from './schema.js';
import { findFabricPreset, listFabricPresets } from './presets.js';

export { fabricSpecSchema, simdWidthSchema, costsSchema, DEFAULT_COSTS, type FabricSpec, type FabricCosts } from './schema.js';
export { listFabricPresets } from './presets.js';
export { deriveFabric, type FabricDerived } from './derived.js';

/** The frozen preset `name`; an unknown name is an InputError listing the presets. */
export function getFabricPreset(name: string): FabricSpec {
  const spec = findFabricPreset(name);
  if (!spec) throw new OptionError('fabric', `unknown fabric preset "${name}"`, `use one of ${listFabricPresets().join(', ')}, or a spec JSON file`);
  return spec;
}

/**
 * Validates a parsed JSON value as a fabric spec, strictly (unknown keys rejected). `source` names where it came
 * from (a file path) and appears in every message. Returns a frozen spec.
 */
export function parseFabricSpec(json: unknown, source: string): FabricSpec {
  // Zero/negative sizes get a message of their own before zod's generic one.
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const obj = json as Record<string, unknown>;
    for (const key of ['widthTiles', 'heightTiles'] as const) {
      const v = obj[key];
      if (typeof v === 'number' && v <= 0) {
        throw new InputError(`mesh size must be positive, got ${key} = ${v}`, `${source}: ${key}`, 'give at least 1 tile');
      }
    }
  }
  const result = fabricSpecSchema.safeParse(json);
  if (!result.success) throw inputErrorFromZod(result.error, source, undefined, json);
  return Object.freeze({ ...result.data, simdWidth: Object.freeze(result.data.simdWidth), interWafer: Object.freeze(result.data.interWafer), costs: Object.freeze(result.data.costs) });
}

/** A preset name, or an already-parsed spec JSON value (validated). `source` names the JSON's origin. */
export function resolveFabric(nameOrParsedJson: string | unknown, source = 'fabric'): FabricSpec {
  if (typeof nameOrParsedJson === 'string') return getFabricPreset(nameOrParsedJson);
  return parseFabricSpec(nameOrParsedJson, source);
}
