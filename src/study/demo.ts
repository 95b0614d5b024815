// The demo as a study: a toy MoE model is written to disk and read back, a seeded 1% fault map is injected into a small
// wafer, the model is compiled around the faults and run cycle by cycle (tokens checked against the reference), the
// same model runs on the H100 emulator, and the real-size memory wall — every model preset projected onto a full
// WSE-3 and estimated on H100s and B200s — is computed beside it. The result is plain records: the terminal table,
// --json and the HTML report all read these, so a figure shown twice is the same figure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimateGpu } from '../../compiler/gpu/estimate.js';
import { runOnGpu } from '../../compiler/gpu/run.js';
import { countParameters } from '../../compiler/model/config.js';
import { findPreset, getPreset } from '../../compiler/model/presets.js';
import { syntheticWeights } from '../../compiler/model/synthetic.js';
import { castWeights, weightsToSafetensors } from '../../compiler/model/weights.js';
import { getGpuPreset } from '../../fabric/gpu/spec.js';
import { loadModelDir } from '../io/loadModel.js';
import { prepareCompile } from '../wafer/compileJob.js';
import { runOnMesh, type MeshRunResult } from '../wafer/runJob.js';
import { compareFabrics, projectionJobs, resolveFabricArg, type CompareOptions, type CompareResult, type SweepPoint, type WallMark } from './compare.js';
import { runProjections } from './projectPool.js';
import { buildReportData, meshRunPoint, type ReportData } from './reportData.js';
import { faultSettingOf } from './setting.js';

export const DEMO = Object.freeze({
  model: 'toy-moe',
  fabric: 'mini-64',
  faultDensity: '0.01',
  faultSeed: '1',
  dtype: 'bf16',
  spread: '0.6',
  prompt: [1, 2, 3],
  tokens: 8,
  gpu: 'h100',
  /** The real-size model the table and the headline name; the chart shows every preset. */
  realModel: 'llama-3.1-8b',
  realFabrics: ['wse3', 'h100', 'b200'],
  realPrompt: 1024,
  realContext: 4096,
});

export interface DemoToy {
  model: string;
  totalParams: number;
  wafer: Pick<MeshRunResult, 'tilesUsed' | 'deadTiles' | 'tokens' | 'matchesReference' | 'decodeCyclesPerToken' | 'tokensPerSecond' | 'faultCost'> & { fabric: string; point: SweepPoint };
  gpu: { gpu: string; tokens: number[]; sameTokens: boolean; point: SweepPoint; memoryShare: number; launchShare: number };
}

export interface DemoData {
  seconds: number;
  toy: DemoToy;
  /** The real-size memory wall: the model presets on a full wafer and on GPUs (the table's real-size row is its point for DEMO.realModel). */
  real: CompareResult;
}

export interface DemoHooks {
  workers: number;
  /** Only the table's real-size model, no sweep over the presets (seconds instead of a minute of CPU). */
  quick?: boolean;
  say: (line: string) => void;
  onProjection?: (done: number, total: number) => void;
}

export function realSizeOptions(quick = false): CompareOptions {
  return { model: getPreset(DEMO.realModel), fabrics: DEMO.realFabrics.map((f) => resolveFabricArg(f)), batches: [1], dtype: 'bf16', promptLength: DEMO.realPrompt, contextLength: DEMO.realContext, sweepModels: !quick };
}

