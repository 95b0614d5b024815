// The reference forward pass: the numerics truth every other path (mesh, GPU emulator) is held to. One token at a
// time with a KV cache, following the Hugging Face transformers semantics of LlamaForCausalLM, MistralForCausalLM,
// Qwen2/Qwen3ForCausalLM, MixtralForCausalLM and Qwen3MoeForCausalLM:
//   x = embed[token]
//   per layer:  h = rmsnorm(x) ; q,k,v = Wq h (+b), Wk h (+b), Wv h (+b) ; [qwen3: per-head rmsnorm of q and k]
//               rope(q, k) at the position ; cache k, v ; a = attention(q, K, V) (GQA, sliding window if any)
//               x += Wo a (+b) ; h = rmsnorm(x) ; x += mlp(h)
//   mlp = down(silu(gate h) * up h), or MoE: softmax(router h) -> top-k -> (renormalise) -> sum w_e expert_e(h)
//   logits = lm_head(rmsnorm(x))   (lm_head = embed when tied)
// Matvecs run kernels' matvecReference on the weights in their stored dtype, so bf16/int8 weights give the reference
// in that dtype; a 16-bit matrix multiplies its input rounded to its own format (kernels/matvec.ts MATVEC_OPERAND, as a
// bf16 model's activations are bf16); activations between matvecs and the KV cache are f32.
import { InputError } from '../../fabric/errors.js';
import {
  addInPlace,
  argmax,
  axpyInPlace,
  decodeAttention,
  decodeAttentionBf16,
  encodeBf16,
  matrixElement,
  matvecOperand,
  matvecReference,
  rmsnorm,
  ropeInPlace,
  swiglu,
  topKGating,
  type Matrix,
  type TopK,
} from '../../kernels/index.js';
import { isMoeLayer, type ModelConfig } from '../model/config.js';
import { assertRunnableFamily, expertNames, getMatrix, getVector, layerPrefix, lmHeadName, routerName, type ModelWeights } from '../model/weights.js';

interface Mlp {
  gate: Matrix;
  up: Matrix;
  down: Matrix;
}

interface LayerWeights {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  q: Matrix;
  k: Matrix;
  v: Matrix;
  o: Matrix;
  qBias: Float32Array | null;
  kBias: Float32Array | null;
  vBias: Float32Array | null;
  oBias: Float32Array | null;
  qNorm: Float32Array | null;
  kNorm: Float32Array | null;
  /** Dense MLP, or null in a MoE layer. */
  mlp: Mlp | null;
  router: Matrix | null;
  experts: Mlp[];
  /** Sliding window in positions for this layer, or 0 for full attention. */
  window: number;
}

export interface ReferenceOptions {
  /** KV-cache capacity in positions (default min(maxPositionEmbeddings, 1024)). */
  maxSeq?: number;
  /**
   * Dtype of the KV cache (default f32). bf16 rounds each appended row and attends as the mesh engine does over a bf16
   * cache (kernels/attention.ts decodeAttentionBf16: q and the probabilities rounded to bf16, f32 sums).
   */
  kvDtype?: 'f32' | 'bf16';
  /** The matvec every projection runs (default matvecReference; the lab page passes gpu.js' to run them on WebGL). */
  matvec?: (w: Matrix, x: Float32Array, y: Float32Array) => void;
}

/** What a MoE layer chose for the last token: the router's top-k per MoE layer (null for dense layers). */
export type RoutingTrace = (TopK | null)[];

export class ReferenceModel {
  readonly config: ModelConfig;
  readonly maxSeq: number;
  private readonly layers: LayerWeights[];
  private readonly embed: Matrix;
  private readonly lmHead: Matrix;
  private readonly finalNorm: Float32Array;
  private readonly kCache: Float32Array[];
  private readonly vCache: Float32Array[];
  /** With a bf16 KV cache: the caches as bf16 bits (kCache/vCache are then unused). */
  private readonly kCache16: Uint16Array<ArrayBuffer>[] | null;
  private readonly vCache16: Uint16Array<ArrayBuffer>[] | null;
  private position = 0;
  // Scratch buffers, allocated once.
  private readonly x: Float32Array;
  private readonly h: Float32Array;
  private readonly q: Float32Array;
  private readonly k: Float32Array;
  private readonly v: Float32Array;
  private readonly attn: Float32Array;
  private readonly proj: Float32Array;
  private readonly gate: Float32Array;
  private readonly up: Float32Array;
  private readonly moeOut: Float32Array;
  private readonly routerLogits: Float32Array;
  private readonly scores: Float32Array;
  private readonly headScratch: Float32Array;
  /** The routing decisions of the last step, per layer. */
  readonly lastRouting: RoutingTrace;
  private readonly matvec: (w: Matrix, x: Float32Array, y: Float32Array) => void;

