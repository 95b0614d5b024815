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
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const MAX_SEQ = 16;
const PROMPT = [1, 7];
const NEW_TOKENS = 4;

describe('projection paths on the mesh engine', () => {
  it('a bf16 KV cache: exact tokens against the reference with a bf16 cache, projection within 10% of the engine', async () => {
    const cfg = getPreset('toy-dense');
    const spec = getFabricPreset('mini-32');
    const weights = castWeights(syntheticWeights(cfg, 0), 'bf16');
    const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: MAX_SEQ, kvDtype: 'bf16' });
    expect(compiled.program.tiles.flatMap((t) => t.buffers).filter((b) => b.role === 'kv-cache').every((b) => b.dtype === 'bf16')).toBe(true);
    const engine = await MeshEngine.create(spec, compiled.program, weightProvider(weights));
    const tokens: number[] = [];
    const cycles = new Map<number, number>();
    try {
      let token = PROMPT[0];
      for (let position = 0; position < PROMPT.length + NEW_TOKENS - 1; position++) {
        const step = await engine.step({ token, position });
        cycles.set(position, step.cycles);
        const next = Math.round(step.outputs.get('token')![1]);
        if (position + 1 < PROMPT.length) token = PROMPT[position + 1];
        else {
          tokens.push(next);
          token = next;
        }
      }
    } finally {
      await engine.close();
    }
    expect(tokens).toEqual(generate(weights, PROMPT, NEW_TOKENS, { kvDtype: 'bf16', maxSeq: MAX_SEQ }).tokens);
    const positions = [1, 2, 3];
    const projected = positions.map((p) => projectWafer(cfg, spec, { context: p + 1, promptLength: 1, kvDtype: 'bf16' }).tokenLatencySeconds * spec.clockHz);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean(projected) / mean(positions.map((p) => cycles.get(p)!)) - 1)).toBeLessThanOrEqual(0.1);
  });
});
