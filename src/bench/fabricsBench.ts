// `wafer bench fabrics`: every real-size model preset on the wafers (wse2, wse3: the projection, compiler/project)
// and on HBM GPUs (h100 ×1 and ×8, h200, b200: estimateGpu) at batch 1 — decode tokens/s per user, the wafers or
// GPUs it needs, and what bounds it. A model that does not fit the GPUs asked for is shown on the fewest that hold it
// (tensor parallel), or as not fitting; a model whose layer does not fit a wafer is shown with the reason.
// Everything at bf16 weights (plus one wse3 column with MXFP4 routed experts), prompt 1024, context 4096, batch 1.
import { estimateGpu } from '../../compiler/gpu/estimate.js';
import { validTensorParallelSizes } from '../../compiler/gpu/lower.js';
import { countParameters, type ModelConfig } from '../../compiler/model/config.js';
import { getPreset, listPresets } from '../../compiler/model/presets.js';
import { projectWafer, type ProjectDtype, type ProjectionReport } from '../../compiler/project/index.js';
import { InputError } from '../../fabric/errors.js';
import { getGpuPreset } from '../../fabric/gpu/spec.js';
import { getFabricPreset } from '../../fabric/spec/index.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { join } from 'node:path';

export const FABRICS_BENCH_SETTINGS = Object.freeze({ dtype: 'bf16', batch: 1, promptLength: 1024, context: 4096 } as const);

/** The columns: wafers by projection, GPUs by estimateGpu (count asked for; more when the model needs them). */
export const FABRIC_COLUMNS: readonly { name: string; kind: 'wafer' | 'gpu'; preset: string; devices: number; dtype: ProjectDtype }[] = Object.freeze([
  { name: 'wse2', kind: 'wafer', preset: 'wse2', devices: 0, dtype: 'bf16' },
  { name: 'wse3', kind: 'wafer', preset: 'wse3', devices: 0, dtype: 'bf16' },
  // The one column off bf16: what 4-bit routed experts do to an MoE model's wafers (dense models have none).
  { name: 'wse3 mxfp4', kind: 'wafer', preset: 'wse3', devices: 0, dtype: 'mxfp4' },
  { name: 'h100', kind: 'gpu', preset: 'h100', devices: 1, dtype: 'bf16' },
  { name: 'h100×8', kind: 'gpu', preset: 'h100', devices: 8, dtype: 'bf16' },
  { name: 'h200', kind: 'gpu', preset: 'h200', devices: 1, dtype: 'bf16' },
  { name: 'b200', kind: 'gpu', preset: 'b200', devices: 1, dtype: 'bf16' },
]);

export interface FabricsBenchRow {
  model: string;
  parameters: number;
  fabric: string;
  kind: 'wafer' | 'gpu';
  /** Wafers in the pipeline, or GPUs (tensor parallel) it ran on; null when it does not fit. */
  devices: number | null;
  decodeTokensPerSecond: number | null;
  /** Wafers: the floor of the same model and wafers (compiler/project/floor.ts), and projected ÷ floor. */
  floorTokensPerSecond?: number;
  efficiency?: number;
  timeToFirstTokenSeconds: number | null;
  /** What bounds a decode token (the largest share), in words. */
  boundBy: string | null;
  /** Why there is no figure, or why the device count differs from the column's. */
  note: string | null;
  /** Host wall-clock seconds the projection (or GPU estimate) took here. */
  wallSeconds: number;
}

export interface FabricsBenchReport {
  settings: typeof FABRICS_BENCH_SETTINGS;
  models: string[];
  fabrics: string[];
  rows: FabricsBenchRow[];
}

export interface FabricsBenchOptions {
  /** Model presets (default: every config-only real-size preset). */
  models?: string[];
  onProgress?: (line: string) => void;
}

const WAFER_CAUSES: Record<string, string> = {
  matvec: 'matvec compute',
  attention: 'attention compute',
  vector: 'vector ops (norms, SwiGLU, RoPE, adds)',
  overhead: 'task starts',
  sram: 'SRAM bandwidth',
  hops: 'hop latency',
  reduction: 'reductions',
  broadcast: 'broadcasts',
  transfer: 'transfers',
  wait: 'waits',
  interWafer: 'inter-wafer link',
  bubbles: 'pipeline bubbles',
};

