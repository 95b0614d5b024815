// Decoding strategies over pass costs: the expected tokens per verify against a simulation of acceptances, and the
// physics every fabric must obey (acceptance 0 never speeds plain decoding up; a diffusion block refined one token
// per pass is never faster than plain decoding; the best k is at least as good as any k).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestK, diffusion, diffusionDraft, expectedTokensPerPass, fractionDraft, plain, speculative, type PassCost } from '../../../../compiler/decode/strategies.js';
import { Xoshiro128 } from '../../../../compiler/model/random.js';
import { InputError } from '../../../../fabric/errors.js';

/** A pass cost that never falls below a step and grows with q: step × (1 + growth × (q − 1)). */
const passArb = fc.record({ step: fc.double({ min: 1e-6, max: 1, noNaN: true }), growth: fc.double({ min: 0, max: 1.5, noNaN: true }) }).map(({ step, growth }) => ((q: number) => step * (1 + growth * (q - 1))) as PassCost);
const draftArb = fc.double({ min: 0, max: 1, noNaN: true });

describe('expected tokens per verify pass', () => {
  it('matches a simulation of per-token acceptances', () => {
    const rng = new Xoshiro128(7);
    for (const [a, k] of [[0.8, 4], [0.5, 2], [0.95, 8], [0, 3]] as const) {
      const rounds = 20000;
      let tokens = 0;
      for (let r = 0; r < rounds; r++) {
        let j = 0;
        while (j < k && rng.nextFloat() < a) j++;
        tokens += j + 1;
      }
      expect(expectedTokensPerPass(a, k)).toBeCloseTo(tokens / rounds, 1);
    }
  });
  it('a constant curve is the same as one α', () => {
    expect(expectedTokensPerPass([0.7, 0.7, 0.7], 5)).toBeCloseTo(expectedTokensPerPass(0.7, 5), 12);
    expect(expectedTokensPerPass([0.9, 0.5], 3)).toBeCloseTo(1 + 0.9 + 0.45 + 0.225, 12);
  });
});

describe('physics of the levers', () => {
  it('with acceptance 0, speculation never beats plain decoding, whatever the draft costs (even nothing)', () => {
    fc.assert(
      fc.property(passArb, draftArb, fc.integer({ min: 1, max: 16 }), (pass, f, k) => {
        const r = speculative(pass, (q) => f * pass(q), 0, k);
        expect(r.tokensPerPass).toBe(1);
        expect(r.tokensPerSecond).toBeLessThanOrEqual(plain(pass).tokensPerSecond * (1 + 1e-12));
        expect(r.speedup).toBeLessThanOrEqual(1 + 1e-12);
      }),
    );
  });
  it('a diffusion block refined one token per pass, with no overhead, is never faster than plain decoding', () => {
    fc.assert(
      fc.property(passArb, fc.integer({ min: 1, max: 256 }), (pass, b) => {
        expect(diffusion(pass, { block: b, steps: b, overheadPasses: 0 }).speedup).toBeLessThanOrEqual(1 + 1e-12);
      }),
    );
  });
  it('the best k is at least as fast as every k it searched', () => {
    fc.assert(
      fc.property(passArb, draftArb, fc.double({ min: 0, max: 0.99, noNaN: true }), (pass, f, a) => {
        const draft = (q: number) => f * pass(q);
        const best = bestK(pass, draft, a, 12);
        for (let k = 1; k <= 12; k++) expect(best.tokensPerSecond).toBeGreaterThanOrEqual(speculative(pass, draft, a, k).tokensPerSecond);
      }),
    );
  });
  it('speedup over plain never exceeds the tokens a pass yields when the verify costs at least a step', () => {
    fc.assert(
      fc.property(passArb, draftArb, fc.double({ min: 0, max: 0.99, noNaN: true }), fc.integer({ min: 1, max: 16 }), (pass, f, a, k) => {
        const r = speculative(pass, (q) => f * pass(q), a, k);
        expect(r.speedup).toBeLessThanOrEqual(r.tokensPerPass * (1 + 1e-12));
        const both = diffusionDraft(pass, (q) => f * pass(q), a, { block: k, steps: 2 });
        expect(both.speedup).toBeLessThanOrEqual(both.tokensPerPass * (1 + 1e-12));
      }),
    );
  });
});

describe('bad input', () => {
  const pass: PassCost = (q) => q;
  it.each([
    ['k < 1', () => speculative(pass, pass, 0.5, 0), 'k'],
    ['acceptance 1', () => speculative(pass, pass, 1, 2), 'acceptance'],
    ['acceptance < 0', () => speculative(pass, pass, -0.1, 2), 'acceptance'],
    ['an empty curve', () => speculative(pass, pass, [], 2), 'acceptance'],
    ['block 0', () => diffusion(pass, { block: 0, steps: 2 }), 'block'],
    ['steps 0', () => diffusion(pass, { block: 4, steps: 0 }), 'steps'],
    ['draft fraction 0', () => fractionDraft(pass, 0), 'draftFraction'],
  ])('%s is an InputError naming its option', (_, f, where) => {
    try {
      f();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).where).toBe(where);
    }
  });
});
