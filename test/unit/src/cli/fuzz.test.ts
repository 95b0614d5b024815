// Quick seeded fuzzing of every parser of user input (test/fuzz/targets.ts): a clean InputError or a valid value,
// never another exception, never over the per-input budget. `npm run fuzz` runs the same targets 10,000 times each.
import { describe, expect, it } from 'vitest';
import { TARGETS, fuzzTarget } from '../../../fuzz/targets.js';

describe('fuzzing the parsers (seeded, quick)', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: only values and InputErrors', (_name, target) => {
    const c = fuzzTarget(target, 150, 15);
    expect(c.example).toBeNull();
    expect(c.crashes).toBe(0);
    expect(c.slow).toBe(0);
    expect(c.values + c.inputErrors).toBe(c.inputs);
  });
});
