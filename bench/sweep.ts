// npx tsx bench/sweep.ts [--quick]: the sweep benchmark of `wafer bench sweep` — points per second embedded and
// through a BullMQ queue on a local redis-server (1 and 2 workers), and the queue's overhead per point — printed as a
// markdown table and written to bench/results/sweep.json and bench/results/sweep.md.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSweepBench, runSweepBench, writeSweepBench } from '../src/bench/sweepBench.js';

const quick = process.argv.includes('--quick');
const report = await runSweepBench({ quick, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatSweepBench(report) + '\n');
// --quick is a smoke test: its figures are not kept.
if (!quick) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  writeSweepBench(report, dir);
  process.stderr.write(`wrote ${join(dir, 'sweep.json')} and sweep.md\n`);
}
