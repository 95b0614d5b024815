// npx tsx bench/fabrics.ts [--models a,b]: the fabrics benchmark of `wafer bench fabrics` — every real-size preset on
// the wafers (projection) and on GPUs — printed as a markdown table and written to bench/results/fabrics.json and
// bench/results/fabrics.md.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatFabricsBench, parseModelList, runFabricsBench, writeFabricsBench } from '../src/bench/fabricsBench.js';

const i = process.argv.indexOf('--models');
const models = i >= 0 ? parseModelList(process.argv[i + 1] ?? '') : undefined;
const report = runFabricsBench({ models, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatFabricsBench(report) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
writeFabricsBench(report, dir);
process.stderr.write(`wrote ${join(dir, 'fabrics.json')} and fabrics.md\n`);
