// Every subcommand registers here, one line each, in the order `wafer --help` lists them. The modules are loaded on
// demand: a run of one command loads only that command's module (a CLI start loads TypeScript through tsx, and every
// command's whole import graph cost ~0.3 s per start); help, unknown commands and tests load them all.
import type { Command } from 'commander';

type Register = (program: Command) => void;

const COMMANDS: readonly (readonly [string, () => Promise<{ register: Register }>])[] = [
  ['demo', () => import('./demo.js')],
  ['model', () => import('./model.js')],
  ['generate', () => import('./generate.js')],
  ['compile', () => import('./compile.js')],
  ['faults', () => import('./faults.js')],
  ['run', () => import('./run.js')],
  ['gpu', () => import('./gpu.js')],
  ['calibrate', () => import('./calibrate.js')],
  ['compare', () => import('./compare.js')],
  ['project', () => import('./project.js')],
  ['speculate', () => import('./speculate.js')],
  ['diffuse', () => import('./diffuse.js')],
  ['decode', () => import('./decode.js')],
  ['agent', () => import('./agent.js')],
  ['noc', () => import('./noc.js')],
  ['bench', () => import('./bench.js')],
  ['report', () => import('./report.js')],
  ['sweep', () => import('./sweep.js')],
  ['lab', () => import('./lab.js')],
];

/** The names of every subcommand, in help order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([name]) => name);

/** Registers every subcommand, or only `only` when it names one (the others are then not loaded at all). */
export async function registerAll(program: Command, only?: string): Promise<void> {
  const picked = COMMANDS.filter(([name]) => name === only);
  const modules = await Promise.all((picked.length > 0 ? picked : COMMANDS).map(([, load]) => load()));
  for (const m of modules) m.register(program);
}
