// An embedded sweep: the points not yet recorded, computed on a local thread pool, each record appended the moment
// its point finishes. Stopping (Ctrl-C: the signal) abandons the points in flight and keeps every finished one.
import type { KeyedPoint, SweepPlan } from './plan.js';
import { createPointPool, type PointPool } from './pool.js';
import type { ResultStore } from './store.js';

export interface RunSummary {
  total: number;
  /** Recorded before this run started. */
  already: number;
  /** Recorded by this run. */
  computed: number;
  /** Points that failed (not bad input: a failure of the run); they stay unrecorded and a rerun tries them again. */
  failed: { key: string; message: string }[];
  interrupted: boolean;
  wallSeconds: number;
}

export interface RunHooks {
  onProgress?: (done: number, total: number, fresh: number) => void;
  signal?: AbortSignal;
  /** A note for the person waiting (on a queue: no worker is connected). */
  onNote?: (line: string) => void;
}

/** The plan's points that `store` does not hold yet, in plan order. */
export function pending(plan: SweepPlan, store: ResultStore): KeyedPoint[] {
  return plan.points.filter((p) => !store.has(p.key));
}

/** `pool`: a started pool to use (and leave open), e.g. a benchmark's warmed one; by default one of `threads` threads. */
export async function runEmbedded(plan: SweepPlan, store: ResultStore, threads: number, hooks: RunHooks = {}, pool?: PointPool): Promise<RunSummary> {
  const t0 = performance.now();
  const todo = pending(plan, store);
  const already = plan.points.length - todo.length;
  const summary: RunSummary = { total: plan.points.length, already, computed: 0, failed: [], interrupted: false, wallSeconds: 0 };
  hooks.onProgress?.(already, summary.total, 0);
  if (todo.length === 0) return summary;
  const own = pool ?? createPointPool(Math.min(threads, todo.length));
  const abort = new AbortController();
  const stop = () => abort.abort();
  hooks.signal?.addEventListener('abort', stop);
  let next = 0;
  // Each lane takes the next point when its last finishes: at most `threads` points in flight, the rest not yet queued.
  const lane = async (): Promise<void> => {
    while (next < todo.length && !abort.signal.aborted) {
      const point = todo[next++];
      try {
        const record = await own.run(point, abort.signal);
        if (store.add(record)) summary.computed++;
      } catch (e) {
        if (abort.signal.aborted) return;
        summary.failed.push({ key: point.key, message: (e as Error).message });
      }
      hooks.onProgress?.(already + summary.computed, summary.total, summary.computed);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(threads, todo.length) }, lane));
  } finally {
    hooks.signal?.removeEventListener('abort', stop);
    if (!pool) await own.close();
  }
  summary.interrupted = abort.signal.aborted;
  summary.wallSeconds = (performance.now() - t0) / 1000;
  return summary;
}
