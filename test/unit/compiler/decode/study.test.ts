// The studies behind `wafer speculate | diffuse | decode | agent` on small models (fast): every lever on each fabric is
// priced on that fabric's own passes, the draft on the same fabric, and an agent task never beats its tools.
import { describe, expect, it } from 'vitest';
import { agentStudy, decodeStudy, type DecodeFabric } from '../../../../compiler/decode/study.js';
import { gpuPasses, waferPasses } from '../../../../compiler/decode/passes.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { InputError } from '../../../../fabric/errors.js';

const FABRICS: DecodeFabric[] = [
  { kind: 'wafer', name: 'mini-64', spec: getFabricPreset('mini-64') },
  { kind: 'gpu', name: 'h100', gpu: getGpuPreset('h100') },
];
const cfg = getPreset('toy-moe');

describe('decodeStudy', () => {
  const s = decodeStudy(cfg, FABRICS, { context: 64, k: 3, acceptance: 0.7, diffusion: { block: 8, steps: 4 }, draft: { kind: 'model', cfg: getPreset('toy-dense') } });
  it('prices every lever on the fabric\'s own passes', () => {
    const own = [waferPasses(cfg, getFabricPreset('mini-64'), { context: 64 }), gpuPasses(cfg, getGpuPreset('h100'), { context: 64 })];
    s.fabrics.forEach((f, i) => {
      expect(f.plain.stepSeconds).toBe(own[i].pass(1));
      expect(f.speculative.verifySeconds).toBe(own[i].pass(4));
      expect(f.diffusion.passSeconds).toBe(own[i].pass(8));
      expect(f.passSeconds[3]).toBe(own[i].pass(4));
    });
  });
  it('prices the draft model on the same fabric', () => {
    const wafer = s.fabrics[0];
    expect(wafer.draft.model).toBe('toy-dense');
    expect(wafer.draft.stepSeconds).toBe(waferPasses(getPreset('toy-dense'), getFabricPreset('mini-64'), { context: 64 }).pass(1));
    expect(wafer.draft.tiles).toBeGreaterThan(0);
    expect(s.fabrics[1].draft.stepSeconds).toBe(gpuPasses(getPreset('toy-dense'), getGpuPreset('h100'), { context: 64, gpus: s.fabrics[1].devices }).pass(1));
  });
  it('with acceptance 0, speculation and a diffusion draft never beat plain decoding on any fabric, at any k', () => {
    for (const k of [1, 2, 4, 8]) {
      const zero = decodeStudy(cfg, FABRICS, { context: 64, k, acceptance: 0, diffusion: { block: k, steps: 1, overheadPasses: 0 }, draft: { kind: 'fraction', fraction: 1e-9 } });
      for (const f of zero.fabrics) {
        expect(f.speculative.speedup).toBeLessThanOrEqual(1);
        expect(f.both.speedup).toBeLessThanOrEqual(1);
      }
    }
  });
  it('refuses a draft from another vocabulary', () => {
    expect(() => decodeStudy(getPreset('llama-3.1-70b'), FABRICS, { draft: { kind: 'model', cfg: getPreset('qwen3-4b') } })).toThrow(InputError);
  });
});

describe('agentStudy', () => {
  const task = { calls: 6, promptTokens: 20, outputTokensPerCall: 5, toolResultTokens: 4, toolLatency: { kind: 'exponential' as const, meanSeconds: 0.01 }, seed: 2, prefixCache: true, overheadSecondsPerCall: 0.001 };
  const a = agentStudy(cfg, FABRICS, task, { diffusion: { block: 8, steps: 4 } });
  it('no fabric or lever finishes before its tools, with or without a prefix cache; the cache never slows it', () => {
    for (const f of a.fabrics) {
      for (const l of f.levers) {
        expect(l.withPrefixCache.total).toBeGreaterThanOrEqual(a.toolSecondsTotal);
        expect(l.withoutPrefixCache.total).toBeGreaterThanOrEqual(a.toolSecondsTotal);
        expect(l.withPrefixCache.total).toBeLessThanOrEqual(l.withoutPrefixCache.total);
      }
    }
  });
  it('the chart\'s curve falls with decode speed toward the tools + overhead floor', () => {
    const floor = a.toolSecondsTotal + task.calls * task.overheadSecondsPerCall;
    for (const f of a.fabrics) {
      for (let i = 1; i < f.curve.length; i++) expect(f.curve[i].wallSeconds).toBeLessThan(f.curve[i - 1].wallSeconds);
      expect(f.curve[f.curve.length - 1].wallSeconds).toBeGreaterThan(floor);
    }
  });
});
