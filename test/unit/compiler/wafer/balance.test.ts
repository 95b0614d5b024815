import { describe, expect, it } from 'vitest';
import { buildGraph, type ModelGraph } from '../../../../compiler/graph/graph.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { balancedFractions, type StageBudgetFractions } from '../../../../compiler/wafer/balance.js';
import { matvecCyclesPerMac } from '../../../../fabric/mesh/cost.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

const wse3 = getFabricPreset('wse3');

/**
 * A layer's matvec stages as the block-layout bound sees them (docs/floor.md): multiply-accumulates per copy, copies,
 * cycles per MAC and bytes per weight, each with the fraction of the tile budget its blocks take.
 */
function stages(g: ModelGraph, f: StageBudgetFractions, bits?: number) {
  const l = g.layers.find((x) => x.mlp.kind === 'moe') ?? g.layers[0];
  const a = l.attention;
  const c = matvecCyclesPerMac(wse3, 'bf16');
  const out = [
    { macs: [a.q, a.k, a.v, ...a.extra].reduce((n, m) => n + m.rows * m.cols, 0), copies: 1, c, bytes: 2, f: f.qkv },
    { macs: a.o.rows * a.o.cols, copies: 1, c, bytes: 2, f: f.o },
  ];
  if (l.mlp.kind === 'dense') out.push({ macs: 3 * g.hidden * l.mlp.dense.intermediate, copies: 1, c, bytes: 2, f: f.mlp });
  else {
    const m = l.mlp.moe;
    const mx = bits !== undefined;
    out.push({ macs: 3 * g.hidden * m.experts[0].intermediate, copies: m.experts.length, c: mx ? matvecCyclesPerMac(wse3, 'bf16', 'mxfp4') : c, bytes: mx ? bits / 8 : 2, f: 1 });
  }
  return out;
}

/** A token's matvec cycles with each stage's blocks at its fraction, its tiles scaled so all stages hold `tiles`. */
function matvecCycles(st: ReturnType<typeof stages>, tiles: number): number {
  // Tiles of a stage ∝ its bytes over its block's bytes (the budget's fraction), for every copy.
  const raw = st.map((s) => (s.copies * s.macs * s.bytes) / s.f);
  const scale = tiles / raw.reduce((x, y) => x + y, 0);
  return st.reduce((t, s, i) => t + (s.macs * s.c) / ((raw[i] * scale) / s.copies), 0);
}

describe('balanced stage budgets (balance.ts)', () => {
  const cases: [string, number?][] = [['llama-3.1-8b'], ['llama-3.1-70b'], ['qwen3-235b-a22b'], ['gpt-oss-120b'], ['kimi-k2', wse3.costs.mxfp4BitsPerWeight]];

  it.each(cases)('%s: on the same tiles, the balanced blocks\' matvecs take no longer than packed blocks or any others tried', (model, bits) => {
    const g = buildGraph(getPreset(model));
    const balanced = balancedFractions(g, wse3, 'bf16', 1, bits);
    for (const v of Object.values(balanced)) expect(v).toBeGreaterThan(0);
    expect(Math.max(...stages(g, balanced, bits).map((s) => s.f))).toBe(1);
    const T = 1e6;
    const best = matvecCycles(stages(g, balanced, bits), T);
    // Cauchy–Schwarz: the balanced split is the least; packed and random fractions are not below it.
    expect(best).toBeLessThanOrEqual(matvecCycles(stages(g, { qkv: 1, o: 1, mlp: 1 }, bits), T) * (1 + 1e-12));
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31), 0.01 + x / 2 ** 31);
    for (let i = 0; i < 200; i++) expect(best).toBeLessThanOrEqual(matvecCycles(stages(g, { qkv: rand(), o: rand(), mlp: rand() }, bits), T) * (1 + 1e-12));
  });

  it('goes part of the way with alpha: between packed and balanced, and packed at 0', () => {
    const g = buildGraph(getPreset('llama-3.1-8b'));
    const full = balancedFractions(g, wse3, 'bf16', 1);
    const half = balancedFractions(g, wse3, 'bf16', 0.5);
    expect(balancedFractions(g, wse3, 'bf16', 0)).toEqual({ qkv: 1, o: 1, mlp: 1 });
    for (const k of ['qkv', 'o'] as const) {
      expect(full[k]).toBeLessThan(half[k]);
      expect(half[k]).toBeLessThan(1);
    }
  });
});
