// Command-line strings of `wafer speculate | diffuse | decode | agent` to the typed options of compiler/decode; every
// bad value is an InputError naming its option (one line, exit 2).
import type { Command } from 'commander';
import { InputError } from '../../fabric/errors.js';
import { getGpuPreset, listGpuPresets } from '../../fabric/gpu/spec.js';
import { getFabricPreset, listFabricPresets } from '../../fabric/spec/index.js';
import { checkToolLatency, MAX_TOOL_SECONDS, type AgentTask, type ToolLatency } from '../../compiler/decode/agent.js';
import { checkAcceptance, checkK, type Acceptance } from '../../compiler/decode/strategies.js';
import { checkDraft, type DecodeFabric, type DecodeOptions, type DraftChoice } from '../../compiler/decode/study.js';
import type { ModelConfig } from '../../compiler/model/config.js';
import { resolveModelConfig } from '../io/loadModel.js';
import { parseIntOption, parseNumberOption } from '../io/parse.js';
import { withFlags } from '../wafer/setup.js';

/** The options every decoding command shares. */
export interface DecodeCliOptions {
  model: string;
  fabrics: string;
  context?: string;
  dtype: string;
  gpus?: string;
  k?: string;
  acceptance?: string;
  draft?: string;
  draftFraction?: string;
  block?: string;
  steps?: string;
  overheadPasses?: string;
}

export function parseFabrics(value: string, option = '--fabrics'): DecodeFabric[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new InputError(`empty fabric name in "${value}"`, option, 'give a comma-separated list, e.g. wse3,h100');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new InputError(`fabric "${dup}" given twice`, option, 'list each fabric once');
  return names.map((name): DecodeFabric => {
    if (listGpuPresets().some((g) => g.name === name)) return { kind: 'gpu', name, gpu: getGpuPreset(name, option) };
    if (listFabricPresets().includes(name)) return { kind: 'wafer', name, spec: getFabricPreset(name) };
    throw new InputError(`unknown fabric "${name}"`, option, `use GPU presets (${listGpuPresets().map((g) => g.name).join(', ')}) or wafer presets (${listFabricPresets().join(', ')}), comma-separated`);
  });
}

/** "0.8" or a per-position curve "0.9,0.8,0.7". */
export function parseAcceptance(value: string, option = '--acceptance'): Acceptance {
  const parts = value.split(',').map((s) => s.trim());
  const values = parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isFinite(n)) throw new InputError(`not a probability: "${p}"`, option, 'give a number in [0, 1), or a comma-separated curve of them');
    return n;
  });
  const a: Acceptance = values.length === 1 ? values[0] : values;
  checkAcceptance(a, option);
  return a;
}

function parseDraft(o: DecodeCliOptions, target: ModelConfig): DraftChoice | undefined {
  if (o.draft !== undefined && o.draftFraction !== undefined) throw new InputError('both --draft and --draft-fraction given', '--draft', 'give a draft model or a fraction of the target\'s cost, not both');
  if (o.draftFraction !== undefined) return { kind: 'fraction', fraction: parseNumberOption(o.draftFraction, '--draft-fraction', Number.MIN_VALUE, 1) };
  if (o.draft === undefined) return undefined;
  const draft: DraftChoice = { kind: 'model', cfg: resolveModelConfig(o.draft, '--draft') };
  withFlags({ draft: '--draft', draftFraction: '--draft-fraction' }, () => checkDraft(target, draft));
  return draft;
}

export function parseDecodeOptions(o: DecodeCliOptions): { model: ModelConfig; fabrics: DecodeFabric[]; options: DecodeOptions } {
  const model = resolveModelConfig(o.model, '--model');
  const fabrics = parseFabrics(o.fabrics);
  if (o.dtype !== 'bf16' && o.dtype !== 'int8') throw new InputError(`unsupported dtype "${o.dtype}"`, '--dtype', 'use bf16 or int8 (the weights on every fabric)');
  const k = o.k === undefined ? undefined : parseIntOption(o.k, '--k', 1);
  if (k !== undefined) withFlags({ k: '--k' }, () => checkK(k));
  const options: DecodeOptions = {
    context: o.context === undefined ? undefined : parseIntOption(o.context, '--context', 1),
    dtype: o.dtype,
    gpus: o.gpus === undefined ? undefined : parseIntOption(o.gpus, '--gpus', 1),
    draft: parseDraft(o, model),
    acceptance: o.acceptance === undefined ? undefined : parseAcceptance(o.acceptance),
    k,
    diffusion:
      o.block === undefined && o.steps === undefined && o.overheadPasses === undefined
        ? undefined
        : {
            block: parseIntOption(o.block ?? '32', '--block', 1),
            steps: parseIntOption(o.steps ?? '8', '--steps', 1),
            overheadPasses: o.overheadPasses === undefined ? undefined : parseNumberOption(o.overheadPasses, '--overhead-passes', 0),
          },
  };
  return { model, fabrics, options };
}

