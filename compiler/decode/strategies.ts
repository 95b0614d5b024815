// Decoding strategies priced on a multi-position pass (passes.ts): plain greedy (one position per pass), speculative
// decoding (a draft proposes k tokens, the target verifies k + 1 positions in one pass), block diffusion (a block of B
// positions refined over S passes), and the two together (a diffusion draft proposes a block the target verifies).
// Pure arithmetic over pass costs; the formulas and their sources are in docs/decoding.md.
import { OptionError } from '../../fabric/errors.js';

/** The seconds of one forward pass over q positions. */
export type PassCost = (q: number) => number;

/** Largest k a search or an option may ask for (a verify pass of k + 1 positions). */
export const MAX_DRAFT_TOKENS = 64;
/** Largest diffusion block and step count. */
export const MAX_BLOCK = 4096;
export const MAX_STEPS = 4096;

/**
 * Acceptance: one probability α in [0, 1) that each drafted token is accepted given the ones before it were, or a
 * per-position curve [α1, α2, …] (position i beyond the curve takes its last value).
 */
export type Acceptance = number | readonly number[];

export function checkAcceptance(a: Acceptance, option = 'acceptance'): void {
  const values = typeof a === 'number' ? [a] : a;
  if (values.length === 0) throw new OptionError(option, 'the acceptance curve is empty', 'give one value in [0, 1) or a comma-separated list of them');
  for (const v of values) {
    if (!(Number.isFinite(v) && v >= 0 && v < 1)) throw new OptionError(option, `acceptance ${v} is outside [0, 1)`, 'give a probability in [0, 1), e.g. 0.8 (1 would accept every draft forever)');
  }
}

export function checkK(k: number, option = 'k'): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_DRAFT_TOKENS) throw new OptionError(option, `k must be a whole number in [1, ${MAX_DRAFT_TOKENS}], got ${k}`, 'give the drafted tokens per pass, e.g. 4');
}

function acceptanceAt(a: Acceptance, i: number): number {
  return typeof a === 'number' ? a : a[Math.min(i, a.length - 1)];
}

/**
 * Expected tokens one verify pass yields with k drafted tokens: 1 + Σ_{i=1..k} Π_{j≤i} α_j (the accepted prefix plus
 * the target's own next token); with one α this is (1 − α^(k+1)) / (1 − α) (Leviathan et al. 2023).
 */
export function expectedTokensPerPass(a: Acceptance, k: number): number {
  let p = 1;
  let sum = 1;
  for (let i = 0; i < k; i++) {
    p *= acceptanceAt(a, i);
    sum += p;
  }
  return sum;
}

export interface PlainResult {
  stepSeconds: number;
  tokensPerSecond: number;
}

export function plain(target: PassCost): PlainResult {
  const s = target(1);
  return { stepSeconds: s, tokensPerSecond: 1 / s };
}

export interface SpeculativeResult {
  k: number;
  /** Expected tokens per round (one verify pass). */
  tokensPerPass: number;
  /** k draft steps, one position each. */
  draftSeconds: number;
  /** The target's (k + 1)-position verify pass. */
  verifySeconds: number;
  roundSeconds: number;
  tokensPerSecond: number;
  /** Over plain decoding on the same fabric. */
  speedup: number;
}

/** One round: the draft proposes k tokens one step each, the target verifies k + 1 positions in one pass. */
export function speculative(target: PassCost, draft: PassCost, a: Acceptance, k: number): SpeculativeResult {
  checkK(k);
  checkAcceptance(a);
  const tokensPerPass = expectedTokensPerPass(a, k);
  const draftSeconds = k * draft(1);
  const verifySeconds = target(k + 1);
  const roundSeconds = draftSeconds + verifySeconds;
  const tokensPerSecond = tokensPerPass / roundSeconds;
  return { k, tokensPerPass, draftSeconds, verifySeconds, roundSeconds, tokensPerSecond, speedup: tokensPerSecond * target(1) };
}

