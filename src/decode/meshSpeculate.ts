// Speculative greedy decoding on the mesh engine with real numbers: the draft is the target itself quantised (its own
// program on the same fabric, its own tiles), proposing k tokens one step each; the target checks them. The mesh
// programs run one position per step, so the target's k + 1 verify positions run as consecutive engine steps (exact
// cycles and tokens). The verify is then charged two ways: those consecutive steps' cycles summed (no overlap), and
// as one pipelined pass by the multi-position cost (compiler/decode/passes.ts: first position's cycles, then each
// further position the slowest pipeline stage's share of a step, that share taken from the projection of the same
// model on the same fabric). Plain greedy decoding runs on the same target engine first; the two outputs must agree.
import { MeshEngine } from '../../fabric/mesh/engine.js';
import { castWeights } from '../../compiler/model/weights.js';
import { weightProvider } from '../../compiler/wafer/weights.js';
import { projectWafer } from '../../compiler/project/index.js';
import { checkK } from '../../compiler/decode/strategies.js';
import { InputError } from '../../fabric/errors.js';
import { prepareCompile, type CompileJob } from '../wafer/compileJob.js';
import { PROGRAM_DTYPES } from '../wafer/setup.js';
import { table } from './format.js';

export interface MeshSpeculateRequest {
  model: string;
  fabric: string;
  prompt: number[];
  tokens: number;
  k: number;
  draftDtype: string;
  maxSeq: number;
  /** The draft's weights seed for a runnable preset (default: the target's, 0): another seed is a draft that disagrees. */
  draftWeightsSeed?: number;
  /** Skip the plain greedy run (its tokens and cycles are then null). Default false. */
  skipPlain?: boolean;
}

export interface MeshSpeculation {
  model: string;
  fabric: string;
  targetDtype: string;
  draftDtype: string;
  draftWeightsSeed: number;
  k: number;
  prompt: number[];
  tokens: number[];
  /** Plain greedy decoding's tokens on the same target engine, and whether speculation reproduced them exactly. */
  plainTokens: number[] | null;
  matchesPlain: boolean | null;
  rounds: number;
  drafted: number;
  accepted: number;
  /** accepted ÷ drafted: the measured per-token acceptance (null when no round ran: one token, from the prompt). */
  acceptance: number | null;
  tokensPerRound: number;
  targetTiles: number;
  draftTiles: number;
  /** Mean target step cycles over plain decoding's decode steps. */
  plainCyclesPerToken: number | null;
  draftCycles: number;
  /** The verify positions as consecutive engine steps, summed (exact). */
  verifyCyclesSequential: number;
  /** The verify as one pipelined multi-position pass (first position exact, the rest by the multi-position cost). */
  verifyCyclesPipelined: number;
  /** The slowest stage's share of a step, from the projection of the model on this fabric. */
  stageShare: number;
  cyclesPerAcceptedTokenSequential: number;
  cyclesPerAcceptedTokenPipelined: number;
  clockHz: number;
  method: string;
}

export const MESH_SPECULATION_METHOD =
  'mesh engine, real numbers: the draft is the target quantised (its own program and tiles); verify positions run as consecutive engine steps (sequential: their cycles summed; pipelined: first position exact + (q − 1) × the slowest stage\'s share of a step, from the projection of the same model on this fabric)';

async function engineOf(job: CompileJob): Promise<MeshEngine> {
  const weights = castWeights(job.weights!, job.dtype);
  const r = job.result;
  return MeshEngine.create(job.spec, r.program, weightProvider(weights), { workers: 0, faults: r.engineFaults, linkExtraLatencyCycles: r.linkExtraLatencyCycles ?? undefined });
}

async function stepToken(engine: MeshEngine, token: number, position: number): Promise<{ token: number; cycles: number }> {
  const r = await engine.step({ token, position });
  const pair = r.outputs.get('token');
  if (!pair) throw new Error('mesh: the step produced no token output');
  return { token: Math.round(pair[1]), cycles: r.cycles };
}