/**
 * --tool-latency: seconds (fixed), or a distribution: uniform:MIN,MAX, exp:MEAN, lognormal:MEDIAN,SIGMA (all seconds).
 */
export function parseToolLatency(value: string, option = '--tool-latency'): ToolLatency {
  const fix = 'give seconds (0.5) or a distribution: uniform:MIN,MAX, exp:MEAN or lognormal:MEDIAN,SIGMA';
  const [kind, args, ...rest] = value.split(':').map((s) => s.trim());
  const nums = (n: number) => {
    const parts = (args ?? '').split(',').map((s) => s.trim());
    if (rest.length > 0 || parts.length !== n || parts.some((p) => p === '' || !Number.isFinite(Number(p)))) throw new InputError(`"${value}" is not a tool latency`, option, fix);
    return parts.map(Number);
  };
  let t: ToolLatency;
  if (args === undefined) {
    const s = Number(kind);
    if (kind === '' || !Number.isFinite(s)) throw new InputError(`"${value}" is not a tool latency`, option, fix);
    t = { kind: 'fixed', seconds: s };
  } else if (kind === 'uniform') {
    const [a, b] = nums(2);
    t = { kind: 'uniform', minSeconds: a, maxSeconds: b };
  } else if (kind === 'exp' || kind === 'exponential') {
    t = { kind: 'exponential', meanSeconds: nums(1)[0] };
  } else if (kind === 'lognormal') {
    const [m, s] = nums(2);
    t = { kind: 'lognormal', medianSeconds: m, sigma: s };
  } else throw new InputError(`unknown tool-latency distribution "${kind}"`, option, fix);
  withFlags({ toolLatency: option }, () => checkToolLatency(t));
  return t;
}

export interface AgentCliOptions {
  calls: string;
  toolLatency: string;
  promptTokens: string;
  outputTokens: string;
  toolTokens: string;
  seed: string;
  prefixCache: boolean;
  overhead: string;
}

export function parseAgentTask(o: AgentCliOptions): AgentTask {
  return {
    calls: parseIntOption(o.calls, '--calls', 1),
    promptTokens: parseIntOption(o.promptTokens, '--prompt-tokens', 1),
    outputTokensPerCall: parseIntOption(o.outputTokens, '--output-tokens', 1),
    toolResultTokens: parseIntOption(o.toolTokens, '--tool-tokens', 0),
    toolLatency: parseToolLatency(o.toolLatency),
    seed: parseIntOption(o.seed, '--seed', 0),
    prefixCache: o.prefixCache,
    overheadSecondsPerCall: parseNumberOption(o.overhead, '--overhead', 0, MAX_TOOL_SECONDS),
  };
}

/** The options speculate, diffuse, decode and agent share. */
export function addDecodeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir|preset>', 'the target model: directory, config.json, or preset')
    .option('--fabrics <list>', 'comma-separated fabrics: wafer presets (wse3, …) and GPU presets (h100, b200, …)', 'wse3,h100')
    .option('--context <N>', 'positions attended by every pass (default min(4096, the model\'s positions))')
    .option('--dtype <dtype>', 'weights on every fabric: bf16 | int8', 'bf16')
    .option('--gpus <N>', 'tensor-parallel GPUs (default: the fewest that hold the model)')
    .option('--k <N>', 'drafted tokens per verify pass (default 4)')
    .option('--acceptance <a>', 'probability each drafted token is accepted, in [0, 1), or a per-position curve 0.9,0.8,… (default 0.8)')
    .option('--draft <preset>', 'the draft model (same vocabulary), priced on the same fabric')
    .option('--draft-fraction <f>', 'or the draft\'s cost as a fraction of the target\'s (default 0.1)')
    .option('--block <B>', 'diffusion block: tokens refined together (default 32)')
    .option('--steps <S>', 'diffusion refinement passes per block (default 8)')
    .option('--overhead-passes <n>', 'extra block passes per diffusion block, e.g. its KV write (default 1)');
}
