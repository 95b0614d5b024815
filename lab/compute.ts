// What the lab's workers compute, as plain functions of the page's state (lab/state.ts): the same library calls the
// CLI makes — compareFabrics and the memory-wall chart of `wafer compare`, the compile job and wafer map of
// `wafer report`, runOnMesh of `wafer run` — with files replaced by what the user dropped on the page.
// No DOM here, so tests run these in Node and the page runs them in Web Workers (lab/worker.ts).
import { InputError, parseJsonText } from '../fabric/errors.js';
import { getFabricPreset, listFabricPresets, parseFabricSpec, type FabricSpec } from '../fabric/spec/index.js';
import { getGpuPreset, listGpuPresets } from '../fabric/gpu/spec.js';
import { countParameters, parseModelConfig, type ModelConfig } from '../compiler/model/config.js';
import { getPreset, listPresets } from '../compiler/model/presets.js';
import { syntheticWeights } from '../compiler/model/synthetic.js';
import { castWeights, weightsFromSafetensors, type ModelWeights } from '../compiler/model/weights.js';
import { ReferenceModel } from '../compiler/reference/forward.js';
import type { Matrix } from '../kernels/matvec.js';
import type { RepairPolicy } from '../fabric/faults/index.js';
import type { ProgramDtype } from '../compiler/wafer/partition.js';
import { compareFabrics, type CompareResult } from '../src/study/compare.js';
import { memoryWallSvg } from '../src/report/memoryWallChart.js';
import { buildReportData } from '../src/study/reportData.js';
import { defaultRouteColour, waferMapSvg } from '../src/report/waferMap.js';
import { buildCompileJob, generatedFaults, type CompileJob } from '../src/wafer/compileCore.js';
import { runOnMesh, type MeshRunResult } from '../src/wafer/runJob.js';
import { runMaxSeq, type LabState } from './state.js';

/** The largest safetensors file the page loads: "small models" (the run needs the weights in worker memory). */
export const MAX_SAFETENSORS_BYTES = 256 * 1024 * 1024;
/** The study's prompt length and context, as `wafer compare`'s default --prompt-len. */
export const STUDY_PROMPT_TOKENS = 512;

/** Files the user dropped on the page: config.json text and, for a small model, model.safetensors bytes. */
export interface DroppedModel {
  configName: string;
  configText: string;
  safetensorsName: string | null;
  safetensors: Uint8Array | null;
}

/** A result, or the CLI's one-line message for bad input (`error: <what> (<where>): <fix>`). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Runs f; an InputError becomes the CLI's one-line message, anything else is re-thrown (a bug, not bad input). */
export function outcome<T>(f: () => T): Outcome<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof InputError) return { ok: false, error: `error: ${e.message}` };
    throw e;
  }
}

export async function outcomeAsync<T>(f: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    if (e instanceof InputError) return { ok: false, error: `error: ${e.message}` };
    throw e;
  }
}

export interface Catalogue {
  models: { name: string; params: number; runnable: boolean }[];
  wafers: string[];
  gpus: string[];
}

export function catalogue(): Catalogue {
  return {
    models: listPresets().map((p) => ({ name: p.name, params: countParameters(getPreset(p.name)).total, runnable: p.runnable })),
    wafers: listFabricPresets(),
    gpus: listGpuPresets().map((g) => g.name),
  };
}

/** The dropped config.json, parsed as `wafer` parses DIR/config.json (the same messages, naming the file). */
export function droppedConfig(d: DroppedModel): ModelConfig {
  return parseModelConfig(parseJsonText(d.configText, d.configName), d.configName);
}

/** The dropped model's weights, read as `wafer run --model DIR` reads DIR/model.safetensors. */
export function droppedWeights(d: DroppedModel): ModelWeights {
  const config = droppedConfig(d);
  if (!d.safetensors || !d.safetensorsName) throw new InputError('no model.safetensors dropped', 'model files', 'drop config.json together with model.safetensors to run the model in the page');
  if (d.safetensors.byteLength > MAX_SAFETENSORS_BYTES) {
    throw new InputError(`model.safetensors is ${(d.safetensors.byteLength / 2 ** 20).toFixed(0)} MiB`, d.safetensorsName, `the page runs models up to ${MAX_SAFETENSORS_BYTES / 2 ** 20} MiB; use wafer run for larger ones`);
  }
  return weightsFromSafetensors(config, d.safetensors, d.safetensorsName);
}

