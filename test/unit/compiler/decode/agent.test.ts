// Agent tasks: the wall time never drops below the tool latency, the draws are seeded, the distributions have the
// moments they claim, and a prefix cache never makes a task slower.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentWall, planCalls, toolLatencies, type AgentTask, type PrefillCost, type ToolLatency } from '../../../../compiler/decode/agent.js';
import { InputError } from '../../../../fabric/errors.js';

const toolArb: fc.Arbitrary<ToolLatency> = fc.oneof(
  fc.double({ min: 0, max: 100, noNaN: true }).map((seconds) => ({ kind: 'fixed' as const, seconds })),
  fc.tuple(fc.double({ min: 0, max: 10, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true })).map(([a, b]) => ({ kind: 'uniform' as const, minSeconds: Math.min(a, b), maxSeconds: Math.max(a, b) })),
  fc.double({ min: 0.001, max: 10, noNaN: true }).map((meanSeconds) => ({ kind: 'exponential' as const, meanSeconds })),
  fc.tuple(fc.double({ min: 0.001, max: 10, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true })).map(([medianSeconds, sigma]) => ({ kind: 'lognormal' as const, medianSeconds, sigma })),
);
const taskArb: fc.Arbitrary<AgentTask> = fc.record({
  calls: fc.integer({ min: 1, max: 40 }),
  promptTokens: fc.integer({ min: 1, max: 8000 }),
  outputTokensPerCall: fc.integer({ min: 1, max: 2000 }),
  toolResultTokens: fc.integer({ min: 0, max: 4000 }),
  toolLatency: toolArb,
  seed: fc.integer({ min: 0, max: 1000 }),
  prefixCache: fc.boolean(),
  overheadSecondsPerCall: fc.double({ min: 0, max: 1, noNaN: true }),
});
/** A prefill that grows with the tokens it processes: a per-token cost plus attention over the prior tokens. */
const prefillArb = fc.tuple(fc.double({ min: 0, max: 1e-3, noNaN: true }), fc.double({ min: 0, max: 1e-8, noNaN: true })).map(
  ([perToken, perPair]): PrefillCost =>
    (n, prior, cached) => {
      const done = cached ? prior : 0;
      const all = prior + n;
      return perToken * (all - done) + perPair * (all * all - done * done);
    },
);

describe('agent wall time', () => {
  it('never drops below the total tool latency, and splits into parts that sum to it', () => {
    fc.assert(
      fc.property(taskArb, prefillArb, fc.double({ min: 1, max: 1e5, noNaN: true }), (task, prefill, rate) => {
        const calls = planCalls(task);
        const tools = calls.reduce((s, c) => s + c.toolSeconds, 0);
        const w = agentWall(calls, task, prefill, rate);
        expect(w.total).toBeGreaterThanOrEqual(tools);
        expect(w.tool).toBe(tools);
        expect(w.total).toBeCloseTo(w.prefill + w.decode + w.tool + w.overhead, 9);
      }),
    );
  });
  it('a prefix cache never makes the task slower; faster decoding never makes it slower', () => {
    fc.assert(
      fc.property(taskArb, prefillArb, fc.double({ min: 1, max: 1e4, noNaN: true }), (task, prefill, rate) => {
        const calls = planCalls(task);
        expect(agentWall(calls, { ...task, prefixCache: true }, prefill, rate).total).toBeLessThanOrEqual(agentWall(calls, { ...task, prefixCache: false }, prefill, rate).total * (1 + 1e-12));
        expect(agentWall(calls, task, prefill, 2 * rate).total).toBeLessThanOrEqual(agentWall(calls, task, prefill, rate).total);
      }),
    );
  });
  it('N calls make N − 1 tool calls and the prompt grows by each output and tool result', () => {
    const calls = planCalls({ calls: 3, promptTokens: 100, outputTokensPerCall: 10, toolResultTokens: 50, toolLatency: { kind: 'fixed', seconds: 2 }, seed: 0, prefixCache: true, overheadSecondsPerCall: 0 });
    expect(calls.map((c) => [c.priorTokens, c.newTokens, c.toolSeconds])).toEqual([
      [0, 100, 2],
      [110, 50, 2],
      [170, 50, 0],
    ]);
  });
});

describe('tool latency distributions', () => {
  it('the same seed draws the same latencies; another seed others', () => {
    const t: ToolLatency = { kind: 'lognormal', medianSeconds: 0.5, sigma: 1 };
    expect(toolLatencies(t, 50, 3)).toEqual(toolLatencies(t, 50, 3));
    expect(toolLatencies(t, 50, 3)).not.toEqual(toolLatencies(t, 50, 4));
  });
  it('the draws have the distribution\'s mean or median', () => {
    const n = 20000;
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    expect(mean(toolLatencies({ kind: 'exponential', meanSeconds: 2 }, n, 1))).toBeCloseTo(2, 1);
    expect(mean(toolLatencies({ kind: 'uniform', minSeconds: 1, maxSeconds: 3 }, n, 1))).toBeCloseTo(2, 1);
    expect(median(toolLatencies({ kind: 'lognormal', medianSeconds: 0.5, sigma: 1 }, n, 1))).toBeCloseTo(0.5, 1);
  });
  it.each([
    [{ kind: 'fixed', seconds: -1 }],
    [{ kind: 'uniform', minSeconds: 2, maxSeconds: 1 }],
    [{ kind: 'exponential', meanSeconds: 0 }],
    [{ kind: 'lognormal', medianSeconds: 1, sigma: -1 }],
    [{ kind: 'fixed', seconds: Number.NaN }],
  ] as [ToolLatency][])('%o is not a distribution: an InputError', (t) => {
    expect(() => toolLatencies(t, 3, 0)).toThrow(InputError);
  });
});
