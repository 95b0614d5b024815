// Flash-decoding's partials (decodeAttentionPartial), merged in any tree over any split of the positions
// (mergeAttentionStats + mergeAttentionRows, the rows in pieces) and finished (finishAttention), give decodeAttention's
// output over the whole cache: the combine the projection charges for chunked KV heads computes attention.
import { describe, expect, it } from 'vitest';
import { decodeAttention, decodeAttentionBf16, decodeAttentionPartial, decodeAttentionPartialBf16, finishAttention, mergeAttentionRows, mergeAttentionStats } from '../../../kernels/attention.js';
import { f32ToBf16Bits } from '../../../kernels/dtype.js';
import { seededValues } from '../../../fabric/mesh/workloads.js';

const heads = 4;
const hd = 16;
const seq = 37;

function partial(q: Float32Array, k: Float32Array, v: Float32Array, from: number, to: number) {
  const part = new Float32Array(2 * heads + heads * hd);
  decodeAttentionPartial({ q, kCache: k.subarray(from * hd), vCache: v.subarray(from * hd), seqLen: to - from, numHeads: heads, numKvHeads: 1, headDim: hd, out: part.subarray(2 * heads), stats: part.subarray(0, 2 * heads) });
  return part;
}

/** Merges `other` into `part` with the rows in pieces of `piece` floats. */
function merge(part: Float32Array, other: Float32Array, piece: number) {
  const factors = new Float32Array(2 * heads);
  mergeAttentionStats(part.subarray(0, 2 * heads), other.subarray(0, 2 * heads), factors, heads);
  for (let at = 0; at < heads * hd; at += piece) {
    const end = Math.min(heads * hd, at + piece);
    mergeAttentionRows(part.subarray(2 * heads + at, 2 * heads + end), other.subarray(2 * heads + at, 2 * heads + end), factors, heads, hd, at);
  }
}

describe('flash-decoding partials', () => {
  const q = seededValues(heads * hd, 1).map((x) => 3 * x);
  const k = seededValues(seq * hd, 2);
  const v = seededValues(seq * hd, 3);
  const whole = decodeAttention({ q, kCache: k, vCache: v, seqLen: seq, numHeads: heads, numKvHeads: 1, headDim: hd, out: new Float32Array(heads * hd) });

  it.each([
    [[0, 37], 64],
    [[0, 10, 37], 24],
    [[0, 5, 6, 20, 33, 37], 7],
    [[0, 12, 24, 36, 37, 37], 64],
  ])('split at %j, rows merged in pieces of %i: equals attention over the whole cache', (cuts, piece) => {
    const parts = cuts.slice(1).map((to, i) => partial(q, k, v, cuts[i], to));
    // A tree: merge pairs until one remains (empty chunks included).
    let level: Float32Array[] = parts;
    while (level.length > 1) {
      const next: Float32Array[] = [];
      for (let i = 0; i < level.length; i += 2) {
        if (i + 1 < level.length) merge(level[i], level[i + 1], piece);
        next.push(level[i]);
      }
      level = next;
    }
    const out = new Float32Array(heads * hd);
    finishAttention(level[0].subarray(0, 2 * heads), level[0].subarray(2 * heads), out, heads, hd);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(whole[i], 6);
  });

  it('two empty partials merge into an empty one (no NaN)', () => {
    const a = partial(q, k, v, 5, 5);
    const b = partial(q, k, v, 9, 9);
    merge(a, b, 64);
    expect(a.every((x) => !Number.isNaN(x))).toBe(true);
    expect(a[0]).toBe(-Infinity);
    expect(a[heads]).toBe(0);
  });
});

describe('flash-decoding partials over a bf16 cache', () => {
  const q = seededValues(heads * hd, 4).map((x) => 3 * x);
  const bits = (xs: Float32Array) => Uint16Array.from(xs, (x) => f32ToBf16Bits(x));
  const k = bits(seededValues(seq * hd, 5));
  const v = bits(seededValues(seq * hd, 6));
  const args = { q, numHeads: heads, numKvHeads: 1, headDim: hd };
  const whole = decodeAttentionBf16({ ...args, kCache: k, vCache: v, seqLen: seq, out: new Float32Array(heads * hd) });
  const partialBf16 = (from: number, to: number) => {
    const part = new Float32Array(2 * heads + heads * hd);
    decodeAttentionPartialBf16({ ...args, kCache: k.subarray(from * hd), vCache: v.subarray(from * hd), seqLen: to - from, out: part.subarray(2 * heads), stats: part.subarray(0, 2 * heads) });
    return part;
  };

  it("one chunk finished is decodeAttentionBf16's output (a multiply by 1/sum against a divide)", () => {
    const p = partialBf16(0, seq);
    const out = new Float32Array(heads * hd);
    finishAttention(p.subarray(0, 2 * heads), p.subarray(2 * heads), out, heads, hd);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - whole[i])).toBeLessThanOrEqual(2e-7 * Math.max(1, Math.abs(whole[i])));
  });

  it('chunks merged up a tree give the bf16 attention over the whole cache, to the rounding of the probabilities', () => {
    // Each chunk's probabilities are relative to its own max before rounding to bf16, so the merged result differs
    // from the whole cache's by bf16 rounding of the weights (2^-8 relative), not more.
    const cuts = [0, 6, 7, 19, 30, 37];
    let level: Float32Array[] = cuts.slice(1).map((to, i) => partialBf16(cuts[i], to));
    while (level.length > 1) {
      const next: Float32Array[] = [];
      for (let i = 0; i < level.length; i += 2) {
        if (i + 1 < level.length) merge(level[i], level[i + 1], 24);
        next.push(level[i]);
      }
      level = next;
    }
    const out = new Float32Array(heads * hd);
    finishAttention(level[0].subarray(0, 2 * heads), level[0].subarray(2 * heads), out, heads, hd);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - whole[i]));
    expect(worst).toBeLessThan(2 ** -8);
  });
});
