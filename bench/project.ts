// npx tsx bench/project.ts [--quick]: the projection-time benchmark of `wafer bench project`, printed as a table and
// written to bench/results/project.json (the --json document).
import { formatProjectBench, runProjectBench } from '../src/bench/projectBench.js';
import { writeResult } from './writeResult.js';

const quick = process.argv.includes('--quick');
const report = await runProjectBench({ quick, onProgress: (line) => process.stderr.write(line + '\n') });
process.stdout.write(formatProjectBench(report) + '\n');
writeResult(quick ? 'project.quick.json' : 'project.json', report);
