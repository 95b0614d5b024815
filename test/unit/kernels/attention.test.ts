// Flash-decoding's partials (decodeAttentionPartial), merged in any tree over any split of the positions
// (mergeAttentionStats + mergeAttentionRows, the rows in pieces) and finished (finishAttention), give decodeAttention's
// output over the whole cache: the combine the projection charges for chunked KV heads computes attention.
import { describe, expect, it } from 'vitest';
import { decodeAttention, decodeAttentionPartial, finishAttention, mergeAttentionRows, mergeAttentionStats } from '../../../kernels/attention.js';
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
