// Vector kernels of a transformer layer, following Hugging Face semantics. Plain loops: these run once per
// vector per layer, dwarfed by the matvecs, so they are their own reference.

/** RMSNorm (Llama/Qwen): out = weight * x / sqrt(mean(x²) + eps). out may alias x. */
export function rmsnorm(x: Float32Array, weight: Float32Array, eps: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  return rmsnormGiven(x, weight, sumSquares(x), x.length, eps, out);
}

/** Σ x² accumulated in a JS double: the first half of RMSNorm, so a vector split over tiles can sum its slices' parts. */
export function sumSquares(x: Float32Array): number {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  return ss;
}

/**
 * RMSNorm of a slice x of a `count`-long vector whose sum of squares is `sumsq`:
 * out = weight * x / sqrt(sumsq / count + eps). out may alias x.
 */
export function rmsnormGiven(x: Float32Array, weight: Float32Array, sumsq: number, count: number, eps: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const inv = 1 / Math.sqrt(sumsq / count + eps);
  for (let i = 0; i < x.length; i++) out[i] = weight[i] * Math.fround(x[i] * inv);
  return out;
}

/** LayerNorm: out = (x - mean) / sqrt(var + eps) * weight + bias. out may alias x. */
export function layernorm(x: Float32Array, weight: Float32Array, bias: Float32Array | null, eps: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let variance = 0;
  for (let i = 0; i < x.length; i++) variance += (x[i] - mean) ** 2;
  variance /= x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - mean) * inv * weight[i] + (bias ? bias[i] : 0);
  return out;
}

/** Numerically stable softmax over x[offset .. offset+length), in place. */
export function softmaxInPlace(x: Float32Array, offset = 0, length = x.length - offset): Float32Array {
  let max = -Infinity;
  for (let i = offset; i < offset + length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const e = Math.exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  for (let i = offset; i < offset + length; i++) x[i] /= sum;
  return x;
}

/**
 * RoPE in the Hugging Face `rotate_half` convention, in place on `numHeads` heads of `headDim` laid out back to back:
 * for i < headDim/2, with angle = position * theta^(-2i/headDim):
 *   out[i] = x[i]·cos − x[i+half]·sin,   out[i+half] = x[i+half]·cos + x[i]·sin.
 */
export function ropeInPlace(x: Float32Array, numHeads: number, headDim: number, position: number, theta: number): Float32Array {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    // HF computes inv_freq in f32; keep that rounding so tokens match its semantics.
    const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    const angle = Math.fround(position * invFreq);
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    for (let h = 0; h < numHeads; h++) {
      const base = h * headDim;
      const a = x[base + i];
      const b = x[base + i + half];
      x[base + i] = a * cos - b * sin;
      x[base + i + half] = b * cos + a * sin;
    }
  }
  return x;
}

/** RoPE's angles at `position` as ropeInPlace computes them: cos of each of the headDim/2 angles, then their sin. */
export function ropeAngles(out: Float32Array, headDim: number, position: number, theta: number): Float32Array {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    const invFreq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    const angle = Math.fround(position * invFreq);
    out[i] = Math.cos(angle);
    out[half + i] = Math.sin(angle);
  }
  return out;
}

/** ropeInPlace with its cos and sin taken from `angles` (ropeAngles' layout), held in f32. */
export function ropeWithAngles(x: Float32Array, numHeads: number, headDim: number, angles: Float32Array): Float32Array {
  const half = headDim >> 1;
  for (let i = 0; i < half; i++) {
    const cos = angles[i];
    const sin = angles[half + i];
    for (let h = 0; h < numHeads; h++) {
      const base = h * headDim;
      const a = x[base + i];
      const b = x[base + i + half];
      x[base + i] = a * cos - b * sin;
      x[base + i + half] = b * cos + a * sin;
    }
  }
  return x;
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** GELU, tanh approximation (gelu_pytorch_tanh). */
export function gelu(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
}

export function siluInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = silu(x[i]);
  return x;
}

export function geluInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = gelu(x[i]);
  return x;
}

/** SwiGLU: out = silu(gate) * up. out may alias gate or up. */
export function swiglu(gate: Float32Array, up: Float32Array, out: Float32Array = new Float32Array(gate.length)): Float32Array {
  for (let i = 0; i < gate.length; i++) out[i] = silu(gate[i]) * up[i];
  return out;
}

/** out += a (elementwise). */
export function addInPlace(out: Float32Array, a: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] += a[i];
  return out;
}

/** out += s * a (elementwise). */
export function axpyInPlace(out: Float32Array, s: number, a: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] += s * a[i];
  return out;
}

/** Index of the largest value; the first one on a tie (as torch.argmax). */
export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
