// Fuzz targets: every parser of user input, each with a generator of hostile inputs (fast-check). The property is the
// same for all: the parser returns a value or throws an InputError — never another exception — and within a time
// budget. Used by the quick seeded run in `npm test` (test/unit/src/cli/fuzz.test.ts) and by `npm run fuzz`
// (scripts/fuzz.ts, 10,000 inputs per target, counts in bench/results/fuzz.md).
import fc from 'fast-check';
import { InputError, parseJsonText } from '../../fabric/errors.js';
import { parseModelConfig } from '../../compiler/model/config.js';
import { readSafetensors, writeSafetensors } from '../../compiler/model/safetensors.js';
import { FaultMap } from '../../fabric/faults/index.js';
import { getFabricPreset, parseFabricSpec } from '../../fabric/spec/index.js';
import { loadProgram } from '../../fabric/isa/validate.js';
import { parseGridOption, parseIntList, parseIntOption, parseNumberOption, parseSeedOption, parseTokenList } from '../../src/io/parse.js';
import { parseLimits } from '../../src/io/limits.js';
import { chainProgram } from '../unit/fabric/mesh/programs.js';

/** Per input: far above what any parser needs for a valid input of this size. */
export const INPUT_BUDGET_MS = 1000;

export interface FuzzTarget {
  name: string;
  input: fc.Arbitrary<unknown>;
  run: (input: unknown) => unknown;
}

/** Text a user might type for a number: plain, signed, exponents, hex/binary/octal, huge, tiny, words, blanks. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: false }).map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom('0x1', '0b11', '0o7', '1e-400', '1e400', '-0', '+5', ' 7 ', '', ' ', 'Infinity', '-Infinity', 'NaN', '1_000', '١٢', '1.', '.5', '5e', '0x', '1e9', '2e-308', '4.9e-324'),
  fc.string({ maxLength: 30 }),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);

/** A JSON value, or a hostile one: huge and tiny numbers, long strings, deep nesting. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(0, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e9, 1e15, 1e300, -1e300, 5e-324, null, true, '', 'x'.repeat(10000)),
  fc.integer({ min: 1, max: 3000 }).map((d) => {
    let v: unknown = 1;
    for (let i = 0; i < d; i++) v = [v];
    return v;
  }),
);

/** Every path of a JSON value (objects and arrays), depth first, capped. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (out.length > 2000) return out;
  out.push(prefix);
  if (Array.isArray(v)) v.slice(0, 50).forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

/** `base` with 1–3 edits: a value replaced by a hostile one, a key removed, or a key added. */
export function mutated(base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base);
  const edit = fc.tuple(fc.nat(), fc.constantFrom('set', 'delete', 'add'), hostileValue, fc.string({ maxLength: 12 }));
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const v = structuredClone(base) as Record<string | number, unknown>;
    for (const [n, kind, value, key] of edits) {
      const path = all[n % all.length];
      if (path.length === 0) {
        if (kind === 'set') return value;
        continue;
      }
      let parent: Record<string | number, unknown> | undefined = v;
      for (const p of path.slice(0, -1)) parent = parent?.[p] as Record<string | number, unknown> | undefined;
      if (!parent || typeof parent !== 'object') continue;
      const last = path[path.length - 1];
      if (kind === 'set') parent[last] = value;
      else if (kind === 'delete') delete parent[last];
      else if (!Array.isArray(parent)) parent[key] = value;
    }
    return v;
  });
}

const llama = { model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 64, rms_norm_eps: 1e-5 };
const mixtral = { ...llama, model_type: 'mixtral', num_local_experts: 8, num_experts_per_tok: 2 };
const kimi = {
  ...llama,
  model_type: 'kimi_k2',
  moe_intermediate_size: 32,
  n_routed_experts: 8,
  num_experts_per_tok: 2,
  n_shared_experts: 1,
  first_k_dense_replace: 1,
  kv_lora_rank: 16,
  q_lora_rank: 24,
  qk_nope_head_dim: 8,
  qk_rope_head_dim: 8,
  v_head_dim: 8,
};
const gptOss = { ...llama, model_type: 'gpt_oss', num_local_experts: 8, num_experts_per_tok: 2, layer_types: ['sliding_attention', 'full_attention'], sliding_window: 4 };

const safetensorsBytes = writeSafetensors([
  { name: 'a', dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
  { name: 'b', dtype: 'BF16', shape: [4], data: new Uint16Array(4) },
]);
const bytesMutation = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
    const out = safetensorsBytes.slice();
    out[i % out.length] = b;
    return out;
  }),
  fc.nat().map((n) => safetensorsBytes.slice(0, n % safetensorsBytes.length)),
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.bigUint64Array({ minLength: 1, maxLength: 1 }), fc.uint8Array({ maxLength: 64 })).map(([len, rest]) => new Uint8Array([...new Uint8Array(len.buffer), ...rest])),
);

