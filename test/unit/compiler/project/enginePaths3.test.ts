// MXFP4 routed experts on the mesh engine (docs/lowering.md#projection-paths-on-the-engine): the expert weights held
// packed on their tiles (kernels/mxfp4.ts, 4.25 bits), each matvec decoding them to bf16, and the reference forward
// pass multiplying the same MXFP4-rounded weights: exact greedy tokens, and the projection with `dtype: 'mxfp4'`,
// which charges the same decode (fabric/mesh/cost.ts), within 10% of the engine's decode cycles.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights, mxfp4Experts } from '../../../../compiler/model/weights.js';
import { generate } from '../../../../compiler/reference/forward.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('MXFP4 experts on the mesh engine', () => {
  it('toy-moe on mini-32, MXFP4 experts and bf16 KV: exact tokens, the projection within 10 percent', async () => {
    const cfg = getPreset('toy-moe');
    const spec = getFabricPreset('mini-32');
    const kvDtype = 'bf16';
    const STEPS = 4;
    const bf16 = castWeights(syntheticWeights(cfg, 0), 'bf16');
    const weights = mxfp4Experts(bf16);
    const positions = [1, 2, 3];
    // The engine runs the projection's layout, its stages' blocks balanced as it chose (balance.ts).
    const reports = positions.map((p) => projectWafer(cfg, spec, { context: p + 1, promptLength: 1, kvDtype, dtype: 'mxfp4' }));
    for (const r of reports) expect(r.stageBudgets).toEqual(reports[0].stageBudgets);
    const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: STEPS, kvDtype, stageBudgets: reports[0].stageBudgets, projection: { expertWeightBits: spec.costs.mxfp4BitsPerWeight } });
    // Every routed expert's matvec runs packed, and nothing else does.
    const tiles = compiled.lowered.plan.tiles;
    const matvecs = tiles.flatMap((t) => t.tasks.flatMap((k) => k.ops.filter((o) => o.op === 'matvec').map((o) => ({ expert: t.tag.expert !== null, format: o.format, offset: o.blockOffset ?? 0 }))));
    const packed = matvecs.filter((m) => m.format === 'mxfp4');
    expect(packed.length).toBeGreaterThan(0);
    expect(matvecs.every((m) => m.expert === (m.format === 'mxfp4'))).toBe(true);
    // Some tile's columns start inside one of its tensor's blocks of 32 (held after blockOffset columns of zeros).
    expect(packed.some((m) => m.offset > 0)).toBe(true);

    // Run on weights never rounded: the tiles round them as they load, so the tokens match the rounded reference only
    // if the engine holds exactly the MXFP4 values the reference multiplies.
    const { tokens, cycles } = await decodeOnEngine(await MeshEngine.create(spec, compiled.program, weightProvider(bf16)), STEPS);
    const reference = generate(weights, [1], STEPS, { kvDtype, maxSeq: STEPS }).tokens;
    expect(tokens).toEqual(reference);
    // The rounding changes the tokens, so a run that multiplied unrounded (or wrongly decoded) experts would fail.
    expect(generate(bf16, [1], STEPS, { kvDtype, maxSeq: STEPS }).tokens).not.toEqual(reference);
    const projected = reports.map((r) => r.tokenLatencySeconds * spec.clockHz);
    const error = mean(projected) / mean(positions.map((p) => cycles[p])) - 1;
    expect(Math.abs(error)).toBeLessThanOrEqual(0.1);
  });
});
