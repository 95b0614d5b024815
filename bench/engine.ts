// npx tsx bench/engine.ts [--quick]: the engine benchmark of `wafer bench engine`, printed as a table and written to
// bench/results/engine.json and engine.md (--quick: engine.quick.json only).
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatEngineBench, runEngineBench, writeEngineBench } from '../src/bench/engineBench.js';
import { writeResult } from './writeResult.js';

const quick = process.argv.includes('--quick');
const report = await runEngineBench({ quick, hostCpus: availableParallelism(), onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatEngineBench(report) + '\n');
if (quick) writeResult('engine.quick.json', report);
else writeEngineBench(report, join(dirname(fileURLToPath(import.meta.url)), 'results'));
