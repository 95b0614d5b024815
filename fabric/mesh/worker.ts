// Piscina worker: runs batches of functional jobs on the shared arena. Started with `--import tsx` so it loads .ts.
import { Piscina } from 'piscina';
import { FunctionalExecutor, type JobSync } from './functional.js';
import type { ArenaLayout } from './plan.js';
import type { Program } from '../isa/types.js';

interface WorkerInit {
  program: Program;
  layout: ArenaLayout;
  memory: WebAssembly.Memory;
}

export interface WorkerBatch {
  jobs: Int32Array;
  position: number;
  staging: SharedArrayBuffer;
  /** Job ordering across threads (null: run in order with no waiting). */
  done: SharedArrayBuffer | null;
  epoch: number;
  abortAt: number;
}

let executor: FunctionalExecutor | null = null;

export default function runBatch(batch: WorkerBatch): number {
  if (executor === null) {
    const init = Piscina.workerData as WorkerInit;
    executor = new FunctionalExecutor(init.program, init.layout, init.memory);
  }
  executor.setStaging(batch.staging);
  const sync: JobSync | null = batch.done ? { done: new Int32Array(batch.done), epoch: batch.epoch, abortAt: batch.abortAt } : null;
  executor.runJobs(batch.jobs, 0, batch.jobs.length, batch.position, sync);
  return batch.jobs.length;
}
