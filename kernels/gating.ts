// Mixture-of-experts top-k gating.

export interface TopK {
  /** Chosen experts, best first (lower index first on a tie, as a stable sort). */
  indices: Int32Array;
  /** Their weights. */
  weights: Float32Array;
}

/**
 * Mixtral / Qwen-MoE gating: probabilities = softmax(logits) over all experts; keep the top k; if `renormalize`,
 * divide the k weights by their sum (Mixtral always; Qwen3-MoE when norm_topk_prob). gpt-oss's "softmax over the
 * top-k logits" is the same as softmax-then-renormalise, so it uses renormalize = true.
 */
export function topKGating(logits: Float32Array, k: number, renormalize: boolean): TopK {
  const n = logits.length;
  if (k < 1 || k > n) throw new RangeError(`top-k gating: k = ${k} with ${n} experts`);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp(logits[i] - max);
    sum += probs[i];
  }
  for (let i = 0; i < n; i++) probs[i] /= sum;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  const indices = new Int32Array(order.slice(0, k));
  const weights = new Float32Array(k);
  let kept = 0;
  for (let j = 0; j < k; j++) kept += probs[indices[j]];
  for (let j = 0; j < k; j++) weights[j] = renormalize ? probs[indices[j]] / kept : probs[indices[j]];
  return { indices, weights };
}
