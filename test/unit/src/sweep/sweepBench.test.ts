// Smoke test of `wafer bench sweep` (src/bench/sweepBench.ts) in quick mode: every point of each workload ran
// embedded and (where redis-server is installed) through the queue, and the report adds up — never the speed
// (speed lives in the benchmark itself, bench/results/sweep.md).
import { describe, expect, it } from 'vitest';
import { formatSweepBench, runSweepBench } from '../../../../src/bench/sweepBench.js';
import { redisServerInstalled } from '../../../../src/sweep/localRedis.js';

describe('runSweepBench (quick)', () => {
  it('both workloads embedded and on the queue, every point once; rates and overhead from the walls', async () => {
    const r = await runSweepBench({ quick: true });
    const queue = redisServerInstalled();
    expect(r.rows.map((x) => [x.workload, x.mode, x.width, x.points])).toEqual([
      ['GPU estimates', 'embedded', 1, 16],
      ['projections', 'embedded', 1, 1],
      ...(queue ? [['GPU estimates', 'queue', 1, 16], ['projections', 'queue', 1, 1]] : []),
    ]);
    for (const x of r.rows) expect(x.pointsPerSecond * x.wallSeconds).toBeCloseTo(x.points, 9);
    expect(r.queueOverheadSecondsPerPoint.map((o) => o.width)).toEqual(queue ? [1] : []);
    expect(r.queueSkipped === null).toBe(queue);
    const text = formatSweepBench(r);
    expect(text.match(/^\| (GPU estimates|projections) \|/gm)).toHaveLength(r.rows.length);
  });
});
