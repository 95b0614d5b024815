// The GPU timing model fitted to measured serving runs (docs/gpu-calibration.md#the-fit). Per GPU, the parameters of
// fitParams.ts minimise
//
//   Σ_rows [h(log(ITL_model / ITL_measured)) + h(log(TTFT_model / TTFT_measured))] + λ² Σ_params (θ − θ_assumed)²
//
// with h the Huber loss (square up to a log error of HUBER_DELTA, linear beyond), so the few rows whose queueing the
// steady-state serving model gets grossly wrong cannot pull every parameter toward them,
// by Levenberg–Marquardt with forward-difference derivatives, where θ is each parameter in an unbounded transform of
// its physical range (logit for fractions and shares, log for positive values), so no step can leave the range; the
// small ridge term λ keeps parameters the data hardly informs near their assumed values. Starting point, step rules
// and stopping rule are fixed: the same rows give the same values, bit for bit.
//
// Rows are lowered once (servingShape); a trial of the fit only re-times them. A parameter that no row of a GPU
// informs (fp8 on a part measured only in bf16) is not fitted: it comes from another fitted GPU, or stays assumed.
import { InputError } from '../../fabric/errors.js';
import { GPU_FIT_PARAMS, type FitParamDef, type GpuFitParam, type GpuFitValues } from '../../fabric/gpu/fitParams.js';
import { fitValuesOf, withFitValues, type GpuSpec } from '../../fabric/gpu/spec.js';
import type { ModelConfig } from '../model/config.js';
import { describeModel, type ModelDesc } from './layers.js';
import type { MeasuredRun } from './measured.js';
import { predictServing, servingShape, type ServingPrediction, type ServingShape } from './serving.js';

/** Fewest rows that must inform a parameter before it is fitted (fewer, but some, is an error in the data). */
export const MIN_ROWS_PER_PARAM = 8;
/**
 * Weight of the pull toward the assumed values, per unit of the transformed parameter: a prior that puts each parameter
 * within a factor of PRIOR_FACTOR of its assumed value (one standard deviation of its log), weighed against rows whose
 * log error scatters by ROW_LOG_ERROR (the fit's rms log error), as a Gaussian prior would be (λ = σ_row / σ_prior).
 */
export const PRIOR_FACTOR = 3;
export const ROW_LOG_ERROR = 0.2;
/** λ for rows whose log errors scatter by `rowLogError`. */
export const ridgeFor = (rowLogError: number): number => rowLogError / Math.log(PRIOR_FACTOR);
export const RIDGE = ridgeFor(ROW_LOG_ERROR);
/** Log error past which a row's loss grows linearly instead of quadratically (about ±35%). */
export const HUBER_DELTA = 0.3;
const MAX_ITERATIONS = 150;
const STEP = 1e-5;

export interface CalibrationRow {
  run: MeasuredRun;
  shape: ServingShape;
}

/** Lowers every run on its GPU (the assumed spec: lowering reads only datasheet figures), once. */
export function prepareRows(runs: readonly MeasuredRun[], models: (name: string) => ModelConfig, gpus: (name: string) => GpuSpec): CalibrationRow[] {
  const descs = new Map<string, ModelDesc>();
  const shapes = new Map<string, ServingShape>();
  return runs.map((run) => {
    const key = [run.model, run.gpu, run.gpus, run.dtype, run.concurrency, run.inputTokens, run.outputTokens].join('|');
    let shape = shapes.get(key);
    if (!shape) {
      let desc = descs.get(run.model);
      if (!desc) descs.set(run.model, (desc = describeModel(models(run.model))));
      shape = servingShape({ cfg: desc.cfg, gpus: run.gpus, dtype: run.dtype, concurrency: run.concurrency, inputTokens: run.inputTokens, outputTokens: run.outputTokens }, gpus(run.gpu), desc);
      shapes.set(key, shape);
    }
    return { run, shape };
  });
}

function informs(p: FitParamDef, r: MeasuredRun): boolean {
  switch (p.informedBy) {
    case 'fp8':
      return r.dtype === 'fp8';
    case 'tp':
      return r.gpus > 1;
    case 'concurrent':
      return r.concurrency > 1;
    default:
      return true;
  }
}

/**
 * Refuses data that cannot fit a parameter: a GPU with fewer rows than parameters, or a parameter that some but
 * fewer than MIN_ROWS_PER_PARAM rows inform (the message names those rows' lines).
 */
