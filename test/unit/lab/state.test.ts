// The lab's URL state: any state survives the round trip through its query; a hand-edited query never breaks the
// page — each bad value falls back to its default and is named; the run's command line is what `wafer run` parses.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_STATE, FIELDS, LAB_KEYS, queryFromState, runCommandLine, runMaxSeq, stateFromQuery, type LabKey, type LabState } from '../../../lab/state.js';

/** An arbitrary valid value of each knob, from its field's own bounds. */
function arbitraryValue(key: LabKey): fc.Arbitrary<number | string> {
  const f = FIELDS[key];
  if (f.kind === 'number') return f.int ? fc.integer({ min: f.min, max: f.max }) : fc.double({ min: f.min, max: f.max, noNaN: true });
  if (f.kind === 'text') return fc.array(fc.integer({ min: 0, max: 999_999 }), { minLength: 1, maxLength: 16 }).map((a) => a.join(','));
  return f.values ? fc.constantFrom(...f.values) : fc.stringMatching(/^[a-z0-9][a-z0-9.\- ]{0,30}$/);
}

const arbitraryState = fc.record(Object.fromEntries(LAB_KEYS.map((k) => [k, arbitraryValue(k)])) as Record<LabKey, fc.Arbitrary<number | string>>) as fc.Arbitrary<LabState>;

describe('lab state in the URL', () => {
  it('any valid state reads back from its query unchanged, with no problems', () => {
    fc.assert(
      fc.property(arbitraryState, (s) => {
        const back = stateFromQuery(queryFromState(s));
        expect(back.problems).toEqual([]);
        expect(back.state).toEqual(s);
      }),
    );
  });

  it('the default state is the empty query', () => {
    expect(queryFromState({ ...DEFAULT_STATE })).toBe('');
    expect(stateFromQuery('').state).toEqual(DEFAULT_STATE);
  });

  it('bad values fall back to their defaults, each named; unknown keys are ignored', () => {
    const r = stateFromQuery('?sramKiB=-4&density=lots&seed=1.5&repair=glue&prompt=1,,2&tokens=99&batch=8&junk=1');
    expect(r.problems).toEqual([
      'sramKiB=-4 is outside 0…4096',
      'density=lots is not a number',
      'seed=1.5 is not a whole number',
      'repair=glue is not one of route-around, remap',
      'prompt=1,,2 is not a comma-separated list of token ids',
      'tokens=99 is outside 1…16',
    ]);
    expect(r.state).toEqual({ ...DEFAULT_STATE, batch: 8 });
  });
});

describe('the run it here command line', () => {
  it('names every option that decides the run, in wafer run\'s flags', () => {
    const s: LabState = { ...DEFAULT_STATE, runModel: 'toy-moe', mesh: 'mini-16', runDtype: 'bf16', density: 0.05, clusterAlpha: 2, seed: 7, repair: 'remap', prompt: '4,5', tokens: 3 };
    expect(runCommandLine(s)).toBe('npx wafer run --model toy-moe --fabric mini-16 --dtype bf16 --fault-density 0.05 --seed 7 --clustered 2 --repair remap --max-seq 8 --prompt 4,5 --tokens 3 --no-baseline --workers 0');
    expect(runCommandLine({ ...s, density: 0 })).not.toContain('--seed');
  });

  it('compiles KV caches for every step: the smallest power of two ≥ 8 holding prompt + tokens − 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 }), (p, t) => {
        const n = runMaxSeq({ prompt: Array.from({ length: p }, () => '1').join(','), tokens: t });
        expect(n).toBeGreaterThanOrEqual(Math.max(8, p + t - 1));
        expect(n === 8 || n / 2 < p + t - 1).toBe(true);
        expect(Number.isInteger(Math.log2(n))).toBe(true);
      }),
    );
  });
});
