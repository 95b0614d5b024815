// Gather trees (LowerOptions.gatherFan): region roots inside one hub slice relay their rows up a tree of consecutive
// roots, so the slice receives fewer streams; grouped inputs (LowerOptions.regionInputs): one stream carries several
// block columns of an MLP region's input. The projection lowers every wide model this way; here the engine runs both
// on toys at a fan-in of one and two inputs per MLP region, and the LM head's inputs grouped the same way
// (LowerOptions.lmHeadInputs): exact tokens against the reference, and the estimate that times the projection within
// 10% of the engine's cycles on the same program.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { estimateStep } from '../../../../compiler/wafer/estimate.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { getFabricPreset, type FabricSpec } from '../../../../fabric/spec/index.js';
import type { ModelConfig } from '../../../../compiler/model/config.js';

const MAX_SEQ = 16;
const PROMPT = [1, 7];
const NEW_TOKENS = 4;
const HUBS = new Set(['attn-hub', 'mlp-hub', 'expert-hub']);

describe('gather trees into the hub slices, on the mesh engine', () => {
  it.each([
    ['toy-dense', 'bf16', 0.9, 2],
    ['toy-moe', 'bf16', 0, 2],
  ] as const)('%s (%s weights, spread %s), one stream per region into each hub slice, at most %s inputs per MLP region: exact tokens, estimate within 10 percent', async (model, dtype, spread, regionInputs) => {
    const cfg = getPreset(model);
    const spec = getFabricPreset('mini-32');
    const graph = buildGraph(cfg);
    const compile = (gatherFan?: number) => compileModel(graph, { spec, faults: null, repair: 'route-around', dtype, maxSeq: MAX_SEQ, spread, gatherFan });
    const plain = compile();
    const compiled = compileModel(graph, { spec, faults: null, repair: 'route-around', dtype, maxSeq: MAX_SEQ, spread, gatherFan: 1, regionInputs });
    const { plan } = compiled.lowered;
    // Grouped inputs: no MLP region has more input streams than asked, and some have fewer than block columns.
    const mlp = compiled.lowered.regions.filter((r) => ['gate-up', 'down'].includes(r.tiles[0].tag.unit));
    expect(mlp.every((r) => r.inputs.length <= regionInputs)).toBe(true);
    expect(mlp.some((r) => r.inputs.length < r.grid.gc)).toBe(true);
    // The mechanism is taken: relay streams exist, and no hub slice receives more streams from a region's roots
    // than before (fewer wherever roots gathered), at most one per region beside the rows straddling its edges.
    expect(plan.streams.some((s) => s.label.includes('.gather'))).toBe(true);
    const intoHubs = (streams: typeof plan.streams, tiles: typeof plan.tiles) => streams.filter((s) => s.dst.length === 1 && HUBS.has(tiles[s.dst[0]].tag.unit) && s.src.length === 1 && ['o', 'down'].includes(tiles[s.src[0]].tag.unit)).length;
    expect(intoHubs(plan.streams, plan.tiles)).toBeLessThan(intoHubs(plain.lowered.plan.streams, plain.lowered.plan.tiles));

    await expectExactAndEstimated(cfg, spec, dtype, compiled);
  });

  it('toy-dense with the LM head\'s two block columns on one input stream: exact tokens, estimate within 10 percent', async () => {
    const cfg = getPreset('toy-dense');
    const spec = getFabricPreset('mini-32');
    const compile = (lmHeadInputs?: number) => compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: MAX_SEQ, lmHeadInputs });
    const lmHead = (c: ReturnType<typeof compile>) => c.lowered.regions.find((r) => r.name === 'lm_head')!;
    const compiled = compile(1);
    // The same blocks as without grouping, fed by one stream that carries both block columns' x.
    expect(lmHead(compile()).inputs.length).toBe(2);
    expect(lmHead(compiled).grid.gc).toBe(2);
    expect(lmHead(compiled).inputs.length).toBe(1);
    await expectExactAndEstimated(cfg, spec, 'bf16', compiled);
  });
});

/** The compiled program's greedy tokens on the engine are the reference's; the estimate is within 10% of its cycles. */
async function expectExactAndEstimated(cfg: ModelConfig, spec: FabricSpec, dtype: 'bf16' | 'int8', compiled: ReturnType<typeof compileModel>): Promise<void> {
  const weights = castWeights(syntheticWeights(cfg, 0), dtype);
  const run = await decodeOnEngine(await MeshEngine.create(spec, compiled.program, weightProvider(weights)), PROMPT.length + NEW_TOKENS - 1, { prompt: PROMPT });
  expect(run.tokens).toEqual(generate(weights, PROMPT, NEW_TOKENS, { maxSeq: MAX_SEQ }).tokens);
  const cycles = run.cycles.slice(1);
  const estimated = cycles.map((_, i) => estimateStep(spec, compiled.lowered, compiled.placement, compiled.routes, { position: i + 1 }).cycles);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  expect(Math.abs(sum(estimated) / sum(cycles) - 1)).toBeLessThanOrEqual(0.1);
}
