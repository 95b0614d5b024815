// The GPU calibration: it recovers known parameters from data the model itself generated (with noise), its
// cross-validation predicts each held-out group with a fit that never saw it, and the fit of the shipped data is
// what the presets hold.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { median, summarise, accuracyRow } from '../../../../compiler/gpu/accuracy.js';
import { crossValidate, fitAll, fitGpu, holdOutGroup, predictRow, prepareRows, ridgeFor, roundFitValues, specOfFit, type CalibrationRow } from '../../../../compiler/gpu/calibrate.js';
import { parseMeasuredCsv } from '../../../../compiler/gpu/measured.js';
import { predictServing } from '../../../../compiler/gpu/serving.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { GPU_FIT_PARAMS, inFitRange, type GpuFitValues } from '../../../../fabric/gpu/fitParams.js';
import { FITTED_GPUS } from '../../../../fabric/gpu/fitted.js';
import { assumedGpuSpec, fitValuesOf, getGpuPreset, withFitValues } from '../../../../fabric/gpu/spec.js';

const REPO = join(import.meta.dirname, '../../../..');
const SMALL = parseMeasuredCsv(readFileSync(join(REPO, 'test/fixtures/gpu-measured-small.csv'), 'utf8'), 'small');
const h100 = assumedGpuSpec('h100');
const rows = prepareRows(SMALL, getPreset, assumedGpuSpec);

/** Deterministic standard normal draws (mulberry32 + Box–Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

// Known parameters, each away from its assumed value (the fit's starting point).
const TRUTH: GpuFitValues = {
  hbmFraction: 0.7,
  hbmHalfBytes: 4e6,
  kvHbmFraction: 0.6,
  kvFp8HbmFraction: 0.4,
  overlapLoss: 0.05,
  minKernelSeconds: 3e-6,
  graphKernelLaunchSeconds: 2.5e-6,
  flopsFraction: 0.6,
  gemmHalfRows: 150,
  attentionFlopsFraction: 0.8,
  fp8FlopsFraction: 0.5,
  nvlinkFraction: 0.6,
  allReduceLatencySeconds: 1e-5,
  allReduceStepLatencySeconds: 2e-6,
  stepOverheadSeconds: 3e-4,
  requestOverheadSeconds: 4e-3,
  prefillInterference: 0.5,
  prefillQueueing: 0.3,
  lockstepBatch: 120,
};

/** The rows with their measured figures replaced by the model's under `truth`, times exp(σ·noise). */
function synthetic(truth: GpuFitValues, sigma: number, seed: number): CalibrationRow[] {
  const spec = withFitValues(h100, truth, { source: 'assumed', command: 'test', rows: 0, note: '' });
  const z = normals(seed);
  return rows.map((r) => {
    const p = predictServing(r.shape, spec);
    return { shape: r.shape, run: { ...r.run, itlSeconds: p.itlSeconds * Math.exp(sigma * z()), ttftSeconds: p.ttftSeconds * Math.exp(sigma * z()) } };
  });
}

describe('the fit recovers what generated the data', () => {
  const sigma = 0.02;
  const data = synthetic(TRUTH, sigma, 7);
  // The prior weighed against rows of this data's own scatter, as the shipped fit weighs it against the measured rows'.
  const ridge = ridgeFor(sigma);
  const fit = fitGpu(data, h100, {}, ridge);
  const fitted = withFitValues(h100, fit.values, { source: 'fitted', command: 'test', rows: fit.rows, note: '' });

  it('explains the data down to its noise, starting from the assumed values which do not', () => {
    const start = fitGpu(data.slice(0, 0), h100); // no rows: nothing fitted, the assumed values
    const startErr = data.map((r) => Math.abs(Math.log(predictServing(r.shape, withFitValues(h100, start.values, { source: 'assumed', command: '', rows: 0, note: '' })).itlSeconds / r.run.itlSeconds)));
    expect(median(startErr)).toBeGreaterThan(5 * sigma);
    expect(fit.rmsLogError).toBeLessThan(1.5 * sigma);
    for (const p of GPU_FIT_PARAMS) expect(inFitRange(p.range, fit.values[p.name])).toBe(true);
  });

  it('predicts the noiseless truth within a few per cent', () => {
    const truth = withFitValues(h100, TRUTH, { source: 'assumed', command: 'test', rows: 0, note: '' });
    const errs = rows.flatMap((r) => {
      const a = predictServing(r.shape, fitted);
      const b = predictServing(r.shape, truth);
      return [Math.abs(a.itlSeconds / b.itlSeconds - 1), Math.abs(a.ttftSeconds / b.ttftSeconds - 1)];
    });
    expect(median(errs)).toBeLessThan(0.02);
    expect(Math.max(...errs)).toBeLessThan(0.1);
  });

  // Forty rows of one model do not separate every term (the per-kernel latencies trade off against each other and
  // against the HBM fractions: the predictions above are what they determine together); these they do determine.
  it('recovers the parameters the rows determine', () => {
    for (const name of ['flopsFraction', 'fp8FlopsFraction', 'requestOverheadSeconds', 'prefillQueueing', 'lockstepBatch'] as const) {
      expect(Math.abs(fit.values[name] / TRUTH[name] - 1), name).toBeLessThan(0.15);
    }
  });

  it('is deterministic: the same rows give the same values, bit for bit', () => {
    expect(fitGpu(data, h100, {}, ridge).values).toEqual(fit.values);
  });
});