const GPU_CAUSES: Record<string, string> = { memory: 'HBM bandwidth', compute: 'compute', communication: 'NVLink all-reduce', launch: 'kernel launch' };

/** The real-size presets: every preset without runnable weights. */
export function realSizePresets(): string[] {
  return listPresets()
    .filter((p) => !p.runnable)
    .map((p) => p.name);
}

function waferRow(cfg: ModelConfig, fabric: string, dtype: ProjectDtype): Omit<FabricsBenchRow, 'model' | 'parameters' | 'fabric' | 'kind' | 'wallSeconds'> {
  if (dtype === 'mxfp4' && !cfg.moe) return { devices: null, decodeTokensPerSecond: null, timeToFirstTokenSeconds: null, boundBy: null, note: 'dense: no routed experts to quantise' };
  let r: ProjectionReport;
  try {
    r = projectWafer(cfg, getFabricPreset(fabric), { dtype, batch: FABRICS_BENCH_SETTINGS.batch, promptLength: FABRICS_BENCH_SETTINGS.promptLength, context: FABRICS_BENCH_SETTINGS.context });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { devices: null, decodeTokensPerSecond: null, timeToFirstTokenSeconds: null, boundBy: null, note: `does not fit: ${e.what}` };
  }
  const share = r.breakdownDetail[r.boundBy as keyof typeof r.breakdownDetail] * r.decodeTokensPerSecond;
  return {
    devices: r.wafers,
    decodeTokensPerSecond: r.decodeTokensPerSecond,
    floorTokensPerSecond: r.floorTokensPerSecond,
    efficiency: r.efficiency,
    timeToFirstTokenSeconds: r.timeToFirstTokenSeconds,
    boundBy: `${WAFER_CAUSES[r.boundBy] ?? r.boundBy} (${Math.round(100 * share)}%)`,
    note: r.approximations.length ? r.approximations.join('; ') : null,
  };
}

function gpuRow(cfg: ModelConfig, preset: string, asked: number): Omit<FabricsBenchRow, 'model' | 'parameters' | 'fabric' | 'kind' | 'wallSeconds'> {
  const gpu = getGpuPreset(preset);
  const sizes = validTensorParallelSizes(cfg).filter((n) => n >= asked);
  let lastError = '';
  for (const gpus of sizes) {
    try {
      const r = estimateGpu(cfg, gpu, { gpus, batch: FABRICS_BENCH_SETTINGS.batch, dtype: 'bf16', promptLength: FABRICS_BENCH_SETTINGS.promptLength, contextLength: FABRICS_BENCH_SETTINGS.context });
      const [cause, share] = Object.entries(r.boundBy).reduce((a, e) => (e[1] > a[1] ? e : a));
      return {
        devices: gpus,
        decodeTokensPerSecond: r.decodeTokensPerSecond,
        timeToFirstTokenSeconds: r.timeToFirstTokenSeconds,
        boundBy: `${GPU_CAUSES[cause] ?? cause} (${Math.round(100 * share)}%)`,
        note: gpus > asked ? `does not fit ${asked} × ${gpu.name}: needs ${gpus}` : null,
      };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      lastError = e.what;
    }
  }
  return { devices: null, decodeTokensPerSecond: null, timeToFirstTokenSeconds: null, boundBy: null, note: `does not fit: ${lastError || `no tensor-parallel size ≥ ${asked}`}` };
}

export function runFabricsBench(opts: FabricsBenchOptions = {}): FabricsBenchReport {
  const models = opts.models ?? realSizePresets();
  const rows: FabricsBenchRow[] = [];
  for (const model of models) {
    const cfg = getPreset(model, '--models');
    const parameters = countParameters(cfg).total;
    for (const col of FABRIC_COLUMNS) {
      const t0 = performance.now();
      const row = col.kind === 'wafer' ? waferRow(cfg, col.preset, col.dtype) : gpuRow(cfg, col.preset, col.devices);
      const wallSeconds = (performance.now() - t0) / 1e3;
      rows.push({ model, parameters, fabric: col.name, kind: col.kind, ...row, wallSeconds });
      opts.onProgress?.(`${model} on ${col.name}: ${row.decodeTokensPerSecond === null ? row.note : `${row.decodeTokensPerSecond.toFixed(1)} tokens/s`} (${wallSeconds.toFixed(1)} s)`);
    }
  }
  return { settings: FABRICS_BENCH_SETTINGS, models, fabrics: FABRIC_COLUMNS.map((c) => c.name), rows };
}

