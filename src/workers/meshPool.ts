// The mesh engine's worker pool in Node: piscina over worker_threads (the engine itself names no threading library,
// fabric/mesh/pool.ts, so that it loads in a browser).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { JobPool, JobPoolFactory, WorkerBatch } from '../../fabric/mesh/pool.js';

export const piscinaJobPool: JobPoolFactory = (init, threads): JobPool => {
  const pool = new Piscina({
    filename: new URL('./meshWorker.ts', import.meta.url).href,
    // tsx by absolute URL: a bare `--import tsx` resolves from the cwd and fails outside the repository.
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
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
