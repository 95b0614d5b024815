// The path of `wafer bench scale` at the test's size: compile a preset in int8 with weights drawn in that dtype, run a
// prefill and a decode step on the mesh; its tokens are compared here with greedy decoding of the reference forward
// pass on weights made the other way (drawn in f32, then cast), so both the drawing and the run are checked.
import { describe, expect, it } from 'vitest';
import { runScaleBench, formatScaleBench, SCALE_QUICK_CASE } from '../../../../src/bench/scaleBench.js';
import { ReferenceModel } from '../../../../compiler/reference/forward.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { getPreset } from '../../../../compiler/model/presets.js';

function referenceTokens(model: string, prompt: number[], tokens: number): number[] {
  const ref = new ReferenceModel(castWeights(syntheticWeights(getPreset(model), 0), 'int8'), { maxSeq: prompt.length + tokens });
  const out: number[] = [];
  let input = prompt[0];
  for (let s = 0; s < prompt.length + tokens - 1; s++) {
    const logits = ref.step(input);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    if (s + 1 < prompt.length) input = prompt[s + 1];
    else out.push((input = best));
  }
  return out;
}

describe('wafer bench scale --quick', () => {
  it('runs the scale path with the reference tokens and reports its memory', async () => {
    const r = await runScaleBench({ quick: true });
    const c = SCALE_QUICK_CASE;
    expect(r.run.tokens).toEqual(referenceTokens(c.model, c.prompt, c.tokens));
    expect(r.run.stepCycles).toHaveLength(c.prompt.length + c.tokens - 1);
    expect(r.run.tilesUsed).toBeGreaterThan(0);
    expect(r.run.tilesUsed).toBeLessThanOrEqual(r.run.meshTiles);
    expect(r.peakRssBytes).toBeGreaterThan(process.memoryUsage().heapUsed / 2);
    expect(r.fullWafer).toBeNull();
    expect(formatScaleBench(r)).toContain('equal to the reference');
  }, 60_000);
});