const chain = chainProgram(4).program;
const mini4 = getFabricPreset('mini-4');
const mini8 = { ...getFabricPreset('mini-8') };

export const TARGETS: readonly FuzzTarget[] = [
  { name: 'parseIntOption', input: numberText, run: (s) => parseIntOption(s as string, '--n', 0, 1e6) },
  { name: 'parseNumberOption', input: numberText, run: (s) => parseNumberOption(s as string, '--x', 0, 1) },
  { name: 'parseSeedOption', input: numberText, run: (s) => parseSeedOption(s as string) },
  { name: 'parseGridOption', input: fc.oneof(fc.tuple(numberText, fc.constantFrom('x', 'X', '×', ''), numberText).map(([a, x, b]) => `${a}${x}${b}`), fc.string()), run: (s) => parseGridOption(s as string, '--mesh', 4096) },
  { name: 'parseTokenList', input: fc.oneof(fc.array(numberText, { maxLength: 20 }).map((a) => a.join(',')), fc.string()), run: (s) => parseTokenList(s as string, '--prompt', 64) },
  { name: 'parseIntList', input: fc.oneof(fc.array(numberText, { maxLength: 80 }).map((a) => a.join(',')), fc.string()), run: (s) => parseIntList(s as string, '--batch') },
  { name: 'parseLimits', input: fc.record({ maxMemoryMb: fc.option(numberText, { nil: undefined }), maxWork: fc.option(numberText, { nil: undefined }), maxSeconds: fc.option(numberText, { nil: undefined }) }), run: (o) => parseLimits(o as Record<string, string | undefined>) },
  {
    name: 'parseJsonText',
    input: fc.oneof(
      fc.string(),
      fc.json(),
      fc.tuple(fc.json(), fc.nat(), fc.string({ maxLength: 3 })).map(([j, n, ins]) => j.slice(0, n % (j.length + 1)) + ins + j.slice(n % (j.length + 1))),
      fc.integer({ min: 1, max: 20000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
    ),
    run: (t) => parseJsonText(t as string, 'f.json'),
  },
  { name: 'parseModelConfig', input: fc.oneof(mutated(llama), mutated(mixtral), mutated(kimi), mutated(gptOss)), run: (j) => parseModelConfig(j, 'config.json') },
  { name: 'parseFabricSpec', input: mutated(mini8), run: (j) => parseFabricSpec(j, 'fabric.json') },
  { name: 'FaultMap.fromJson', input: mutated({ width: 8, height: 8, deadTiles: [[1, 1]], deadCores: [[2, 2]], deadLinks: [[3, 3, 'E']] }), run: (j) => FaultMap.fromJson(j, 'faults.json') },
  { name: 'loadProgram', input: mutated(chain), run: (j) => loadProgram(j, mini4, null, 'program.json') },
  { name: 'readSafetensors', input: bytesMutation, run: (b) => readSafetensors(b as Uint8Array, 'model.safetensors') },
];

export interface FuzzCounts {
  inputs: number;
  values: number;
  inputErrors: number;
  /** Exceptions other than InputError: must be 0. */
  crashes: number;
  /** Inputs over INPUT_BUDGET_MS: must be 0. */
  slow: number;
  /** The first crash or slow input, for the report. */
  example: string | null;
}

/** Runs `target` on `runs` seeded inputs and counts the outcomes (never throws). */
export function fuzzTarget(target: FuzzTarget, runs: number, seed: number): FuzzCounts {
  const counts: FuzzCounts = { inputs: 0, values: 0, inputErrors: 0, crashes: 0, slow: 0, example: null };
  const show = (v: unknown) => {
    try {
      return (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)) ?? String(v)).slice(0, 200);
    } catch {
      return String(v).slice(0, 200);
    }
  };
  fc.assert(
    fc.property(target.input, (input) => {
      counts.inputs++;
      const t0 = performance.now();
      try {
        target.run(input);
        counts.values++;
      } catch (e) {
        if (e instanceof InputError) counts.inputErrors++;
        else {
          counts.crashes++;
          counts.example ??= `${show(input)} -> ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}`;
        }
      }
      const ms = performance.now() - t0;
      if (ms > INPUT_BUDGET_MS) {
        counts.slow++;
        counts.example ??= `${show(input)} took ${ms.toFixed(0)} ms`;
      }
    }),
    { numRuns: runs, seed },
  );
  return counts;
}
