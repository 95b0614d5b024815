// The body of `wafer run`, as plain data in and out, so it can execute in a worker thread (src/workers/runWorker.ts)
// or inline: compile (or load --program), run on the mesh, check against the reference.
import { loadProgram } from '../../fabric/isa/validate.js';
import type { Program } from '../../fabric/isa/types.js';
import { InputError } from '../../fabric/errors.js';
import type { ModelWeights } from '../../compiler/model/weights.js';
import { readUserJson } from '../io/atomicWrite.js';
import { loadFabric } from '../io/fabric.js';
import { prepareCompile, type CompileCliOptions } from './compileJob.js';
import { runOnMesh, type MeshRunResult } from './runJob.js';
import { piscinaJobPool } from '../workers/meshPool.js';
import { nodeStripPool } from '../workers/stripPool.js';

export interface RunRequest {
  options: CompileCliOptions & { program?: string };
  prompt: number[];
  tokens: number;
  workers: number;
  /** The workers step strips of the mesh itself (fabric/mesh/strips.ts) instead of computing its numbers beside it. */
  parallelMesh?: boolean;
  baseline: boolean;
}

export type RunOutcome = MeshRunResult & { model: string; fabric: string; dtype: string; repair: string };

/** What the run worker (src/workers/runWorker.ts) answers: bad input comes back as data (comlink would flatten an InputError into a plain Error and lose its exit code). */
export type RunReply = { ok: true; result: RunOutcome } | { ok: false; what: string; where: string; fix: string };

/** The run worker's interface, as src/wafer/runInWorker.ts calls it through comlink. */
export interface RunWorkerApi {
  run(req: RunRequest, onStep?: (done: number, total: number) => void): Promise<RunReply>;
}

export async function executeRun(req: RunRequest, onStep?: (done: number, total: number) => void): Promise<RunOutcome> {
  // A broken artifact is refused before the compile it would otherwise wait for: its streams and triggers are checked
  // against the bare fabric here, and against the compiled faults below.
  const artifact = req.options.program ? readUserJson(req.options.program, '--program') : null;
  if (req.options.program) loadProgram(artifact, loadFabric(req.options.fabric), null, req.options.program);
  const job = prepareCompile(req.options, true);
  if (req.options.program) {
    // The artifact replaces the compiled program; it is validated against the fabric and its faults first.
    const program = loadProgram(artifact, job.spec, job.result.engineFaults, req.options.program);
    if (job.weights) assertProgramFitsModel(program, job.weights, job.dtype, req.prompt.length + req.tokens - 1, `--program ${req.options.program}`);
    // The compiled tiles' tags describe the loaded program only if it has the same tiles.
    const same = program.tiles.length === job.result.program.tiles.length && program.tiles.every((t, k) => { const c = job.result.program.tiles[k]; return t.x === c.x && t.y === c.y && t.role === c.role; });
    job.result = { ...job.result, program, tileTags: same ? job.result.tileTags : null };
  }
  const r = await runOnMesh(job, req.prompt, req.tokens, { workers: req.workers, pool: piscinaJobPool, stripPool: req.parallelMesh ? nodeStripPool : undefined, baseline: req.baseline, onStep });
  return { model: job.config.name, fabric: job.spec.name, dtype: job.dtype, repair: job.repair, ...r };
}

/**
 * A program artifact from a file must have been compiled for this model: every tensor it loads exists with the
 * block's rows and columns, matrices in the dtype the run casts them to, and its KV caches hold the positions the
 * run needs. Otherwise the mismatch is the user's input (exit 2), not an engine failure half-way through.
 */
function assertProgramFitsModel(program: Program, weights: ModelWeights, dtype: string, steps: number, where: string): void {
  const fix = 'compile the program from the same model and options (wafer compile --model … --dtype … --out FILE)';
  if (steps > program.maxSeq) {
    throw new InputError(`prompt + tokens needs ${steps} positions but the program's KV caches hold ${program.maxSeq}`, where, `generate fewer tokens, or recompile with --max-seq ${steps}`);
  }
  for (const tile of program.tiles) {
    for (const b of tile.buffers) {
      const init = b.init;
      if (init.kind === 'zeros') continue;
      const t = weights.tensors.get(init.tensor);
      if (!t) throw new InputError(`the program loads tensor ${init.tensor}, which ${weights.config.name} does not have`, where, fix);
      const inRange = (r: [number, number], n: number | undefined) => n !== undefined && r[0] >= 0 && r[0] <= r[1] && r[1] <= n;
      const ok =
        init.kind === 'vector'
          ? t.shape.length === 1 && inRange(init.range, t.shape[0])
          : t.shape.length === 2 && inRange(init.rows, t.shape[0]) && inRange(init.cols, t.shape[1]);
      if (!ok) throw new InputError(`the program's block of ${init.tensor} does not fit its shape ${JSON.stringify(t.shape)} in ${weights.config.name}`, where, fix);
      if (init.kind === 'weights' && b.dtype !== dtype) {
        throw new InputError(`the program holds ${init.tensor} as ${b.dtype} but the run casts the weights to ${dtype}`, where, `pass --dtype ${b.dtype}, or ${fix}`);
      }
      if (init.kind === 'scales' && dtype !== 'int8') throw new InputError(`the program holds int8 scales for ${init.tensor} but the run uses ${dtype} weights`, where, `pass --dtype int8, or ${fix}`);
    }
  }
}
