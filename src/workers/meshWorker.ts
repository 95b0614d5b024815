// Piscina worker of the mesh engine's Node pool (src/workers/meshPool.ts): runs batches of functional jobs on the
// shared tile memory. Started with `--import tsx` so it loads .ts.
import { Piscina } from 'piscina';
import { batchRunner, type PoolInit, type WorkerBatch } from '../../fabric/mesh/pool.js';

let run: ((batch: WorkerBatch) => number) | null = null;

export default function runBatch(batch: WorkerBatch): number {
  run ??= batchRunner(Piscina.workerData as PoolInit);
  return run(batch);
}