export function checkCoverage(runs: readonly MeasuredRun[], source: string): void {
  for (const gpu of [...new Set(runs.map((r) => r.gpu))]) {
    const mine = runs.filter((r) => r.gpu === gpu);
    if (mine.length < 2 * GPU_FIT_PARAMS.length) {
      throw new InputError(`too few rows to fit ${gpu}: ${mine.length}, the fit needs ${2 * GPU_FIT_PARAMS.length}`, `${source}: lines ${mine.map((r) => r.line).join(', ')}, column gpu`, 'add measured runs of this GPU, or remove its rows');
    }
    for (const p of GPU_FIT_PARAMS) {
      const by = mine.filter((r) => informs(p, r));
      if (by.length > 0 && by.length < MIN_ROWS_PER_PARAM) {
        const column = p.informedBy === 'fp8' ? 'precision' : p.informedBy === 'tp' ? 'gpus' : 'concurrency';
        throw new InputError(
          `too few rows to fit ${p.name} on ${gpu}: ${by.length}, the fit needs ${MIN_ROWS_PER_PARAM}`,
          `${source}: lines ${by.map((r) => r.line).join(', ')}, column ${column}`,
          `add rows so at least ${MIN_ROWS_PER_PARAM} inform it, or remove these ${by.length}`,
        );
      }
    }
  }
}

// ---- transforms ------------------------------------------------------------------------------------------------

const sigmoid = (t: number): number => 1 / (1 + Math.exp(-t));
const clampShare = (v: number): number => Math.min(1 - 1e-9, Math.max(1e-9, v));

function toTheta(p: FitParamDef, v: number): number {
  if (p.range === 'positive') return Math.log(Math.max(v, 1e-15) / p.assumed);
  const s = clampShare(v);
  return Math.log(s / (1 - s));
}

function fromTheta(p: FitParamDef, t: number): number {
  return p.range === 'positive' ? p.assumed * Math.exp(t) : sigmoid(t);
}

// ---- the fit ---------------------------------------------------------------------------------------------------

export interface GpuFit {
  gpu: string;
  rows: number;
  values: GpuFitValues;
  /** The parameters fitted (the others were fixed: inherited or assumed). */
  fitted: GpuFitParam[];
  iterations: number;
  /** Root mean square of the log errors (ITL and TTFT together) at the fitted values. */
  rmsLogError: number;
}

const FIT_PROVENANCE = { source: 'fitted', command: 'fit in progress', rows: 0, note: '' } as const;

/** A residual whose square is the Huber loss of `r` (times 2): r itself near 0, growing as √|r| far out. */
function huber(r: number): number {
  const a = Math.abs(r);
  return a <= HUBER_DELTA ? r : Math.sign(r) * Math.sqrt(HUBER_DELTA * (2 * a - HUBER_DELTA));
}

/** Log errors of ITL and TTFT of every row under `spec` (through `h`, the identity by default). */
function residuals(rows: readonly CalibrationRow[], spec: GpuSpec, out: Float64Array, h: (r: number) => number = (r) => r): void {
  rows.forEach((r, i) => {
    const p = predictServing(r.shape, spec);
    out[2 * i] = h(Math.log(p.itlSeconds / r.run.itlSeconds));
    out[2 * i + 1] = h(Math.log(p.ttftSeconds / r.run.ttftSeconds));
  });
}

/** Solves A x = b (A symmetric positive definite, n small) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/**
 * Fits one GPU's parameters to `rows` (all of that GPU). `base` supplies the datasheet and the values of parameters
 * not fitted; `fixed` overrides those (values inherited from another GPU's fit); `ridge` is λ (RIDGE: rows of the
 * measured data's scatter).
 */
export function fitGpu(rows: readonly CalibrationRow[], base: GpuSpec, fixed: Partial<GpuFitValues> = {}, ridge = RIDGE): GpuFit {
  const start: Record<GpuFitParam, number> = { ...fitValuesOf(base), ...fixed };
  const free = GPU_FIT_PARAMS.filter((p) => !(p.name in fixed) && rows.filter((r) => informs(p, r.run)).length >= MIN_ROWS_PER_PARAM);
  const prior = free.map((p) => toTheta(p, p.assumed));
  const valuesAt = (theta: readonly number[]): GpuFitValues => {
    const v = { ...start };
    free.forEach((p, i) => (v[p.name] = fromTheta(p, theta[i])));
    return v;
  };
  const specAt = (theta: readonly number[]): GpuSpec => withFitValues(base, valuesAt(theta), FIT_PROVENANCE);
  const nR = 2 * rows.length;
  const n = free.length;
  const evalAt = (theta: readonly number[], out: Float64Array): number => {
    residuals(rows, specAt(theta), out, huber);
    for (let i = 0; i < n; i++) out[nR + i] = ridge * (theta[i] - prior[i]);
    let c = 0;
    for (const v of out) c += v * v;
    return c;
  };
  let theta = free.map((p) => toTheta(p, p.assumed));
  const r = new Float64Array(nR + n);
  let cost = evalAt(theta, r);
  let mu = 1e-2;
  let iterations = 0;
  let converged = false;
  const rt = new Float64Array(nR + n);
  while (iterations < MAX_ITERATIONS && n > 0) {
    // Jacobian by forward differences, column by column.
    const J: Float64Array[] = theta.map((_, j) => {
      const t = [...theta];
      t[j] += STEP;
      evalAt(t, rt);
      return rt.map((v, i) => (v - r[i]) / STEP);
    });
    const JtJ = J.map((a) => J.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));
    const Jtr = J.map((a) => a.reduce((s, v, i) => s + v * r[i], 0));
    let accepted = false;
    iterations++;
    for (let tries = 0; tries < 12 && !accepted; tries++) {
      const A = JtJ.map((row, i) => row.map((v, j) => (i === j ? v * (1 + mu) + 1e-12 : v)));
      const delta = solve(A, Jtr.map((v) => -v));
      const next = theta.map((t, i) => t + delta[i]);
      const trial = new Float64Array(nR + n);
      const c = evalAt(next, trial);
      if (Number.isFinite(c) && c < cost) {
        const gain = (cost - c) / cost;
        theta = next;
        cost = c;
        r.set(trial);
        mu = Math.max(mu / 3, 1e-9);
        accepted = true;
        converged = gain < 1e-9;
      } else mu *= 4;
    }
    if (!accepted || converged) break;
  }
  const raw = new Float64Array(nR);
  residuals(rows, specAt(theta), raw);
  let sq = 0;
  for (const v of raw) sq += v * v;
  return { gpu: base.name, rows: rows.length, values: Object.freeze(valuesAt(theta)), fitted: free.map((p) => p.name), iterations, rmsLogError: Math.sqrt(sq / Math.max(1, nR)) };
}