  constructor(weights: ModelWeights, opts: ReferenceOptions = {}) {
    const base = opts.matvec ?? matvecReference;
    const cfg = weights.config;
    assertRunnableFamily(cfg, `model ${cfg.name}`);
    this.config = cfg;
    this.maxSeq = opts.maxSeq ?? Math.min(cfg.maxPositionEmbeddings, 1024);
    if (!Number.isInteger(this.maxSeq) || this.maxSeq < 1) throw new RangeError(`reference: maxSeq ${this.maxSeq} must be a positive integer`);
    const vec = (name: string): Float32Array => getVector(weights, name);
    const optVec = (name: string, present: boolean): Float32Array | null => (present ? vec(name) : null);
    this.embed = getMatrix(weights, 'model.embed_tokens.weight');
    this.lmHead = getMatrix(weights, lmHeadName(cfg));
    this.finalNorm = vec('model.norm.weight');
    this.layers = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const p = layerPrefix(l);
      const moe = isMoeLayer(cfg, l);
      const experts: Mlp[] = [];
      if (moe) {
        for (let e = 0; e < cfg.moe!.numExperts; e++) {
          const n = expertNames(cfg, l, e);
          experts.push({ gate: getMatrix(weights, n.gate), up: getMatrix(weights, n.up), down: getMatrix(weights, n.down) });
        }
      }
      this.layers.push({
        inputNorm: vec(`${p}input_layernorm.weight`),
        postNorm: vec(`${p}post_attention_layernorm.weight`),
        q: getMatrix(weights, `${p}self_attn.q_proj.weight`),
        k: getMatrix(weights, `${p}self_attn.k_proj.weight`),
        v: getMatrix(weights, `${p}self_attn.v_proj.weight`),
        o: getMatrix(weights, `${p}self_attn.o_proj.weight`),
        qBias: optVec(`${p}self_attn.q_proj.bias`, cfg.attentionBias),
        kBias: optVec(`${p}self_attn.k_proj.bias`, cfg.attentionBias),
        vBias: optVec(`${p}self_attn.v_proj.bias`, cfg.attentionBias),
        oBias: optVec(`${p}self_attn.o_proj.bias`, cfg.attentionOutputBias),
        qNorm: optVec(`${p}self_attn.q_norm.weight`, cfg.qkNorm),
        kNorm: optVec(`${p}self_attn.k_norm.weight`, cfg.qkNorm),
        mlp: moe
          ? null
          : { gate: getMatrix(weights, `${p}mlp.gate_proj.weight`), up: getMatrix(weights, `${p}mlp.up_proj.weight`), down: getMatrix(weights, `${p}mlp.down_proj.weight`) },
        router: moe ? getMatrix(weights, routerName(cfg, l)) : null,
        experts,
        window: cfg.layerTypes[l] === 'sliding' && cfg.slidingWindow ? cfg.slidingWindow : 0,
      });
    }
    const kvDim = cfg.numKvHeads * cfg.headDim;
    const qDim = cfg.numHeads * cfg.headDim;
    const bf16Cache = opts.kvDtype === 'bf16';
    this.kCache = this.layers.map(() => new Float32Array(bf16Cache ? 0 : this.maxSeq * kvDim)); // (maxSeq, numKvHeads, headDim)
    this.vCache = this.layers.map(() => new Float32Array(bf16Cache ? 0 : this.maxSeq * kvDim)); // (maxSeq, numKvHeads, headDim)
    this.kCache16 = bf16Cache ? this.layers.map(() => new Uint16Array(this.maxSeq * kvDim)) : null; // (maxSeq, numKvHeads, headDim) bf16
    this.vCache16 = bf16Cache ? this.layers.map(() => new Uint16Array(this.maxSeq * kvDim)) : null;
    const h = cfg.hiddenSize;
    const inter = Math.max(cfg.intermediateSize, cfg.moe?.expertIntermediateSize ?? 0);
    this.x = new Float32Array(h);
    this.h = new Float32Array(h);
    this.q = new Float32Array(qDim);
    this.k = new Float32Array(kvDim);
    this.v = new Float32Array(kvDim);
    this.attn = new Float32Array(qDim);
    this.proj = new Float32Array(h);
    this.gate = new Float32Array(inter);
    this.up = new Float32Array(inter);
    this.moeOut = new Float32Array(h);
    this.routerLogits = new Float32Array(cfg.moe?.numExperts ?? 0);
    this.scores = new Float32Array(this.maxSeq);
    this.headScratch = new Float32Array(cfg.headDim);
    const operand = new Float32Array(Math.max(h, qDim, inter));
    this.matvec = (w, x, y) => base(w, matvecOperand(w.dtype, x.subarray(0, w.cols), operand), y);
    this.lastRouting = this.layers.map(() => null);
  }

  /** Positions already in the KV cache. */
  get seqLen(): number {
    return this.position;
  }

  /** Empties the KV cache. */
  reset(): void {
    this.position = 0;
  }

  /** Feeds one token at the next position; returns the logits for the token after it (a new array). */
  step(token: number): Float32Array {
    const cfg = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= cfg.vocabSize) throw new RangeError(`reference: token ${token} outside the vocabulary of ${cfg.vocabSize}`);
    if (this.position >= this.maxSeq) throw new RangeError(`reference: KV cache full (${this.maxSeq} positions)`);
    const pos = this.position;
    const { x, h, q, k, v, attn, proj } = this;
    const hd = cfg.headDim;
    const kvDim = cfg.numKvHeads * hd;
    for (let c = 0; c < cfg.hiddenSize; c++) x[c] = matrixElement(this.embed, token, c);
    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      rmsnorm(x, L.inputNorm, cfg.rmsNormEps, h);
      this.matvec(L.q, h, q);
      this.matvec(L.k, h, k);
      this.matvec(L.v, h, v);
      if (L.qBias) addInPlace(q, L.qBias);
      if (L.kBias) addInPlace(k, L.kBias);
      if (L.vBias) addInPlace(v, L.vBias);
      if (L.qNorm) this.perHeadNorm(q, cfg.numHeads, L.qNorm);
      if (L.kNorm) this.perHeadNorm(k, cfg.numKvHeads, L.kNorm);
      ropeInPlace(q, cfg.numHeads, hd, pos, cfg.ropeTheta);
      ropeInPlace(k, cfg.numKvHeads, hd, pos, cfg.ropeTheta);
      // HF sliding window: a query at position p sees keys at positions > p - window.
      const start = L.window > 0 ? Math.max(0, pos - L.window + 1) : 0;
      if (this.kCache16 && this.vCache16) {
        encodeBf16(k, this.kCache16[l].subarray(pos * kvDim, (pos + 1) * kvDim));
        encodeBf16(v, this.vCache16[l].subarray(pos * kvDim, (pos + 1) * kvDim));
        const args = { q, seqLen: pos + 1 - start, numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: hd, out: attn, scratch: this.scores };
        decodeAttentionBf16({ ...args, kCache: this.kCache16[l].subarray(start * kvDim), vCache: this.vCache16[l].subarray(start * kvDim) });
      } else this.attendF32(l, pos, start, kvDim);
      this.matvec(L.o, attn, proj);
      if (L.oBias) addInPlace(proj, L.oBias);
      addInPlace(x, proj);
      rmsnorm(x, L.postNorm, cfg.rmsNormEps, h);
      if (L.mlp) {
        this.mlp(L.mlp, h, proj);
        addInPlace(x, proj);
      } else {
        this.lastRouting[l] = this.moe(L, h);
        addInPlace(x, this.moeOut);
      }
    }
    rmsnorm(x, this.finalNorm, cfg.rmsNormEps, h);
    const logits = new Float32Array(cfg.vocabSize);
    this.matvec(this.lmHead, h, logits);
    this.position++;
    return logits;
  }

  /** Appends this.k, this.v at `pos` of layer l's f32 cache and attends from `start` into this.attn. */
  private attendF32(l: number, pos: number, start: number, kvDim: number): void {
    const cfg = this.config;
    this.kCache[l].set(this.k, pos * kvDim);
    this.vCache[l].set(this.v, pos * kvDim);
    decodeAttention({
      q: this.q,
      kCache: this.kCache[l].subarray(start * kvDim),
      vCache: this.vCache[l].subarray(start * kvDim),
      seqLen: pos + 1 - start,
      numHeads: cfg.numHeads,
      numKvHeads: cfg.numKvHeads,
      headDim: cfg.headDim,
      out: this.attn,
      scratch: this.scores,
    });
  }

  /** Qwen3: RMSNorm over each head's headDim values with the shared (headDim) weight, in place. */
  private perHeadNorm(x: Float32Array, heads: number, weight: Float32Array): void {
    const hd = this.config.headDim;
    for (let i = 0; i < heads; i++) {
      const head = x.subarray(i * hd, (i + 1) * hd);
      rmsnorm(head, weight, this.config.rmsNormEps, this.headScratch);
      head.set(this.headScratch);
    }
  }

  /** out = down(silu(gate·h) * up·h). */
  private mlp(m: Mlp, h: Float32Array, out: Float32Array): void {
    const inter = m.gate.rows;
    const g = this.gate.subarray(0, inter);
    const u = this.up.subarray(0, inter);
    this.matvec(m.gate, h, g);
    this.matvec(m.up, h, u);
    swiglu(g, u, g);
    this.matvec(m.down, g, out);
  }

  /** moeOut = sum over the top-k experts of weight_e * expert_e(h). */
  private moe(L: LayerWeights, h: Float32Array): TopK {
    const m = this.config.moe!;
    this.matvec(L.router!, h, this.routerLogits);
    const choice = topKGating(this.routerLogits, m.topK, m.normTopkProb);
    this.moeOut.fill(0);
    for (let j = 0; j < m.topK; j++) {
      this.mlp(L.experts[choice.indices[j]], h, this.proj);
      axpyInPlace(this.moeOut, choice.weights[j] * m.routedScalingFactor, this.proj);
    }
    return choice;
  }
}

