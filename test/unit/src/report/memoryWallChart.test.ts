// The memory-wall chart: the HBM roofline arithmetic and what the SVG contains for a real compare result.
import { describe, expect, it } from 'vitest';
import { getPreset } from '../../../../compiler/model/presets.js';
import { compareFabrics, resolveFabricArg, type HbmRoofline } from '../../../../src/study/compare.js';
import { clipToY, memoryWallSvg, readableLogTicks, rooflineGpus, rooflinePieces, rooflineTokensPerSecond, sizeTakeaway, spreadLabels, wrap } from '../../../../src/report/memoryWallChart.js';
import { describeSetting } from '../../../../src/study/setting.js';
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

/** Every <g class="point|mark" …> of the SVG as its data-* attributes. */
function drawnPoints(svg: string, cls: 'point' | 'mark'): Record<string, string>[] {
  const unesc = (v: string) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...svg.matchAll(new RegExp(`<g class="${cls}"([^>]*)>`, 'g'))].map((m) => Object.fromEntries([...m[1].matchAll(/ data-([a-z-]+)="([^"]*)"/g)].map((a) => [a[1], unesc(a[2])])));
}

describe('memoryWallSvg', () => {
  const c = compareFabrics({ model: getPreset('toy-moe'), fabrics: ['mini-64', 'h100', 'b200'].map((f) => resolveFabricArg(f)), batches: [1], dtype: 'bf16', promptLength: 512, contextLength: 512, sweepModels: true });
  const svg = memoryWallSvg(c);

  it('draws a series per fabric in both panels, the GPU rooflines and the wafer SRAM edges', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1060 700"')).toBe(true);
    expect(svg).toContain('id="memory-wall"');
    for (const f of ['mini-64', 'h100', 'b200']) expect(svg.match(new RegExp(`class="series" data-fabric="${f}"`, 'g'))).toHaveLength(2);
    expect(svg.match(/class="roofline"/g)).toHaveLength(2);
    expect(svg.match(/class="sram-edge"/g)).toHaveLength(1);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('draws every sweep point once, with the figures and setting of its record', () => {
    const drawn = drawnPoints(svg, 'point');
    const records = c.modelSweep.flatMap((s) => s.points.map((p) => ({ s, p })));
    expect(drawn).toHaveLength(records.length);
    for (const { s, p } of records) {
      const d = drawn.filter((x) => x.fabric === s.fabric && x.model === p.model);
      expect(d, `${p.model} on ${s.fabric}`).toHaveLength(1);
      expect(Number(d[0]['tokens-per-second'])).toBe(p.decodeTokensPerSecond);
      expect(Number(d[0].devices)).toBe(p.devices);
      expect(d[0].setting).toBe(describeSetting(p.setting));
      expect(d[0].moe).toBe(String(p.activeParams < p.totalParams));
    }
  });

  it('draws marks apart, and its takeaway is the ratio of the records it names', () => {
    const row = c.modelSweep.find((s) => s.fabric === 'mini-64')!.points[0];
    const marked = memoryWallSvg({ ...c, marks: [{ label: 'this run', fabric: 'mini-64', kind: 'wafer', point: { ...row, decodeTokensPerSecond: 123.5 } }] });
    expect(drawnPoints(marked, 'mark')).toEqual([expect.objectContaining({ label: 'this run', fabric: 'mini-64', 'tokens-per-second': '123.5' })]);
    const w = c.modelSweep.find((s) => s.fabric === 'mini-64')!.points.find((p) => p.model === 'toy-moe')!;
    const g = c.modelSweep.find((s) => s.fabric === 'h100')!.points.find((p) => p.model === 'toy-moe')!;
    expect(sizeTakeaway(c)).toContain(`one mini-64 decodes ${(w.decodeTokensPerSecond / g.decodeTokensPerSecond).toPrecision(2)}× one h100`);
  });
});

describe('chart helpers', () => {
  it('log ticks: powers of ten over wide axes, 1-2-5 over narrow ones', () => {
    expect(readableLogTicks(1e6, 1e13)).toEqual([1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13]);
    expect(readableLogTicks(10, 1000)).toEqual([10, 20, 50, 100, 200, 500, 1000]);
  });

  it('labels keep their order and at least the gap between them', () => {
    const ys = [100, 95, 300, 104];
    const out = spreadLabels(ys, 12);
    const order = ys.map((_, i) => i).sort((a, b) => ys[a] - ys[b]);
    for (let k = 1; k < order.length; k++) expect(out[order[k]] - out[order[k - 1]]).toBeGreaterThanOrEqual(12);
    for (let i = 0; i < ys.length; i++) expect(out[i]).toBeGreaterThanOrEqual(ys[i]);
  });

  it('wraps words into lines no longer than the width, losing none', () => {
    const s = 'at 8B one wafer decodes five times one GPU per user while past 22B it needs more wafers';
    const lines = wrap(s, 20);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(20);
    expect(lines.join(' ')).toBe(s);
  });
});
