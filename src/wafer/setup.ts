// Shared command-line plumbing for the commands that compile and run models: model, fabric and fault options
// resolved once into the objects the compiler and engines take.
import { InputError } from '../../fabric/errors.js';
import { FaultMap, REPAIR_POLICIES, assertFaultMapSize, generateFaults, type RepairPolicy } from '../../fabric/faults/index.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import { readUserJson } from '../io/atomicWrite.js';
import { parseDtypeOption, parseNumberOption, parseSeedOption } from '../io/parse.js';

export interface FaultOptions {
  faults?: string;
  faultDensity?: string;
  clustered?: string;
  seed?: string;
  repair?: string;
}

export const PROGRAM_DTYPES: readonly ProgramDtype[] = ['f32', 'bf16', 'int8'];

export function parseRepair(value: string | undefined): RepairPolicy {
  const repair = value ?? 'route-around';
  if (!(REPAIR_POLICIES as readonly string[]).includes(repair)) throw new InputError(`unknown repair policy "${repair}"`, '--repair', `use one of ${REPAIR_POLICIES.join(', ')}`);
  return repair as RepairPolicy;
}

export function parseProgramDtype(value: string | undefined, fallback: ProgramDtype): ProgramDtype {
  return value === undefined ? fallback : parseDtypeOption(value, '--dtype', PROGRAM_DTYPES);
}

/**
 * Where a fault map comes from, as typed data parsed once at the edge (plain, so it can cross to a worker thread):
 * none, a file's parsed JSON, or a seeded generation.
 */
export type FaultSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'file'; readonly path: string; readonly json: unknown }
  | { readonly kind: 'generated'; readonly density: number; readonly clusterAlpha: number | null; readonly seed: number };

/** --faults, --fault-density, --clustered and --seed as a FaultSource (the file read and parsed as JSON here). */
export function parseFaultSource(o: FaultOptions): FaultSource {
  if (o.faults !== undefined && o.faultDensity !== undefined) throw new InputError('both --faults and --fault-density given', 'faults', 'give one of them');
  const seed = parseSeedOption(o.seed ?? '0'); // checked even where no map is generated: a typo is never silently ignored
  if (o.faults !== undefined) return Object.freeze({ kind: 'file', path: o.faults, json: readUserJson(o.faults, '--faults') });
  if (o.faultDensity === undefined) {
    if (o.clustered !== undefined) throw new InputError('--clustered needs --fault-density', '--clustered', 'add --fault-density D');
    return Object.freeze({ kind: 'none' });
  }
  const density = parseNumberOption(o.faultDensity, '--fault-density', 0, 1);
  const clusterAlpha = o.clustered === undefined ? null : parseNumberOption(o.clustered, '--clustered', Number.MIN_VALUE, 1e6);
  return Object.freeze({ kind: 'generated', density, clusterAlpha, seed });
}

/**
 * The fault map a source describes, on the grid the repair policy works on (the logical mesh for route-around,
 * the physical grid with its spares for remap), or null for a perfect wafer.
 */
export function faultsFrom(spec: FabricSpec, source: FaultSource, repair: RepairPolicy): FaultMap | null {
  const width = spec.widthTiles + (repair === 'remap' ? spec.spareColumns : 0);
  const height = spec.heightTiles + (repair === 'remap' ? spec.spareRows : 0);
  if (source.kind === 'none') return null;
  if (source.kind === 'file') {
    const map = FaultMap.fromJson(source.json, source.path);
    assertFaultMapSize(map, width, height, `--faults ${source.path}`, repair === 'remap' ? `${spec.name}'s physical grid (with spares, for --repair remap)` : `${spec.name}'s mesh`);
    return map;
  }
  return generateFaults({ width, height, density: source.density, seed: source.seed, clusterAlpha: source.clusterAlpha ?? undefined });
}

/** The fault map the command-line options describe (parseFaultSource, then faultsFrom). */
export function resolveFaults(spec: FabricSpec, o: FaultOptions, repair: RepairPolicy): FaultMap | null {
  return faultsFrom(spec, parseFaultSource(o), repair);
}
