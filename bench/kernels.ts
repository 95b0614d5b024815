// npx tsx bench/kernels.ts [--quick]: the kernel benchmark of `wafer bench kernels`, printed as a table and written
// to bench/results/kernels.json (the --json document).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { formatKernelsBench, runKernelsBench } from '../src/bench/kernelsBench.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

const quick = process.argv.includes('--quick');
const report = await runKernelsBench({ quick, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatKernelsBench(report) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const out = join(dir, quick ? 'kernels.quick.json' : 'kernels.json');
writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
