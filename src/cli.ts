// The `wafer` command line. Each subcommand lives in src/commands/<name>.ts and registers itself in
// src/commands/index.ts; this file owns only the global options, the exit codes and the error format.
import { Command, CommanderError } from 'commander';
import { registerAll } from './commands/index.js';
import { errorExit } from './commands/action.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wafer')
    .description('A wafer-scale dataflow hardware emulator: compile models onto a faulty mesh of SRAM tiles, run them with real numbers, compare with HBM GPUs.')
    .option('--json', 'machine-readable JSON on stdout, nothing else on stdout', false)
    .option('--verbose', 'more detail; stack traces on internal errors', false)
    .option('-q, --quiet', 'no progress output', false)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.startsWith('error:') ? str : `error: ${str}`) })
    .exitOverride();
  program.addHelpText('after', '\nExample:\n  npx wafer demo            # the whole story in a minute\n  npx wafer <command> --help');
  registerAll(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a usage error (unknown option, missing argument) is bad input: exit 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    errorExit(e, process.argv.includes('--verbose'));
  }
}

await main();
