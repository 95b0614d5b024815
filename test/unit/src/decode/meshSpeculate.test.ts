// Speculative greedy decoding on the mesh with real numbers (toy-dense and toy-moe on mini-64): the output is token
// for token plain greedy decoding's — on the same engine and in the reference forward pass — and the acceptance
// counted from the actual tokens is consistent with the rounds it took.
import { describe, expect, it } from 'vitest';
import { speculateOnMesh } from '../../../../src/decode/meshSpeculate.js';
import { ReferenceModel } from '../../../../compiler/reference/forward.js';
import { resolveModelWeights } from '../../../../src/io/loadModel.js';
import { InputError } from '../../../../fabric/errors.js';

/** Greedy decoding in the reference forward pass (f32, the runnable presets' default). */
function referenceGreedy(model: string, prompt: number[], n: number): number[] {
  const ref = new ReferenceModel(resolveModelWeights(model, { seed: 0 }).weights, { maxSeq: 64 });
  let logits: Float32Array = new Float32Array(0);
  for (const t of prompt) logits = ref.step(t);
  const out: number[] = [];
  while (out.length < n) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    out.push(best);
    if (out.length < n) logits = ref.step(best);
  }
  return out;
}

// The int8 draft agrees with the target almost always; a draft with other weights (seed 1) almost never — the rejection
// path, where the target's KV rows past the accepted prefix are overwritten by the next round.
describe.each([
  ['toy-dense', 3, 0],
  ['toy-moe', 4, 0],
  ['toy-dense', 2, 1],
])('%s, k %i, draft weights seed %i', (model, k, draftWeightsSeed) => {
  const prompt = [5, 17, 42];
  const tokens = 10;
  const run = speculateOnMesh({ model, fabric: 'mini-64', prompt, tokens, k, draftDtype: 'int8', maxSeq: 32, draftWeightsSeed });
  it('produces exactly the plain greedy tokens (the same engine, and the reference forward pass)', async () => {
    const r = await run;
    expect(r.tokens).toHaveLength(tokens);
    expect(r.plainTokens).toEqual(r.tokens);
    expect(r.matchesPlain).toBe(true);
    expect(r.tokens).toEqual(referenceGreedy(model, prompt, tokens));
  });
  it('measures acceptance from the actual tokens, and prices the verify both ways', async () => {
    const r = await run;
    expect(r.drafted).toBe(r.rounds * k);
    expect(r.accepted).toBeLessThanOrEqual(r.drafted);
    // Every round yields its accepted drafts plus one target token; the rounds cover the tokens after the first.
    expect(r.accepted + r.rounds).toBeGreaterThanOrEqual(tokens - 1);
    expect(r.accepted + r.rounds).toBeLessThan(tokens - 1 + k + 1);
    expect(r.acceptance).toBe(r.accepted / r.drafted);
    expect(r.draftTiles).toBeLessThan(r.targetTiles);
    if (draftWeightsSeed !== 0) expect(r.accepted).toBeLessThan(r.drafted);
    // A pipelined verify overlaps its positions: never dearer than running them one after another.
    expect(r.verifyCyclesPipelined).toBeLessThanOrEqual(r.verifyCyclesSequential);
    expect(r.cyclesPerAcceptedTokenSequential).toBeGreaterThan(0);
    expect(r.plainCyclesPerToken).toBeGreaterThan(0);
    console.log(`${model}: acceptance ${r.accepted}/${r.drafted}, ${Math.round(r.cyclesPerAcceptedTokenSequential)} (sequential) / ${Math.round(r.cyclesPerAcceptedTokenPipelined)} (pipelined) cycles per token vs ${Math.round(r.plainCyclesPerToken!)} plain`);
  });
});

it('refuses KV caches too short for the last verify, before compiling', async () => {
  await expect(speculateOnMesh({ model: 'toy-dense', fabric: 'mini-64', prompt: [1, 2, 3], tokens: 60, k: 4, draftDtype: 'int8', maxSeq: 64 })).rejects.toThrow(InputError);
});
