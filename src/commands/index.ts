// Every subcommand registers here, one line each, in the order `wafer --help` lists them.
import type { Command } from 'commander';
import { register as demo } from './demo.js';
import { register as faults } from './faults.js';
import { register as model } from './model.js';
import { register as generate } from './generate.js';
import { register as gpu } from './gpu.js';
import { register as compile } from './compile.js';
import { register as run } from './run.js';
import { register as noc } from './noc.js';
import { register as bench } from './bench.js';
import { register as compare } from './compare.js';
import { register as project } from './project.js';
import { register as report } from './report.js';

type Register = (program: Command) => void;

const registrations: Register[] = [
  demo,
  model,
  generate,
  compile,
  faults,
  run,
  gpu,
  compare,
  project,
  noc,
  bench,
  report,
];

export function registerAll(program: Command): void {
  for (const register of registrations) register(program);
}
