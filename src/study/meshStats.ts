// Per-tile statistics of a checked mesh run, for the report's heatmap.
import type { CompileJob } from '../wafer/compileJob.js';
import { runOnMesh, type MeshRunResult, type TileStats } from '../wafer/runJob.js';
import { piscinaJobPool } from '../workers/meshPool.js';

export type { TileStats };

export async function runWithTileStats(job: CompileJob, prompt: number[], newTokens: number, opts: { workers: number; onStep?: (done: number, total: number) => void }): Promise<{ run: MeshRunResult; stats: TileStats }> {
  const { tileStats, ...run } = await runOnMesh(job, prompt, newTokens, { workers: opts.workers, pool: piscinaJobPool, baseline: false, tileStats: true, onStep: opts.onStep });
  return { run, stats: tileStats! };
}
