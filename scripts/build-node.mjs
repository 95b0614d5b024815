// Transpiles the TypeScript that the CLI runs (scripts/node-build.mjs NODE_BUILD_DIRS) into JavaScript under
// dist/node, file for file (no bundle: a command still loads only its own modules), so that a CLI start need not load
// tsx and transform every module it imports (~0.8 s a start, against ~0.2 s for the JavaScript). bin/wafer.mjs runs
// it only while it is newer than every source, and otherwise the sources through tsx as before.
// Runs in `prepare` (npm ci) and before the tests, after build-wasm.mjs (kernels/wasm/*.gen.ts are transpiled too).
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_BUILD_DIRS, tsFiles } from './node-build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'node');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // Without esbuild (an install without devDependencies) the CLI runs the sources through tsx.
  process.stderr.write('build-node: esbuild is not installed; the CLI will run the TypeScript sources through tsx\n');
  process.exit(0);
}
// Taken before reading any source: a source saved during the build is newer than the stamp, so the build is stale.
const startedMs = Date.now();
const files = NODE_BUILD_DIRS.flatMap((d) => tsFiles(join(root, d)));
// Built beside the output and swapped in whole, so that a CLI started meanwhile sees the old build or the new one.
const next = `${out}.next-${process.pid}`;
try {
  rmSync(next, { recursive: true, force: true });
  await esbuild.build({ entryPoints: files, outdir: next, outbase: root, format: 'esm', platform: 'node', target: 'node20', bundle: false, logLevel: 'silent' });
  writeFileSync(join(next, '.built'), JSON.stringify({ startedMs, modules: files.length }) + '\n');
  rmSync(out, { recursive: true, force: true });
  renameSync(next, out);
} catch (e) {
  // Not fatal (npm ci runs this): with no fresh build the CLI runs the sources, which report any error themselves.
  rmSync(next, { recursive: true, force: true });
  rmSync(join(out, '.built'), { force: true });
  const first = e?.errors?.[0];
  const why = first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}` : String(e instanceof Error ? e.message : e).split('\n')[0];
  process.stderr.write(`build-node: no JavaScript build (${why}); the CLI will run the TypeScript sources through tsx\n`);
}
