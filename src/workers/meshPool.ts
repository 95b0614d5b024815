// The mesh engine's worker pool in Node: piscina over worker_threads (the engine itself names no threading library,
// fabric/mesh/pool.ts, so that it loads in a browser).
import { Piscina } from 'piscina';
import type { JobPool, JobPoolFactory, WorkerBatch } from '../../fabric/mesh/pool.js';
import { MODULE_EXEC_ARGV, moduleUrl } from './modules.js';

export const piscinaJobPool: JobPoolFactory = (init, threads): JobPool => {
  const pool = new Piscina({
    filename: moduleUrl('src/workers/meshWorker').href,
    execArgv: [...MODULE_EXEC_ARGV],
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    // Batches are posted at once even to a busy worker (it runs them in order), so the main thread never has
    // to turn its event loop for the pool to get work.
    concurrentTasksPerWorker: 1024,
    workerData: init,
  });
  return { run: (batch: WorkerBatch) => pool.run(batch) as Promise<number>, destroy: () => pool.destroy() };
};
