// The fault options `wafer compile` (and run and report, which take its options) and `wafer project` share; both are
// read by src/wafer/setup.ts's resolveFaults and parseRepair.
import type { Command } from 'commander';

/** Adds --faults, --fault-density, --clustered, --seed and --repair; `perWafer`: the wording of a multi-wafer projection. */
export function addFaultOptions(cmd: Command, perWafer = false): Command {
  return cmd
    .option('--faults <file>', perWafer ? 'fault map JSON of one wafer (every wafer gets it)' : 'fault map JSON')
    .option('--fault-density <D>', `generate a seeded fault map${perWafer ? ' per wafer' : ''} with this fraction of defective tiles`)
    .option('--clustered <alpha>', 'clustered (negative-binomial) defects, with --fault-density')
    .option('--seed <S>', 'seed of the fault map', '0')
    .option('--repair <policy>', 'remap (spares hide defects) | route-around (place and route around holes)', 'route-around');
}