/** Plain greedy: prompt one position per step, then one token per step. */
async function plainGreedy(engine: MeshEngine, prompt: number[], n: number): Promise<{ tokens: number[]; decodeCycles: number[] }> {
  const tokens: number[] = [];
  const decodeCycles: number[] = [];
  let input = prompt[0];
  for (let s = 0; s < prompt.length + n - 1; s++) {
    const r = await stepToken(engine, input, s);
    if (s >= prompt.length) decodeCycles.push(r.cycles);
    if (s + 1 < prompt.length) input = prompt[s + 1];
    else {
      tokens.push(r.token);
      input = r.token;
    }
  }
  return { tokens, decodeCycles };
}

function validate(req: MeshSpeculateRequest): void {
  checkK(req.k);
  if (req.fabric.includes(',')) throw new InputError(`--mesh runs on one fabric, got "${req.fabric}"`, '--fabrics', 'give one wafer fabric, e.g. mini-64');
  if (req.tokens > 256) throw new InputError(`${req.tokens} tokens is more than a mesh run here allows`, '--tokens', 'give at most 256');
  // The last verify may look k positions past the last token.
  const need = req.prompt.length + req.tokens + req.k;
  if (need > req.maxSeq) throw new InputError(`prompt + tokens + k needs ${need} positions but the KV caches hold ${req.maxSeq}`, '--max-seq', `give --max-seq ${need} or more, or fewer --tokens`);
}

export async function speculateOnMesh(req: MeshSpeculateRequest): Promise<MeshSpeculation> {
  validate(req);
  if (!(PROGRAM_DTYPES as readonly string[]).includes(req.draftDtype)) throw new InputError(`unsupported draft dtype "${req.draftDtype}"`, '--draft-dtype', `use one of ${PROGRAM_DTYPES.join(', ')}`);
  const draftDtype = req.draftDtype;
  const base = { model: req.model, fabric: req.fabric, maxSeq: String(req.maxSeq) };
  const target = prepareCompile(base, true);
  const draft = prepareCompile({ ...base, dtype: draftDtype, weightsSeed: String(req.draftWeightsSeed ?? 0) }, true);
  const bad = req.prompt.find((t) => t >= target.config.vocabSize);
  if (bad !== undefined) throw new InputError(`token id ${bad} is outside the vocabulary of ${target.config.vocabSize}`, '--prompt', `use ids below ${target.config.vocabSize}`);
  const proj = projectWafer(target.config, target.spec, { batch: 1, promptLength: 1, context: req.maxSeq });
  const stageShare = proj.slowestStageSeconds / proj.tokenLatencySeconds;

  const t = await engineOf(target);
  const d = await engineOf(draft);
  try {
    const plain = req.skipPlain ? null : await plainGreedy(t, req.prompt, req.tokens);
    // Prefill both; the target's last prompt step gives the first token.
    let first = 0;
    for (let p = 0; p < req.prompt.length; p++) {
      first = (await stepToken(t, req.prompt[p], p)).token;
      await stepToken(d, req.prompt[p], p);
    }
    const seq = [...req.prompt, first];
    // The draft's KV is valid for seq[0 .. draftFed − 1]; the target's for seq[0 .. seq.length − 2].
    let draftFed = req.prompt.length;
    let rounds = 0;
    let drafted = 0;
    let accepted = 0;
    let draftCycles = 0;
    let verifySeq = 0;
    let verifyPipe = 0;
    while (seq.length - req.prompt.length < req.tokens) {
      rounds++;
      const n = seq.length;
      // Catch the draft up on tokens it has not seen (the last round's accepted drafts beyond its own steps).
      for (; draftFed < n - 1; draftFed++) draftCycles += (await stepToken(d, seq[draftFed], draftFed)).cycles;
      const proposal: number[] = [];
      let input = seq[n - 1];
      for (let i = 0; i < req.k; i++) {
        const r = await stepToken(d, input, n - 1 + i);
        draftCycles += r.cycles;
        proposal.push(r.token);
        input = r.token;
      }
      draftFed = n - 1 + req.k;
      // Verify: the target at positions n − 1 … n − 1 + k, all k + 1 run for their exact cycles.
      const outs: number[] = [];
      const inputs = [seq[n - 1], ...proposal];
      for (let i = 0; i <= req.k; i++) {
        const r = await stepToken(t, inputs[i], n - 1 + i);
        outs.push(r.token);
        verifySeq += r.cycles;
        if (i === 0) verifyPipe += r.cycles * (1 + req.k * stageShare);
      }
      let j = 0;
      while (j < req.k && proposal[j] === outs[j]) j++;
      drafted += req.k;
      accepted += j;
      seq.push(...proposal.slice(0, j), outs[j]);
      // The draft saw proposal[0 .. k − 2] as inputs; only its accepted prefix stays valid.
      draftFed = Math.min(draftFed, n + j);
    }
    const tokens = seq.slice(req.prompt.length, req.prompt.length + req.tokens);
    // Tokens the rounds produced (the first came from the prompt's last step, as in plain decoding).
    const produced = seq.length - req.prompt.length - 1;
    const plainTokens = plain ? plain.tokens : null;
    return {
      model: target.config.name,
      fabric: target.spec.name,
      targetDtype: target.dtype,
      draftDtype: draft.dtype,
      draftWeightsSeed: req.draftWeightsSeed ?? 0,
      k: req.k,
      prompt: req.prompt,
      tokens,
      plainTokens,
      matchesPlain: plainTokens ? plainTokens.every((x, i) => x === tokens[i]) : null,
      rounds,
      drafted,
      accepted,
      acceptance: drafted > 0 ? accepted / drafted : null,
      tokensPerRound: rounds > 0 ? produced / rounds : 0,
      targetTiles: target.result.program.tiles.filter((x) => x.tasks.length > 0).length,
      draftTiles: draft.result.program.tiles.filter((x) => x.tasks.length > 0).length,
      plainCyclesPerToken: plain && plain.decodeCycles.length > 0 ? plain.decodeCycles.reduce((a, c) => a + c, 0) / plain.decodeCycles.length : null,
      draftCycles,
      verifyCyclesSequential: verifySeq,
      verifyCyclesPipelined: verifyPipe,
      stageShare,
      cyclesPerAcceptedTokenSequential: produced > 0 ? (draftCycles + verifySeq) / produced : 0,
      cyclesPerAcceptedTokenPipelined: produced > 0 ? (draftCycles + verifyPipe) / produced : 0,
      clockHz: target.spec.clockHz,
      method: MESH_SPECULATION_METHOD,
    };
  } finally {
    await t.close();
    await d.close();
  }
}

