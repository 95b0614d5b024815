import { describe, expect, it } from 'vitest';
import { deriveFabric, fabricSpecSchema, getFabricPreset, listFabricPresets, parseFabricSpec, resolveFabric } from '../../../../fabric/spec/index.js';
import { catchInputError as inputError } from '../../inputError.js';

const mini16 = (): Record<string, unknown> => JSON.parse(JSON.stringify(getFabricPreset('mini-4'))) as Record<string, unknown>;

describe('fabric presets', () => {
  it('lists every preset; each passes the strict schema and is deeply frozen', () => {
    expect(listFabricPresets()).toEqual(['wse2', 'wse3', 'mini-4', 'mini-8', 'mini-16', 'mini-32', 'mini-64', 'mini-128', 'mini-256', 'mini-320']);
    for (const name of listFabricPresets()) {
      const spec = getFabricPreset(name);
      expect(spec.name).toBe(name);
      expect(() => fabricSpecSchema.parse(spec)).not.toThrow();
      expect(Object.isFrozen(spec)).toBe(true);
      expect(Object.isFrozen(spec.simdWidth)).toBe(true);
      expect(Object.isFrozen(spec.interWafer)).toBe(true);
    }
  });

  it('has the published mesh sizes, SIMD widths and tile', () => {
    const wse2 = getFabricPreset('wse2');
    const wse3 = getFabricPreset('wse3');
    expect([wse2.widthTiles, wse2.heightTiles, wse2.simdWidth.f16, wse2.simdWidth.f32, wse2.simdWidth.f32Add]).toEqual([750, 994, 4, 1, 2]);
    expect([wse3.widthTiles, wse3.heightTiles, wse3.simdWidth.f16, wse3.simdWidth.f32, wse3.simdWidth.f32Add]).toEqual([755, 1170, 8, 1, 4]);
    for (const s of [wse2, wse3]) {
      expect(s.sramBytesPerTile).toBe(48 * 1024);
      expect([s.sramBanks, s.colours, s.waveletBits, s.hopLatencyCycles, s.rampLatencyCycles]).toEqual([8, 24, 32, 1, 2]);
      expect(s.interWafer.bytesPerSecond).toBe(150e9);
    }
    const sides: Record<string, number> = { 'mini-4': 4, 'mini-8': 8, 'mini-16': 16, 'mini-32': 32, 'mini-64': 64, 'mini-128': 128, 'mini-256': 256, 'mini-320': 320 };
    for (const [name, side] of Object.entries(sides)) {
      const s = getFabricPreset(name);
      expect([s.widthTiles, s.heightTiles, s.spareColumns, s.spareRows, s.simdWidth.f16]).toEqual([side, side, Math.max(2, Math.ceil(side / 8)), Math.max(1, Math.ceil(side / 16)), 8]);
    }
  });

  it('refuses an unknown preset, listing the names', () => {
    const e = inputError(() => getFabricPreset('wse9'));
    expect(e.what).toBe('unknown fabric preset "wse9"');
    expect(e.where).toBe('fabric');
    expect(e.fix).toContain('wse2, wse3, mini-4');
  });
});

describe('parseFabricSpec', () => {
  it('accepts a valid spec, returns it frozen, and resolveFabric takes names or JSON', () => {
    const spec = parseFabricSpec({ ...mini16(), name: 'mine' }, 'mine.json');
    expect(spec.name).toBe('mine');
    expect(Object.isFrozen(spec)).toBe(true);
    expect(resolveFabric('mini-8').widthTiles).toBe(8);
    expect(resolveFabric({ ...mini16(), widthTiles: 5 }, 'x.json').widthTiles).toBe(5);
  });

  const cases: [string, Record<string, unknown>, string, string, string][] = [
    ['zero width', { widthTiles: 0 }, 'mesh size must be positive, got widthTiles = 0', 'f.json: widthTiles', 'give at least 1 tile'],
    ['negative height', { heightTiles: -3 }, 'mesh size must be positive, got heightTiles = -3', 'f.json: heightTiles', 'give at least 1 tile'],
    ['unknown key', { colour: 3 }, 'unknown key "colour"', 'f.json: (root)', 'remove it or check its spelling'],
    ['wrong type', { clockHz: 'fast' }, 'expected number, got string', 'f.json: clockHz', 'give a number'],
    ['non-integer size', { widthTiles: 1.5 }, 'expected an integer, got 1.5', 'f.json: widthTiles', 'give a whole number'],
    ['wrong kind', { kind: 'gpu' }, 'unsupported value', 'f.json: kind', 'use one of "wafer"'],
    ['too many colours', { colours: 33 }, 'Too big: expected number to be <=32', 'f.json: colours', 'make it <=32'],
    ['negative spares', { spareRows: -1 }, 'Too small: expected number to be >=0', 'f.json: spareRows', 'make it >=0'],
    ['nested missing', { simdWidth: { f16: 1, f32: 1 } }, 'missing required field', 'f.json: simdWidth.int8', 'add "int8"'],
    ['zero add width', { simdWidth: { f16: 1, f32: 1, int8: 1, f32Add: 0 } }, 'Too small: expected number to be >0', 'f.json: simdWidth.f32Add', 'make it >0'],
  ];
  it.each(cases)('rejects %s', (_label, patch, what, where, fix) => {
    const e = inputError(() => parseFabricSpec({ ...mini16(), ...patch }, 'f.json'));
    expect([e.what, e.where, e.fix]).toEqual([what, where, fix]);
  });

  it('takes a spec without simdWidth.f32Add (it is optional: adds then run at the FMA width)', () => {
    const spec = parseFabricSpec({ ...mini16(), simdWidth: { f16: 8, f32: 1, int8: 8 } }, 'f.json');
    expect(spec.simdWidth.f32Add).toBeUndefined();
  });

  it('rejects a missing field', () => {
    const json = mini16();
    delete json.clockHz;
    const e = inputError(() => parseFabricSpec(json, 'f.json'));
    expect([e.what, e.where, e.fix]).toEqual(['missing required field', 'f.json: clockHz', 'add "clockHz"']);
  });
});

