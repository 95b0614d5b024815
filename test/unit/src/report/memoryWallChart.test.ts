// The memory-wall chart: the HBM roofline arithmetic and what the SVG contains for a real compare result.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compareFabrics, resolveFabricArg, type HbmRoofline } from '../../../../src/study/compare.js';
import { clipToY, memoryWallSvg, rooflineGpus, rooflinePieces, rooflineTokensPerSecond } from '../../../../src/report/memoryWallChart.js';
import { logScale } from '../../../../src/report/svg.js';

const h100: HbmRoofline = { fabric: 'h100', hbmBytesPerSecond: 3.35e12, usableHbmBytes: 72e9, bytesPerParam: 2, fixedGpus: null };

describe('HBM roofline', () => {
  it('uses the fewest power-of-two GPUs whose usable HBM holds the weights', () => {
    expect(rooflineGpus(h100, 8e9)).toBe(1);
    expect(rooflineGpus(h100, 70e9)).toBe(2);
    expect(rooflineGpus(h100, 405e9)).toBe(16);
    expect(rooflineTokensPerSecond(h100, 70e9)).toBeCloseTo((2 * 3.35e12) / 140e9, 9);
  });

  it('with a fixed GPU count it is HBM bandwidth ÷ weight bytes, and ends where the weights stop fitting', () => {
    const one = { ...h100, fixedGpus: 1 };
    expect(rooflineTokensPerSecond(one, 8e9)).toBeCloseTo(3.35e12 / 16e9, 9);
    expect(rooflineTokensPerSecond(one, 36e9)).toBeCloseTo(3.35e12 / 72e9, 9);
    expect(rooflineTokensPerSecond(one, 36.1e9)).toBeNull();
  });
});

describe('roofline pieces', () => {
  it('are straight log-log segments, one per GPU count, that agree with the roofline at every size', () => {
    const pieces = rooflinePieces(h100, [1e6, 1e12]);
    // 1 GPU holds 36B parameters at 2 B each; each doubling holds twice as many, up to 1T parameters (32 GPUs).
    expect(pieces.map(([a, b]) => [a[0], b[0]])).toEqual([
      [1e6, 36e9],
      [36e9, 72e9],
      [72e9, 144e9],
      [144e9, 288e9],
      [288e9, 576e9],
      [576e9, 1e12],
    ]);
    for (const [a, b] of pieces) {
      for (const p of [a, b]) expect(p[1]).toBeCloseTo((rooflineGpus(h100, p[0] * (p === b ? 0.999999 : 1.000001))! * 3.35e12) / (p[0] * 2), 3);
    }
    expect(rooflineTokensPerSecond(h100, 100e9)).toBeCloseTo((4 * 3.35e12) / 200e9, 9);
    expect(rooflinePieces({ ...h100, fixedGpus: 1 }, [1e6, 1e12])).toEqual([[[1e6, 3.35e12 / 2e6], [36e9, 3.35e12 / 72e9]]]);
  });

  it('clip to the y domain in log space', () => {
    const y = logScale([10, 1000], [400, 0]);
    expect(clipToY(y, [1, 10000], [100, 100])).toEqual([[10, 1000], [100, 100]]);
    expect(clipToY(y, [1, 1e5], [10, 1e4])).toBeNull();
    expect(clipToY(y, [1, 100], [10, 50])).toEqual([[1, 100], [10, 50]]);
  });
});

describe('memoryWallSvg', () => {
  it('draws a series per fabric in both panels, the GPU rooflines and the wafer SRAM edges', () => {
    const c = compareFabrics({ model: getPreset('toy-moe'), fabrics: ['mini-64', 'h100', 'b200'].map((f) => resolveFabricArg(f)), batches: [1], dtype: 'bf16', promptLength: 512, contextLength: 512, sweepModels: true });
    const svg = memoryWallSvg(c);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1060 540"')).toBe(true);
    expect(svg).toContain('id="memory-wall"');
    for (const f of ['mini-64', 'h100', 'b200']) expect(svg.match(new RegExp(`class="series" data-fabric="${f}"`, 'g'))).toHaveLength(2);
    expect(svg.match(/class="roofline"/g)).toHaveLength(2);
    expect(svg.match(/class="sram-edge"/g)).toHaveLength(1);
    const points = c.modelSweep.reduce((s, m) => s + m.points.length, 0);
    expect(svg.match(/<g class="point">/g)).toHaveLength(points);
    expect(svg).toContain('toy-moe (7.4M, 2.6M active) on h100: ');
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });
});
