// The registry of assumptions: every entry names a field the presets really hold at its default, its range is
// accepted by the spec's schema (so the sensitivity bench can run it), the docs table agrees with it, and --assume's
// core (applyAssumptions) refuses what the schema refuses.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ASSUMPTIONS, applyAssumptions, assumptionValue, assumptionsOf, findAssumption } from '../../../../fabric/spec/assumptions.js';
import { InputError } from '../../../../fabric/errors.js';
import { getFabricPreset, listFabricPresets } from '../../../../fabric/spec/index.js';

const wse3 = getFabricPreset('wse3');

describe('the assumptions registry', () => {
  it('names are unique kebab-case; low ≤ default ≤ high; each is cited at a docs heading or says why it is assumed', () => {
    expect(new Set(ASSUMPTIONS.map((a) => a.name)).size).toBe(ASSUMPTIONS.length);
    for (const a of ASSUMPTIONS) {
      expect(a.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(a.low).toBeLessThanOrEqual(a.default);
      expect(a.default).toBeLessThanOrEqual(a.high);
      expect(a.source).toMatch(/^(docs\/[a-z-]+\.md#[a-z0-9-]+|assumption: .{10,})$/);
    }
  });

  it('every entry is a number the wse3 preset holds at its default (the small meshes too; wse2 except SIMD widths)', () => {
    for (const name of listFabricPresets()) {
      const spec = getFabricPreset(name);
      for (const a of ASSUMPTIONS) {
        const v = assumptionValue(spec, a);
        expect(typeof v).toBe('number');
        if (name !== 'wse2' || a.path[0] !== 'simdWidth') expect([name, a.name, v]).toEqual([name, a.name, a.default]);
      }
    }
  });

  it('each low and high value is accepted on every preset and reads back; the input spec is left as it was', () => {
    for (const name of ['wse2', 'wse3', 'mini-16']) {
      const spec = getFabricPreset(name);
      for (const a of ASSUMPTIONS) {
        for (const value of [a.low, a.high]) {
          const s = applyAssumptions(spec, [{ name: a.name, value }]);
          expect(assumptionValue(s, a)).toBe(value);
          expect(Object.isFrozen(s) && Object.isFrozen(s.costs) && Object.isFrozen(s.simdWidth) && Object.isFrozen(s.interWafer)).toBe(true);
          // Nothing else moved.
          for (const b of ASSUMPTIONS) if (b !== a) expect(assumptionValue(s, b)).toBe(assumptionValue(spec, b));
        }
      }
      expect(assumptionsOf(spec).map((x) => x.value)).toEqual(ASSUMPTIONS.map((a) => assumptionValue(getFabricPreset(name), a)));
    }
  });

  it('later overrides of a name win; an unknown name or a value outside the schema is an InputError naming it', () => {
    const s = applyAssumptions(wse3, [{ name: 'clock-hz', value: 1e9 }, { name: 'clock-hz', value: 850e6 }]);
    expect(s.clockHz).toBe(850e6);
    expect(() => applyAssumptions(wse3, [{ name: 'clock', value: 1 }], '--assume')).toThrow(InputError);
    expect(() => applyAssumptions(wse3, [{ name: 'op-setup-cycles', value: -1 }], '--assume')).toThrow(/--assume op-setup-cycles/);
    expect(() => applyAssumptions(wse3, [{ name: 'ramp-latency-cycles', value: 1.5 }])).toThrow(/integer/);
    expect(() => applyAssumptions(wse3, [{ name: 'inter-wafer-bytes-per-value', value: 8 }])).toThrow(InputError);
    expect(findAssumption('nope')).toBeUndefined();
  });

  it('docs/assumptions.md lists every assumption with the registry default, low and high', () => {
    const doc = readFileSync(new URL('../../../../docs/assumptions.md', import.meta.url), 'utf8');
    const rows = new Map(
      doc
        .split('\n')
        .filter((l) => /^\| [a-z0-9]+(-[a-z0-9]+)+ \| /.test(l))
        .map((l) => l.split('|').map((c) => c.trim()))
        .map((c) => [c[1], c.slice(2, 5).map(Number)] as const),
    );
    for (const a of ASSUMPTIONS) expect([a.name, rows.get(a.name)]).toEqual([a.name, [a.default, a.low, a.high]]);
    expect(rows.size).toBe(ASSUMPTIONS.length);
  });
});
