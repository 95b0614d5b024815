// One model on several fabrics under each decoding lever: plain, speculative (at a given k and at the best k),
// block diffusion, and both (a diffusion draft verified by the target) — and an agent task's wall time under each.
// Every figure comes from the fabric's multi-position pass (passes.ts); the draft is priced on the same fabric.
import { InputError, OptionError } from '../../fabric/errors.js';
import type { FabricSpec } from '../../fabric/spec/schema.js';
import type { GpuSpec } from '../../fabric/gpu/spec.js';
import type { ModelConfig } from '../model/config.js';
import { gpuPasses, waferPasses, type PassModel } from './passes.js';
import {
  bestK,
  checkAcceptance,
  checkDiffusion,
  checkK,
  diffusion,
  diffusionDraft,
  fractionDraft,
  plain,
  speculative,
  type Acceptance,
  type BothResult,
  type DiffusionOptions,
  type DiffusionResult,
  type PassCost,
  type PlainResult,
  type SpeculativeResult,
} from './strategies.js';
import { agentWall, decodeRates, finalContext, planCalls, type AgentTask, type WallSplit } from './agent.js';

export type DecodeFabric = { kind: 'wafer'; name: string; spec: FabricSpec } | { kind: 'gpu'; name: string; gpu: GpuSpec };

/** The draft: a model of the same vocabulary priced on the same fabric, or a fraction of the target's passes. */
export type DraftChoice = { kind: 'model'; cfg: ModelConfig } | { kind: 'fraction'; fraction: number };

/** Assumption (docs/decoding.md#defaults): a draft costing a tenth of the target, e.g. a 1B draft for an 8B target. */
export const DEFAULT_DRAFT_FRACTION = 0.1;
export const DEFAULT_K = 4;
export const DEFAULT_ACCEPTANCE = 0.8;
/** LLaDA's semi-autoregressive block length (docs/decoding.md#defaults); steps: an assumption, 4 tokens per pass. */
export const DEFAULT_BLOCK = 32;
export const DEFAULT_STEPS = 8;
export const DEFAULT_CONTEXT = 4096;
/** Largest k the best-k search visits. */
export const K_SEARCH_MAX = 16;

export interface DecodeOptions {
  /** Positions attended (default 4096, capped by the model's max positions). */
  context?: number;
  dtype?: 'bf16' | 'int8';
  /** Tensor-parallel GPUs (default: the fewest that hold the model). */
  gpus?: number;
  draft?: DraftChoice;
  acceptance?: Acceptance;
  k?: number;
  diffusion?: DiffusionOptions;
}

export interface DraftReport {
  model: string | null;
  fraction: number | null;
  /** One draft step (one position) on this fabric. */
  stepSeconds: number;
  /** Wafers or GPUs the draft's own projection or lowering uses (null for a fraction). */
  devices: number | null;
  /** Wafer: tiles the draft needs, and the tiles the target leaves free on its wafers. */
  tiles: number | null;
  spareTiles: number | null;
}

export interface FabricDecode {
  fabric: string;
  kind: 'wafer' | 'gpu';
  devices: number;
  context: number;
  method: string;
  /** Seconds of a q-position pass for q = 1 … K_SEARCH_MAX + 1 (index q − 1). */
  passSeconds: number[];
  plain: PlainResult;
  speculative: SpeculativeResult;
  bestSpeculative: SpeculativeResult;
  diffusion: DiffusionResult;
  both: BothResult;
  draft: DraftReport;
}

export interface DecodeStudy {
  model: string;
  context: number;
  acceptance: Acceptance;
  k: number;
  diffusionOptions: Required<DiffusionOptions>;
  fabrics: FabricDecode[];
  notes: string[];
}

export function contextFor(cfg: ModelConfig, context: number | undefined): number {
  const c = context ?? Math.min(DEFAULT_CONTEXT, cfg.maxPositionEmbeddings);
  if (!Number.isInteger(c) || c < 1) throw new OptionError('context', `context must be a whole number ≥ 1, got ${c}`, 'give 1 or more');
  if (c > cfg.maxPositionEmbeddings) throw new OptionError('context', `context ${c} is longer than ${cfg.name}'s ${cfg.maxPositionEmbeddings} positions`, `give at most ${cfg.maxPositionEmbeddings}`);
  return c;
}

