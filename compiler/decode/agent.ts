// An agent task: N model calls, each reading a prompt that grows with the previous turns and tool results, writing
// its output tokens, then waiting for a tool call before the next call. Its wall time splits into prefill, decode,
// tool and overhead; the decode part shrinks with a faster decoding lever, the rest does not — so past some decode
// rate the task's time is the tools'. Pure arithmetic over a fabric's prefill cost and a decode rate (docs/decoding.md).
import { InputError, OptionError } from '../../fabric/errors.js';
import { Xoshiro128 } from '../model/random.js';

/** A tool call's latency: fixed, or drawn (seeded) from a distribution. Seconds. */
export type ToolLatency =
  | { kind: 'fixed'; seconds: number }
  | { kind: 'uniform'; minSeconds: number; maxSeconds: number }
  | { kind: 'exponential'; meanSeconds: number }
  | { kind: 'lognormal'; medianSeconds: number; sigma: number };

/** Longest a single tool call may take (a day), and the most calls a task may have (each call may lower a GPU prefill: bounded work). */
export const MAX_TOOL_SECONDS = 86400;
export const MAX_CALLS = 200;
export const MAX_TASK_TOKENS = 1 << 24;

export interface AgentTask {
  calls: number;
  /** Tokens of the first call's prompt (system prompt, task). */
  promptTokens: number;
  /** Tokens each call writes. */
  outputTokensPerCall: number;
  /** Tokens each tool result adds to the next call's prompt. */
  toolResultTokens: number;
  toolLatency: ToolLatency;
  seed: number;
  /** Prior turns' KV cache kept between calls (only the new tokens are prefilled). */
  prefixCache: boolean;
  /** Fixed seconds per call outside the model and the tool (request handling, tokenising, scheduling). */
  overheadSecondsPerCall: number;
}

const WHERE = 'toolLatency';

export function checkToolLatency(t: ToolLatency): void {
  const ok = (v: number) => Number.isFinite(v) && v >= 0 && v <= MAX_TOOL_SECONDS;
  const fix = `give seconds in [0, ${MAX_TOOL_SECONDS}]: 0.5, uniform:0.2,2, exp:0.5 or lognormal:0.5,1`;
  switch (t.kind) {
    case 'fixed':
      if (!ok(t.seconds)) throw new OptionError(WHERE, `tool latency ${t.seconds} s is not a duration`, fix);
      return;
    case 'uniform':
      if (!ok(t.minSeconds) || !ok(t.maxSeconds) || t.minSeconds > t.maxSeconds) throw new OptionError(WHERE, `uniform tool latency [${t.minSeconds}, ${t.maxSeconds}] s is not a distribution`, 'give uniform:MIN,MAX with 0 ≤ MIN ≤ MAX');
      return;
    case 'exponential':
      if (!ok(t.meanSeconds) || t.meanSeconds === 0) throw new OptionError(WHERE, `exponential tool latency with mean ${t.meanSeconds} s is not a distribution`, 'give exp:MEAN with a mean > 0');
      return;
    case 'lognormal':
      if (!ok(t.medianSeconds) || t.medianSeconds === 0 || !(Number.isFinite(t.sigma) && t.sigma >= 0 && t.sigma <= 5)) throw new OptionError(WHERE, `lognormal tool latency (median ${t.medianSeconds} s, sigma ${t.sigma}) is not a distribution`, 'give lognormal:MEDIAN,SIGMA with a median > 0 and 0 ≤ sigma ≤ 5');
      return;
  }
}

export function checkTask(t: AgentTask): void {
  const int = (v: number, option: keyof AgentTask, label: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new OptionError(option, `${label} must be a whole number in [${min}, ${max}], got ${v}`, `give a whole number ≥ ${min}`);
  };
  int(t.calls, 'calls', 'calls', 1, MAX_CALLS);
  int(t.promptTokens, 'promptTokens', 'prompt-tokens', 1, MAX_TASK_TOKENS);
  int(t.outputTokensPerCall, 'outputTokensPerCall', 'output-tokens', 1, MAX_TASK_TOKENS);
  int(t.toolResultTokens, 'toolResultTokens', 'tool-tokens', 0, MAX_TASK_TOKENS);
  int(t.seed, 'seed', 'seed', 0, 2 ** 32 - 1);
  checkToolLatency(t.toolLatency);
  if (!(Number.isFinite(t.overheadSecondsPerCall) && t.overheadSecondsPerCall >= 0 && t.overheadSecondsPerCall <= MAX_TOOL_SECONDS)) throw new OptionError('overheadSecondsPerCall', `overhead ${t.overheadSecondsPerCall} s per call is not a duration`, 'give seconds ≥ 0, e.g. 0.05');
  if (finalContext(t) > MAX_TASK_TOKENS) throw new OptionError('calls', `the task grows to ${finalContext(t)} tokens`, `keep calls × (output + tool tokens) under ${MAX_TASK_TOKENS}`);
}