/** A summary line of a dropped model, or its error: what the page shows beside the drop zone. */
export function describeDropped(d: DroppedModel): Outcome<string> {
  return outcome(() => {
    const config = droppedConfig(d);
    const params = countParameters(config).total;
    if (!d.safetensors) return `${config.name}: ${(params / 1e6).toFixed(1)}M parameters (config only: the study uses it; drop model.safetensors too to run it here)`;
    droppedWeights(d);
    return `${config.name}: ${(params / 1e6).toFixed(1)}M parameters, weights loaded (the study uses it, and "Run it here" can run it)`;
  });
}

/** The study's wafer: the preset with the page's overrides (0 = keep the preset's value), validated like a spec file. */
export function studyWafer(s: LabState): FabricSpec {
  const base = getFabricPreset(s.wafer);
  const overridden = s.sramKiB || s.clockMHz || s.gridW || s.gridH || s.simdF16 || s.simdF32 || s.simdInt8;
  if (!overridden) return base;
  return parseFabricSpec(
    {
      ...base,
      name: `${base.name}*`,
      sramBytesPerTile: s.sramKiB ? s.sramKiB * 1024 : base.sramBytesPerTile,
      clockHz: s.clockMHz ? s.clockMHz * 1e6 : base.clockHz,
      widthTiles: s.gridW || base.widthTiles,
      heightTiles: s.gridH || base.heightTiles,
      simdWidth: { ...base.simdWidth, f16: s.simdF16 || base.simdWidth.f16, f32: s.simdF32 || base.simdWidth.f32, int8: s.simdInt8 || base.simdWidth.int8 },
    },
    'wafer overrides',
  );
}

export interface StudyResult {
  compare: CompareResult;
  chartSvg: string;
  spec: { name: string; widthTiles: number; heightTiles: number; sramBytesPerTile: number; clockHz: number };
}

/**
 * `wafer compare` for the page: the model on the study's wafer and GPU at the page's batch. With `sweeps`, the chart's
 * series over every model preset and over batch (slow on full wafers: the page asks for them in the background).
 */
export function study(s: LabState, dropped: DroppedModel | null, sweeps: boolean, onProgress?: (done: number, total: number) => void): StudyResult {
  if (s.model === 'dropped' && !dropped) throw new InputError('no model dropped', 'model', 'drop config.json on the page (dropped files are not kept in the link), or pick a preset');
  const model = s.model === 'dropped' && dropped ? droppedConfig(dropped) : getPreset(s.model, 'model');
  const spec = studyWafer(s);
  const compare = compareFabrics({
    model,
    fabrics: [
      { kind: 'wafer', name: spec.name, spec },
      { kind: 'gpu', name: s.gpu, gpu: getGpuPreset(s.gpu, 'GPU') },
    ],
    batches: [s.batch],
    gpus: s.gpus > 0 ? s.gpus : undefined,
    dtype: s.dtype as CompareResult['dtype'],
    promptLength: STUDY_PROMPT_TOKENS,
    contextLength: STUDY_PROMPT_TOKENS,
    sweepModels: sweeps,
    onProgress,
  });
  return { compare, chartSvg: memoryWallSvg(compare), spec: { name: spec.name, widthTiles: spec.widthTiles, heightTiles: spec.heightTiles, sramBytesPerTile: spec.sramBytesPerTile, clockHz: spec.clockHz } };
}

/** The weights the small mesh runs: a toy preset's synthetic weights (seed 0, as `wafer run`), or the dropped model's. */
function runWeights(s: LabState, dropped: DroppedModel | null): ModelWeights {
  if (s.runModel !== 'dropped') return syntheticWeights(getPreset(s.runModel, 'run model'), 0);
  if (!dropped) throw new InputError('no model dropped', 'run model', 'drop config.json and model.safetensors on the page, or pick toy-dense or toy-moe');
  return droppedWeights(dropped);
}

