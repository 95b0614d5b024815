// Per-tile statistics of a mesh run, for the report's heatmap. runOnMesh (src/wafer/runJob.ts) returns the checked
// run but not the engine's per-tile counters, so this runs the same program a second time on a fresh engine with the
// tokens the checked run produced, and keeps MeshEngine.stats(). The engine is deterministic, so both runs take the
// same cycles; runWithTileStats checks that and fails loudly if they ever differ. (When runOnMesh exposes the
// stats — an `onStats` callback — the second run goes away.)
import { castWeights } from '../../compiler/model/weights.js';
import { weightProvider } from '../../compiler/wafer/weights.js';
import type { CompileResult } from '../../compiler/wafer/compile.js';
import { MeshEngine } from '../../fabric/mesh/engine.js';
import type { CompileJob } from '../wafer/compileJob.js';
import { runOnMesh, type MeshRunResult } from '../wafer/runJob.js';

export interface TileStats {
  widthTiles: number;
  heightTiles: number;
  /** Cycles over every step of the run. */
  totalCycles: number;
  /** Per tile (y * width + x): CE cycles running tasks, and waiting on a full send queue. */
  tileBusyCycles: Float64Array;
  tileStalledCycles: Float64Array;
}

/** The repair's bypass latencies [tile*5 + port 1..4] in the engine's layout [tile*4 + (port-1)], saturated at 255. */
function engineLinkExtra(r: CompileResult): Uint8Array | undefined {
  const src = r.linkExtraLatencyCycles;
  if (!src) return undefined;
  const out = new Uint8Array((src.length / 5) * 4);
  for (let t = 0; t < src.length / 5; t++) for (let p = 1; p <= 4; p++) out[t * 4 + p - 1] = Math.min(255, src[t * 5 + p]);
  return out;
}

export async function runWithTileStats(job: CompileJob, prompt: number[], newTokens: number, opts: { workers: number; onStep?: (done: number, total: number) => void }): Promise<{ run: MeshRunResult; stats: TileStats }> {
  const run = await runOnMesh(job, prompt, newTokens, { workers: opts.workers, baseline: false, onStep: opts.onStep });
  const weights = castWeights(job.weights!, job.dtype);
  const engine = await MeshEngine.create(job.spec, job.result.program, weightProvider(weights), { workers: opts.workers, faults: job.result.engineFaults, linkExtraLatencyCycles: engineLinkExtra(job.result) });
  try {
    // The same inputs as the checked run: the prompt, then each generated token fed back.
    const inputs = [...prompt, ...run.tokens].slice(0, run.steps);
    for (let s = 0; s < run.steps; s++) {
      const r = await engine.step({ token: inputs[s], position: s });
      if (r.cycles !== run.stepCycles[s]) throw new Error(`mesh stats run: step ${s} took ${r.cycles} cycles, the checked run ${run.stepCycles[s]} (the engine should be deterministic)`);
    }
    const st = engine.stats();
    return { run, stats: { widthTiles: st.widthTiles, heightTiles: st.heightTiles, totalCycles: st.cycles, tileBusyCycles: st.tileBusyCycles, tileStalledCycles: st.tileStalledCycles } };
  } finally {
    await engine.close();
  }
}