/** The k in 1..kMax with the most tokens/s (the smallest such k on a tie). */
export function bestK(target: PassCost, draft: PassCost, a: Acceptance, kMax = 16): SpeculativeResult {
  checkK(kMax, 'kMax');
  let best = speculative(target, draft, a, 1);
  for (let k = 2; k <= kMax; k++) {
    const r = speculative(target, draft, a, k);
    if (r.tokensPerSecond > best.tokensPerSecond) best = r;
  }
  return best;
}

export interface DiffusionOptions {
  /** Tokens per block (B). */
  block: number;
  /** Refinement passes per block (S), each over the block's B positions. */
  steps: number;
  /** Extra B-position passes per block, e.g. writing the finished block's KV cache (default 1; docs/decoding.md). */
  overheadPasses?: number;
}

export function checkDiffusion(o: DiffusionOptions): void {
  if (!Number.isInteger(o.block) || o.block < 1 || o.block > MAX_BLOCK) throw new OptionError('block', `block must be a whole number in [1, ${MAX_BLOCK}], got ${o.block}`, 'give the tokens per block, e.g. 32');
  if (!Number.isInteger(o.steps) || o.steps < 1 || o.steps > MAX_STEPS) throw new OptionError('steps', `steps must be a whole number in [1, ${MAX_STEPS}], got ${o.steps}`, 'give the refinement passes per block, e.g. 8');
  const ov = o.overheadPasses ?? 1;
  if (!(Number.isFinite(ov) && ov >= 0 && ov <= MAX_STEPS)) throw new OptionError('overheadPasses', `overhead passes must be a number in [0, ${MAX_STEPS}], got ${ov}`, 'give 0 or more, e.g. 1');
}

export interface DiffusionResult {
  block: number;
  steps: number;
  overheadPasses: number;
  /** One B-position pass. */
  passSeconds: number;
  blockSeconds: number;
  tokensPerSecond: number;
  speedup: number;
}

/** tokens/s = B ÷ ((S + overhead passes) × pass(B)). */
export function diffusion(target: PassCost, o: DiffusionOptions): DiffusionResult {
  checkDiffusion(o);
  const overheadPasses = o.overheadPasses ?? 1;
  const passSeconds = target(o.block);
  const blockSeconds = (o.steps + overheadPasses) * passSeconds;
  const tokensPerSecond = o.block / blockSeconds;
  return { block: o.block, steps: o.steps, overheadPasses, passSeconds, blockSeconds, tokensPerSecond, speedup: tokensPerSecond * target(1) };
}

export interface BothResult {
  block: number;
  steps: number;
  tokensPerPass: number;
  draftSeconds: number;
  verifySeconds: number;
  tokensPerSecond: number;
  speedup: number;
}

/**
 * Both levers: a diffusion draft proposes a block of B tokens in S passes of its own (B positions each, plus its
 * overhead passes), and the target verifies B + 1 positions in one pass; the accepted prefix is kept as in speculative
 * decoding (acceptance per drafted position).
 */
export function diffusionDraft(target: PassCost, draft: PassCost, a: Acceptance, o: DiffusionOptions): BothResult {
  checkDiffusion(o);
  checkAcceptance(a);
  const draftSeconds = (o.steps + (o.overheadPasses ?? 1)) * draft(o.block);
  const verifySeconds = target(o.block + 1);
  const tokensPerPass = expectedTokensPerPass(a, o.block);
  const tokensPerSecond = tokensPerPass / (draftSeconds + verifySeconds);
  return { block: o.block, steps: o.steps, tokensPerPass, draftSeconds, verifySeconds, tokensPerSecond, speedup: tokensPerSecond * target(1) };
}

/** A draft priced as a fraction of the target's own passes (an assumption where no draft model is named). */
export function fractionDraft(target: PassCost, fraction: number): PassCost {
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction <= 1)) throw new OptionError('draftFraction', `draft fraction ${fraction} is outside (0, 1]`, 'give the draft\'s cost as a fraction of the target\'s, e.g. 0.1');
  return (q) => fraction * target(q);
}
