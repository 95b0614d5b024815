// npx tsx bench/gpu-accuracy.ts: the GPU accuracy benchmark of `wafer bench gpu-accuracy` — the GPU emulator's ITL and
// TTFT error against the measured runs, in sample and cross-validated — printed as its summary table and written to
// bench/results/gpu-accuracy.json and bench/results/gpu-accuracy.md.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatGpuAccuracySummary, runGpuAccuracyBench, writeGpuAccuracyBench } from '../src/bench/gpuAccuracyBench.js';
import { DEFAULT_GPU_DATA } from '../src/io/measuredRuns.js';

const report = runGpuAccuracyBench({ data: DEFAULT_GPU_DATA, dataName: 'data/gpu-measured/nim-llama3.csv', onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatGpuAccuracySummary(report) + '\n');
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
writeGpuAccuracyBench(report, dir);
process.stderr.write(`wrote ${join(dir, 'gpu-accuracy.json')} and gpu-accuracy.md\n`);
