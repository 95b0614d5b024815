// What must match between a sweep's coordinator and its workers: the package version and a fingerprint of the code
// that computes points (every source file of kernels/, fabric/, compiler/ and src/), so two checkouts that would
// compute different numbers never mix their records. SWEEP_FORMAT is part of every point's key: it changes when a
// record's meaning does, and then no old record is reused.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../workers/modules.js';

export const SWEEP_FORMAT = 1;

const CODE_DIRS = ['kernels', 'fabric', 'compiler', 'src'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mjs|wat)$/.test(e.name)) out.push(p);
  }
  return out;
}

let cached: string | null = null;

/** "0.1.0+3f2a9c1d": the package version and the first 8 hex digits of the code's hash. */
export function codeVersion(): string {
  if (cached !== null) return cached;
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const h = createHash('sha256');
  const files = CODE_DIRS.flatMap((d) => sourceFiles(join(REPO_ROOT, d))).sort();
  for (const f of files) h.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  cached = `${pkg.version}+${h.digest('hex').slice(0, 8)}`;
  return cached;
}
