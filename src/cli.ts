// The `wafer` command line. Each subcommand lives in src/commands/<name>.ts and registers itself in
// src/commands/index.ts; this file owns only the global options, the exit codes and the error format.
//
// Exit codes: 0 ok, 2 bad input (an InputError, or a usage error commander found: unknown option or command,
// missing option or value), 1 internal error. Every error is one line on stderr, `error: <what> (<where>): <fix>`;
// stdout carries only results (with --json, only the JSON document).
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAll } from './commands/index.js';
import { errorExit } from './commands/action.js';
import { join } from 'node:path';
import { REPO_ROOT } from './workers/modules.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The command commander last reported an error or error-help for (so the message can name it). */
let lastErrorCommand: Command | null = null;

/** "wafer model init" for the `init` subcommand of `model`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The same rules on every command, including those built with `new Command()` and attached with addCommand (which
 * do not inherit the program's settings): errors are thrown to main() instead of exiting, and commander's own
 * message is held back so main() can print it as the one-line `error: …` every other error uses.
 */
function applyConventions(cmd: Command): void {
  cmd.exitOverride();
  cmd.showHelpAfterError(false);
  cmd.configureOutput({
    writeErr: (str) => {
      lastErrorCommand = cmd;
      process.stderr.write(str);
    },
    outputError: () => {
      lastErrorCommand = cmd;
    },
  });
  for (const sub of cmd.commands) applyConventions(sub);
}

/**
 * The program with every subcommand, or only the one `argv` (the arguments after `wafer`) runs: its first word that
 * is not an option (the global options take no values) when that names a command.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('wafer')
    .description('A wafer-scale dataflow hardware emulator: compile models onto a faulty mesh of SRAM tiles, run them with real numbers, compare with HBM GPUs.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--json', 'machine-readable JSON on stdout, nothing else on stdout', false)
    .option('--verbose', 'more detail; stack traces on internal errors', false)
    .option('-q, --quiet', 'no progress output', false)
    .option('--max-memory-mb <MB>', 'refuse work estimated to need more memory than this (default 4096)')
    .option('--max-work <N>', 'refuse simulations estimated to take more elementary steps than this (default 1e8; router-cycles for noc)')
    .option('--max-seconds <S>', 'stop long runs cleanly after this many seconds (default: no limit)');
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 2 bad input (one line: error: <what> (<where>): <how to fix>), 1 internal error.\n\nExamples:\n  npx wafer demo            # the whole story in a minute\n  npx wafer <command> --help',
  );
  await registerAll(program, argv.find((a) => !a.startsWith('-')));
  applyConventions(program);
  return program;
}

/** Commander's usage error (code + message) as the project's one-line `error: <what> (<where>): <fix>`. */
export function formatUsageError(code: string, message: string, cmd: Command | null): string {
  const path = cmd ? commandPath(cmd) : 'wafer';
  const lines = message.replace(/^error:\s*/, '').trim().split('\n');
  const first = lines[0].replace(/\.$/, '');
  const suggestion = /\(Did you mean (.+)\?\)/.exec(lines.slice(1).join(' '))?.[1];
  const help = `run "${path} --help" for the usage`;
  const option = /'(-[\w-]+|--[\w-]+)(?:,\s*--[\w-]+)?(?: [<[][^>\]]+[>\]])?'/.exec(first);
  switch (code) {
    case 'commander.unknownOption':
      return `error: ${first} (${path}): ${suggestion ? `did you mean ${suggestion}? or ` : ''}${help}`;
    case 'commander.unknownCommand': {
      const list = cmd ? cmd.commands.map((c) => c.name()).filter((n) => n !== 'help').join(', ') : '';
      return `error: ${first} (${path}): ${suggestion ? `did you mean ${suggestion}? ` : ''}use one of ${list}`;
    }
    case 'commander.missingMandatoryOptionValue':
      return `error: missing required option (${option?.[1] ?? path}): give ${option?.[0].slice(1, -1) ?? 'it'}; ${help}`;
    case 'commander.optionMissingArgument':
      return `error: option needs a value (${option?.[1] ?? path}): give ${option?.[0].slice(1, -1) ?? 'a value'}`;
    case 'commander.missingArgument': {
      const arg = /'([^']+)'/.exec(first)?.[1];
      return `error: missing argument <${arg ?? '?'}> (${path}): ${help}`;
    }
    default:
      return `error: ${first} (${path}): ${help}`;
  }
}

async function main(): Promise<void> {
  // `wafer … | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const argv = process.argv.slice(2);
  const program = await buildProgram(argv);
  const verbose = argv.includes('--verbose');
  // `wafer help <unknown>` would print the whole help as an error; say which word was not a command instead.
  if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-') && !program.commands.some((c) => c.name() === argv[1] || c.aliases().includes(argv[1]))) {
    process.stderr.write(formatUsageError('commander.unknownCommand', `unknown command '${argv[1]}'`, program) + '\n');
    process.exitCode = 2;
    return;
  }
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) {
        process.exitCode = 0; // --help, --version
        return;
      }
      if (e.code === 'commander.help') {
        // A command that needs a subcommand was given none: its help went to stderr; close with the one-liner.
        const cmd = lastErrorCommand ?? program;
        const subs = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
        process.stderr.write(`\nerror: no command given (${commandPath(cmd)}): use one of ${subs.join(', ')}\n`);
      } else {
        process.stderr.write(formatUsageError(e.code, e.message, lastErrorCommand) + '\n');
      }
      process.exitCode = 2;
      return;
    }
    errorExit(e, verbose);
  }
}

await main();
