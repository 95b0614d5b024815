// Block budgets balanced across a layer's matvec stages. Packed to one tile budget, every stage's blocks are a full
// tile's weights, so each stage takes as long as a full tile's matvec however little it weighs. At batch 1 a token
// runs the stages one after another; with Σ m_i·n_i tiles (n_i per copy of stage i, m_i copies: an MoE's E experts)
// the time Σ W_i·c_i / n_i is least at n_i ∝ √(W_i·c_i / m_i) (Cauchy–Schwarz; docs/floor.md's block-layout bound),
// i.e. at blocks of √(W_i·m_i / c_i) weights. So a stage's blocks, relative to the heaviest stage's (which keeps the
// full budget), take that ratio: q/k/v and O smaller than a dense MLP's, everything dense smaller than an MoE's experts.
import { matvecCyclesPerMac } from '../../fabric/mesh/cost.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { ModelGraph } from '../graph/graph.js';
import { dtypeBytes, type ProgramDtype } from './partition.js';

/** Fractions of the tile budget the blocks of q/k/v, of O and of dense MLPs take (routed and shared experts: 1). */
export interface StageBudgetFractions {
  qkv: number;
  o: number;
  mlp: number;
}

/** No balance: every stage at the full budget. */
export const PACKED_FRACTIONS: StageBudgetFractions = { qkv: 1, o: 1, mlp: 1 };

/**
 * The balanced fractions of the budget for `graph`'s stages, raised to `alpha` (1: the balanced blocks; 0: packed;
 * between: part of the way, where the balanced layout needs more tiles than there are). `expertWeightBits`: routed
 * experts held at that many bits (MXFP4), their matvecs costed so.
 */
export function balancedFractions(graph: ModelGraph, spec: FabricSpec, dtype: ProgramDtype, alpha: number, expertWeightBits?: number): StageBudgetFractions {
  const perMac = matvecCyclesPerMac(spec, dtype);
  const bytes = dtypeBytes(dtype);
  // Bytes of one block at the balanced allocation, up to a common factor: √(W·m / c) weights of `weightBytes` each.
  const block = (macs: number, copies: number, cyclesPerMac: number, weightBytes: number) => Math.sqrt((macs * copies) / cyclesPerMac) * weightBytes;
  const layers = graph.layers;
  if (layers.length === 0) return PACKED_FRACTIONS;
  const h = graph.hidden;
  const a = layers[0].attention;
  const qkv = block([a.q, a.k, a.v, ...a.extra].reduce((n, m) => n + m.rows * m.cols, 0), 1, perMac, bytes);
  const o = block(a.o.rows * a.o.cols, 1, perMac, bytes);
  // Dense MLPs (the heaviest, where a model has several sizes) and routed experts, E copies each.
  let dense = 0;
  let experts = 0;
  for (const l of layers) {
    if (l.mlp.kind === 'dense') dense = Math.max(dense, block(3 * h * l.mlp.dense.intermediate, 1, perMac, bytes));
    else {
      const m = l.mlp.moe;
      const expertPerMac = expertWeightBits !== undefined ? matvecCyclesPerMac(spec, dtype, 'mxfp4') : perMac;
      experts = Math.max(experts, block(3 * h * m.experts[0].intermediate, m.experts.length, expertPerMac, expertWeightBits !== undefined ? expertWeightBits / 8 : bytes));
    }
  }
  const heaviest = Math.max(qkv, o, dense, experts);
  const f = (x: number) => Math.min(1, (x / heaviest) ** alpha);
  return { qkv: f(qkv), o: f(o), mlp: dense > 0 ? f(dense) : 1 };
}

/** Bytes a tile's blocks of a stage may take: `fraction` of the budget. */
export const stageBudget = (budgetBytes: number, fraction: number | undefined): number => Math.floor(budgetBytes * (fraction ?? 1));
