// Console output rules: with --json, stdout carries only the JSON document; human text goes to stdout otherwise,
// progress to stderr (hidden with --quiet, --json, or when stderr is not a terminal).

export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function progressEnabled(g: GlobalOptions): boolean {
  return !g.json && !g.quiet && process.stderr.isTTY === true;
}

/** A one-line progress indicator on stderr that redraws itself; a no-op when progress is disabled. */
export function progress(g: GlobalOptions, label: string): { update(done: number, total: number): void; end(): void } {
  if (!progressEnabled(g)) return { update() {}, end() {} };
  const width = 30;
  return {
    update(done, total) {
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
      process.stderr.write(`\r${label} [${bar}] ${done}/${total}`);
    },
    end() {
      process.stderr.write('\r\x1b[2K');
    },
  };
}