/** Draws `n` latencies (seconds) from the distribution with its own seeded stream: the same seed, the same draws. */
export function toolLatencies(t: ToolLatency, n: number, seed: number): number[] {
  checkToolLatency(t);
  const rng = new Xoshiro128(seed);
  // (0, 1]: never 0, so the logarithms below stay finite.
  const u = () => 1 - rng.nextFloat();
  return Array.from({ length: n }, () => {
    switch (t.kind) {
      case 'fixed':
        return t.seconds;
      case 'uniform':
        return t.minSeconds + (t.maxSeconds - t.minSeconds) * rng.nextFloat();
      case 'exponential':
        return Math.min(MAX_TOOL_SECONDS, -t.meanSeconds * Math.log(u()));
      case 'lognormal': {
        // Box–Muller: one standard normal from two uniforms.
        const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * rng.nextFloat());
        return Math.min(MAX_TOOL_SECONDS, t.medianSeconds * Math.exp(t.sigma * z));
      }
    }
  });
}

/** One model call of the task. */
export interface AgentCall {
  /** Tokens already in the sequence before this call's new prompt tokens. */
  priorTokens: number;
  /** Prompt tokens this call adds (the first call's prompt; then the previous tool's result). */
  newTokens: number;
  outputTokens: number;
  /** The tool call after this one (0 after the last call: its answer ends the task). */
  toolSeconds: number;
}

/** The sequence grows by every call's output and every tool result; the last call's answer ends the task. */
export function planCalls(t: AgentTask): AgentCall[] {
  checkTask(t);
  const tools = toolLatencies(t.toolLatency, t.calls - 1, t.seed);
  const calls: AgentCall[] = [];
  let tokens = 0;
  for (let i = 0; i < t.calls; i++) {
    const newTokens = i === 0 ? t.promptTokens : t.toolResultTokens;
    calls.push({ priorTokens: tokens, newTokens, outputTokens: t.outputTokensPerCall, toolSeconds: i < t.calls - 1 ? tools[i] : 0 });
    tokens += newTokens + t.outputTokensPerCall;
  }
  return calls;
}

/** Tokens in the sequence when the last call ends. */
export function finalContext(t: Pick<AgentTask, 'calls' | 'promptTokens' | 'outputTokensPerCall' | 'toolResultTokens'>): number {
  return t.promptTokens + t.calls * t.outputTokensPerCall + (t.calls - 1) * t.toolResultTokens;
}

export interface WallSplit {
  prefill: number;
  decode: number;
  tool: number;
  overhead: number;
  total: number;
}

/** Seconds to prefill `newTokens` after `priorTokens` (with or without the prior tokens' KV kept). */
export type PrefillCost = (newTokens: number, priorTokens: number, cached: boolean) => number;

/** The task's wall time with a fabric's prefill and a decode rate (tokens/s one user sees). */
export function agentWall(calls: readonly AgentCall[], t: Pick<AgentTask, 'prefixCache' | 'overheadSecondsPerCall'>, prefill: PrefillCost, decodeTokensPerSecond: number): WallSplit {
  if (!(decodeTokensPerSecond > 0)) throw new InputError(`decode rate ${decodeTokensPerSecond} tokens/s`, 'decode', 'give a rate > 0');
  const s = { prefill: 0, decode: 0, tool: 0, overhead: 0, total: 0 };
  for (const c of calls) {
    s.prefill += prefill(c.newTokens, c.priorTokens, t.prefixCache);
    s.decode += c.outputTokens / decodeTokensPerSecond;
    s.tool += c.toolSeconds;
    s.overhead += t.overheadSecondsPerCall;
  }
  s.total = s.prefill + s.decode + s.tool + s.overhead;
  return s;
}

/** Decode rates the chart sweeps: log-spaced from `lo` to `hi` tokens/s, `n` points. */
export function decodeRates(lo = 50, hi = 20000, n = 41): number[] {
  return Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));
}