/** The toy run on the faulty mesh and on the GPU emulator (the model written to `dir` and read back). */
async function toyRun(dir: string, hooks: DemoHooks) {
  const cfg = getPreset(DEMO.model);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...findPreset(DEMO.model)!.hfConfig, _name_or_path: DEMO.model }, null, 2));
  writeFileSync(join(dir, 'model.safetensors'), weightsToSafetensors(syntheticWeights(cfg, 0)));
  hooks.say(`1/4 wrote ${DEMO.model} (Hugging Face config.json + model.safetensors) and read it back`);
  hooks.say(`2/4 compiling onto ${DEMO.fabric} with ${Number(DEMO.faultDensity) * 100}% defective tiles and running ${DEMO.tokens} tokens cycle by cycle…`);
  const faultOptions = { faultDensity: DEMO.faultDensity, seed: DEMO.faultSeed };
  const job = prepareCompile({ model: dir, fabric: DEMO.fabric, ...faultOptions, dtype: DEMO.dtype, spread: DEMO.spread, maxSeq: '16' }, true);
  const { tileStats, ...wafer } = await runOnMesh(job, DEMO.prompt, DEMO.tokens, { workers: 0, baseline: true, tileStats: true });
  const faults = faultSettingOf(faultOptions, wafer.deadTiles);
  const point = { ...meshRunPoint(job, wafer, DEMO.prompt, faults), model: DEMO.model };

  hooks.say(`3/4 the same model on the ${DEMO.gpu} emulator…`);
  const gpuSpec = getGpuPreset(DEMO.gpu);
  const weights = castWeights(loadModelDir(dir), DEMO.dtype as 'bf16');
  const gpuTokens = runOnGpu(weights, gpuSpec, DEMO.prompt, DEMO.tokens, { gpus: 1 }).tokens;
  // Timed at the same prompt and last context as the mesh run, so the two toy figures answer the same question.
  const g = estimateGpu(cfg, gpuSpec, { promptLength: DEMO.prompt.length, contextLength: point.setting.contextLength, dtype: 'bf16' });
  const gpuPoint: SweepPoint = {
    ...point,
    decodeTokensPerSecond: g.decodeTokensPerSecond,
    setting: { source: 'GPU emulator', batch: g.batch, promptLength: g.promptLength, contextLength: g.contextLength, dtype: 'bf16', spread: null, hubSlices: null, faults: null },
  };
  const toy: DemoToy = {
    model: DEMO.model,
    totalParams: countParameters(cfg).total,
    wafer: { fabric: job.spec.name, tilesUsed: wafer.tilesUsed, deadTiles: wafer.deadTiles, tokens: wafer.tokens, matchesReference: wafer.matchesReference, decodeCyclesPerToken: wafer.decodeCyclesPerToken, tokensPerSecond: point.decodeTokensPerSecond, faultCost: wafer.faultCost, point },
    gpu: { gpu: DEMO.gpu, tokens: gpuTokens, sameTokens: gpuTokens.join() === wafer.tokens.join(), point: gpuPoint, memoryShare: g.boundBy.memory, launchShare: g.boundBy.launch },
  };
  return { toy, job, run: { result: wafer, stats: tileStats!, prompt: DEMO.prompt }, faults };
}

/** The toy marks drawn on the real-size memory wall. */
export function toyMarks(toy: DemoToy): WallMark[] {
  return [
    { label: `toy run: ${toy.model} on faulty ${toy.wafer.fabric}`, fabric: toy.wafer.fabric, kind: 'wafer', point: toy.wafer.point },
    { label: `toy run: ${toy.model} on the ${toy.gpu.gpu} emulator`, fabric: toy.gpu.gpu, kind: 'gpu', point: toy.gpu.point },
  ];
}

/** The whole demo: the records and the report data drawn from them. */
export async function runDemo(hooks: DemoHooks): Promise<{ data: DemoData; report: ReportData }> {
  const t0 = performance.now();
  const realOptions = realSizeOptions(hooks.quick);
  // The real-size projections start first, in worker threads, while this thread runs the toy model.
  const projections = hooks.workers > 0 ? runProjections(projectionJobs(realOptions), { workers: hooks.workers, onDone: hooks.onProjection }) : null;
  projections?.catch(() => undefined); // awaited below; a failure while the toy runs must not surface as unhandled
  const dir = mkdtempSync(join(tmpdir(), 'wafer-demo-'));
  let toyPart;
  try {
    toyPart = await toyRun(dir, hooks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  hooks.say(hooks.quick ? `4/4 ${DEMO.realModel} at real size on ${DEMO.realFabrics.join(', ')} (--quick: no sweep over the model presets)…` : `4/4 the real-size memory wall: every model preset on ${DEMO.realFabrics.join(', ')} (${DEMO.realModel} in the table)…`);
  const made = projections ? await projections : await runProjections(projectionJobs(realOptions), { workers: 0, onDone: hooks.onProjection });
  const real = compareFabrics({ ...realOptions, projections: made });
  const report = buildReportData({ job: toyPart.job, run: toyPart.run, faults: toyPart.faults, compare: real, marks: toyMarks(toyPart.toy), headlineModel: DEMO.realModel, noc: null });
  return { data: { seconds: (performance.now() - t0) / 1000, toy: toyPart.toy, real }, report };
}