/** The compile job `wafer run` builds for runCommandLine(s): same fabric, faults, repair, dtype and KV-cache size. */
export function meshJob(s: LabState, dropped: DroppedModel | null): CompileJob {
  const weights = runWeights(s, dropped);
  const spec = getFabricPreset(s.mesh);
  const repair = s.repair as RepairPolicy;
  const faults = s.density > 0 ? generatedFaults(spec, repair, { density: s.density, seed: s.seed, clusterAlpha: s.clusterAlpha > 0 ? s.clusterAlpha : undefined }) : null;
  const maxSeq = runMaxSeq(s);
  return buildCompileJob({ config: weights.config, weights, spec, faults, repair, dtype: s.runDtype as ProgramDtype, maxSeq, spread: 0, context: Math.min(16, maxSeq) });
}

export interface MeshMap {
  svg: string;
  tilesUsed: number;
  deadTiles: number;
  deadCores: number;
  estimateTokensPerSecond: number;
  /** Schedule-estimate cycles per token with the faults, and on the fault-free mesh (null without faults). */
  cyclesPerToken: number;
  baselineCyclesPerToken: number | null;
}

/** The wafer map of the small faulty mesh (roles, dead tiles, the routes of one colour) and its schedule estimate. */
export function meshMap(s: LabState, dropped: DroppedModel | null): MeshMap {
  const job = meshJob(s, dropped);
  const d = buildReportData({ job, run: null, faults: null, compare: null, marks: [], noc: null });
  return {
    svg: waferMapSvg(d, { mode: 'roles', routeColour: defaultRouteColour(d) }),
    tilesUsed: job.result.report.tilesUsed,
    deadTiles: d.deadTiles.length,
    deadCores: d.deadCores.length,
    estimateTokensPerSecond: d.expectedTokensPerSecond,
    cyclesPerToken: job.estimate.cyclesPerToken,
    baselineCyclesPerToken: job.estimate.baselineCyclesPerToken,
  };
}

export interface GpuJsCheck {
  /** The backend gpu.js ran the matvecs on ('webgl2', 'webgl', 'cpu', …), or null where it could not start. */
  backend: string | null;
  tokens: number[];
  /** Whether the reference forward pass with gpu.js matvecs chose the mesh run's tokens. */
  sameTokens: boolean;
  note: string | null;
}

export interface RunHere {
  run: MeshRunResult;
  gpujs: GpuJsCheck | null;
}

/** A matvec y = W·x (the gpu.js one, kernels/gpujs.ts). */
export type Matvec = (w: Matrix, x: Float32Array, y: Float32Array) => void;

/**
 * "Run it here": `wafer run` in the page — compile onto the faulty mesh, run cycle by cycle with the wasm kernels on
 * tile SRAM, every step's token checked against the reference forward pass (runOnMesh throws on a mismatch). Then,
 * with `gpuMatvec`, the reference forward pass once more with its matvecs on gpu.js, its tokens compared.
 */
export async function runHere(s: LabState, dropped: DroppedModel | null, onStep: (done: number, total: number) => void, gpu: { matvec: Matvec; backend: string } | null): Promise<RunHere> {
  const job = meshJob(s, dropped);
  const prompt = s.prompt.split(',').map(Number);
  const run = await runOnMesh(job, prompt, s.tokens, { workers: 0, baseline: false, onStep });
  if (!gpu) return { run, gpujs: null };
  const ref = new ReferenceModel(castWeights(job.weights!, job.dtype), { maxSeq: job.maxSeq, matvec: gpu.matvec });
  const tokens: number[] = [];
  let input = prompt[0];
  for (let step = 0; step < prompt.length + s.tokens - 1; step++) {
    const logits = ref.step(input);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    if (step + 1 < prompt.length) input = prompt[step + 1];
    else tokens.push((input = best));
  }
  const same = tokens.length === run.tokens.length && tokens.every((t, i) => t === run.tokens[i]);
  return { run, gpujs: { backend: gpu.backend, tokens, sameTokens: same, note: same ? null : 'gpu.js accumulates in f32 on WebGL: a near-tie between two logits can go the other way' } };
}
