// The mesh run against the reference forward pass: exact tokens (and f32 logits), faults that change cycles but not
// numbers, identical results for any worker count, and MoE experts that compute only when chosen.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { prepareCompile, type CompileCliOptions } from '../../../../src/wafer/compileJob.js';
import { runOnMesh } from '../../../../src/wafer/runJob.js';
import { piscinaJobPool } from '../../../../src/workers/meshPool.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { castWeights } from '../../../../compiler/model/weights.js';

const prompt = [1, 2, 3];
const run = (o: CompileCliOptions, tokens: number, workers = 0, baseline = false) => runOnMesh(prepareCompile(o, true), prompt, tokens, { workers, pool: piscinaJobPool, baseline });

describe('mesh run', () => {
  it.each([
    ['tiny-llama', 'auto'],
    ['tiny-mixtral', 'auto'],
    ['tiny-llama', '2'],
    ['tiny-mixtral', '2'],
  ])('%s (hub slices: %s) reproduces the independent implementation (expected.json)', async (name, hubSlices) => {
    const dir = `test/fixtures/${name}`;
    const expected = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8')) as { prompt: number[]; generated: number[] };
    const r = await runOnMesh(prepareCompile({ model: dir, fabric: 'mini-16', maxSeq: '16', hubSlices }, true), expected.prompt, expected.generated.length, { workers: 0, baseline: false });
    expect(r.tokens).toEqual(expected.generated);
    expect(r.matchesReference).toBe(true);
  });

  it.each([
    ['toy-dense', 'mini-32', 'auto'],
    ['toy-moe', 'mini-64', 'auto'],
    ['toy-dense', 'mini-64', '4'],
    ['toy-moe', 'mini-64', '4'],
  ])('%s in f32 on %s (hub slices: %s): tokens equal the reference, logits within 1e-4 relative', async (model, fabric, hubSlices) => {
    const r = await run({ model, fabric, dtype: 'f32', maxSeq: '16', hubSlices }, 5);
    const ref = generate(prepareCompile({ model, fabric, dtype: 'f32', maxSeq: '16' }, true).weights!, prompt, 5);
    expect(r.tokens).toEqual(ref.tokens);
    expect(r.maxLogitRelativeError).toBeLessThan(1e-4);
    expect(r.decodeCyclesPerToken).toBeGreaterThan(0);
    expect(r.prefillCycles).toBeGreaterThan(r.decodeCyclesPerToken);
  });

  it.each(['toy-dense', 'toy-moe'])('%s in bf16: tokens equal the reference run in bf16', async (model) => {
    const job = prepareCompile({ model, fabric: 'mini-32', dtype: 'bf16', maxSeq: '16' }, true);
    const r = await runOnMesh(job, prompt, 5, { workers: 0, baseline: false });
    expect(r.tokens).toEqual(generate(castWeights(job.weights!, 'bf16'), prompt, 5).tokens);
  });

  it('1% and 3% dead tiles, both repair policies, both toy models: the same tokens as fault-free', async () => {
    for (const model of ['toy-dense', 'toy-moe']) {
      const clean = await run({ model, fabric: 'mini-64', dtype: 'bf16', maxSeq: '8' }, 3);
      for (const repair of ['route-around', 'remap']) {
        for (const density of ['0.01', '0.03']) {
          const r = await run({ model, fabric: 'mini-64', dtype: 'bf16', maxSeq: '8', faultDensity: density, seed: '5', repair }, 3);
          expect({ model, repair, density, tokens: r.tokens }).toEqual({ model, repair, density, tokens: clean.tokens });
          expect(r.deadTiles).toBeGreaterThan(0);
        }
      }
    }
  });

  it('reports what faults cost against the fault-free wafer', async () => {
    const r = await run({ model: 'toy-dense', fabric: 'mini-64', dtype: 'bf16', maxSeq: '8', faultDensity: '0.03', seed: '5' }, 3, 0, true);
    expect(r.faultCost).not.toBeNull();
    expect(Number.isFinite(r.faultCost!.extraCyclesPerToken)).toBe(true);
    expect(r.faultCost!.faultFreeDecodeCyclesPerToken).toBeGreaterThan(0);
  });

  it.each([
    ['toy-moe', 'auto', 'mini-32'],
    ['toy-dense', '4', 'mini-64'],
  ])('gives identical tokens and cycles for 0 and 2 workers (%s, hub slices: %s, on %s)', async (model, hubSlices, fabric) => {
    const o = { model, fabric, dtype: 'bf16', maxSeq: '8', faultDensity: '0.02', seed: '9', hubSlices };
    const a = await run(o, 3, 0);
    const b = await run(o, 3, 2);
    expect(b.tokens).toEqual(a.tokens);
    expect(b.stepCycles).toEqual(a.stepCycles);
    expect(b.stats).toEqual(a.stats);
  });

  it('computes only the experts the router selects', async () => {
    const r = await run({ model: 'toy-moe', fabric: 'mini-32', dtype: 'bf16', maxSeq: '8' }, 2);
    const all = r.experts!;
    expect(all.length).toBe(4 * 8);
    // Every (layer, expert) the reference chose ran on the mesh; those it never chose never ran.
    for (const e of all) expect({ ...e, ran: e.meshBusyCycles > 0 }).toEqual({ ...e, ran: e.referenceSelections > 0 });
    expect(all.filter((e) => e.referenceSelections === 0).length).toBeGreaterThan(0);
    expect(all.filter((e) => e.referenceSelections > 0).length).toBeGreaterThan(0);
  });
});
