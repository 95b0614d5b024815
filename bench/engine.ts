// npx tsx bench/engine.ts [--quick]: the engine benchmark of `wafer bench engine`, printed as a table and written to
// bench/results/engine.json (the --json document).
import { availableParallelism } from 'node:os';
import { formatEngineBench, runEngineBench } from '../src/bench/engineBench.js';
import { writeResult } from './writeResult.js';

const quick = process.argv.includes('--quick');
const report = await runEngineBench({ quick, hostCpus: availableParallelism(), onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatEngineBench(report) + '\n');
writeResult(quick ? 'engine.quick.json' : 'engine.json', report);
