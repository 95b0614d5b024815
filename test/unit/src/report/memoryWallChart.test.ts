// The memory-wall chart: the HBM roofline arithmetic and what the SVG contains for a real compare result.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compareFabrics, resolveFabricArg, type HbmRoofline } from '../../../../src/report/compareData.js';
import { memoryWallSvg, rooflineGpus, rooflineTokensPerSecond } from '../../../../src/report/memoryWallChart.js';

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