export interface GenerateOptions extends ReferenceOptions {
  /** Keep the logits of every generated token (logitsPerStep). */
  keepLogits?: boolean;
  /** Called with the routing of each MoE layer after every step (prompt and generated tokens). */
  onRouting?: (position: number, routing: RoutingTrace) => void;
}

export interface GenerateResult {
  /** The generated ids only (not the prompt). */
  tokens: number[];
  /** The logits from which the last generated token was chosen. */
  lastLogits: Float32Array;
  logitsPerStep?: Float32Array[];
}

/**
 * Greedy decoding: feeds the prompt, then picks argmax (first index on a tie, as torch) maxNewTokens times.
 * The KV cache holds exactly prompt + maxNewTokens − 1 positions unless opts.maxSeq says more.
 */
export function generate(weights: ModelWeights, prompt: readonly number[], maxNewTokens: number, opts: GenerateOptions = {}): GenerateResult {
  const cfg = weights.config;
  if (prompt.length === 0) throw new InputError('empty prompt', '--prompt', 'give at least one token id');
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new InputError(`cannot generate ${maxNewTokens} tokens`, '--tokens', 'give a whole number ≥ 1');
  const bad = prompt.find((t) => !Number.isInteger(t) || t < 0 || t >= cfg.vocabSize);
  if (bad !== undefined) throw new InputError(`token id ${bad} is outside the vocabulary of ${cfg.vocabSize}`, '--prompt', `use ids below ${cfg.vocabSize}`);
  const needed = prompt.length + maxNewTokens - 1;
  if (needed > cfg.maxPositionEmbeddings) {
    throw new InputError(`prompt + tokens = ${needed + 1} exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`, '--tokens', 'generate fewer tokens');
  }
  const model = new ReferenceModel(weights, { maxSeq: Math.max(opts.maxSeq ?? 0, needed) });
  let logits: Float32Array = new Float32Array(0);
  for (const t of prompt) {
    logits = model.step(t);
    opts.onRouting?.(model.seqLen - 1, model.lastRouting);
  }
  const tokens: number[] = [];
  const perStep: Float32Array[] = [];
  for (let i = 0; i < maxNewTokens; i++) {
    if (opts.keepLogits) perStep.push(logits);
    const next = argmax(logits);
    tokens.push(next);
    if (i + 1 < maxNewTokens) {
      logits = model.step(next);
      opts.onRouting?.(model.seqLen - 1, model.lastRouting);
    }
  }
  return opts.keepLogits ? { tokens, lastLogits: logits, logitsPerStep: perStep } : { tokens, lastLogits: logits };
}

/** Gap between the largest and second-largest logit. */
export function top2Margin(logits: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) b = v;
  }
  return a - b;
}
