// `wafer bench sensitivity`: every assumption of the cost model (fabric/spec/assumptions.ts) at its low and its high
// plausible value, one at a time, on llama-3.1-8b, llama-3.1-70b and qwen3-235b-a22b on wse3 (bf16, batch 1, prompt
// 1024, context 4096, as the fabrics bench): decode tokens/s per user and efficiency (projected ÷ floor), sorted by
// how far the tokens/s move. The projections run side by side in worker threads (src/study/projectPool.ts).
import { join } from 'node:path';
import { getPreset } from '../../compiler/model/presets.js';
import { ASSUMPTIONS, applyAssumptions, type Assumption } from '../../fabric/spec/assumptions.js';
import { getFabricPreset } from '../../fabric/spec/index.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import type { ProjectionJob } from '../study/compare.js';
import { runProjections } from '../study/projectPool.js';
import type { WaferPoint } from '../study/projection.js';
import { FABRICS_BENCH_SETTINGS } from './fabricsBench.js';

export const SENSITIVITY_MODELS = ['llama-3.1-8b', 'llama-3.1-70b', 'qwen3-235b-a22b'] as const;
const FABRIC = 'wse3';
/** --quick: one toy model on a small mesh, short context (a smoke test: the figures are not meaningful). */
const QUICK = { models: ['toy-dense'], fabric: 'mini-32', promptLength: 8, context: 16 } as const;

/** A projection's figures, or why there are none. */
export interface SensitivityFigure {
  tokensPerSecond: number | null;
  efficiency: number | null;
  wafers: number | null;
  error: string | null;
}

export interface SensitivityRow {
  name: string;
  low: number;
  high: number;
  unit: string;
  source: string;
  readBy: Assumption['readBy'];
  /** Per model, at the low and the high value. */
  atLow: Record<string, SensitivityFigure>;
  atHigh: Record<string, SensitivityFigure>;
  /** The largest |tokens/s at high − at low| ÷ baseline tokens/s over the models (0 when nothing moves). */
  effect: number;
}

export interface SensitivityReport {
  fabric: string;
  settings: { dtype: string; batch: number; promptLength: number; context: number };
  models: string[];
  baseline: Record<string, SensitivityFigure>;
  /** Sorted by effect, largest first (then by name). */
  rows: SensitivityRow[];
}

export interface SensitivityOptions {
  quick?: boolean;
  /** Worker threads (0: here, one after another). */
  workers: number;
  onProgress?: (line: string) => void;
}

function figure(p: WaferPoint | string | undefined): SensitivityFigure {
  if (p === undefined) return { tokensPerSecond: null, efficiency: null, wafers: null, error: 'not run' };
  if (typeof p === 'string') return { tokensPerSecond: null, efficiency: null, wafers: null, error: p };
  return { tokensPerSecond: p.decodeTokensPerSecond, efficiency: p.efficiency ?? null, wafers: p.wafers, error: null };
}

