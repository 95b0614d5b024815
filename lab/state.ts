// The lab page's state: every knob, as plain data, read from and written to the page's URL (so a view can be shared).
// Parsing is total: a value that is absent, malformed or out of range falls back to its default and is reported, so
// a hand-edited link never breaks the page. Pure: no DOM, so the same code runs in the page, its workers and tests.

export const STUDY_DTYPES = ['bf16', 'int8'] as const;
export const RUN_DTYPES = ['f32', 'bf16', 'int8'] as const;
export const REPAIRS = ['route-around', 'remap'] as const;
export const RUN_MODELS = ['toy-dense', 'toy-moe', 'dropped'] as const;
export const RUN_MESHES = ['mini-16', 'mini-32', 'mini-64'] as const;

/** A numeric knob: its URL key, bounds, and whether it is a whole number. */
interface NumberField {
  kind: 'number';
  min: number;
  max: number;
  int: boolean;
}
interface ChoiceField {
  kind: 'choice';
  /** Allowed values; null: any non-empty name (checked against the presets by the worker, which knows them). */
  values: readonly string[] | null;
}
interface TextField {
  kind: 'text';
  pattern: RegExp;
}
type Field = NumberField | ChoiceField | TextField;

const int = (min: number, max: number): NumberField => ({ kind: 'number', min, max, int: true });
const real = (min: number, max: number): NumberField => ({ kind: 'number', min, max, int: false });
const choice = (values: readonly string[] | null): ChoiceField => ({ kind: 'choice', values });

/** Every knob of the page. Wafer overrides of 0 mean "the preset's own value". */
export const FIELDS = {
  // The memory-wall study: one model on a wafer and a GPU.
  model: choice(null),
  wafer: choice(null),
  sramKiB: int(0, 4096),
  clockMHz: int(0, 5000),
  gridW: int(0, 2000),
  gridH: int(0, 2000),
  simdF16: int(0, 64),
  simdF32: int(0, 64),
  simdInt8: int(0, 64),
  gpu: choice(null),
  gpus: int(0, 1024),
  batch: int(1, 1024),
  dtype: choice(STUDY_DTYPES),
  // The small faulty mesh: its map, and the run in the page.
  runModel: choice(RUN_MODELS),
  mesh: choice(RUN_MESHES),
  runDtype: choice(RUN_DTYPES),
  density: real(0, 0.2),
  clusterAlpha: real(0, 100),
  seed: int(0, 2 ** 31 - 1),
  repair: choice(REPAIRS),
  prompt: { kind: 'text', pattern: /^\d{1,6}(,\d{1,6}){0,15}$/ } as TextField,
  tokens: int(1, 16),
} as const satisfies Record<string, Field>;

export type LabKey = keyof typeof FIELDS;
export type LabState = { [K in LabKey]: (typeof FIELDS)[K] extends NumberField ? number : string };

export const DEFAULT_STATE: Readonly<LabState> = Object.freeze({
  // Small enough that the chart answers a slider in about a second; full wafers and real models take seconds per point.
  model: 'toy-moe',
  wafer: 'mini-64',
  sramKiB: 0,
  clockMHz: 0,
  gridW: 0,
  gridH: 0,
  simdF16: 0,
  simdF32: 0,
  simdInt8: 0,
  gpu: 'h100',
  gpus: 0,
  batch: 1,
  dtype: 'bf16',
  runModel: 'toy-dense',
  mesh: 'mini-32',
  runDtype: 'f32',
  density: 0.03,
  clusterAlpha: 0,
  seed: 1,
  repair: 'route-around',
  prompt: '1,2,3',
  tokens: 4,
});

export const LAB_KEYS = Object.keys(FIELDS) as LabKey[];

/** One value from its URL text, or an explanation of why the default is used instead. */
function parseValue(key: LabKey, raw: string): { value: number | string } | { problem: string } {
  const f: Field = FIELDS[key];
  if (f.kind === 'number') {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v)) return { problem: `${key}=${raw} is not a number` };
    if (f.int && !Number.isInteger(v)) return { problem: `${key}=${raw} is not a whole number` };
    if (v < f.min || v > f.max) return { problem: `${key}=${raw} is outside ${f.min}…${f.max}` };
    return { value: v };
  }
  if (f.kind === 'text') return f.pattern.test(raw) ? { value: raw } : { problem: `${key}=${raw} is not a comma-separated list of token ids` };
  if (raw === '' || raw.length > 100) return { problem: `${key} is empty or too long` };
  if (f.values && !f.values.includes(raw)) return { problem: `${key}=${raw} is not one of ${f.values.join(', ')}` };
  return { value: raw };
}

/** The state a URL query describes (unknown keys ignored), with what was ignored and why. */
export function stateFromQuery(query: string): { state: LabState; problems: string[] } {
  const params = new URLSearchParams(query);
  const state: Record<string, number | string> = { ...DEFAULT_STATE };
  const problems: string[] = [];
  for (const key of LAB_KEYS) {
    const raw = params.get(key);
    if (raw === null) continue;
    const r = parseValue(key, raw);
    if ('value' in r) state[key] = r.value;
    else problems.push(r.problem);
  }
  return { state: state as LabState, problems };
}

/** The query that stateFromQuery reads back as `state`: only the values that differ from the defaults. */
export function queryFromState(state: LabState): string {
  const params = new URLSearchParams();
  for (const key of LAB_KEYS) if (state[key] !== DEFAULT_STATE[key]) params.set(key, String(state[key]));
  return params.toString();
}

/** The knobs that decide each output, so a change recomputes only what depends on it. */
export const STUDY_KEYS: readonly LabKey[] = ['model', 'wafer', 'sramKiB', 'clockMHz', 'gridW', 'gridH', 'simdF16', 'simdF32', 'simdInt8', 'gpu', 'gpus', 'batch', 'dtype'];
export const MESH_KEYS: readonly LabKey[] = ['runModel', 'mesh', 'runDtype', 'density', 'clusterAlpha', 'seed', 'repair'];
export const RUN_KEYS: readonly LabKey[] = [...MESH_KEYS, 'prompt', 'tokens'];

export function pick(state: LabState, keys: readonly LabKey[]): Partial<LabState> {
  return Object.fromEntries(keys.map((k) => [k, state[k]]));
}

/** The `wafer run` command line that runs what the page's "Run it here" runs (the page shows it beside the result). */
export function runCommandLine(s: LabState, modelDir = 'MODEL_DIR'): string {
  const parts = ['npx wafer run', `--model ${s.runModel === 'dropped' ? modelDir : s.runModel}`, `--fabric ${s.mesh}`, `--dtype ${s.runDtype}`];
  if (s.density > 0) parts.push(`--fault-density ${s.density}`, `--seed ${s.seed}`);
  if (s.density > 0 && s.clusterAlpha > 0) parts.push(`--clustered ${s.clusterAlpha}`);
  parts.push(`--repair ${s.repair}`, `--max-seq ${runMaxSeq(s)}`, `--prompt ${s.prompt}`, `--tokens ${s.tokens}`, '--no-baseline', '--workers 0');
  return parts.join(' ');
}

/** KV-cache positions the in-page run compiles for: the prompt plus the tokens, rounded up to a power of two (≥ 8). */
export function runMaxSeq(s: Pick<LabState, 'prompt' | 'tokens'>): number {
  const steps = s.prompt.split(',').length + s.tokens - 1;
  let n = 8;
  while (n < steps) n *= 2;
  return n;
}
