import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { MeshEngine } from '../../../../fabric/mesh/engine.js';
import { opCycles, streamArrivalCycles, tileOpContext } from '../../../../fabric/mesh/cost.js';
import { chainProgram, provider } from './programs.js';

const spec = getFabricPreset('mini-16');

describe('MeshEngine: 1×4 chain reduction', () => {
  it('sums the four vectors and takes the cycles the cost functions and hop latencies predict', async () => {
    const n = 16;
    const { program, tensors } = chainProgram(n);
    const engine = await MeshEngine.create(spec, program, provider(tensors));
    const r = await engine.step({ token: 0, position: 0 });
    const sum = r.outputs.get('sum')!;
    for (let i = 0; i < n; i++) {
      const want = Math.fround(Math.fround(Math.fround(tensors.v1.data[i] + tensors.v0.data[i]) + tensors.v2.data[i]) + tensors.v3.data[i]);
      expect(sum[i]).toBe(want);
    }
    // First principles: every stage waits taskStart, runs its add (not the head), issues the send at that cycle, and the
    // last of n wavelets lands one hop away streamArrivalCycles later; the tail adds and outputs.
    const ctx = tileOpContext(program.tiles[1], 0);
    const add = opCycles(spec, program.tiles[1].tasks[0].ops[0], ctx);
    const out = opCycles(spec, program.tiles[3].tasks[0].ops[1], tileOpContext(program.tiles[3], 0));
    const stream = streamArrivalCycles(spec, 1, n);
    const t1 = spec.taskStartCycles + stream;
    const t2 = t1 + spec.taskStartCycles + add + stream;
    const t3 = t2 + spec.taskStartCycles + add + stream;
    expect(r.cycles).toBe(t3 + spec.taskStartCycles + add + out);
    // The head tile stalls while more than queueDepth wavelets wait in its send queue.
    const s = engine.stats();
    expect(s.tileStalledCycles[0]).toBe(n - spec.queueDepthWavelets - 1);
    expect(s.waveletsMoved).toBe(3 * n);
    expect(s.waveletHops).toBe(3 * n);
    expect(s.tasksRun).toBe(4);
    await engine.close();
  });
});
