// One override of an assumption changes what the mesh engine and the projection both charge: with the cost constants
// moved far from their defaults, the engine's decode cycles move, and the projection still agrees with them within
// the 10% of the cross-check (crosscheck.test.ts); neither falls below the floor.
import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { syntheticWeights } from '../../../../compiler/model/synthetic.js';
import { castWeights } from '../../../../compiler/model/weights.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { compileModel } from '../../../../compiler/wafer/compile.js';
import { weightProvider } from '../../../../compiler/wafer/weights.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { decodeOnEngine } from '../../../helpers/decode.js';
import { applyAssumptions } from '../../../../fabric/spec/assumptions.js';
import { getFabricPreset, type FabricSpec } from '../../../../fabric/spec/index.js';

const cfg = getPreset('toy-dense');
const POSITIONS = [1, 2, 3];

async function meshCycles(spec: FabricSpec): Promise<number[]> {
  const compiled = compileModel(buildGraph(cfg), { spec, faults: null, repair: 'route-around', dtype: 'bf16', maxSeq: 16 });
  const engine = await MeshEngine.create(spec, compiled.program, weightProvider(castWeights(syntheticWeights(cfg, 0), 'bf16')));
  const { cycles } = await decodeOnEngine(engine, POSITIONS[POSITIONS.length - 1] + 1);
  return POSITIONS.map((p) => cycles[p]);
}

describe('an assumption overridden', () => {
  it('moves the engine and the projection together (toy-dense on mini-32, within 10%)', async () => {
    const base = getFabricPreset('mini-32');
    const spec = applyAssumptions(base, [
      { name: 'transcendental-cycles', value: 32 },
      { name: 'op-setup-cycles', value: 6 },
      { name: 'task-start-cycles', value: 12 },
      { name: 'clock-hz', value: 850e6 },
    ]);
    const [before, after] = [await meshCycles(base), await meshCycles(spec)];
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // The engine charges the overrides: every step is slower in cycles.
    for (let i = 0; i < POSITIONS.length; i++) expect(after[i]).toBeGreaterThan(before[i]);
    const projected = POSITIONS.map((p, i) => {
      const r = projectWafer(cfg, spec, { context: p + 1, promptLength: 1, kvDtype: 'f32' });
      // The floor under the same overrides, and under the defaults, is below what the engine measured (floor.test.ts).
      expect(after[i]).toBeGreaterThanOrEqual(r.floor.cyclesPerToken);
      expect(before[i]).toBeGreaterThanOrEqual(projectWafer(cfg, base, { context: p + 1, promptLength: 1, kvDtype: 'f32' }).floor.cyclesPerToken);
      expect(r.clockHz).toBe(850e6);
      expect(r.assumptions.find((a) => a.name === 'transcendental-cycles')!.value).toBe(32);
      return r.tokenLatencySeconds * spec.clockHz;
    });
    expect(Math.abs(mean(projected) / mean(after) - 1)).toBeLessThanOrEqual(0.1);
  });
});
