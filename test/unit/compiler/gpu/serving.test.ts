// The serving model held to what a closed-loop load shows: aggregate tokens/s rises with concurrency until compute or
// the KV cache bounds it; past the KV capacity the running batch stops growing and requests queue (Little's law).
import { describe, expect, it } from 'vitest';
import { estimateServing, servingShape, predictServing } from '../../../../compiler/gpu/serving.js';
import { kvCapacitySequences } from '../../../../compiler/gpu/lower.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { getGpuPreset } from '../../../../fabric/gpu/spec.js';

const h100 = getGpuPreset('h100');
const cfg = getPreset('llama-3.1-8b');
const at = (concurrency: number, inputTokens: number, outputTokens: number) => estimateServing({ cfg, gpus: 1, dtype: 'bf16', concurrency, inputTokens, outputTokens }, h100);

describe('serving', () => {
  it('aggregate tokens/s rises with concurrency while per-request ITL grows, by less than the concurrency', () => {
    const points = [1, 2, 5, 10, 25, 50, 100].map((c) => at(c, 200, 200));
    for (let i = 1; i < points.length; i++) {
      expect(points[i].tokensPerSecondTotal).toBeGreaterThan(points[i - 1].tokensPerSecondTotal);
      expect(points[i].itlSeconds).toBeGreaterThanOrEqual(points[i - 1].itlSeconds);
    }
    expect(points.at(-1)!.itlSeconds / points[0].itlSeconds).toBeLessThan(100 / 4);
  });

  it('past the KV capacity the batch stops at it, ITL stops growing, and TTFT grows with the queue', () => {
    const capacity = kvCapacitySequences(cfg, h100, { gpus: 1, dtype: 'bf16', promptLength: 7000, contextLength: 8000 });
    // 80 GB less 16 GB of weights, at ~131 kB of KV per position: a few dozen 8000-position sequences.
    expect(capacity).toBeGreaterThan(20);
    expect(capacity).toBeLessThan(80);
    const [a, b, c] = [capacity, 2 * capacity, 4 * capacity].map((n) => at(n, 7000, 1000));
    expect([a.batch, b.batch, c.batch]).toEqual([capacity, capacity, capacity]);
    expect(b.itlSeconds).toBe(a.itlSeconds);
    // Little's law: clients beyond the batch wait whole requests; doubling the clients more than doubles the wait.
    expect(c.ttftSeconds - a.ttftSeconds).toBeGreaterThan(2 * (b.ttftSeconds - a.ttftSeconds));
    expect(c.tokensPerSecondTotal).toBeCloseTo(b.tokensPerSecondTotal, 6);
  });

  it('a longer context makes the decode step slower (the KV read grows)', () => {
    const shortCtx = at(25, 200, 200);
    const longCtx = at(25, 7000, 200);
    expect(longCtx.decodeStepSeconds).toBeGreaterThan(shortCtx.decodeStepSeconds);
    expect(longCtx.prefillSeconds / shortCtx.prefillSeconds).toBeGreaterThan(7000 / 200 / 2);
  });

  it('a shape lowered once gives the same figures as lowering again (the calibration relies on it)', () => {
    const c = { cfg, gpus: 2, dtype: 'fp8' as const, concurrency: 10, inputTokens: 2000, outputTokens: 200 };
    expect(predictServing(servingShape(c, h100), h100)).toEqual(estimateServing(c, h100));
  });
});
