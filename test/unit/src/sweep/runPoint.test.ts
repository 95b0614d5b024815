// A point runs the existing entry points with the fabric its overrides describe: the overrides reach the model
// (a clock twice as fast decodes twice as many tokens per second on the same cycles), and bad input met while running
// is the point's result, not a failure.
import { describe, expect, it } from 'vitest';
import { projectWafer } from '../../../../compiler/project/index.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { planSweep } from '../../../../src/sweep/plan.js';
import { fabricOf, runPoint } from '../../../../src/sweep/runPoint.js';
import { parseSweepText } from '../../../../src/sweep/schema.js';

const plan = (studies: unknown[]) => planSweep(parseSweepText(JSON.stringify({ name: 't', studies }), 't.json'), 't.json');

describe('fabricOf', () => {
  it('the preset with each override, the rest of the SIMD widths kept', () => {
    const [p] = plan([{ run: 'mesh', axes: { model: ['toy-dense'], fabric: ['mini-64'], sramBytesPerTile: [65536], clockHz: [2e9], grid: ['20x24'], simdWidth: [{ f16: 16 }] } }]).points;
    const base = getFabricPreset('mini-64');
    const spec = fabricOf(p.params, true);
    expect(spec).toEqual({ ...base, sramBytesPerTile: 65536, clockHz: 2e9, widthTiles: 20, heightTiles: 24, simdWidth: { ...base.simdWidth, f16: 16 } });
    // A projection's grid is a sub-grid of each wafer: the fabric keeps its size.
    expect(fabricOf({ ...p.params }, false)).toMatchObject({ widthTiles: base.widthTiles, heightTiles: base.heightTiles });
  });
});

describe('runPoint', () => {
  it('a projection at twice the clock: twice the tokens/s, the same tiles — and the same as projectWafer itself', async () => {
    const points = plan([{ run: 'project', axes: { model: ['toy-dense'], fabric: ['mini-64'], clockHz: [1e9, 2e9] } }]).points;
    const [slow, fast] = await Promise.all(points.map((p) => runPoint(p, p.key)));
    const direct = projectWafer(getPreset('toy-dense'), { ...getFabricPreset('mini-64'), clockHz: 1e9 });
    expect(slow.outputs!.decodeTokensPerSecond).toBe(direct.decodeTokensPerSecond);
    expect((fast.outputs!.decodeTokensPerSecond as number) / (slow.outputs!.decodeTokensPerSecond as number)).toBeCloseTo(2, 9);
    expect(fast.outputs!.tilesUsed).toBe(slow.outputs!.tilesUsed);
  });

  it('a model that does not fit is a record with the reason, not a failure', async () => {
    const [p] = plan([{ run: 'project', axes: { model: ['toy-moe'], fabric: ['mini-64'], grid: ['16x16'], wafers: [1] } }]).points;
    const r = await runPoint(p, p.key);
    expect(r.outputs).toBeNull();
    expect(r.error).toMatch(/\(.+\): /);
  });
});
