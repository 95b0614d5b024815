// The thread pool that computes sweep points, the same in an embedded run and in a queue worker, so both produce
// the same records.
import { Piscina } from 'piscina';
import type { KeyedPoint } from './plan.js';
import type { SweepRecord } from './runPoint.js';
import { MODULE_EXEC_ARGV, moduleUrl } from '../workers/modules.js';

export interface PointPool {
  run(point: KeyedPoint, signal?: AbortSignal): Promise<SweepRecord>;
  close(): Promise<void>;
}

export function createPointPool(threads: number): PointPool {
  const pool = new Piscina({
    filename: moduleUrl('src/sweep/pointWorker').href,
    execArgv: [...MODULE_EXEC_ARGV],
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
  });
  return {
    run: (point, signal) => pool.run(point, signal ? { signal } : {}) as Promise<SweepRecord>,
    close: () => pool.destroy(),
  };
}
