// Full-wafer projections take seconds each, and a memory wall over the model presets asks for a dozen: they run side by
// side in worker threads (each a pure function of its job, so the results are the same for any number of workers).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { countParameters } from '../../compiler/model/config.js';
import { runProjectionJob, type ProjectionJob } from './compare.js';
import type { WaferPoint } from './projection.js';
import { startModuleWorker } from '../workers/modules.js';

/** What the projection worker (src/workers/projectWorker.ts) answers for one job. */
export type ProjectionReply = { id: number; ok: true; result: ReturnType<typeof runProjectionJob> } | { id: number; ok: false; error: string };

/** Workers a study uses by default: every core, at most 8 (each holds a projection's working set). */
export function defaultProjectionWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * A worker's heap bound: the largest one-wafer-per-stage projection (llama-3.1-405b on wse3, its embedding's routes
 * taken both ways to be coloured) peaks at ~4.3 GB, past a worker thread's default old-space limit of ~4 GB.
 */
const PROJECTION_WORKER_HEAP_MB = 8192;

function startWorker(): Worker {
  return startModuleWorker('src/workers/projectWorker', {}, { resourceLimits: { maxOldGenerationSizeMb: PROJECTION_WORKER_HEAP_MB } });
}

/**
 * Runs the jobs on `workers` threads (0: here, one after another), the largest models first so the longest job does
 * not start last. Results by job key, in the jobs' order: a point, or the projection's refusal as its message.
 */
export async function runProjections(jobs: readonly ProjectionJob[], opts: { workers: number; onDone?: (done: number, total: number) => void }): Promise<Map<string, WaferPoint | string>> {
  const out = new Map<string, WaferPoint | string>();
  const order = [...jobs].sort((a, b) => countParameters(b.model).total * (b.options.batch ?? 1) - countParameters(a.model).total * (a.options.batch ?? 1) || (a.key < b.key ? -1 : 1));
  const tick = () => opts.onDone?.(out.size, jobs.length);
  const inJobOrder = () => new Map(jobs.map((j) => [j.key, out.get(j.key)!]));
  if (opts.workers === 0 || order.length === 0) {
    for (const j of order) {
      out.set(j.key, runProjectionJob(j));
      tick();
    }
    return inJobOrder();
  }
  const pool = Array.from({ length: Math.min(opts.workers, order.length) }, startWorker);
  let next = 0;
  try {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const give = () => {
              if (next >= order.length) return resolve();
              const id = next++;
              w.postMessage({ id, job: order[id] });
            };
            w.on('message', (r: ProjectionReply) => {
              if (!r.ok) return reject(new Error(`projection of ${order[r.id].key} failed in a worker thread:\n${r.error}`));
              out.set(order[r.id].key, r.result);
              tick();
              give();
            });
            w.once('error', reject);
            w.once('exit', (code) => (next < order.length || code !== 0 ? reject(new Error(`a projection worker exited with code ${code}`)) : undefined));
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return inJobOrder();
}