export async function runSensitivityBench(o: SensitivityOptions): Promise<SensitivityReport> {
  const models: string[] = o.quick ? [...QUICK.models] : [...SENSITIVITY_MODELS];
  const fabric = o.quick ? QUICK.fabric : FABRIC;
  const settings = { dtype: 'bf16', batch: FABRICS_BENCH_SETTINGS.batch, promptLength: o.quick ? QUICK.promptLength : FABRICS_BENCH_SETTINGS.promptLength, context: o.quick ? QUICK.context : FABRICS_BENCH_SETTINGS.context };
  const base = getFabricPreset(fabric);
  const options = { batch: settings.batch, promptLength: settings.promptLength, contextLength: settings.context, dtype: 'bf16' as const };
  // One job per (model, value); a value equal to the preset's is the baseline's job.
  const jobs: ProjectionJob[] = [];
  const keyOf = (model: string, name: string | null, value: number | null) => (name === null ? `${model}|baseline` : `${model}|${name}=${value}`);
  for (const model of models) {
    const cfg = getPreset(model);
    jobs.push({ key: keyOf(model, null, null), model: cfg, spec: base, options });
    for (const a of ASSUMPTIONS) {
      for (const value of new Set([a.low, a.high])) {
        if (value === a.default) continue;
        jobs.push({ key: keyOf(model, a.name, value), model: cfg, spec: applyAssumptions(base, [{ name: a.name, value }]), options });
      }
    }
  }
  const points = await runProjections(jobs, { workers: o.workers, onDone: (done, total) => o.onProgress?.(`sensitivity: ${done} of ${total} projections`) });
  const at = (model: string, a: Assumption, value: number) => figure(points.get(value === a.default ? keyOf(model, null, null) : keyOf(model, a.name, value)));
  const baseline = Object.fromEntries(models.map((m) => [m, figure(points.get(keyOf(m, null, null)))]));
  const rows: SensitivityRow[] = ASSUMPTIONS.map((a) => {
    const atLow = Object.fromEntries(models.map((m) => [m, at(m, a, a.low)]));
    const atHigh = Object.fromEntries(models.map((m) => [m, at(m, a, a.high)]));
    let effect = 0;
    for (const m of models) {
      const [lo, hi, b] = [atLow[m].tokensPerSecond, atHigh[m].tokensPerSecond, baseline[m].tokensPerSecond];
      if (lo !== null && hi !== null && b !== null) effect = Math.max(effect, Math.abs(hi - lo) / b);
    }
    return { name: a.name, low: a.low, high: a.high, unit: a.unit, source: a.source, readBy: a.readBy, atLow, atHigh, effect };
  });
  rows.sort((x, y) => y.effect - x.effect || (x.name < y.name ? -1 : 1));
  return { fabric, settings, models, baseline, rows };
}

const num = (v: number): string => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2).replace('e+', 'e') : String(v));
const tps = (f: SensitivityFigure): string => (f.tokensPerSecond === null ? 'does not fit' : `${f.tokensPerSecond.toFixed(1)}${f.efficiency === null ? '' : ` (${f.efficiency.toFixed(3)})`}`);

export function formatSensitivityBench(r: SensitivityReport): string {
  const s = r.settings;
  const lines = [
    `Each assumption of the cost model (docs/assumptions.md) at its low and its high plausible value, one at a time, everything else at its default: decode tokens/s per user on ${r.fabric} (in brackets the efficiency, projected ÷ floor, docs/floor.md), ${s.dtype} weights, batch ${s.batch}, prompt ${s.promptLength}, context ${s.context}. Sorted by effect: the largest change of tokens/s from low to high, as a share of the baseline, over the models.`,
    '',
    `Baseline: ${r.models.map((m) => `${m} ${tps(r.baseline[m])}`).join(' · ')}.`,
    '',
    `| assumption | low → high | ${r.models.map((m) => `${m} at low → high`).join(' | ')} | effect |`,
    `|---|---|${r.models.map(() => '---').join('|')}|---:|`,
  ];
  for (const row of r.rows) {
    const engineOnly = row.readBy === 'engine' ? ' (engine only)' : '';
    lines.push(`| ${row.name}${engineOnly} | ${num(row.low)} → ${num(row.high)} ${row.unit} | ${r.models.map((m) => `${tps(row.atLow[m])} → ${tps(row.atHigh[m])}`).join(' | ')} | ${(100 * row.effect).toFixed(1)}% |`);
  }
  const errors = r.rows.flatMap((row) => r.models.flatMap((m) => [row.atLow[m], row.atHigh[m]].filter((f) => f.error).map((f) => `- ${row.name} on ${m}: ${f.error}`)));
  if (errors.length) lines.push('', 'No figure:', ...[...new Set(errors)]);
  lines.push('', 'An assumption read only by the mesh engine (queue depth: the projection models no back-pressure) cannot move a projection; bypass latency acts only with remap faults, int8 width only with int8 or MXFP4 weights.');
  return lines.join('\n');
}

/** Writes `dir`/sensitivity.json and `dir`/sensitivity.md (each replaced atomically). */
export function writeSensitivityBench(r: SensitivityReport, dir: string): void {
  writeFileAtomic(join(dir, 'sensitivity.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'sensitivity.md'), formatSensitivityBench(r) + '\n', { option: '--out-dir', createParents: true });
}