function cell(r: FabricsBenchRow | undefined): string {
  if (!r) return '';
  if (r.decodeTokensPerSecond === null) return r.note?.startsWith('dense') ? '–' : 'does not fit';
  const devices = r.kind === 'wafer' ? `${r.devices} wafer${r.devices === 1 ? '' : 's'}` : `${r.devices} GPU${r.devices === 1 ? '' : 's'}`;
  const floor = r.floorTokensPerSecond === undefined ? '' : ` · floor ${r.floorTokensPerSecond.toFixed(0)}, efficiency ${r.efficiency!.toFixed(3)}`;
  return `${r.decodeTokensPerSecond.toFixed(1)} · ${devices} · ${r.boundBy}${floor}`;
}

/** The markdown table: one row per model, one column per fabric ("tokens/s per user · devices · bound by"). */
export function formatFabricsBench(r: FabricsBenchReport): string {
  const s = r.settings;
  const lines = [
    `Decode tokens/s per user · wafers or GPUs needed · what bounds a token · on wafers, the floor (tokens/s with every step at its bound, docs/floor.md) and the efficiency (projected ÷ floor) (${s.dtype} weights — the "wse3 mxfp4" column holds routed experts at 4.25 bits —, batch ${s.batch}, prompt ${s.promptLength}, context ${s.context}).`,
    'Wafers: `wafer project` (the compiler and cost functions, one layer per kind). GPUs: `wafer gpu` (tensor parallel; a model that does not fit the count in the column is shown on the fewest that hold it).',
    '',
    `| model | params | ${r.fabrics.join(' | ')} |`,
    `|---|---:|${r.fabrics.map(() => '---').join('|')}|`,
  ];
  for (const model of r.models) {
    const rows = r.rows.filter((x) => x.model === model);
    const params = rows[0] ? `${(rows[0].parameters / 1e9).toFixed(1)}B` : '';
    lines.push(`| ${model} | ${params} | ${r.fabrics.map((f) => cell(rows.find((x) => x.fabric === f))).join(' | ')} |`);
  }
  // One line per model: what its wafer projections approximate, and why a column has no figure.
  const notes = r.models.flatMap((model) => {
    const parts = new Set(
      r.rows
        .filter((x) => x.model === model && x.kind === 'wafer' && x.note && !x.note.startsWith('dense'))
        .flatMap((x) => (x.decodeTokensPerSecond === null ? [`${x.fabric}: ${x.note}`] : x.note!.split('; '))),
    );
    return parts.size ? [`- ${model}: ${[...parts].join('; ')}`] : [];
  });
  if (notes.length) lines.push('', 'Wafer notes:', ...notes);
  const wall = r.rows.filter((x) => x.kind === 'wafer' && x.decodeTokensPerSecond !== null);
  if (wall.length) lines.push('', `Projection wall time on this host: ${Math.min(...wall.map((x) => x.wallSeconds)).toFixed(1)}–${Math.max(...wall.map((x) => x.wallSeconds)).toFixed(1)} s per model and wafer.`);
  return lines.join('\n');
}

/** "a,b" -> preset names, each checked. */
export function parseModelList(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new InputError(`no model in "${value}"`, '--models', 'give comma-separated presets, e.g. llama-3.1-8b,gpt-oss-120b');
  for (const n of names) getPreset(n, '--models');
  return names;
}

/** Writes the report as `dir`/fabrics.json and the table as `dir`/fabrics.md (each replaced atomically). */
export function writeFabricsBench(r: FabricsBenchReport, dir: string): void {
  writeFileAtomic(join(dir, 'fabrics.json'), JSON.stringify(r, null, 2) + '\n', { option: '--out-dir', createParents: true });
  writeFileAtomic(join(dir, 'fabrics.md'), formatFabricsBench(r) + '\n', { option: '--out-dir', createParents: true });
}
