// What each layer of a model is, as the GPU lowering needs it: the matrices (with checkpoint tensor names and
// (outDim, inDim) shapes), the attention kind and window, the MLP or MoE block. An adapter over the layer IR
// (compiler/graph), adding what the GPU path needs beyond it (bias and MLA norm tensor names).
import { buildGraph, type MatrixNode, type MlpNode } from '../graph/graph.js';
import type { ModelConfig } from '../model/config.js';

export interface Mat {
  tensor: string;
  /** outDim */
  rows: number;
  /** inDim */
  cols: number;
  bias?: string;
}

export type AttentionDesc =
  | {
      kind: 'gqa';
      norm: string;
      q: Mat;
      k: Mat;
      v: Mat;
      o: Mat;
      qNorm: string | null;
      kNorm: string | null;
      headDim: number;
      /** Positions a query sees (sliding layers), null = all. */
      window: number | null;
    }
  | {
      kind: 'mla';
      norm: string;
      /** Null when qLoraRank is 0 (q_proj straight from the hidden state). */
      qA: Mat | null;
      qANorm: string | null;
      qB: Mat;
      kvA: Mat;
      kvANorm: string;
      kvB: Mat;
      o: Mat;
      kvLoraRank: number;
      qkNopeHeadDim: number;
      qkRopeHeadDim: number;
      vHeadDim: number;
      window: null;
    };

export interface DenseMlpDesc {
  kind: 'dense';
  gate: Mat;
  up: Mat;
  down: Mat;
}

export interface MoeDesc {
  kind: 'moe';
  router: Mat;
  numExperts: number;
  topK: number;
  renormalize: boolean;
  scale: number;
  intermediate: number;
  experts: { gate: string; up: string; down: string }[];
  shared: DenseMlpDesc | null;
}

export interface LayerDesc {
  index: number;
  attention: AttentionDesc;
  mlpNorm: string;
  mlp: DenseMlpDesc | MoeDesc;
}

export interface ModelDesc {
  cfg: ModelConfig;
  embedding: Mat;
  layers: LayerDesc[];
  finalNorm: string;
  lmHead: Mat;
}

const bias = (m: MatrixNode, present: boolean): Mat => (present ? { tensor: m.tensor, rows: m.rows, cols: m.cols, bias: m.tensor.replace(/\.weight$/, '.bias') } : { tensor: m.tensor, rows: m.rows, cols: m.cols });
const plain = (m: MatrixNode): Mat => ({ tensor: m.tensor, rows: m.rows, cols: m.cols });
const dense = (m: MlpNode): DenseMlpDesc => ({ kind: 'dense', gate: plain(m.gate), up: plain(m.up), down: plain(m.down) });

/** The GPU lowering's view of a model, read from the layer IR (compiler/graph) so every path agrees on what it is. */
export function describeModel(cfg: ModelConfig): ModelDesc {
  const g = buildGraph(cfg);
  const layers: LayerDesc[] = g.layers.map((l) => {
    const a = l.attention;
    let attention: AttentionDesc;
    if (a.mla) {
      const m = a.mla;
      const [qA, kvA, kvB] = a.extra;
      const prefix = a.o.tensor.replace(/\.o_proj\.weight$/, '');
      attention = {
        kind: 'mla',
        norm: l.inputNorm,
        qA: m.qLoraRank > 0 ? plain(qA) : null,
        qANorm: m.qLoraRank > 0 ? `${prefix}.q_a_layernorm.weight` : null,
        // Without a q LoRA (q_lora_rank 0) q projects straight from the hidden state.
        qB: m.qLoraRank > 0 ? plain(a.q) : { tensor: `${prefix}.q_proj.weight`, rows: a.q.rows, cols: cfg.hiddenSize },
        kvA: plain(kvA),
        kvANorm: `${prefix}.kv_a_layernorm.weight`,
        kvB: plain(kvB),
        o: plain(a.o),
        kvLoraRank: m.kvLoraRank,
        qkNopeHeadDim: m.qkNopeHeadDim,
        qkRopeHeadDim: m.qkRopeHeadDim,
        vHeadDim: m.vHeadDim,
        window: null,
      };
    } else {
      attention = {
        kind: 'gqa',
        norm: l.inputNorm,
        q: bias(a.q, cfg.attentionBias),
        k: bias(a.k, cfg.attentionBias),
        v: bias(a.v, cfg.attentionBias),
        o: bias(a.o, cfg.attentionOutputBias),
        qNorm: a.qNorm,
        kNorm: a.kNorm,
        headDim: a.headDim,
        window: a.window,
      };
    }
    let mlp: DenseMlpDesc | MoeDesc;
    if (l.mlp.kind === 'dense') mlp = dense(l.mlp.dense);
    else {
      const m = l.mlp.moe;
      mlp = {
        kind: 'moe',
        router: plain(m.router),
        numExperts: m.experts.length,
        topK: m.topK,
        renormalize: m.renormalize,
        scale: m.routedScale,
        intermediate: m.experts[0].intermediate,
        experts: m.experts.map((e) => ({ gate: e.gate.tensor, up: e.up.tensor, down: e.down.tensor })),
        shared: m.shared ? dense(m.shared) : null,
      };
    }
    return { index: l.index, attention, mlpNorm: l.postAttentionNorm, mlp };
  });
  return { cfg, embedding: plain(g.embedding), layers, finalNorm: g.finalNorm, lmHead: plain(g.lmHead) };
}