describe('derived figures', () => {
  it('wse2 comes out near the published aggregates (docs/hardware.md#wafer-chip)', () => {
    const d = deriveFabric(getFabricPreset('wse2'));
    expect(d.tiles).toBe(745_500);
    // 745,500 × 48 KiB = 36.6 GB: the "40 GB" published counts the 850,000 marketed cores (850k × 48 KB ≈ 40 GB).
    expect(d.sramBytes).toBe(745_500 * 49_152);
    expect(d.sramBytes / 1e9).toBeCloseTo(36.64, 2);
    // Per tile: 2 reads + 1 write of 8 B at 1.1 GHz = 26.4 GB/s = the facts' HC34 figure (24 B/cycle).
    expect(d.sramBytesPerSecondPerTile).toBe(24 * 1.1e9);
    // Published 20 PB/s (Cerebras) – 22 PB/s (WaferLLM) for 850k cores; the 745,500-tile rectangle gives 19.7 PB/s
    // (1.6% under 20), the physical grid with its spares 19.9 PB/s.
    expect(d.sramBytesPerSecond).toBeGreaterThan(0.97 * 20e15);
    expect(d.sramBytesPerSecond).toBeLessThan(22e15);
    expect(d.physicalSramBytesPerSecond).toBeGreaterThan(d.sramBytesPerSecond);
    // Fabric, counted the vendor's way (4 ports × in/out per tile): 210 Pb/s vs 220 Pb/s published (± 15%).
    expect(d.fabricBitsPerSecond).toBeGreaterThan(0.85 * 220e15);
    expect(d.fabricBitsPerSecond).toBeLessThan(1.15 * 220e15);
    // Distinct links both directions: about half of that.
    expect(d.meshLinks).toBe(749 * 994 + 750 * 993);
    expect(d.meshLinkBitsPerSecond / d.fabricBitsPerSecond).toBeCloseTo(0.5, 2);
    // Dense FP16: 745,500 × 4 FMAC × 2 × 1.1 GHz = 6.56 PFLOP/s (docs/hardware.md#consistency-checks derived: 7.5 PF for 850k cores).
    expect(d.peakFlopsPerSecond.f16).toBeCloseTo(745_500 * 4 * 2 * 1.1e9, -6);
    expect(d.peakFlopsPerSecond.f32).toBe(d.peakFlopsPerSecond.f16 / 4);
    expect(d.linkBitsPerSecond).toBe(32 * 1.1e9);
    expect(d.bisectionBitsPerSecond).toBe(750 * 2 * 32 * 1.1e9);
  });

  it('wse3 is within 20% of its published aggregates (21 PB/s, 214 Pb/s), SRAM ~43 GB of 44 GB', () => {
    const d = deriveFabric(getFabricPreset('wse3'));
    expect(d.tiles).toBe(883_350);
    expect(d.sramBytes / 1e9).toBeGreaterThan(40);
    expect(d.sramBytes / 1e9).toBeLessThan(44);
    expect(Math.abs(d.sramBytesPerSecond / 21e15 - 1)).toBeLessThan(0.2);
    expect(Math.abs(d.fabricBitsPerSecond / 214e15 - 1)).toBeLessThan(0.2);
    expect(d.peakFlopsPerSecond.f16).toBeCloseTo(883_350 * 8 * 2 * 1.1e9, -6);
  });

  it('small meshes: counts and bisection follow the formulas', () => {
    const spec = getFabricPreset('mini-4');
    const d = deriveFabric(spec);
    expect([d.tiles, d.physicalTiles, d.meshLinks]).toEqual([16, 6 * 5, 24]);
    expect(d.bisectionBitsPerSecond).toBe(4 * 2 * 32 * spec.clockHz);
    const rect = deriveFabric(parseFabricSpec({ ...mini16(), widthTiles: 10, heightTiles: 3 }, 'r.json'));
    expect(rect.bisectionBitsPerSecond).toBe(3 * 2 * 32 * spec.clockHz);
  });
});
