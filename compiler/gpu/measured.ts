// Measured GPU serving runs (data/gpu-measured/README.md): the CSV text parsed and validated row by row with zod.
// Bad data is an InputError naming the file, line and column: a wrong or missing column, a value that is not a number,
// a figure whose size says it is in another unit (nanoseconds where milliseconds are expected), a model, GPU or
// precision the emulator does not know.
import { z } from 'zod';
import { InputError } from '../../fabric/errors.js';
import type { GpuWeightDtype } from './lower.js';

export const MEASURED_COLUMNS = ['model', 'gpu', 'gpus', 'precision', 'concurrency', 'input_tokens', 'output_tokens', 'ttft_ms', 'itl_ms', 'tok_s_per_request', 'tok_s_total'] as const;

/** The dataset's model names → model presets (Llama 3 has the layer shapes of Llama 3.1). */
export const MEASURED_MODELS: Readonly<Record<string, string>> = Object.freeze({ 'llama3-8b-instruct': 'llama-3.1-8b', 'llama3-70b-instruct': 'llama-3.1-70b' });
/** The dataset's GPU names → GPU presets. */
export const MEASURED_GPUS: Readonly<Record<string, string>> = Object.freeze({ 'A100-SXM4-80GB': 'a100', 'H100_80GB_HBM3': 'h100' });
/** Precisions → the emulator's weight format (fp16 and bf16 weigh and run the same). */
export const MEASURED_PRECISIONS: Readonly<Record<string, GpuWeightDtype>> = Object.freeze({ fp16: 'bf16', bf16: 'bf16', fp8: 'fp8' });

/** Plausible ranges in the columns' units: a figure outside them is almost surely in another unit. */
const ITL_MS = { min: 0.05, max: 10_000 };
const TTFT_MS = { min: 0.05, max: 3_600_000 };

const count = (max: number) => z.number().int().positive().max(max);
const ms = (r: { min: number; max: number }) =>
  z
    .number()
    .min(r.min, `unit mismatch: below ${r.min} ms, not a plausible time in milliseconds`)
    .max(r.max, `unit mismatch: above ${r.max} ms, not a plausible time in milliseconds (nanoseconds?)`);

export const measuredRowSchema = z.strictObject({
  model: z.enum(Object.keys(MEASURED_MODELS) as [string, ...string[]]),
  gpu: z.enum(Object.keys(MEASURED_GPUS) as [string, ...string[]]),
  gpus: count(64),
  precision: z.enum(Object.keys(MEASURED_PRECISIONS) as [string, ...string[]]),
  concurrency: count(100_000),
  input_tokens: count(1_000_000),
  output_tokens: count(1_000_000),
  ttft_ms: ms(TTFT_MS),
  itl_ms: ms(ITL_MS),
  tok_s_per_request: z.number().positive(),
  tok_s_total: z.number().positive(),
});

/** One measured run, in the emulator's names. */
export interface MeasuredRun {
  /** Line of the file (the header is line 1). */
  line: number;
  /** The dataset's own names, for tables. */
  modelName: string;
  gpuName: string;
  precisionName: string;
  /** Model and GPU presets, weight format. */
  model: string;
  gpu: string;
  dtype: GpuWeightDtype;
  gpus: number;
  concurrency: number;
  inputTokens: number;
  outputTokens: number;
  ttftSeconds: number;
  itlSeconds: number;
  tokensPerSecondTotal: number;
}

function fail(what: string, source: string, line: number, column: string, fix: string): never {
  throw new InputError(what, `${source}: line ${line}, column ${column}`, fix);
}

function checkHeader(header: string[], source: string): void {
  for (let i = 0; i < Math.max(header.length, MEASURED_COLUMNS.length); i++) {
    const want = MEASURED_COLUMNS[i];
    const got = header[i];
    if (got === want) continue;
    if (want === undefined) fail(`unexpected column "${got}"`, source, 1, String(i + 1), `remove it; the columns are ${MEASURED_COLUMNS.join(',')}`);
    fail(got === undefined ? `missing column "${want}"` : `column "${got}" where "${want}" belongs`, source, 1, String(i + 1), `the header must be ${MEASURED_COLUMNS.join(',')}`);
  }
}

const TEXT_COLUMNS = new Set(['model', 'gpu', 'precision']);

function parseRow(cells: string[], line: number, source: string): MeasuredRun {
  if (cells.length !== MEASURED_COLUMNS.length) fail(`${cells.length} fields where the header has ${MEASURED_COLUMNS.length}`, source, line, String(Math.min(cells.length, MEASURED_COLUMNS.length) + 1), 'give one value per column, comma-separated');
  const raw: Record<string, string | number> = {};
  MEASURED_COLUMNS.forEach((col, i) => {
    const cell = cells[i].trim();
    if (TEXT_COLUMNS.has(col)) raw[col] = cell;
    else {
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v)) fail(`"${cell}" is not a number`, source, line, col, 'give a number');
      raw[col] = v;
    }
  });
  const r = measuredRowSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const col = String(issue.path[0]);
    const value = raw[col];
    let fix = 'correct this value';
    if (issue.code === 'invalid_value') fix = `use one of ${issue.values.map(String).join(', ')}`;
    else if (issue.message.startsWith('unit mismatch')) fix = 'give the time in milliseconds';
    else if (issue.code === 'invalid_type' || issue.code === 'too_small' || issue.code === 'too_big') fix = issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, 'make it ');
    fail(issue.message.startsWith('unit mismatch') ? `${issue.message}: ${value}` : `${issue.code === 'invalid_value' ? 'unknown value' : issue.message} "${value}"`, source, line, col, fix);
  }
  const d = r.data;
  return {
    line,
    modelName: d.model,
    gpuName: d.gpu,
    precisionName: d.precision,
    model: MEASURED_MODELS[d.model],
    gpu: MEASURED_GPUS[d.gpu],
    dtype: MEASURED_PRECISIONS[d.precision],
    gpus: d.gpus,
    concurrency: d.concurrency,
    inputTokens: d.input_tokens,
    outputTokens: d.output_tokens,
    ttftSeconds: d.ttft_ms / 1e3,
    itlSeconds: d.itl_ms / 1e3,
    tokensPerSecondTotal: d.tok_s_total,
  };
}

/** The rows of a measured-runs CSV (header MEASURED_COLUMNS), validated; `source` names the file in messages. */
export function parseMeasuredCsv(text: string, source: string): MeasuredRun[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new InputError('empty file', source, `give a CSV whose header is ${MEASURED_COLUMNS.join(',')}`);
  checkHeader(lines[0].split(',').map((c) => c.trim()), source);
  const rows: MeasuredRun[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].includes('"')) fail('quoted fields are not supported', source, i + 1, String(lines[i].split(',').findIndex((c) => c.includes('"')) + 1), 'write plain values without quotes');
    rows.push(parseRow(lines[i].split(','), i + 1, source));
  }
  if (rows.length === 0) throw new InputError('no data rows', source, 'give at least one measured run under the header');
  return rows;
}