export function formatMeshSpeculation(r: MeshSpeculation): string {
  const perToken = (c: number) => `${Math.round(c)} cycles = ${((r.clockHz / c) | 0).toString()} tokens/s`;
  const lines = [
    `${r.model} on ${r.fabric}, mesh engine with real numbers: target ${r.targetDtype} (${r.targetTiles} tiles), draft = the target in ${r.draftDtype}${r.draftWeightsSeed !== 0 ? ` with the weights of seed ${r.draftWeightsSeed}` : ''} (${r.draftTiles} tiles), k ${r.k}`,
    `  tokens            ${r.tokens.join(',')}`,
    r.matchesPlain === null ? '  plain greedy      not run' : `  plain greedy      ${r.matchesPlain ? 'the same tokens, token for token' : `DIFFERENT: ${r.plainTokens!.join(',')}`}`,
    `  acceptance        ${r.accepted} of ${r.drafted} drafted tokens accepted (${r.acceptance === null ? '-' : (100 * r.acceptance).toFixed(1)}%), ${r.tokensPerRound.toFixed(2)} tokens per verify over ${r.rounds} rounds`,
    '',
    ...table(
      ['cycles per accepted token', 'value'],
      [
        ['plain greedy (one step per token)', r.plainCyclesPerToken === null ? '-' : perToken(r.plainCyclesPerToken)],
        ['speculative, verify as consecutive steps', perToken(r.cyclesPerAcceptedTokenSequential)],
        ['speculative, verify as one pipelined pass', perToken(r.cyclesPerAcceptedTokenPipelined)],
      ],
    ),
    '',
    `  the verify's positions ran as consecutive engine steps (exact tokens and cycles); "pipelined" charges each verify its first position's cycles + (q − 1) × ${r.stageShare.toFixed(3)} of them (the slowest stage's share of a step in the projection of ${r.model} on ${r.fabric})`,
  ];
  return lines.join('\n');
}
