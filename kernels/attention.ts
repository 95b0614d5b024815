// Decode attention of one new token over a KV cache, with grouped-query heads.
import { bf16BitsToF32, f32ToBf16Bits, roundToBf16 } from './dtype.js';

export interface DecodeAttentionArgs {
  /** (numHeads, headDim), RoPE already applied. */
  q: Float32Array;
  /** (maxSeq, numKvHeads, headDim) row-major; positions [0, seqLen) are valid. */
  kCache: Float32Array;
  /** (maxSeq, numKvHeads, headDim) row-major. */
  vCache: Float32Array;
  seqLen: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** (numHeads, headDim) output. */
  out: Float32Array;
  /** Defaults to 1/sqrt(headDim). */
  scale?: number;
  /** Scratch of at least seqLen floats, to avoid an allocation per call. */
  scratch?: Float32Array;
}

/** out[h] = softmax(q[h]·K[g]ᵀ · scale) · V[g], g = h / (numHeads / numKvHeads). */
export function decodeAttention(a: DecodeAttentionArgs): Float32Array {
  const { q, kCache, vCache, seqLen, numHeads, numKvHeads, headDim, out } = a;
  if (numHeads % numKvHeads !== 0) throw new RangeError(`attention: ${numHeads} heads do not divide into ${numKvHeads} KV heads`);
  const scale = a.scale ?? 1 / Math.sqrt(headDim);
  const group = numHeads / numKvHeads;
  const rowStride = numKvHeads * headDim;
  const scores = a.scratch && a.scratch.length >= seqLen ? a.scratch : new Float32Array(seqLen);
  for (let h = 0; h < numHeads; h++) {
    const kvOff = Math.floor(h / group) * headDim;
    const qOff = h * headDim;
    let max = -Infinity;
    for (let t = 0; t < seqLen; t++) {
      let dot = 0;
      const kOff = t * rowStride + kvOff;
      for (let d = 0; d < headDim; d++) dot += q[qOff + d] * kCache[kOff + d];
      const s = dot * scale;
      scores[t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = 0; t < seqLen; t++) {
      const e = Math.exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (let d = 0; d < headDim; d++) {
      let acc = 0;
      for (let t = 0; t < seqLen; t++) acc += scores[t] * vCache[t * rowStride + kvOff + d];
      out[qOff + d] = acc / sum;
    }
  }
  return out;
}

/**
 * One chunk's share of decode attention, as flash-decoding combines them: for each head, `out` gets the unnormalised
 * Σ_t exp(s_t − max)·V_t over the chunk's `seqLen` positions (0 allowed: an empty chunk), `stats[h]` the max score and
 * `stats[numHeads + h]` the sum of exp(s_t − max). mergeAttentionStats/Rows combine two such partials, finishAttention
 * divides by the sum; over any split of the positions the result equals decodeAttention's up to rounding.
 */
export function decodeAttentionPartial(a: DecodeAttentionArgs & { stats: Float32Array }): void {
  const { q, kCache, vCache, seqLen, numHeads, numKvHeads, headDim, out, stats } = a;
  if (numHeads % numKvHeads !== 0) throw new RangeError(`attention: ${numHeads} heads do not divide into ${numKvHeads} KV heads`);
  const scale = a.scale ?? 1 / Math.sqrt(headDim);
  const group = numHeads / numKvHeads;
  const rowStride = numKvHeads * headDim;
  const scores = a.scratch && a.scratch.length >= seqLen ? a.scratch : new Float32Array(Math.max(1, seqLen));
  for (let h = 0; h < numHeads; h++) {
    const kvOff = Math.floor(h / group) * headDim;
    const qOff = h * headDim;
    let max = -Infinity;
    for (let t = 0; t < seqLen; t++) {
      let dot = 0;
      const kOff = t * rowStride + kvOff;
      for (let d = 0; d < headDim; d++) dot += q[qOff + d] * kCache[kOff + d];
      const s = dot * scale;
      scores[t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = 0; t < seqLen; t++) {
      const e = Math.exp(scores[t] - max);
      scores[t] = e;
      sum += e;
    }
    for (let d = 0; d < headDim; d++) {
      let acc = 0;
      for (let t = 0; t < seqLen; t++) acc += scores[t] * vCache[t * rowStride + kvOff + d];
      out[qOff + d] = acc;
    }
    stats[h] = max;
    stats[numHeads + h] = sum;
  }
}

/**
 * Merges the statistics of partial `other` into `stats` (both [max × numHeads, sum × numHeads]) and writes the factors
 * the rows need: factors[h] rescales the rows already in `stats`'s partial, factors[numHeads + h] those of `other`
 * (two exponentials per head). Two empty partials (max −∞) stay empty with factors 0.
 */
export function mergeAttentionStats(stats: Float32Array, other: Float32Array, factors: Float32Array, numHeads: number): void {
  for (let h = 0; h < numHeads; h++) {
    const a = stats[h];
    const b = other[h];
    const m = a > b ? a : b;
    const fa = m === -Infinity ? 0 : Math.exp(a - m);
    const fb = m === -Infinity ? 0 : Math.exp(b - m);
    stats[h] = m;
    stats[numHeads + h] = stats[numHeads + h] * fa + other[numHeads + h] * fb;
    factors[h] = fa;
    factors[numHeads + h] = fb;
  }
}

/** rows[i] = rows[i]·factors[h] + other[i]·factors[numHeads + h], h = ⌊(first + i) / headDim⌋: a piece of the outputs. */
export function mergeAttentionRows(rows: Float32Array, other: Float32Array, factors: Float32Array, numHeads: number, headDim: number, first: number): void {
  for (let i = 0; i < rows.length; i++) {
    const h = Math.floor((first + i) / headDim);
    rows[i] = rows[i] * factors[h] + other[i] * factors[numHeads + h];
  }
}

/** out[h·headDim + d] = rows[h·headDim + d] / sum_h: the normalised attention output of a merged partial. */
export function finishAttention(stats: Float32Array, rows: Float32Array, out: Float32Array, numHeads: number, headDim: number): void {
  for (let h = 0; h < numHeads; h++) {
    const inv = 1 / stats[numHeads + h];
    for (let d = 0; d < headDim; d++) out[h * headDim + d] = rows[h * headDim + d] * inv;
  }
}

/**
 * decodeAttention over a bf16 KV cache (bit patterns, same layout), in the numerics the wafer charges for it
 * (`@fmachs`: 16-bit products into f32 sums): q is rounded to bf16 before q·K, the probabilities exp(s − max) are
 * summed in f32 and rounded to bf16 before p·V. `scratch` holds seqLen floats.
 */
export function decodeAttentionBf16(a: Bf16AttentionArgs): Float32Array {
  bf16Heads(a, true, () => {});
  return a.out;
}

/**
 * decodeAttentionPartial over a bf16 KV cache, in decodeAttentionBf16's numerics: `out` gets each head's unnormalised
 * Σ_t bf16(exp(s_t − max))·V_t, `stats` its max score and f32 sum (seqLen 0: an empty partial). Finished
 * (finishAttention) over one chunk it equals decodeAttentionBf16's output up to the rounding of a multiply by 1/sum
 * against a divide.
 */
export function decodeAttentionPartialBf16(a: Bf16AttentionArgs & { stats: Float32Array }): void {
  const { numHeads, stats } = a;
  bf16Heads(a, false, (h, max, sum) => {
    stats[h] = max;
    stats[numHeads + h] = sum;
  });
}

type Bf16AttentionArgs = Omit<DecodeAttentionArgs, 'kCache' | 'vCache'> & { kCache: Uint16Array; vCache: Uint16Array };

/** Each head's p·V over a bf16 cache into `out` (divided by the sum where `normalise`); then `done(h, max, sum)`. */
function bf16Heads(a: Bf16AttentionArgs, normalise: boolean, done: (h: number, max: number, sum: number) => void): void {
  const { q, kCache, vCache, seqLen, numHeads, numKvHeads, headDim, out } = a;
  if (numHeads % numKvHeads !== 0) throw new RangeError(`attention: ${numHeads} heads do not divide into ${numKvHeads} KV heads`);
  const scale = a.scale ?? 1 / Math.sqrt(headDim);
  const group = numHeads / numKvHeads;
  const rowStride = numKvHeads * headDim;
  const scores = a.scratch && a.scratch.length >= seqLen ? a.scratch : new Float32Array(Math.max(1, seqLen));
  const qh = new Float32Array(headDim);
  for (let h = 0; h < numHeads; h++) {
    const kvOff = Math.floor(h / group) * headDim;
    roundToBf16(q.subarray(h * headDim, (h + 1) * headDim), qh);
    let max = -Infinity;
    for (let t = 0; t < seqLen; t++) {
      let dot = 0;
      const kOff = t * rowStride + kvOff;
      for (let d = 0; d < headDim; d++) dot += qh[d] * bf16BitsToF32(kCache[kOff + d]);
      const s = dot * scale;
      scores[t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = 0; t < seqLen; t++) {
      const e = Math.exp(scores[t] - max);
      sum += e;
      scores[t] = bf16BitsToF32(f32ToBf16Bits(e));
    }
    for (let d = 0; d < headDim; d++) {
      let acc = 0;
      for (let t = 0; t < seqLen; t++) acc += scores[t] * bf16BitsToF32(vCache[t * rowStride + kvOff + d]);
      out[h * headDim + d] = normalise ? acc / sum : acc;
    }
    done(h, max, sum);
  }
}
