// npx tsx bench/engine.ts [--quick]: the engine benchmark of `wafer bench engine`, printed as a table and written to
// bench/results/engine.json (the --json document).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { formatEngineBench, runEngineBench } from '../src/bench/engineBench.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

const quick = process.argv.includes('--quick');
const report = await runEngineBench({ quick, hostCpus: availableParallelism(), onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatEngineBench(report) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const out = join(dir, quick ? 'engine.quick.json' : 'engine.json');
writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
