// The end of every bench script that keeps its --json document: bench/results/<file>, written atomically.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

/** Writes `report` as bench/results/<file> (pretty JSON) and says so on stderr. */
export function writeResult(file: string, report: unknown): void {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, file);
  writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
  process.stderr.write(`wrote ${out}\n`);
}
