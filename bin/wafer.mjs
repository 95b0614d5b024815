#!/usr/bin/env node
// Runs the CLI: the JavaScript that scripts/build-node.mjs transpiled into dist/node while it is newer than every
// source (npm ci and npm test build it), else the TypeScript sources through tsx — so a fresh clone needs no build
// step of its own, and an edited source runs as edited. Worker threads load the same kind (src/workers/modules.ts).
import { fileURLToPath } from 'node:url';
import { nodeBuildFresh } from '../scripts/node-build.mjs';

const root = new URL('..', import.meta.url);
// WAFER_FROM_SOURCES=1 runs the sources whatever dist/node holds.
if (process.env.WAFER_FROM_SOURCES !== '1' && nodeBuildFresh(fileURLToPath(root))) {
  await import(new URL('dist/node/src/cli.js', root).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
