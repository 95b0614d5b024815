// Multi-position passes: at q = 1 a pass is today's decode step exactly (on the wafer projection and on the GPU
// emulator); a q-position pass never costs less than one step nor more than q of them; the wafer's pass is the
// projection's own prefill composition; the GPU's reads its weights once for the q columns.
import { describe, expect, it } from 'vitest';
import { gpuPasses, waferPasses } from '../../../../compiler/decode/passes.js';
import { estimateGpu } from '../../../../compiler/gpu/estimate.js';
import { lowerForGpu } from '../../../../compiler/gpu/lower.js';
import { timeProgram } from '../../../../fabric/gpu/timing.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';
import { InputError } from '../../../../fabric/errors.js';

const QS = [1, 2, 3, 5, 9, 17, 33];

describe('wafer passes (toy models projected on mini-64)', () => {
  const spec = getFabricPreset('mini-64');
  describe.each(['toy-dense', 'toy-moe'])('%s', (name) => {
    const cfg = getPreset(name);
    const w = waferPasses(cfg, spec, { context: 64 });
    it('q = 1 is the projection\'s decode step at batch 1, exactly', () => {
      expect(w.pass(1)).toBe(w.report.tokenLatencySeconds);
      // decodeTokensPerSecond is 1 / latency at batch 1: its reciprocal is the latency to the last bit or two.
      expect(Math.abs(w.pass(1) * w.report.decodeTokensPerSecond - 1)).toBeLessThan(1e-14);
    });
    it('a q-position pass costs at least one step, at most q steps, and grows with q', () => {
      for (const q of QS) {
        expect(w.pass(q)).toBeGreaterThanOrEqual(w.pass(1));
        expect(w.pass(q)).toBeLessThanOrEqual(q * w.pass(1) * (1 + 1e-12));
        if (q > 1) expect(w.pass(q)).toBeGreaterThan(w.pass(q - 1));
      }
    });
    it('a prompt prefilled without a cache is the projection\'s own time to first token', () => {
      const r = projectWafer(cfg, spec, { batch: 1, context: 64, promptLength: 20 });
      expect(w.prefill(20, 0, false)).toBeCloseTo(r.timeToFirstTokenSeconds, 15);
      expect(w.prefill(5, 15, true)).toBeLessThan(w.prefill(5, 15, false));
    });
  });
  it('rejects a pass of 0 positions', () => {
    const w = waferPasses(getPreset('toy-dense'), spec, { context: 16 });
    expect(() => w.pass(0)).toThrow(InputError);
  });
});

describe('GPU passes', () => {
  const h100 = getGpuPreset('h100');
  const cfg = getPreset('llama-3.1-8b');
  const g = gpuPasses(cfg, h100, { context: 4096, gpus: 1 });
  it('q = 1 is the GPU emulator\'s decode step, exactly', () => {
    expect(g.pass(1)).toBe(estimateGpu(cfg, h100, { gpus: 1, batch: 1, contextLength: 4096, promptLength: 512 }).decodeStepSeconds);
  });
  it('the q columns share one read of the weights: each extra position costs under a tenth of a step', () => {
    for (const q of QS.slice(1)) {
      expect(g.pass(q)).toBeGreaterThanOrEqual(g.pass(1));
      expect(g.pass(q)).toBeLessThan(g.pass(1) * (1 + 0.1 * (q - 1)));
    }
  });
  it('the q positions of one sequence read its KV cache once: cheaper than q separate sequences', () => {
    const batch = estimateGpu(cfg, h100, { gpus: 1, batch: 8, contextLength: 4096, promptLength: 512 }).decodeStepSeconds;
    expect(g.pass(8)).toBeLessThan(batch);
  });
  it('equals the batch path over q sequences at the context with each attention\'s KV read shared by the q columns', () => {
    for (const q of [2, 5]) {
      const p = lowerForGpu(cfg, h100, { gpus: 1, batch: q, promptLength: 1, contextLength: 4096 }).decode;
      const shared = { ...p, kernels: p.kernels.map((k) => (k.kind === 'attention' ? { ...k, cost: { ...k.cost, hbmReadKvBytes: k.cost.hbmReadKvBytes / q } } : k)) };
      expect(g.pass(q)).toBeCloseTo(timeProgram(shared, h100, { cudaGraphs: true }).seconds, 12);
    }
  });
  it('a long context one sequence fits is not refused for holding q caches', () => {
    const big = gpuPasses(getPreset('llama-3.1-70b'), h100, { context: 17500 });
    expect(() => lowerForGpu(getPreset('llama-3.1-70b'), h100, { gpus: big.devices, batch: 33, promptLength: 1, contextLength: 17500 })).toThrow(InputError);
    expect(big.pass(33)).toBeGreaterThan(big.pass(1));
  });
  it('a cached prefill costs less than prefilling the whole prompt again, and at least a step', () => {
    expect(g.prefill(500, 3000, true)).toBeLessThan(g.prefill(500, 3000, false));
    expect(g.prefill(500, 3000, true)).toBeGreaterThanOrEqual(g.pass(1));
  });
});