/** Values rounded to 4 significant digits, as the presets hold them. */
export function roundFitValues(v: GpuFitValues): GpuFitValues {
  return Object.freeze(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Number(x.toPrecision(4))]))) as GpuFitValues;
}

/**
 * Fits every GPU in `rows`: the GPU with the most narrow-format rows first, so a GPU without any (the A100 has no fp8
 * path) takes the fp8 terms from it. `bases` gives each GPU's assumed spec.
 */
export function fitAll(rows: readonly CalibrationRow[], bases: (gpu: string) => GpuSpec): GpuFit[] {
  const names = [...new Set(rows.map((r) => r.run.gpu))];
  const fp8Rows = (g: string) => rows.filter((r) => r.run.gpu === g && r.run.dtype === 'fp8').length;
  names.sort((a, b) => fp8Rows(b) - fp8Rows(a) || a.localeCompare(b));
  const fits: GpuFit[] = [];
  for (const g of names) {
    const mine = rows.filter((r) => r.run.gpu === g);
    const fixed: Partial<Record<GpuFitParam, number>> = {};
    for (const p of GPU_FIT_PARAMS) {
      if (mine.some((r) => informs(p, r.run))) continue;
      const donor = fits.find((f) => f.fitted.includes(p.name));
      if (donor) fixed[p.name] = donor.values[p.name];
    }
    fits.push(fitGpu(mine, bases(g), fixed));
  }
  return fits;
}

// ---- predictions and errors ------------------------------------------------------------------------------------

export interface RowPrediction {
  run: MeasuredRun;
  predicted: ServingPrediction;
  /** Signed relative errors: model / measured − 1. */
  itlError: number;
  ttftError: number;
}

export function predictRow(row: CalibrationRow, spec: GpuSpec): RowPrediction {
  const predicted = predictServing(row.shape, spec);
  return { run: row.run, predicted, itlError: predicted.itlSeconds / row.run.itlSeconds - 1, ttftError: predicted.ttftSeconds / row.run.ttftSeconds - 1 };
}

/** A spec holding a fit's values (provenance: the fit). */
export function specOfFit(base: GpuSpec, fit: GpuFit, command: string, note: string): GpuSpec {
  return withFitValues(base, fit.values, { source: 'fitted', command, rows: fit.rows, note });
}

export type HoldOut = 'configuration' | 'model';

/** The group a row is held out with: its whole configuration (model, GPU, TP degree, precision), or its model. */
export function holdOutGroup(run: MeasuredRun, by: HoldOut): string {
  return by === 'model' ? run.modelName : `${run.modelName} ${run.gpuName} tp${run.gpus} ${run.precisionName}`;
}

/**
 * Leave-one-group-out cross-validation: for each group, fit on every other row (each GPU fitted as fitAll does) and
 * predict the group's rows. Returns the predictions in the rows' order.
 */
export function crossValidate(rows: readonly CalibrationRow[], bases: (gpu: string) => GpuSpec, by: HoldOut, onFold?: (group: string) => void): RowPrediction[] {
  const groups = [...new Set(rows.map((r) => holdOutGroup(r.run, by)))];
  const out = new Map<CalibrationRow, RowPrediction>();
  for (const g of groups) {
    onFold?.(g);
    const held = rows.filter((r) => holdOutGroup(r.run, by) === g);
    const train = rows.filter((r) => holdOutGroup(r.run, by) !== g);
    const fits = fitAll(train, bases);
    for (const r of held) {
      const fit = fits.find((f) => f.gpu === r.run.gpu);
      if (!fit) throw new InputError(`no training rows of ${r.run.gpu} once ${g} is held out`, `line ${r.run.line}`, 'measure this GPU in more than one group');
      out.set(r, predictRow(r, specOfFit(bases(r.run.gpu), fit, 'cross-validation', '')));
    }
  }
  return rows.map((r) => out.get(r)!);
}
