// Seeded synthetic weights for runnable presets. Each tensor's values depend only on (seed, tensor name), drawn
// uniform with the standard deviation below (uniform, not Gaussian, so that only exact arithmetic is involved and the
// weights are bit-identical everywhere). Scales keep every activation finite through all layers: projections are
// 1/sqrt(fan-in) so each block adds O(1) to a residual stream led by the token's unit-RMS embedding; the lm_head is
// scaled for logits of std LOGIT_STD so they are well separated and greedy decoding does not hinge on near-ties.
import { RUNNABLE_FAMILIES, castTensor, tensorNames, type ModelWeights, type Tensor, type TensorSpec, assertRunnableFamily } from './weights.js';
import type { ModelConfig } from './config.js';
import type { WeightDtype } from '../../kernels/index.js';
import { streamFor } from './random.js';

/** Standard deviation of the logits the lm_head produces from a unit-RMS hidden state (assumption, see margins in tests). */
export const LOGIT_STD = 4;
/** Norm weights are 1 ± NORM_JITTER, so a test notices a norm weight that is ignored. */
export const NORM_JITTER = 0.1;
export const BIAS_STD = 0.1;
/** Router logits standard deviation: experts are chosen clearly, and differently per token. */
export const ROUTER_STD = 2;

function stdFor(cfg: ModelConfig, spec: TensorSpec): number {
  const fanIn = spec.shape.length === 2 ? spec.shape[1] : 1;
  switch (spec.kind) {
    case 'embedding':
      return 1;
    case 'lmHead':
      return LOGIT_STD / Math.sqrt(fanIn);
    case 'router':
      return ROUTER_STD / Math.sqrt(fanIn);
    case 'attentionBias':
      return BIAS_STD;
    case 'norm':
      return 0;
    default:
      return 1 / Math.sqrt(fanIn);
  }
}

/**
 * Deterministic f32 weights for `cfg` (families in RUNNABLE_FAMILIES). With `dtype`, each matrix is cast to it as soon
 * as it is drawn — the very tensors castWeights(syntheticWeights(cfg, seed), dtype) gives, without the whole model
 * ever held in f32 (4.4 GB for a 1.1B model).
 */
export function syntheticWeights(cfg: ModelConfig, seed: number, dtype: WeightDtype = 'f32'): ModelWeights {
  assertRunnableFamily(cfg, `model ${cfg.name}`);
  const tensors = new Map<string, Tensor>();
  for (const spec of tensorNames(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const rng = streamFor(seed, spec.name);
    if (spec.kind === 'norm' && cfg.tieWordEmbeddings && spec.name === 'model.norm.weight') {
      // Tied embeddings: logits_j = e_j · (g ∘ x̂). With a residual led by the token's own embedding e_t, positive g
      // would make e_t · (g ∘ e_t) = Σ g e_t² the largest logit and the model repeat its input forever; random signs
      // on g break that self-match, and |g| = LOGIT_STD / sqrt(hidden) gives logits of std LOGIT_STD.
      const scale = LOGIT_STD / Math.sqrt(cfg.hiddenSize);
      for (let i = 0; i < n; i++) data[i] = (rng.nextU32() & 1 ? scale : -scale) * (1 + NORM_JITTER * rng.nextSigned());
    } else if (spec.kind === 'norm') {
      for (let i = 0; i < n; i++) data[i] = 1 + NORM_JITTER * rng.nextSigned();
    } else {
      // Uniform on [-a, a) has std a / sqrt(3).
      rng.fillSigned(data, stdFor(cfg, spec) * Math.sqrt(3));
    }
    const t: Tensor = { dtype: 'f32', shape: [...spec.shape], data };
    tensors.set(spec.name, spec.shape.length === 2 ? castTensor(t, dtype) : t);
  }
  return { config: cfg, tensors };
}

export { RUNNABLE_FAMILIES };
