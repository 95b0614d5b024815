import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULT_SPLIT, Mulberry32, generateFaults, stapperYield, streamSeed, type FaultGenOptions } from '../../../../fabric/faults/index.js';
import { catchInputError as err } from '../../inputError.js';

const defects = (o: FaultGenOptions): number => {
  const c = generateFaults(o).counts();
  return c.deadTiles + c.deadCores + c.deadLinks;
};

/** Per-region counts of dead tiles (split all-tiles so every defect is a dead tile). */
function regionCounts(o: FaultGenOptions, side: number): number[] {
  const m = generateFaults({ ...o, split: { coreFraction: 0, linkFraction: 0 } });
  const out: number[] = [];
  for (let ry = 0; ry < o.height; ry += side) {
    for (let rx = 0; rx < o.width; rx += side) {
      let n = 0;
      for (let y = ry; y < ry + side; y++) for (let x = rx; x < rx + side; x++) n += m.tileDead[y * o.width + x];
      out.push(n);
    }
  }
  return out;
}

describe('random stream', () => {
  it('mulberry32 is deterministic, uniform in [0, 1), and seeded per stream', () => {
    const a = new Mulberry32(42);
    const b = new Mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
    expect(streamSeed(1, 'faults/uniform')).not.toBe(streamSeed(1, 'weights'));
    expect(streamSeed(1, 'faults/uniform')).not.toBe(streamSeed(2, 'faults/uniform'));
    expect(streamSeed(2 ** 40, 'x')).not.toBe(streamSeed(0, 'x'));
  });

  it('gamma samples have mean shape × scale (shape below and above 1)', () => {
    const r = new Mulberry32(7);
    for (const [shape, scale] of [[0.5, 0.1], [3, 2]]) {
      let s = 0;
      const n = 20000;
      for (let k = 0; k < n; k++) s += r.gamma(shape, scale);
      expect(Math.abs(s / n / (shape * scale) - 1)).toBeLessThan(0.05);
    }
  });
});

describe('generateFaults', () => {
  it('is deterministic per seed, and seeds differ', () => {
    const o = { width: 32, height: 32, density: 0.04, seed: 5 };
    expect(generateFaults(o).toJson()).toEqual(generateFaults(o).toJson());
    expect(generateFaults(o).toJson()).not.toEqual(generateFaults({ ...o, seed: 6 }).toJson());
    const c = { ...o, clusterAlpha: 0.5 };
    expect(generateFaults(c).toJson()).toEqual(generateFaults(c).toJson());
    expect(generateFaults(c).toJson()).not.toEqual(generateFaults(o).toJson());
  });

  it('uniform places exactly round(D × tiles) defects, split about 80/15/5', () => {
    expect(defects({ width: 64, height: 64, density: 0.03, seed: 1 })).toBe(Math.round(0.03 * 4096));
    expect(defects({ width: 8, height: 8, density: 0, seed: 1 })).toBe(0);
    const all = generateFaults({ width: 8, height: 8, density: 1, seed: 1, split: { coreFraction: 0, linkFraction: 0 } });
    expect(all.counts().deadTiles).toBe(64);
    const m = generateFaults({ width: 128, height: 128, density: 0.1, seed: 3 }).counts();
    const n = m.deadTiles + m.deadCores + m.deadLinks;
    expect(n).toBe(1638);
    expect(m.deadCores / n).toBeGreaterThan(DEFAULT_FAULT_SPLIT.coreFraction - 0.03);
    expect(m.deadCores / n).toBeLessThan(DEFAULT_FAULT_SPLIT.coreFraction + 0.03);
    expect(m.deadLinks / n).toBeGreaterThan(DEFAULT_FAULT_SPLIT.linkFraction - 0.02);
    expect(m.deadLinks / n).toBeLessThan(DEFAULT_FAULT_SPLIT.linkFraction + 0.02);
  });

  it('clustered keeps the mean density and clusters defects as the negative-binomial model says', () => {
    const D = 0.05;
    const alpha = 0.5;
    let clustered: number[] = [];
    let uniform: number[] = [];
    for (let seed = 0; seed < 20; seed++) {
      clustered = clustered.concat(regionCounts({ width: 64, height: 64, density: D, seed, clusterAlpha: alpha, regionSide: 4 }, 4));
      uniform = uniform.concat(regionCounts({ width: 64, height: 64, density: D, seed }, 4));
    }
    const stats = (xs: number[]): { mean: number; dispersion: number; clean: number } => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
      return { mean, dispersion: variance / mean, clean: xs.filter((x) => x === 0).length / xs.length };
    };
    const c = stats(clustered);
    const u = stats(uniform);
    // Mean defects per 16-tile region = 16·D = 0.8 for both.
    expect(Math.abs(c.mean / 0.8 - 1)).toBeLessThan(0.1);
    expect(Math.abs(u.mean / 0.8 - 1)).toBeLessThan(0.02);
    // Negative binomial: variance/mean = 1 + mean/α ≈ 2.6; uniform ≈ 1 (slightly under: a fixed total count).
    expect(c.dispersion).toBeGreaterThan(2);
    expect(u.dispersion).toBeLessThan(1.1);
    // Defect-free regions: Stapper's yield (1 + A·D/α)^(−α) = 0.62, against (1 − D)^16 = 0.44 when uniform.
    expect(Math.abs(c.clean - stapperYield(16, D, alpha))).toBeLessThan(0.05);
    expect(Math.abs(u.clean - Math.pow(1 - D, 16))).toBeLessThan(0.03);
  });

  it('large alpha tends to the uniform yield', () => {
    expect(stapperYield(16, 0.05, 1e6)).toBeCloseTo(Math.exp(-0.8), 5);
    expect(stapperYield(16, 0.05, 0.5)).toBeCloseTo(Math.pow(2.6, -0.5), 10);
  });

  const bad: [string, Partial<FaultGenOptions>, string][] = [
    ['density above 1', { density: 1.5 }, 'fault density 1.5 is out of range (density): give a fraction of tiles in [0, 1], e.g. 0.03'],
    ['negative density', { density: -0.1 }, 'fault density -0.1 is out of range (density): give a fraction of tiles in [0, 1], e.g. 0.03'],
    ['NaN density', { density: NaN }, 'fault density NaN is out of range (density): give a fraction of tiles in [0, 1], e.g. 0.03'],
    ['negative seed', { seed: -1 }, 'seed -1 is not a non-negative integer (seed): give a whole number ≥ 0'],
    ['fractional seed', { seed: 1.5 }, 'seed 1.5 is not a non-negative integer (seed): give a whole number ≥ 0'],
    ['zero alpha', { clusterAlpha: 0 }, 'clustering parameter 0 must be positive (clusterAlpha): give α > 0 (small α = strong clustering, e.g. 0.5; large α ≈ uniform)'],
    ['zero region', { clusterAlpha: 1, regionSide: 0 }, 'region side 0 must be a positive integer (regionSide): give at least 1 tile'],
    ['a split over 1', { split: { coreFraction: 0.7, linkFraction: 0.4 } }, 'fault split core 0.7 + link 0.4 is not a partition (split): give non-negative fractions summing to at most 1'],
  ];
  it.each(bad)('rejects %s', (_label, patch, message) => {
    expect(err(() => generateFaults({ width: 4, height: 4, density: 0.1, seed: 1, ...patch })).message).toBe(message);
  });
});
