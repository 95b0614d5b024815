// Console output rules: with --json, stdout carries only the JSON document; human text goes to stdout otherwise,
// progress to stderr (hidden with --quiet, --json, or when stderr is not a terminal).

import type { ResourceLimits } from './limits.js';

export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  /** --max-memory-mb, --max-work, --max-seconds (src/io/limits.ts). */
  limits: ResourceLimits;
}

/** The options that decide whether progress is drawn. */
type OutputMode = Pick<GlobalOptions, 'json' | 'quiet'>;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function progressEnabled(g: OutputMode): boolean {
  return !g.json && !g.quiet && process.stderr.isTTY === true;
}

export interface ProgressOptions {
  /** Draw nothing until the work has run this long (short work shows no bar). Default 2000 ms. */
  afterMs?: number;
  /** Where the bar goes (default process.stderr) and whether it is a terminal (default its isTTY). */
  stream?: { write(s: string): unknown; isTTY?: boolean };
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export interface Progress {
  update(done: number, total: number): void;
  end(): void;
}

/**
 * A one-line progress bar on stderr that redraws itself. It is a no-op with --json or --quiet or when stderr is not
 * a terminal, and it stays hidden until the work has taken `afterMs` (2 s), so quick commands print no bar at all.
 */
export function progress(g: OutputMode, label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (g.json || g.quiet || stream.isTTY !== true) return { update() {}, end() {} };
  const now = opts.now ?? (() => performance.now());
  const afterMs = opts.afterMs ?? 2000;
  const start = now();
  const width = 30;
  let drawn = false;
  return {
    update(done, total) {
      if (!drawn && now() - start < afterMs) return;
      drawn = true;
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
      stream.write(`\r${label} [${bar}] ${done}/${total}`);
    },
    end() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
