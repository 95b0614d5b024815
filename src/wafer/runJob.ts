// Running a compiled model on the mesh engine: prefill the prompt one token per step, then greedy decode, checking
// every step's token (and, in f32, its logits) against the reference forward pass in the same dtype.
import { MeshEngine, type MeshStats } from '../../fabric/mesh/engine.js';
import { ReferenceModel } from '../../compiler/reference/forward.js';
import { castWeights, type ModelWeights } from '../../compiler/model/weights.js';
import { weightProvider } from '../../compiler/wafer/weights.js';
import type { CompileResult } from '../../compiler/wafer/compile.js';
import type { FabricSpec } from '../../fabric/spec/index.js';
import type { Program } from '../../fabric/isa/types.js';
import { InputError } from '../../fabric/errors.js';
import type { CompileJob } from './compileJob.js';
import type { JobPoolFactory, StripPoolFactory } from '../../fabric/mesh/pool.js';

export interface MeshRunResult {
  tokens: number[];
  steps: number;
  prefillCycles: number;
  decodeCyclesPerToken: number;
  stepCycles: number[];
  tokensPerSecond: number;
  clockHz: number;
  tilesUsed: number;
  deadTiles: number;
  matchesReference: boolean;
  /** Largest |mesh − reference| / max |reference| over the logits of every step. */
  maxLogitRelativeError: number;
  utilisation: { fmacOfPeak: number; sramBandwidthOfPeak: number; linkUtilisation: number; busyTileFraction: number };
  stats: { waveletsMoved: number; waveletHops: number; fmacOps: number; sramReadBytes: number; tasksRun: number };
  experts: { layer: number; expert: number; meshBusyCycles: number; referenceSelections: number }[] | null;
  faultCost: { faultFreeDecodeCyclesPerToken: number; extraCyclesPerToken: number; extraLinkHopsPerToken: number } | null;
  wallSeconds: number;
  /** Per-tile counters of the engine (y * width + x), when asked for with `tileStats`: for heatmaps. */
  tileStats?: TileStats;
}

export interface TileStats {
  widthTiles: number;
  heightTiles: number;
  /** Cycles over every step of the run. */
  totalCycles: number;
  /** Per tile: CE cycles running tasks, and waiting on a full send queue. */
  tileBusyCycles: Float64Array;
  tileStalledCycles: Float64Array;
}

async function createEngine(spec: FabricSpec, r: CompileResult, weights: ModelWeights, workers: number, pool: JobPoolFactory | undefined, stripPool?: StripPoolFactory): Promise<MeshEngine> {
  return MeshEngine.create(spec, r.program, weightProvider(weights), { workers, pool, stripPool, faults: r.engineFaults, linkExtraLatencyCycles: r.linkExtraLatencyCycles ?? undefined });
}

/** Runs `prompt` then greedy decoding of `newTokens` tokens; returns per-step cycles and the tokens. */
async function meshGenerate(engine: MeshEngine, prompt: number[], newTokens: number, check?: (step: number, input: number, token: number, logits: (name: string) => Float32Array | undefined) => void): Promise<{ tokens: number[]; stepCycles: number[] }> {
  const tokens: number[] = [];
  const stepCycles: number[] = [];
  let input = prompt[0];
  const steps = prompt.length + newTokens - 1;
  for (let s = 0; s < steps; s++) {
    const r = await engine.step({ token: input, position: s });
    stepCycles.push(r.cycles);
    const pair = r.outputs.get('token');
    if (!pair) throw new Error('mesh: the step produced no token output');
    const token = Math.round(pair[1]);
    check?.(s, input, token, (n) => r.outputs.get(n));
    if (s + 1 < prompt.length) input = prompt[s + 1];
    else {
      tokens.push(token);
      input = token;
    }
  }
  return { tokens, stepCycles };
}

