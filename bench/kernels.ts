// npx tsx bench/kernels.ts [--quick] [--portable]: the kernel benchmark of `wafer bench kernels`, printed as a table
// and written to bench/results/kernels.json (the --json document; --portable: kernels.portable.json, the portable SIMD
// build, for comparison with the default build).
import { defaultWasmSimd } from '../kernels/index.js';
import { formatKernelsBench, runKernelsBench } from '../src/bench/kernelsBench.js';
import { writeResult } from './writeResult.js';

const quick = process.argv.includes('--quick');
const simd = process.argv.includes('--portable') ? 'portable' : defaultWasmSimd();
const report = await runKernelsBench({ quick, simd, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatKernelsBench(report, simd) + '\n');
writeResult(`kernels${simd === 'portable' ? '.portable' : ''}${quick ? '.quick' : ''}.json`, report);
