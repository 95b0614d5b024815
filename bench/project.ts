// npx tsx bench/project.ts [--quick]: the projection-time benchmark of `wafer bench project`, printed as a table and
// written to bench/results/project.json (the --json document).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { formatProjectBench, runProjectBench } from '../src/bench/projectBench.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

const quick = process.argv.includes('--quick');
const report = await runProjectBench({ quick, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatProjectBench(report) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const out = join(dir, quick ? 'project.quick.json' : 'project.json');
writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
