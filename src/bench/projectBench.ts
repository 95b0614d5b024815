// `wafer bench project`: how long a real-size projection takes on this host, against its target — a full wafer
// (~883k tiles on wse3) projects in ≤ 1 s. Each case runs in its own worker thread, a fresh V8 isolate: the first
// call there ("cold": nothing compiled yet, an empty heap) is what one `wafer project` pays after start-up; later
// calls in the same thread ("warm", tinybench: best and mean) are what a sweep or a bench pays per point.
// llama-3.1-8b takes one wse3 (568,624 of its 883,350 tiles); llama-3.1-70b five wafers (one layer per kind is
// compiled, so not five times the time).
import type { ProjectBenchJob, ProjectBenchTiming } from '../workers/projectBenchWorker.js';
import { startModuleWorker } from '../workers/modules.js';

/** Issue 6: a full wafer projects in at most this many seconds. */
export const PROJECTION_TARGET_SECONDS = 1;

export interface ProjectBenchRow extends ProjectBenchTiming {
  model: string;
  fabric: string;
  /** The target is judged on this row: a timed case (not the quick smoke test) that fits one wafer. */
  targetApplies: boolean;
}

export interface ProjectBenchReport {
  targetSeconds: number;
  rows: ProjectBenchRow[];
}

export interface ProjectBenchOptions {
  /** toy-dense on mini-64 with short timings: a smoke test, the figures are not meaningful. */
  quick?: boolean;
  onProgress?: (line: string) => void;
}

/** The cases timed: one full wafer, and a five-wafer pipeline. */
export const PROJECT_BENCH_CASES: readonly { model: string; fabric: string }[] = [
  { model: 'llama-3.1-8b', fabric: 'wse3' },
  { model: 'llama-3.1-70b', fabric: 'wse3' },
];

function timeInWorker(job: ProjectBenchJob): Promise<ProjectBenchTiming> {
  const worker = startModuleWorker('src/workers/projectBenchWorker', { job });
  return new Promise((resolve, reject) => {
    let reply: ProjectBenchTiming | null = null;
    worker.once('message', (m: ProjectBenchTiming) => (reply = m));
    worker.once('error', reject);
    worker.once('exit', (code) => (reply ? resolve(reply) : reject(new Error(`bench project: the worker for ${job.model} on ${job.fabric} exited with code ${code} and no timing`))));
  });
}

export async function runProjectBench(opts: ProjectBenchOptions = {}): Promise<ProjectBenchReport> {
  const cases = opts.quick ? [{ model: 'toy-dense', fabric: 'mini-64' }] : PROJECT_BENCH_CASES;
  const rows: ProjectBenchRow[] = [];
  // one case at a time: two projections side by side would time each other on this 2-core host
  for (const c of cases) {
    opts.onProgress?.(`${c.model} on ${c.fabric}: timing in a fresh worker thread`);
    const t = await timeInWorker({ ...c, warmMs: opts.quick ? 50 : 5000 });
    opts.onProgress?.(`${c.model} on ${c.fabric}: cold ${t.coldSeconds.toFixed(2)} s, warm ${t.warmBestSeconds.toFixed(2)} s best of ${t.warmRuns}`);
    rows.push({ model: c.model, fabric: c.fabric, ...t, targetApplies: !opts.quick && t.wafers === 1 });
  }
  return { targetSeconds: PROJECTION_TARGET_SECONDS, rows };
}

export function formatProjectBench(r: ProjectBenchReport): string {
  const verdict = (s: number, applies: boolean) => (!applies ? '' : s <= r.targetSeconds ? ' met' : ' MISSED');
  const lines = [
    `Projection time on this host (target: a full wafer in ≤ ${r.targetSeconds} s; cold = the first call in a fresh thread, warm = later calls):`,
    `${'model'.padEnd(14)} ${'fabric'.padEnd(7)} ${'wafers'.padStart(6)} ${'tiles'.padStart(9)} ${'tokens/s'.padStart(9)} ${'cold s'.padStart(12)} ${'warm best s'.padStart(16)} ${'warm mean s'.padStart(12)}`,
  ];
  for (const x of r.rows) {
    lines.push(
      `${x.model.padEnd(14)} ${x.fabric.padEnd(7)} ${String(x.wafers).padStart(6)} ${String(x.tiles).padStart(9)} ${x.decodeTokensPerSecond.toFixed(1).padStart(9)} ${(x.coldSeconds.toFixed(2) + verdict(x.coldSeconds, x.targetApplies)).padStart(12)} ${(x.warmBestSeconds.toFixed(2) + verdict(x.warmBestSeconds, x.targetApplies)).padStart(16)} ${x.warmMeanSeconds.toFixed(2).padStart(12)}`,
    );
  }
  lines.push('', `The target is judged where a model fits one wafer; "warm" is the best of ${r.rows.map((x) => x.warmRuns).join(', ')} runs.`);
  return lines.join('\n');
}
