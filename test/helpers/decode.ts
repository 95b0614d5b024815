// Greedy decoding on the mesh engine, as the engine-against-projection tests run it: the prompt fed a token a step,
// then each step's argmax fed back. One loop for every such test, so they differ only in what they check.
import type { MeshEngine, StepResult } from '../../fabric/mesh/engine.js';

export interface EngineDecode {
  /** The argmax of each step from the prompt's last position on: the tokens the model generated. */
  tokens: number[];
  /** Cycles of every step, by position. */
  cycles: number[];
}

/**
 * Runs `steps` steps (positions 0 … steps − 1) and closes the engine, whatever happens. `onStep` sees each step's
 * result after the engine ran it (for traces or per-position checks).
 */
export async function decodeOnEngine(engine: MeshEngine, steps: number, opts: { prompt?: readonly number[]; onStep?: (position: number, step: StepResult) => void } = {}): Promise<EngineDecode> {
  const prompt = opts.prompt ?? [1];
  const tokens: number[] = [];
  const cycles: number[] = [];
  try {
    let token = prompt[0];
    for (let position = 0; position < steps; position++) {
      const step = await engine.step({ token, position });
      opts.onStep?.(position, step);
      cycles.push(step.cycles);
      const next = Math.round(step.outputs.get('token')![1]);
      if (position + 1 < prompt.length) token = prompt[position + 1];
      else {
        tokens.push(next);
        token = next;
      }
    }
  } finally {
    await engine.close();
  }
  return { tokens, cycles };
}
