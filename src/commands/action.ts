// Wraps a subcommand's action: global options resolved once, errors mapped to exit codes
// (0 ok, 2 bad input, 1 internal error), one line on stderr, a stack trace only with --verbose.
import type { Command } from 'commander';
import { InputError, type OptionNamer } from '../../fabric/errors.js';
import type { GlobalOptions } from '../io/output.js';
import { parseLimits, type LimitOptions } from '../io/limits.js';

/** The global options, parsed once: flags as booleans, the resource limits typed (a bad limit is an InputError). */
export function globalOptions(cmd: Command): GlobalOptions {
  const all = cmd.optsWithGlobals() as Partial<Record<'json' | 'verbose' | 'quiet', boolean>> & LimitOptions;
  return { json: all.json === true, verbose: all.verbose === true, quiet: all.quiet === true, limits: parseLimits(all) };
}

export function errorExit(e: unknown, verbose: boolean): void {
  if (e instanceof InputError) {
    process.stderr.write(`error: ${e.message}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    process.exitCode = 2;
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`internal error: ${err.message}${verbose ? '' : ' (run again with --verbose for the stack trace)'}\n`);
  if (verbose && err.stack) process.stderr.write(err.stack + '\n');
  process.exitCode = 1;
}

/**
 * Core fields whose flag is not simply the field in kebab case; each applies only to a command that has that flag.
 */
const FIELD_FLAGS: Readonly<Record<string, string>> = {
  promptLength: '--prompt-len',
  contextLength: '--context',
  kvChunkPositions: '--kv-chunk',
  maxNewTokens: '--tokens',
  density: '--fault-density',
  clusterAlpha: '--clustered',
  outputTokensPerCall: '--output-tokens',
  toolResultTokens: '--tool-tokens',
  overheadSecondsPerCall: '--overhead',
};

/**
 * Names a core option (an OptionError's field, an option a fix names) by the flag of `cmd` or of its parents it
 * came from: the flag whose attribute is the field (`packetWavelets` → `--packet-wavelets`), or FIELD_FLAGS's;
 * an option the command has no flag for keeps its field name.
 */
export function commandFlagNamer(cmd: Command): OptionNamer {
  const flags = new Map<string, string>();
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const o of c.options) if (o.long && !o.negate && !flags.has(o.attributeName())) flags.set(o.attributeName(), o.long);
  }
  const longs = new Set(flags.values());
  return (option) => flags.get(option) ?? (Object.hasOwn(FIELD_FLAGS, option) && longs.has(FIELD_FLAGS[option]) ? FIELD_FLAGS[option] : option);
}

/** action(cmd, fn): fn receives the command's own options, the global options, and the positional arguments. */
export function action<O>(cmd: Command, fn: (opts: O, g: GlobalOptions, args: string[]) => Promise<void> | void): Command {
  return cmd.action(async (...argv: unknown[]) => {
    const self = argv[argv.length - 1] as Command;
    const verbose = (self.optsWithGlobals() as { verbose?: boolean }).verbose === true;
    try {
      await fn(self.opts() as O, globalOptions(self), self.args);
    } catch (e) {
      errorExit(e instanceof InputError ? e.named(commandFlagNamer(self)) : e, verbose);
    }
  });
}
