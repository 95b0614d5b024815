// Decode attention of one new token over a KV cache, with grouped-query heads.

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