export async function runOnMesh(
  job: CompileJob,
  prompt: number[],
  newTokens: number,
  opts: { workers: number; pool?: JobPoolFactory; stripPool?: StripPoolFactory; baseline: boolean; tileStats?: boolean; onStep?: (done: number, total: number) => void },
): Promise<MeshRunResult> {
  const t0 = performance.now();
  if (!job.weights) throw new InputError(`model ${job.config.name} has no weights to run`, '--model', 'use a model directory or a runnable preset');
  const steps = prompt.length + newTokens - 1;
  if (steps > job.maxSeq) throw new InputError(`prompt + tokens needs ${steps} positions but the KV caches hold ${job.maxSeq}`, '--tokens', `generate fewer tokens or raise --max-seq to ${steps}`);
  const bad = prompt.find((t) => t >= job.config.vocabSize);
  if (bad !== undefined) throw new InputError(`token id ${bad} is outside the vocabulary of ${job.config.vocabSize}`, '--prompt', `use ids below ${job.config.vocabSize}`);
  const weights = castWeights(job.weights, job.dtype);
  const reference = new ReferenceModel(weights, { maxSeq: job.maxSeq });
  const { spec, result } = job;
  const engine = await createEngine(spec, result, weights, opts.workers, opts.pool, opts.stripPool);
  let stats: MeshStats;
  let maxRel = 0;
  const selections = new Map<string, number>();
  let gen: { tokens: number[]; stepCycles: number[] };
  try {
    gen = await meshGenerate(engine, prompt, newTokens, (s, input, token, logitsOf) => {
      const ref = reference.step(input);
      reference.lastRouting.forEach((choice, layer) => choice?.indices.forEach((e) => selections.set(`${layer}.${e}`, (selections.get(`${layer}.${e}`) ?? 0) + 1)));
      let refMax = 0;
      for (const v of ref) refMax = Math.max(refMax, Math.abs(v));
      for (const { name, offset } of result.program.logitOutputs) {
        const slice = logitsOf(name);
        if (!slice) continue;
        for (let i = 0; i < slice.length; i++) maxRel = Math.max(maxRel, Math.abs(slice[i] - ref[offset + i]) / refMax);
      }
      let best = 0;
      for (let i = 1; i < ref.length; i++) if (ref[i] > ref[best]) best = i;
      if (token !== best) {
        throw new Error(`mesh and reference disagree at step ${s} (position ${s}): mesh chose token ${token}, the reference ${best} (logits relative error so far ${maxRel.toExponential(2)})`);
      }
      opts.onStep?.(s + 1, steps);
    });
    stats = engine.stats();
  } finally {
    await engine.close();
  }
  let faultCost: MeshRunResult['faultCost'] = null;
  const decodeOf = (cycles: number[]) => (cycles.length > prompt.length ? mean(cycles.slice(prompt.length)) : cycles[cycles.length - 1]);
  const decodeCyclesPerToken = decodeOf(gen.stepCycles);
  if (opts.baseline && job.baseline) {
    const base = await createEngine(spec, job.baseline, weights, opts.workers, opts.pool, opts.stripPool);
    try {
      const b = await meshGenerate(base, prompt, newTokens);
      const bs = base.stats();
      const baseDecode = decodeOf(b.stepCycles);
      faultCost = { faultFreeDecodeCyclesPerToken: baseDecode, extraCyclesPerToken: decodeCyclesPerToken - baseDecode, extraLinkHopsPerToken: (stats.waveletHops - bs.waveletHops) / steps };
    } finally {
      await base.close();
    }
  }
  const tilesUsed = result.program.tiles.filter((t) => t.tasks.length > 0 || t.buffers.length > 0).length;
  const simd = job.dtype === 'f32' ? spec.simdWidth.f32 : job.dtype === 'int8' ? spec.simdWidth.int8 : spec.simdWidth.f16;
  const links = countLinks(result.program);
  let busyTiles = 0;
  for (let i = 0; i < stats.tileBusyCycles.length; i++) if (stats.tileBusyCycles[i] > 0) busyTiles++;
  // Every (layer, expert) pair of the model: CE cycles its tiles spent on the mesh, and how often the reference chose it.
  const moe = job.config.moe;
  const expertBusy = expertBusyCycles(result, stats);
  const experts = moe && expertBusy
    ? Array.from({ length: job.config.numLayers }, (_, layer) => layer)
        .filter((layer) => layer >= moe.firstDenseLayers)
        .flatMap((layer) =>
          Array.from({ length: moe.numExperts }, (_, expert) => ({
            layer,
            expert,
            meshBusyCycles: expertBusy.get(`${layer}.${expert}`) ?? 0,
            referenceSelections: selections.get(`${layer}.${expert}`) ?? 0,
          })),
        )
    : null;
  return {
    tokens: gen.tokens,
    steps,
    prefillCycles: gen.stepCycles.slice(0, prompt.length).reduce((s, c) => s + c, 0),
    decodeCyclesPerToken,
    stepCycles: gen.stepCycles,
    tokensPerSecond: spec.clockHz / decodeCyclesPerToken,
    clockHz: spec.clockHz,
    tilesUsed,
    deadTiles: result.report.deadTiles,
    matchesReference: true,
    maxLogitRelativeError: maxRel,
    utilisation: {
      fmacOfPeak: stats.fmacOps / (stats.cycles * simd * tilesUsed),
      sramBandwidthOfPeak: stats.sramReadBytes / (stats.cycles * spec.sramReadsPerCycle * spec.sramAccessBytes * tilesUsed),
      linkUtilisation: stats.waveletHops / (stats.cycles * Math.max(1, links)),
      busyTileFraction: busyTiles / tilesUsed,
    },
    stats: { waveletsMoved: stats.waveletsMoved, waveletHops: stats.waveletHops, fmacOps: stats.fmacOps, sramReadBytes: stats.sramReadBytes, tasksRun: stats.tasksRun },
    experts,
    faultCost,
    wallSeconds: (performance.now() - t0) / 1000,
    ...(opts.tileStats
      ? { tileStats: { widthTiles: stats.widthTiles, heightTiles: stats.heightTiles, totalCycles: stats.cycles, tileBusyCycles: stats.tileBusyCycles, tileStalledCycles: stats.tileStalledCycles } }
      : {}),
  };
}

/** CE cycles of each routed expert's tiles, keyed "layer.expert" (null: the program's tiles carry no tags). */
function expertBusyCycles(result: CompileResult, stats: MeshStats): Map<string, number> | null {
  if (!result.tileTags) return null;
  const busy = new Map<string, number>();
  result.program.tiles.forEach((t, k) => {
    const tag = result.tileTags![k];
    if (typeof tag.expert !== 'number') return;
    const key = `${tag.layer}.${tag.expert}`;
    busy.set(key, (busy.get(key) ?? 0) + stats.tileBusyCycles[t.y * stats.widthTiles + t.x]);
  });
  return busy;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Distinct directed links the program's routes use (the denominator of link utilisation). */
function countLinks(program: Program): number {
  const links = new Set<string>();
  for (const t of program.tiles) for (const e of t.routes) for (const p of e.to) if (p !== 'ramp') links.add(`${t.x},${t.y},${p}`);
  return links.size;
}
