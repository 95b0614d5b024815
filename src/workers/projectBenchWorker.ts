// A worker thread for `wafer bench project`: a fresh V8 isolate (no compiled code, an empty heap), so its first
// projection costs what one `wafer project` call pays; then the same projection timed again by tinybench.
import { parentPort, workerData } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { getPreset } from '../../compiler/model/presets.js';
import { projectWafer } from '../../compiler/project/index.js';
import { getFabricPreset } from '../../fabric/spec/index.js';

export interface ProjectBenchJob {
  model: string;
  fabric: string;
  /** Milliseconds tinybench spends on the later runs. */
  warmMs: number;
}

export interface ProjectBenchTiming {
  coldSeconds: number;
  warmBestSeconds: number;
  warmMeanSeconds: number;
  warmRuns: number;
  wafers: number;
  tiles: number;
  decodeTokensPerSecond: number;
}

const job = (workerData as { job: ProjectBenchJob }).job;
const cfg = getPreset(job.model);
const spec = getFabricPreset(job.fabric);
const t0 = performance.now();
const first = projectWafer(cfg, spec);
const coldSeconds = (performance.now() - t0) / 1e3;
const bench = new Bench({ time: job.warmMs, warmupTime: 0, warmupIterations: 0, iterations: 3 });
bench.add('project', () => void projectWafer(cfg, spec));
await bench.run();
const result = bench.tasks[0].result;
if (result.state !== 'completed') throw new Error(`bench project: timing did not complete (${result.state})`);
const timing: ProjectBenchTiming = {
  coldSeconds,
  warmBestSeconds: result.latency.min / 1e3,
  warmMeanSeconds: result.latency.mean / 1e3,
  warmRuns: result.latency.samplesCount,
  wafers: first.wafers,
  tiles: first.tilesPerWafer.reduce((a, b) => a + b, 0),
  decodeTokensPerSecond: first.decodeTokensPerSecond,
};
parentPort!.postMessage(timing);
