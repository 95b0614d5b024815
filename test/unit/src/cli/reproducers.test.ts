// Issue 15's reproducers, through the real CLI: each gives exactly one `error: <what> (<where>): <fix>` line, exit 2,
// nothing on stdout, and leaves its directory as it found it. (Their time and peak memory are measured by
// `npm run fuzz` into bench/results/fuzz.md: speed targets live in benchmarks, not in timed tests.)
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wafer } from './spawnWafer.js';
import { REPRODUCERS, prepareReproducer } from './reproducers.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-repro-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('issue 15 reproducers', () => {
  it.concurrent.each(REPRODUCERS.map((r) => [r.name, r] as const))('%s', async (_name, r) => {
    const dir = mkdtempSync(join(root, 'case-'));
    const args = prepareReproducer(r, dir, (p) => mkdirSync(p, { recursive: true }));
    const before = readdirSync(dir).sort();
    const out = await wafer(args, { cwd: dir });
    expect(out.stderr).toMatch(/^error: [^\n]+ \([^\n]+\): [^\n]+\n$/);
    expect(out.stderr.slice('error: '.length)).toMatch(r.message);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(readdirSync(dir).sort()).toEqual(before);
  }, 120_000);
});
