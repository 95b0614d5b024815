// What `wafer sweep report` computes from records: percentiles (checked against their definition), yield series
// (grouped by everything but density and seed), the Pareto front (by dominance, over random points), the table, and
// the charts drawn from them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paretoPoints, percentile, percentiles, sweepTable, yieldSeries } from '../../../../src/sweep/reportData.js';
import type { SweepRecord } from '../../../../src/sweep/runPoint.js';
import { paretoChartSvg, yieldChartSvg } from '../../../../src/report/sweepCharts.js';
import { progressLine, formatDuration } from '../../../../src/sweep/progress.js';

let n = 0;
function project(repair: string, faultDensity: number, seed: number, tps: number | null, tilesUsed = 100): SweepRecord {
  return {
    key: `k${n++}`,
    kind: 'project',
    params: { model: 'toy-moe', fabric: 'mini-64', grid: null, sramBytesPerTile: null, clockHz: null, simdWidth: null, wafers: 1, repair, faultDensity, seed },
    outputs: tps === null ? null : { decodeTokensPerSecond: tps, tilesUsed, wafers: 1 },
    error: tps === null ? 'does not fit' : null,
  };
}
const gpu = (gpus: number, tps: number): SweepRecord => ({ key: `g${n++}`, kind: 'gpu', params: { model: 'toy-moe', gpu: 'h100', gpus }, outputs: { decodeTokensPerSecond: tps, gpus }, error: null });

describe('percentile', () => {
  it('is an order statistic where (n − 1)·q is whole, and interpolates between two otherwise', () => {
    const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([percentile(xs, 0.1), percentile(xs, 0.5), percentile(xs, 0.9)]).toEqual([1, 5, 9]);
    expect(percentile([10, 20], 0.5)).toBe(15);
    expect(percentile([10, 20], 0.1)).toBeCloseTo(11, 12);
    // An order statistic is the value itself, sign of zero included.
    expect(Object.is(percentile([-1, -0, 1], 0.5), -0)).toBe(true);
  });

  it('lies between min and max, grows with q, and is the middle value of an odd count at q = 0.5', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), (values) => {
        const p = percentiles(values)!;
        const sorted = [...values].sort((a, b) => a - b);
        expect(p.min).toBe(sorted[0]);
        expect(p.max).toBe(sorted[sorted.length - 1]);
        expect(p.min <= p.p10 && p.p10 <= p.p50 && p.p50 <= p.p90 && p.p90 <= p.max).toBe(true);
        if (values.length % 2 === 1) expect(p.p50).toBe(sorted[(values.length - 1) / 2]);
      }),
    );
    expect(percentiles([])).toBeNull();
  });
});

describe('yieldSeries', () => {
  it('one series per repair policy; per density the share of seeds that fit and percentiles over those that did', () => {
    const rs = [project('remap', 0, 0, 100), project('remap', 0, 1, 100), project('remap', 0, 2, 100), project('remap', 0.05, 0, 90), project('remap', 0.05, 1, null), project('remap', 0.05, 2, 80), project('route-around', 0, 0, 100), project('route-around', 0.05, 0, 95), gpu(1, 50)];
    const s = yieldSeries(rs);
    expect(s.map((x) => [x.label, x.points.length])).toEqual([
      ['toy-moe on mini-64, remap', 2],
      ['toy-moe on mini-64, route-around', 2],
    ]);
    const at5 = s[0].points[1];
    expect([at5.density, at5.seeds, at5.fits]).toEqual([0.05, 3, 2 / 3]);
    expect(at5.tokensPerSecond).toMatchObject({ min: 80, p50: 85, max: 90 });
    expect(s[0].points[0].tilesUsed).toEqual({ p10: 100, p50: 100, p90: 100, min: 100, max: 100 });
  });

  it('nothing where a series has one density only (no curve to draw)', () => {
    expect(yieldSeries([project('remap', 0.01, 0, 1), project('remap', 0.01, 1, 2)])).toEqual([]);
  });
});

describe('paretoPoints', () => {
  it('the front is exactly the points no other point of the same hardware dominates', () => {
    const point = fc.record({ wafers: fc.boolean(), count: fc.integer({ min: 1, max: 6 }), tps: fc.integer({ min: 1, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(point, { minLength: 1, maxLength: 25 }), (pts) => {
        const rs = pts.map((p) => (p.wafers ? { ...project('remap', 0, 0, p.tps), outputs: { decodeTokensPerSecond: p.tps, wafers: p.count } } : gpu(p.count, p.tps)));
        const out = paretoPoints(rs);
        expect(out).toHaveLength(pts.length);
        for (const p of out) {
          const better = out.filter((q) => q.hardware === p.hardware && q.count <= p.count && q.tokensPerSecond >= p.tokensPerSecond && (q.count < p.count || q.tokensPerSecond > p.tokensPerSecond));
          expect(p.front).toBe(better.length === 0);
        }
        // Every kind of hardware present has a front: the fastest of its fewest.
        for (const h of new Set(out.map((p) => p.hardware))) expect(out.some((p) => p.hardware === h && p.front)).toBe(true);
      }),
    );
  });

  it('leaves out points that did not fit', () => {
    expect(paretoPoints([project('remap', 0.1, 0, null), gpu(2, 10)]).map((p) => p.hardware)).toEqual(['GPUs']);
  });
});

describe('sweepTable', () => {
  it('shows the parameters that vary, every output, and the error', () => {
    const t = sweepTable([project('remap', 0, 0, 100), project('route-around', 0.05, 0, null)]);
    expect(t.columns).toEqual(['kind', 'repair', 'faultDensity', 'decodeTokensPerSecond', 'tilesUsed', 'wafers', 'error']);
    expect(t.rows[1]).toEqual(['project', 'route-around', 0.05, null, null, null, 'does not fit']);
  });
});

describe('charts', () => {
  const rs = [0, 0.02, 0.04].flatMap((d) => [0, 1, 2].flatMap((seed) => [project('remap', d, seed, 100 - d * 100 * (seed + 1)), project('route-around', d, seed, 100 - d * 50)]));
  it('a yield chart: a median line per series, a percentile band where there is a spread, none for fits', () => {
    const s = yieldSeries(rs);
    const svg = yieldChartSvg(s, 'tokensPerSecond', 'tokens');
    expect(svg.match(/class="median"/g)).toHaveLength(2);
    expect(svg.match(/class="band"/g)).toHaveLength(2);
    expect(svg).toContain('toy-moe on mini-64, remap');
    expect(yieldChartSvg(s, 'fits', 'fits')).not.toContain('class="band"');
  });

  it('a Pareto chart: one front line per kind of hardware', () => {
    const svg = paretoChartSvg(paretoPoints([...rs, gpu(1, 80), gpu(2, 120), gpu(4, 110)]));
    expect(svg.match(/class="front"/g)).toHaveLength(2);
    expect(svg).toContain('4 GPUs');
  });
});

describe('progress line', () => {
  it('points done, the rate of this run, and the time left at that rate', () => {
    expect(progressLine(50, 200, 40, 20, 10)).toBe('[###.......] 50/200 points, 2.00/s, 1m15s left');
    expect(progressLine(0, 10, 0, 0, 4)).toBe('[....] 0/10 points, 0.00/s, ? left');
    expect([formatDuration(59.4), formatDuration(3600 * 2 + 61)]).toEqual(['59s', '2h01m']);
  });
});