describe('cross-validation', () => {
  let memo: ReturnType<typeof crossValidate> | undefined;
  const byConfiguration = () => (memo ??= crossValidate(rows, assumedGpuSpec, 'configuration'));

  it('predicts each held-out configuration with a fit of the other rows only', () => {
    const cv = byConfiguration();
    expect(cv.map((p) => p.run)).toEqual(rows.map((r) => r.run));
    const groups = [...new Set(rows.map((r) => holdOutGroup(r.run, 'configuration')))];
    expect(groups).toHaveLength(4);
    // Recompute one fold by hand: fit without the group, predict the group.
    const g = groups[1];
    const train = rows.filter((r) => holdOutGroup(r.run, 'configuration') !== g);
    const [fit] = fitAll(train, assumedGpuSpec);
    const spec = specOfFit(h100, fit, 'test', '');
    rows.forEach((r, i) => {
      if (holdOutGroup(r.run, 'configuration') !== g) return;
      const want = predictRow(r, spec);
      expect(cv[i].itlError).toBe(want.itlError);
      expect(cv[i].ttftError).toBe(want.ttftError);
      expect(cv[i].itlError).toBe(want.predicted.itlSeconds / r.run.itlSeconds - 1);
    });
    // A fit that saw the group does better on it than one that did not (in-sample error is the lower bound).
    const [all] = fitAll(rows, assumedGpuSpec);
    const inSample = rows.map((r) => predictRow(r, specOfFit(h100, all, 'test', '')));
    const sq = (ps: { itlError: number; ttftError: number }[]) => ps.reduce((s, p) => s + Math.log1p(p.itlError) ** 2 + Math.log1p(p.ttftError) ** 2, 0);
    expect(sq(cv)).toBeGreaterThan(sq(inSample));
  });

  it('summaries: median and worst |error|', () => {
    expect(median([3, -1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const cv = byConfiguration().map(accuracyRow);
    const s = summarise('x', cv);
    expect(s.rows).toBe(40);
    expect(s.itlWorstAbs).toBe(Math.max(...cv.map((r) => Math.abs(r.itlError))));
    expect(s.ttftMedianAbs).toBe(median(cv.map((r) => Math.abs(r.ttftError))));
  });
});

describe('the shipped presets', () => {
  it('hold the fit of the shipped data (npx wafer calibrate gpu), rounded to 4 significant digits', () => {
    const runs = parseMeasuredCsv(readFileSync(join(REPO, 'data/gpu-measured/nim-llama3.csv'), 'utf8'), 'nim');
    const fits = fitAll(prepareRows(runs, getPreset, assumedGpuSpec), assumedGpuSpec);
    expect(fits.map((f) => f.gpu).sort()).toEqual(Object.keys(FITTED_GPUS).sort());
    for (const f of fits) {
      expect(roundFitValues(f.values)).toEqual(FITTED_GPUS[f.gpu].values);
      expect(fitValuesOf(getGpuPreset(f.gpu))).toEqual(FITTED_GPUS[f.gpu].values);
      expect(getGpuPreset(f.gpu).calibration.provenance).toMatchObject({ source: 'fitted', rows: f.rows });
    }
  }, 300_000);
});
