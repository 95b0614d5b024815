// npx tsx bench/scale.ts [--quick]: the 10^5-tile mesh run and full-wafer compile of `wafer bench scale`, printed and
// written to bench/results/scale.json and scale.md (--quick: scale.quick.*, the small path the tests run).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatScaleBench, runScaleBench, writeScaleBench } from '../src/bench/scaleBench.js';

const quick = process.argv.includes('--quick');
const report = await runScaleBench({ quick, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatScaleBench(report) + '\n');
if (!quick) writeScaleBench(report, join(dirname(fileURLToPath(import.meta.url)), 'results'));
