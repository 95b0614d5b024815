// Shared command-line plumbing for the commands that compile and run models: model, fabric and fault options
// resolved once into the objects the compiler and engines take.
import { InputError, type OptionNamer } from '../../fabric/errors.js';
import { FaultMap, REPAIR_POLICIES, assertFaultMapSize, type RepairPolicy } from '../../fabric/faults/index.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import type { ProgramDtype } from '../../compiler/wafer/partition.js';
import { readUserJson } from '../io/atomicWrite.js';
import { parseDtypeOption, parseNumberOption, parsePositiveNumberOption, parseSeedOption } from '../io/parse.js';
import { faultGrid, generatedFaults } from './compileCore.js';

export interface FaultOptions {
  faults?: string;
  faultDensity?: string;
  clustered?: string;
  seed?: string;
  repair?: string;
}

/** Names each option by its flag in `flags`, or by its field where `flags` has none. */
export function flagNamer(flags: Readonly<Record<string, string>>): OptionNamer {
  return (option) => (Object.hasOwn(flags, option) ? flags[option] : option);
}

/**
 * Runs core code (compiler/, fabric/) whose bad-input errors name API options (OptionError: `hubSlices`, `grid`, …)
 * and reports them, and the options their fixes name, by the command-line flags given here, the edge where those
 * options came from.
 */
export function withFlags<T>(flags: Readonly<Record<string, string>>, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof InputError) throw e.named(flagNamer(flags));
    throw e;
  }
}

/** The flag of each compiler option that `wafer compile`, `run` and `project` take from the command line. */
export const OPTION_FLAGS: Readonly<Record<string, string>> = {
  fabric: '--fabric',
  dtype: '--dtype',
  kvDtype: '--kv-dtype',
  batch: '--batch',
  promptLength: '--prompt-len',
  context: '--context',
  grid: '--grid',
  wafers: '--wafers',
  spread: '--spread',
  hubSlices: '--hub-slices',
  kvChunkPositions: '--kv-chunk',
  faults: '--faults',
};

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
 * The fault map the options describe, on the grid the repair policy works on (the logical mesh for route-around,
 * the physical grid with its spares for remap), or null for a perfect wafer.
 */
export function resolveFaults(spec: FabricSpec, o: FaultOptions, repair: RepairPolicy): FaultMap | null {
  if (o.faults !== undefined && o.faultDensity !== undefined) throw new InputError('both --faults and --fault-density given', 'faults', 'give one of them');
  const seed = parseSeedOption(o.seed ?? '0'); // checked even where no map is generated: a typo is never silently ignored
  const { width, height } = faultGrid(spec, repair);
  if (o.faults !== undefined) {
    const map = FaultMap.fromJson(readUserJson(o.faults, '--faults'), o.faults);
    assertFaultMapSize(map, width, height, `--faults ${o.faults}`, repair === 'remap' ? `${spec.name}'s physical grid (with spares, for --repair remap)` : `${spec.name}'s mesh`);
    return map;
  }
  if (o.faultDensity === undefined) {
    if (o.clustered !== undefined) throw new InputError('--clustered needs --fault-density', '--clustered', 'add --fault-density D');
    return null;
  }
  const density = parseNumberOption(o.faultDensity, '--fault-density', 0, 1);
  const clusterAlpha = o.clustered === undefined ? undefined : parsePositiveNumberOption(o.clustered, '--clustered', 1e6);
  return generatedFaults(spec, repair, { density, seed, clusterAlpha });
}
