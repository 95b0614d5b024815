// The sweep file: what to vary (axes), what each point runs (a study's `run`), and which outputs to keep. Parsed
// strictly with zod (unknown keys rejected) from JSON or YAML; every message names the path inside the file. This
// module uses no Node built-ins, so a browser page can validate and expand a sweep file too.
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { InputError, inputErrorFromZod, parseJsonText } from '../../fabric/errors.js';
import { simdWidthSchema } from '../../fabric/spec/index.js';
import { MAX_BATCH, MAX_GPUS, MAX_POSITIONS, MAX_SEED } from '../io/parse.js';

/** Points a sweep may hold unless the command raises the limit (--max-points): the plan is built in memory. */
export const DEFAULT_MAX_POINTS = 100_000;
/** Values one axis may list: a bound on the file, whatever the product of the axes. */
export const MAX_AXIS_VALUES = 10_000;

export const SWEEP_KINDS = ['project', 'mesh', 'gpu', 'noc'] as const;
export type SweepKind = (typeof SWEEP_KINDS)[number];

const int = (min: number) => z.number().int().min(min);
const list = <T extends z.ZodType>(t: T) => z.array(t).min(1).max(MAX_AXIS_VALUES);
const seed = int(0).max(MAX_SEED);
/** Seeds as a list, or a range `{ from, count }` (count seeds from `from`). */
const seeds = z.union([list(seed), z.strictObject({ from: int(0).max(MAX_SEED - MAX_AXIS_VALUES).default(0), count: int(1).max(MAX_AXIS_VALUES) })]);
const batch = int(1).max(MAX_BATCH);
const positions = int(1).max(MAX_POSITIONS);
const gridText = z.string().regex(/^\d+x\d+$/, 'expected WxH in tiles, e.g. "32x32"');

/** The fabric a point runs on: presets, each with optional overrides of its spec (every combination is a point). */
const fabricAxes = {
  fabric: list(z.string().min(1)),
  sramBytesPerTile: list(int(1)).optional(),
  clockHz: list(z.number().positive()).optional(),
  /** A sub-grid of the fabric (project), or the fabric's whole mesh replaced (mesh, noc). */
  grid: list(gridText).optional(),
  simdWidth: list(simdWidthSchema.partial()).optional(),
};

/** Defects: density, clustering (null: uniform), seeds, and the repair policy. */
const faultAxes = {
  faultDensity: list(z.number().min(0).max(1)).optional(),
  clustered: list(z.number().positive().nullable()).optional(),
  seed: seeds.optional(),
  repair: list(z.enum(['remap', 'route-around'])).optional(),
};

const projectAxes = z.strictObject({
  model: list(z.string().min(1)),
  ...fabricAxes,
  ...faultAxes,
  dtype: list(z.enum(['bf16', 'int8', 'mxfp4'])).optional(),
  kvDtype: list(z.enum(['bf16', 'f32'])).optional(),
  batch: list(batch).optional(),
  context: list(positions).optional(),
  promptLength: list(positions).optional(),
  wafers: list(z.union([int(1).max(4096), z.literal('auto')])).optional(),
});

const meshAxes = z.strictObject({
  model: list(z.string().min(1)),
  ...fabricAxes,
  ...faultAxes,
  dtype: list(z.enum(['f32', 'bf16', 'int8'])).optional(),
  prompt: list(z.array(int(0)).min(1).max(256)).optional(),
  tokens: list(int(1).max(256)).optional(),
  weightsSeed: list(seed).optional(),
});

const gpuAxes = z.strictObject({
  model: list(z.string().min(1)),
  gpu: list(z.string().min(1)),
  gpus: list(int(1).max(MAX_GPUS)).optional(),
  dtype: list(z.enum(['bf16', 'fp8', 'int8', 'mxfp4'])).optional(),
  batch: list(batch).optional(),
  context: list(positions).optional(),
  promptLength: list(positions).optional(),
});

const nocAxes = z.strictObject({
  ...fabricAxes,
  grid: list(gridText),
  pattern: list(z.enum(['uniform', 'transpose', 'bitcomplement', 'hotspot', 'neighbor'])).optional(),
  rate: list(z.number().min(0).max(1)),
  packetWavelets: list(int(1).max(64)).optional(),
  cycles: list(int(1).max(1_000_000)).optional(),
  warmup: list(int(0).max(1_000_000)).optional(),
  vcs: list(int(1).max(8)).optional(),
  seed: seeds.optional(),
});

const outputs = z.array(z.string().min(1)).min(1).max(64).optional();

export const studySchema = z.discriminatedUnion('run', [
  z.strictObject({ run: z.literal('project'), name: z.string().optional(), axes: projectAxes, outputs }),
  z.strictObject({ run: z.literal('mesh'), name: z.string().optional(), axes: meshAxes, outputs }),
  z.strictObject({ run: z.literal('gpu'), name: z.string().optional(), axes: gpuAxes, outputs }),
  z.strictObject({ run: z.literal('noc'), name: z.string().optional(), axes: nocAxes, outputs }),
]);

export const sweepFileSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected a name of letters, digits, ".", "_" and "-"'),
  description: z.string().optional(),
  studies: z.array(studySchema).min(1).max(64),
});

export type SweepFile = z.infer<typeof sweepFileSchema>;
export type Study = z.infer<typeof studySchema>;
export type ProjectAxes = z.infer<typeof projectAxes>;
export type MeshAxes = z.infer<typeof meshAxes>;
export type GpuAxes = z.infer<typeof gpuAxes>;
export type NocAxes = z.infer<typeof nocAxes>;

/** Parses a sweep file's text: YAML when `source` ends in .yaml/.yml, JSON otherwise; `source` names it in messages. */
export function parseSweepText(text: string, source: string): SweepFile {
  let raw: unknown;
  if (/\.ya?ml$/i.test(source)) {
    try {
      raw = parseYaml(text);
    } catch (e) {
      throw new InputError(`malformed YAML: ${(e as Error).message.split('\n')[0]}`, source, 'fix the YAML syntax');
    }
  } else raw = parseJsonText(text, source);
  const r = sweepFileSchema.safeParse(raw);
  if (!r.success) throw inputErrorFromZod(r.error, source, undefined, raw);
  return r.data;
}
