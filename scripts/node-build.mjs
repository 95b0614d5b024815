// What scripts/build-node.mjs transpiles into dist/node, and whether that build is still the sources' (bin/wafer.mjs
// asks at every CLI start: one stat per source file and folder, a few milliseconds).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders whose TypeScript the CLI runs. */
export const NODE_BUILD_DIRS = ['src', 'compiler', 'fabric', 'kernels', 'lab'];

/** Every .ts file under `dir` (not .d.ts), recursively. */
export function tsFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The latest modification (ms) of any .ts file or any folder under `dir`: a folder changes when a file in it is added, removed or renamed. */
function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** dist/node's stamp: when its build started reading the sources (ms), or null without a finished build. */
export function nodeBuildStart(root) {
  const stamp = join(root, 'dist', 'node', '.built');
  if (!existsSync(stamp)) return null;
  const started = Number(JSON.parse(readFileSync(stamp, 'utf8')).startedMs);
  return Number.isFinite(started) ? started : null;
}

/** Whether dist/node holds every source as it is now: built after the last change to any of them. */
export function nodeBuildFresh(root) {
  const started = nodeBuildStart(root);
  if (started === null) return false;
  return NODE_BUILD_DIRS.every((d) => !existsSync(join(root, d)) || newest(join(root, d)) < started);
}
