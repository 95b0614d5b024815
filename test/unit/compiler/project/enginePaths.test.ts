// Paths the projection takes at real size, run on the mesh engine at a size it holds (docs/design.md#two-levels-of-truth):
// each with exact greedy tokens against the reference forward pass computing the same numerics, and the projection
// within 10% of the engine's decode cycles per token.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import type { StageBudgetFractions } from '../../../../compiler/wafer/balance.js';

const MAX_SEQ = 16;
const PROMPT = [1, 7];
const NEW_TOKENS = 4;

/** Runs `prompt` then greedy tokens on the engine; returns the tokens and the cycles of each decode position. */
async function runMesh(model: string, fabric: string, dtype: 'bf16' | 'int8', kvDtype: 'f32' | 'bf16', stageBudgets: StageBudgetFractions) {
  const cfg = getPreset(model);
  const spec = getFabricPreset(fabric);
  const weights = castWeights(syntheticWeights(cfg, 0), dtype);
  const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype, maxSeq: MAX_SEQ, kvDtype, stageBudgets });
  expect(compiled.program.tiles.flatMap((t) => t.buffers).filter((b) => b.role === 'kv-cache').every((b) => b.dtype === kvDtype)).toBe(true);
  const engine = await MeshEngine.create(spec, compiled.program, weightProvider(weights));
  const { tokens, cycles } = await decodeOnEngine(engine, PROMPT.length + NEW_TOKENS - 1, { prompt: PROMPT });
  return { cfg, spec, weights, tokens, cycles };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const POSITIONS = [1, 2, 3];

describe('projection paths on the mesh engine', () => {
  it.each([
    ['toy-dense', 'mini-32', 'bf16', 'bf16'],
    ['toy-moe', 'mini-32', 'int8', 'bf16'],
  ] as const)('%s on %s, %s weights, %s KV cache: exact tokens, projection within 10 percent of the engine', async (model, fabric, dtype, kvDtype) => {
    // The engine runs the projection's layout, its stages' blocks balanced as it chose (balance.ts).
    const reports = POSITIONS.map((p) => projectWafer(getPreset(model), getFabricPreset(fabric), { context: p + 1, promptLength: 1, kvDtype, dtype }));
    for (const r of reports) expect(r.stageBudgets).toEqual(reports[0].stageBudgets);
    const { spec, weights, tokens, cycles } = await runMesh(model, fabric, dtype, kvDtype, reports[0].stageBudgets);
    expect(tokens).toEqual(generate(weights, PROMPT, NEW_TOKENS, { kvDtype, maxSeq: MAX_SEQ }).tokens);
    const projected = reports.map((r) => r.tokenLatencySeconds * spec.clockHz);
    const error = mean(projected) / mean(POSITIONS.map((p) => cycles[p])) - 1;
    expect(Math.abs(error)).toBeLessThanOrEqual(0.1);
  });
});
