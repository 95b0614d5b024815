// npx tsx bench/kernels.ts [--quick] [--portable]: the kernel benchmark of `wafer bench kernels`, printed as a table
// and written to bench/results/kernels.json (the --json document; --portable: kernels.portable.json, the portable SIMD
// build, for comparison with the default build).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { defaultWasmSimd } from '../kernels/index.js';
import { formatKernelsBench, runKernelsBench } from '../src/bench/kernelsBench.js';
import { writeFileAtomic } from '../src/io/atomicWrite.js';

const quick = process.argv.includes('--quick');
const simd = process.argv.includes('--portable') ? 'portable' : defaultWasmSimd();
const report = await runKernelsBench({ quick, simd, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatKernelsBench(report, simd) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
const out = join(dir, `kernels${simd === 'portable' ? '.portable' : ''}${quick ? '.quick' : ''}.json`);
writeFileAtomic(out, JSON.stringify(report, null, 2) + '\n');
process.stderr.write(`wrote ${out}\n`);