export function passModelFor(cfg: ModelConfig, f: DecodeFabric, o: { context: number; dtype?: 'bf16' | 'int8'; gpus?: number }): PassModel & { tiles?: number; spareTiles?: number } {
  if (f.kind === 'wafer') {
    const w = waferPasses(cfg, f.spec, { context: o.context, dtype: o.dtype });
    const used = w.report.tilesPerWafer.reduce((a, t) => a + t, 0);
    return { ...w, tiles: used, spareTiles: w.report.wafers * w.report.usableTilesPerWafer - used };
  }
  return gpuPasses(cfg, f.gpu, { context: o.context, gpus: o.gpus, dtype: o.dtype });
}

export function checkDraft(target: ModelConfig, draft: DraftChoice | undefined): void {
  if (draft?.kind === 'model' && draft.cfg.vocabSize !== target.vocabSize) {
    throw new OptionError('draft', `the draft ${draft.cfg.name} has a vocabulary of ${draft.cfg.vocabSize} tokens, the target ${target.name} ${target.vocabSize}`, (name) => `give a draft of the same tokenizer (e.g. llama-3.1-8b for llama-3.1-70b), or ${name('draftFraction')}`);
  }
}

/** The draft's passes on the target's fabric and what it costs there. */
function draftOn(target: PassModel & { spareTiles?: number }, f: DecodeFabric, draft: DraftChoice, o: { context: number; dtype?: 'bf16' | 'int8' }): { cost: PassCost; report: DraftReport } {
  if (draft.kind === 'fraction') {
    const cost = fractionDraft(target.pass, draft.fraction);
    return { cost, report: { model: null, fraction: draft.fraction, stepSeconds: cost(1), devices: null, tiles: null, spareTiles: target.spareTiles ?? null } };
  }
  // On GPUs the draft shares the target's group where its heads split that way (else its own fewest GPUs).
  const gpus = f.kind === 'gpu' && draft.cfg.numHeads % target.devices === 0 ? target.devices : undefined;
  let d: PassModel & { tiles?: number };
  try {
    d = passModelFor(draft.cfg, f, { ...o, gpus });
  } catch (e) {
    if (!(e instanceof InputError) || gpus === undefined) throw e;
    d = passModelFor(draft.cfg, f, o);
  }
  return { cost: d.pass, report: { model: draft.cfg.name, fraction: null, stepSeconds: d.pass(1), devices: d.devices, tiles: d.tiles ?? null, spareTiles: target.spareTiles ?? null } };
}

function resolveDecode(cfg: ModelConfig, o: DecodeOptions) {
  const context = contextFor(cfg, o.context);
  const acceptance = o.acceptance ?? DEFAULT_ACCEPTANCE;
  checkAcceptance(acceptance);
  const k = o.k ?? DEFAULT_K;
  checkK(k);
  const diffusionOptions = { block: o.diffusion?.block ?? DEFAULT_BLOCK, steps: o.diffusion?.steps ?? DEFAULT_STEPS, overheadPasses: o.diffusion?.overheadPasses ?? 1 };
  checkDiffusion(diffusionOptions);
  const draft = o.draft ?? { kind: 'fraction', fraction: DEFAULT_DRAFT_FRACTION };
  checkDraft(cfg, draft);
  if (draft.kind === 'fraction') fractionDraft(() => 1, draft.fraction);
  return { context, acceptance, k, diffusionOptions, draft };
}

/** Every lever on one fabric. */
export function decodeOnFabric(cfg: ModelConfig, f: DecodeFabric, o: DecodeOptions, built?: PassModel & { spareTiles?: number }): FabricDecode {
  const r = resolveDecode(cfg, o);
  const target = built ?? passModelFor(cfg, f, { context: r.context, dtype: o.dtype, gpus: o.gpus });
  const draft = draftOn(target, f, r.draft, { context: r.context, dtype: o.dtype });
  return {
    fabric: f.name,
    kind: f.kind,
    devices: target.devices,
    context: target.context,
    method: target.method,
    passSeconds: Array.from({ length: K_SEARCH_MAX + 1 }, (_, i) => target.pass(i + 1)),
    plain: plain(target.pass),
    speculative: speculative(target.pass, draft.cost, r.acceptance, r.k),
    bestSpeculative: bestK(target.pass, draft.cost, r.acceptance, K_SEARCH_MAX),
    diffusion: diffusion(target.pass, r.diffusionOptions),
    both: diffusionDraft(target.pass, draft.cost, r.acceptance, r.diffusionOptions),
    draft: draft.report,
  };
}

