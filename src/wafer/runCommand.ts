// The body of `wafer run`, as plain data in and out, so it can execute in a worker thread (src/workers/runWorker.ts)
// or inline: compile (or load --program), run on the mesh, check against the reference.
import { loadProgram } from '../../fabric/isa/validate.js';
import { readUserJson } from '../io/atomicWrite.js';
import { prepareCompile, type CompileCliOptions } from './compileJob.js';
import { runOnMesh, type MeshRunResult } from './runJob.js';

export interface RunRequest {
  options: CompileCliOptions & { program?: string };
  prompt: number[];
  tokens: number;
  workers: number;
  baseline: boolean;
}

export type RunOutcome = MeshRunResult & { model: string; fabric: string; dtype: string; repair: string };

export async function executeRun(req: RunRequest, onStep?: (done: number, total: number) => void): Promise<RunOutcome> {
  const job = prepareCompile(req.options, true);
  if (req.options.program) {
    // The artifact replaces the compiled program; it is validated against the fabric and its faults first.
    const program = loadProgram(readUserJson(req.options.program, '--program'), job.spec, job.result.engineFaults, req.options.program);
    job.result = { ...job.result, program };
  }
  const r = await runOnMesh(job, req.prompt, req.tokens, { workers: req.workers, baseline: req.baseline, onStep });
  return { model: job.config.name, fabric: job.spec.name, dtype: job.dtype, repair: job.repair, ...r };
}
