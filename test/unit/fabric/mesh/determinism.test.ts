import { describe, expect, it } from 'vitest';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { MeshEngine, type MeshStats, type TraceEvent } from '../../../../fabric/mesh/engine.js';
import { gridProgram, syntheticWeights } from '../../../../fabric/mesh/workloads.js';
import { piscinaJobPool } from '../../../../src/workers/meshPool.js';
import { nodeStripPool } from '../../../../src/workers/stripPool.js';
import type { StripCut } from '../../../../fabric/mesh/strips.js';

const spec = getFabricPreset('mini-4');

interface Run {
  cycles: number[];
  outputs: [string, number[]][][];
  sram: number[][];
  stats: MeshStats;
  trace: TraceEvent[];
}

async function runWith(workers: number, parallelMesh = false, stripCut?: StripCut): Promise<Run & { barriers: number }> {
  const program = gridProgram({ side: 4, n: 16, repeats: 3, extras: true });
  const engine = await MeshEngine.create(spec, program, syntheticWeights(), parallelMesh ? { workers, stripPool: nodeStripPool, stripCut, trace: true } : { workers, pool: piscinaJobPool, trace: true });
  const run: Run & { barriers: number } = { cycles: [], outputs: [], sram: [], stats: engine.stats(), trace: [], barriers: 0 };
  for (let pos = 0; pos < 3; pos++) {
    const r = await engine.step({ token: (pos * 3 + 1) % 8, position: pos });
    run.cycles.push(r.cycles);
    run.outputs.push([...r.outputs.entries()].sort().map(([k, v]) => [k, [...v]]));
  }
  for (const t of program.tiles) for (const b of t.buffers) run.sram.push([...new Uint8Array((engine.readBuffer(t.x, t.y, b.name) as Float32Array).buffer)]);
  run.stats = engine.stats();
  run.trace = [...engine.traceLog()];
  run.barriers = engine.barrierRounds;
  await engine.close();
  return run;
}

describe('MeshEngine determinism across worker counts', () => {
  it('gives identical cycles, outputs, SRAM bytes and statistics for 0, 1, 2 and 4 workers', async () => {
    const base = await runWith(0);
    expect(base.outputs[0].map(([k]) => k)).toEqual(['am1', 'am2', 'am3', 'att1', 'att2', 'att3', 'row1', 'row2', 'row3', 'top1', 'top2', 'top3']);
    // Attention over a growing cache makes each step a little longer.
    expect(base.cycles[2]).toBeGreaterThan(base.cycles[0]);
    expect(base.trace.length).toBeGreaterThan(3 * 16);
    for (const workers of [1, 2, 4]) {
      const r = await runWith(workers);
      expect(r.cycles).toEqual(base.cycles);
      expect(r.outputs).toEqual(base.outputs);
      expect(r.sram).toEqual(base.sram);
      expect(r.stats).toEqual(base.stats);
      expect(r.trace).toEqual(base.trace);
    }
  }, 120_000);

  it('gives the same for the parallel mesh on 1, 2 and 4 threads, whatever the cut (strips apart up to each horizon)', async () => {
    const base = await runWith(0);
    const runs: [number, StripCut | undefined][] = [
      [1, undefined],
      [2, undefined],
      [2, { rows: 1, cols: 1 }],
      [2, { rows: 4, cols: 2 }],
      [4, { rows: 1, cols: 2 }],
    ];
    for (const [workers, cut] of runs) {
      const r = await runWith(workers, true, cut);
      // A lone strip never needs to meet another: once at its step's first cycle, once when it is done.
      if (workers === 1) expect(r.barriers).toBeLessThanOrEqual(2 * 3);
      expect(r.cycles).toEqual(base.cycles);
      expect(r.outputs).toEqual(base.outputs);
      expect(r.sram).toEqual(base.sram);
      expect(r.stats).toEqual(base.stats);
      expect(r.trace).toEqual(base.trace);
    }
  }, 120_000);
});