export const DECODE_NOTES = [
  'speculative decoding is greedy and lossless: the output is the target\'s own greedy output; acceptance is a parameter here (`wafer speculate` measures it on the mesh)',
  'diffusion assumes a diffusion LM of the target\'s architecture and size: each of its S steps is one B-position pass of the target\'s cost',
  'both: a diffusion draft (the draft\'s cost, B positions per step) proposes a block the target verifies in one (B + 1)-position pass',
];

export function decodeStudy(cfg: ModelConfig, fabrics: readonly DecodeFabric[], o: DecodeOptions, onProgress?: (done: number, total: number) => void): DecodeStudy {
  const r = resolveDecode(cfg, o);
  const rows = fabrics.map((f, i) => {
    const row = decodeOnFabric(cfg, f, o);
    onProgress?.(i + 1, fabrics.length);
    return row;
  });
  const notes = [...DECODE_NOTES];
  for (const row of rows) {
    if (row.kind === 'gpu' && row.draft.model) notes.push(`${row.fabric}: the draft's weights and KV are assumed to fit beside the target's`);
    if (row.kind === 'wafer' && row.draft.tiles !== null && row.draft.spareTiles !== null && row.draft.tiles > row.draft.spareTiles) notes.push(`${row.fabric}: the draft needs ${row.draft.tiles} tiles, more than the ${row.draft.spareTiles} the target leaves free: it needs wafers of its own`);
  }
  return { model: cfg.name, context: r.context, acceptance: r.acceptance, k: r.k, diffusionOptions: r.diffusionOptions, fabrics: rows, notes };
}

// ---- agent loops -------------------------------------------------------------------------------------------------

export type LeverName = 'plain' | 'speculative' | 'diffusion';
export const LEVERS: readonly LeverName[] = ['plain', 'speculative', 'diffusion'];

export interface AgentLever {
  lever: LeverName;
  decodeTokensPerSecond: number;
  withPrefixCache: WallSplit;
  withoutPrefixCache: WallSplit;
}

export interface AgentFabric {
  fabric: string;
  kind: 'wafer' | 'gpu';
  devices: number;
  context: number;
  levers: AgentLever[];
  /** The chart's curve: the task's wall time (with the task's prefix-cache choice) against decode tokens/s. */
  curve: { decodeTokensPerSecond: number; wallSeconds: number }[];
}

export interface AgentStudy {
  model: string;
  task: AgentTask;
  /** Tokens in the sequence when the task ends; the passes are timed at this context (an upper bound for early calls). */
  context: number;
  toolSecondsTotal: number;
  fabrics: AgentFabric[];
  notes: string[];
}

export function agentStudy(cfg: ModelConfig, fabrics: readonly DecodeFabric[], task: AgentTask, o: DecodeOptions, onProgress?: (done: number, total: number) => void): AgentStudy {
  const calls = planCalls(task);
  const context = finalContext(task);
  if (context > cfg.maxPositionEmbeddings) throw new OptionError('calls', `the task grows to ${context} tokens, more than ${cfg.name}'s ${cfg.maxPositionEmbeddings} positions`, 'give fewer calls, or fewer output or tool tokens per call');
  const rates = decodeRates();
  const out = fabrics.map((f, i) => {
    const target = passModelFor(cfg, f, { context, dtype: o.dtype, gpus: o.gpus });
    const d = decodeOnFabric(cfg, f, { ...o, context }, target);
    const rateOf: Record<LeverName, number> = { plain: d.plain.tokensPerSecond, speculative: d.speculative.tokensPerSecond, diffusion: d.diffusion.tokensPerSecond };
    const levers = LEVERS.map((lever) => ({
      lever,
      decodeTokensPerSecond: rateOf[lever],
      withPrefixCache: agentWall(calls, { ...task, prefixCache: true }, target.prefill, rateOf[lever]),
      withoutPrefixCache: agentWall(calls, { ...task, prefixCache: false }, target.prefill, rateOf[lever]),
    }));
    const curve = rates.map((rate) => ({ decodeTokensPerSecond: rate, wallSeconds: agentWall(calls, task, target.prefill, rate).total }));
    onProgress?.(i + 1, fabrics.length);
    return { fabric: f.name, kind: f.kind, devices: d.devices, context: d.context, levers, curve };
  });
  return {
    model: cfg.name,
    task,
    context,
    toolSecondsTotal: calls.reduce((s, c) => s + c.toolSeconds, 0),
    fabrics: out,
    notes: ['every pass is timed at the task\'s final context (an upper bound for the early calls)', 'the last call\'s answer ends the task: N calls, N − 1 tool calls', ...DECODE_NOTES.slice(0, 2)],
  };
}
