// What `wafer sweep report` shows, computed from the records as plain data (src/report/sweep*.ts only draws it):
// yield curves — an output against defect density, per series (every parameter but density and seed the same),
// with percentiles over the seeds — the Pareto front of tokens/s per user against the hardware needed, and a table.
import type { ParamValue } from './points.js';
import type { OutputValue, SweepRecord } from './runPoint.js';

export interface Percentiles {
  p10: number;
  p50: number;
  p90: number;
  min: number;
  max: number;
}

export interface YieldPoint {
  /** Fraction of defective tiles. */
  density: number;
  /** Seeds at this density. */
  seeds: number;
  /** Share of seeds where the point's model went onto its hardware (no error). */
  fits: number;
  /** Over the seeds that fit; null where none did. */
  tokensPerSecond: Percentiles | null;
  tilesUsed: Percentiles | null;
}

export interface YieldSeries {
  label: string;
  kind: string;
  repair: string;
  points: YieldPoint[];
}

export interface ParetoPoint {
  label: string;
  /** 'wafers' or 'GPUs'. */
  hardware: string;
  count: number;
  tokensPerSecond: number;
  /** No other point has as many tokens/s or more on as little hardware or less (and one of them strictly). */
  front: boolean;
}

export interface SweepTable {
  /** Parameters that differ between records, then every output any record keeps. */
  columns: string[];
  rows: (ParamValue | OutputValue)[][];
}

export interface SweepReportData {
  records: number;
  errors: number;
  yield: YieldSeries[];
  pareto: ParetoPoint[];
  table: SweepTable;
}

/** Linear interpolation between order statistics (the "R-7" definition, numpy's default). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  // An order statistic as it is (adding 0 to it would turn −0 into +0).
  if (h === lo) return sorted[lo];
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return { p10: percentile(s, 0.1), p50: percentile(s, 0.5), p90: percentile(s, 0.9), min: s[0], max: s[s.length - 1] };
}

const numeric = (v: OutputValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A short name for what a record runs on: "toy-moe on mini-64 (sram 49152)". */
function hardwareLabel(r: SweepRecord): string {
  const p = r.params;
  if (r.kind === 'gpu') return `${p.model} on ${p.gpus}× ${p.gpu}`;
  const overrides = (['sramBytesPerTile', 'clockHz', 'grid', 'simdWidth'] as const).filter((k) => p[k] !== null && p[k] !== undefined).map((k) => `${k} ${JSON.stringify(p[k])}`);
  return `${p.model ?? r.kind} on ${p.fabric}${overrides.length ? ` (${overrides.join(', ')})` : ''}`;
}

/** Parameters whose values differ between `records` (the others say nothing a reader needs per row). */
function varyingParams(records: readonly SweepRecord[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const r of records) for (const [k, v] of Object.entries(r.params)) values.set(k, (values.get(k) ?? new Set()).add(JSON.stringify(v)));
  return [...values].filter(([, s]) => s.size > 1).map(([k]) => k);
}

export function yieldSeries(records: readonly SweepRecord[]): YieldSeries[] {
  const groups = new Map<string, SweepRecord[]>();
  for (const r of records) {
    if (r.kind !== 'project' && r.kind !== 'mesh') continue;
    const { faultDensity: _d, seed: _s, ...rest } = r.params;
    const id = JSON.stringify([r.kind, rest]);
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const vary = varyingParams([...groups.values()].flat()).filter((k) => !['faultDensity', 'seed', 'model', 'fabric', 'repair', 'sramBytesPerTile', 'clockHz', 'grid', 'simdWidth'].includes(k));
  const series: YieldSeries[] = [];
  for (const rs of groups.values()) {
    const densities = [...new Set(rs.map((r) => r.params.faultDensity as number))].sort((a, b) => a - b);
    if (densities.length < 2) continue;
    const first = rs[0];
    const extra = vary.map((k) => `${k} ${JSON.stringify(first.params[k])}`);
    const points = densities.map((density) => {
      const at = rs.filter((r) => r.params.faultDensity === density);
      const ok = at.filter((r) => r.error === null && r.outputs !== null);
      const col = (name: string) => ok.map((r) => numeric(r.outputs![name])).filter((v): v is number => v !== null);
      return { density, seeds: at.length, fits: ok.length / at.length, tokensPerSecond: percentiles(col('decodeTokensPerSecond')), tilesUsed: percentiles(col('tilesUsed')) };
    });
    series.push({ label: `${hardwareLabel(first)}, ${first.params.repair}${extra.length ? `, ${extra.join(', ')}` : ''}`, kind: first.kind, repair: String(first.params.repair), points });
  }
  return series.sort((a, b) => a.label.localeCompare(b.label));
}

export function paretoPoints(records: readonly SweepRecord[]): ParetoPoint[] {
  const pts: Omit<ParetoPoint, 'front'>[] = [];
  for (const r of records) {
    if (r.error !== null || r.outputs === null) continue;
    const tps = numeric(r.outputs.decodeTokensPerSecond);
    if (tps === null) continue;
    if (r.kind === 'gpu') pts.push({ label: hardwareLabel(r), hardware: 'GPUs', count: r.params.gpus as number, tokensPerSecond: tps });
    else if (r.kind === 'project' || r.kind === 'mesh') {
      const wafers = numeric(r.outputs.wafers) ?? (typeof r.params.wafers === 'number' ? r.params.wafers : 1);
      pts.push({ label: `${hardwareLabel(r)}, ${r.params.repair}, ${((r.params.faultDensity as number) * 100).toFixed(1)}% defects`, hardware: 'wafers', count: wafers, tokensPerSecond: tps });
    }
  }
  return pts.map((p) => ({ ...p, front: !pts.some((q) => q.hardware === p.hardware && q.count <= p.count && q.tokensPerSecond >= p.tokensPerSecond && (q.count < p.count || q.tokensPerSecond > p.tokensPerSecond)) }));
}

export function sweepTable(records: readonly SweepRecord[]): SweepTable {
  const params = varyingParams(records);
  const outputs = [...new Set(records.flatMap((r) => Object.keys(r.outputs ?? {})))];
  const columns = ['kind', ...params.filter((k) => k !== 'kind'), ...outputs, 'error'];
  const rows = records.map((r) => [r.kind, ...params.map((k) => r.params[k] ?? null), ...outputs.map((k) => r.outputs?.[k] ?? null), r.error]);
  return { columns, rows };
}

export function sweepReportData(records: readonly SweepRecord[]): SweepReportData {
  return { records: records.length, errors: records.filter((r) => r.error !== null).length, yield: yieldSeries(records), pareto: paretoPoints(records), table: sweepTable(records) };
}
