// bin/wafer.mjs runs dist/node only while it is the sources' build (scripts/node-build.mjs): any source edited,
// added, removed or renamed after the build started makes it stale, and an unfinished build (no stamp) is never taken.
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeBuildFresh, nodeBuildStart } from '../../../scripts/node-build.mjs';

let root: string;
const T0 = Date.UTC(2026, 0, 1) / 1000; // seconds: the sources' time, before the build
const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

/** A tree like the repository's: sources dated T0, then a build stamped as started at T0 + 10 s. */
function built(): void {
  for (const d of ['src', 'src/io', 'compiler', 'fabric', 'kernels', 'lab']) mkdirSync(join(root, d), { recursive: true });
  for (const f of ['src/cli.ts', 'src/io/a.ts', 'compiler/b.ts', 'lab/build.ts']) writeFileSync(join(root, f), 'export {};\n');
  for (const p of ['src/cli.ts', 'src/io/a.ts', 'compiler/b.ts', 'lab/build.ts', 'src/io', 'src', 'compiler', 'fabric', 'kernels', 'lab']) at(join(root, p), T0);
  mkdirSync(join(root, 'dist', 'node'), { recursive: true });
  writeFileSync(join(root, 'dist', 'node', '.built'), JSON.stringify({ startedMs: (T0 + 10) * 1000, modules: 4 }));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wafer-node-build-'));
  built();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('nodeBuildFresh', () => {
  it('takes a finished build newer than every source', () => {
    expect(nodeBuildStart(root)).toBe((T0 + 10) * 1000);
    expect(nodeBuildFresh(root)).toBe(true);
  });

  it('refuses a build with no stamp (never finished)', () => {
    rmSync(join(root, 'dist', 'node', '.built'));
    expect(nodeBuildFresh(root)).toBe(false);
  });

  it('refuses it once a source is edited after the build started, however deep', () => {
    at(join(root, 'src', 'io', 'a.ts'), T0 + 11);
    expect(nodeBuildFresh(root)).toBe(false);
  });

  it('refuses it once a source is added, removed or renamed (its folder changes)', () => {
    for (const change of [
      () => writeFileSync(join(root, 'fabric', 'new.ts'), ''),
      () => rmSync(join(root, 'compiler', 'b.ts')),
      () => renameSync(join(root, 'src', 'io', 'a.ts'), join(root, 'src', 'io', 'c.ts')),
    ]) {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root);
      built();
      change();
      expect(nodeBuildFresh(root)).toBe(false);
    }
  });

  it('ignores files that are not TypeScript sources', () => {
    writeFileSync(join(root, 'lab', 'index.html'), '');
    at(join(root, 'lab'), T0);
    expect(nodeBuildFresh(root)).toBe(true);
  });
});
