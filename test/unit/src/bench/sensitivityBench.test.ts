// `wafer bench sensitivity --quick` (toy-dense on mini-32, in this thread): every assumption appears once, at its low
// and its high; rows come sorted by effect; the clock moves a one-wafer token's tokens/s by exactly its ratio; what
// the projection never reads moves nothing; no projection beats its floor.
import { describe, expect, it } from 'vitest';
import { formatSensitivityBench, runSensitivityBench } from '../../../../src/bench/sensitivityBench.js';
import { ASSUMPTIONS } from '../../../../fabric/spec/assumptions.js';

describe('wafer bench sensitivity --quick', async () => {
  const r = await runSensitivityBench({ quick: true, workers: 0 });
  const m = r.models[0];

  it('lists every assumption once, sorted by effect', () => {
    expect(r.rows.map((x) => x.name).sort()).toEqual(ASSUMPTIONS.map((a) => a.name).sort());
    for (let i = 1; i < r.rows.length; i++) expect(r.rows[i].effect).toBeLessThanOrEqual(r.rows[i - 1].effect);
    expect(formatSensitivityBench(r).split('\n').filter((l) => /^\| [a-z0-9-]+ /.test(l) && !l.startsWith('| assumption'))).toHaveLength(ASSUMPTIONS.length);
  });

  it('the clock scales a one-wafer token by its ratio; an engine-only assumption moves nothing', () => {
    const clock = r.rows.find((x) => x.name === 'clock-hz')!;
    expect(clock.atLow[m].tokensPerSecond! / clock.atHigh[m].tokensPerSecond!).toBeCloseTo(clock.low / clock.high, 9);
    for (const row of r.rows.filter((x) => x.readBy === 'engine')) expect(row.effect).toBe(0);
  });

  it('slower op costs never speed a token up; no point beats its floor', () => {
    for (const name of ['transcendental-cycles', 'task-start-cycles', 'op-setup-cycles', 'matvec-row-overhead-cycles', 'send-issue-cycles', 'ramp-latency-cycles']) {
      const row = r.rows.find((x) => x.name === name)!;
      expect(row.atHigh[m].tokensPerSecond!).toBeLessThanOrEqual(row.atLow[m].tokensPerSecond!);
    }
    for (const row of r.rows) for (const f of [row.atLow[m], row.atHigh[m]]) expect(f.efficiency!).toBeLessThanOrEqual(1);
  });
});
