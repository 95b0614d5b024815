// Parsers for command-line values: the one place a flag's string becomes a typed value. Each bad value is an
// InputError naming the option; numbers are read strictly (plain decimal only: no hex, binary or octal prefixes, no
// "Infinity", nothing that underflows to 0 or overflows past the largest safe integer), and what a message quotes of
// the user's text is cut short (quoteInput), so no input makes an error message unbounded.
import { InputError, quoteInput } from '../../fabric/errors.js';

export { quoteInput };

/** The largest integer every option accepts unless it says less: 2^53 − 1, where doubles stop counting by ones. */
export const MAX_INT_OPTION = Number.MAX_SAFE_INTEGER;
/** Seeds, everywhere (weights, fault maps, traffic): integers in [0, 2^53 − 1], what fabric/faults/random.ts mixes. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
/** Tokens a real-numbers run generates (generate, run, gpu --run, report): 4096, each a full forward pass. */
export const MAX_RUN_TOKENS = 4096;
/** Positions (prompt, context) any command accepts: 2^24, the bound of max_position_embeddings (compiler/model/config.ts). */
export const MAX_POSITIONS = 1 << 24;
/** Tensor-parallel GPUs: 4096, far above any NVLink domain (72 in a GB200 NVL72). */
export const MAX_GPUS = 4096;
/** Sequences decoded together: 2^16. */
export const MAX_BATCH = 65536;

const INT_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A whole number in [min, max] written in plain decimal ("12", "+3"; not "0x1", "1e3", "1.0"). */
export function parseIntOption(value: string, option: string, min = 0, max = MAX_INT_OPTION): number {
  const text = value.trim();
  const range = max === MAX_INT_OPTION ? `≥ ${min}` : `in [${min}, ${max}]`;
  if (!INT_TEXT.test(text)) throw new InputError(`not an integer: ${quoteInput(value)}`, option, `give a whole number ${range}`);
  const n = Number(text);
  if (n < min) throw new InputError(`${text.length > 20 ? quoteInput(text) : n} is too small`, option, `give a whole number ${range}`);
  if (n > max || !Number.isSafeInteger(n)) throw new InputError(`${quoteInput(text)} is too large`, option, `give a whole number in [${min}, ${max === MAX_INT_OPTION ? '2^53 − 1' : max}]`);
  return n === 0 ? 0 : n; // no -0
}

/** A seed: a whole number in [0, 2^53 − 1], the same range for every command. */
export function parseSeedOption(value: string, option = '--seed'): number {
  return parseIntOption(value, option, 0, MAX_SEED);
}

/**
 * A finite decimal number in [min, max] ("0.5", "1e-3", ".25"). Refused: hex and other prefixes, "Infinity", "NaN",
 * and a literal that is not zero but rounds to 0 (1e-400) — the user asked for something other than nothing.
 */
export function parseNumberOption(value: string, option: string, min = -Infinity, max = Infinity): number {
  const text = value.trim();
  const range = `in [${min}, ${max}]`;
  if (!DECIMAL_TEXT.test(text)) throw new InputError(`not a number: ${quoteInput(value)}`, option, `give a decimal number ${range}`);
  const n = Number(text);
  if (!Number.isFinite(n)) throw new InputError(`${quoteInput(text)} is too large`, option, `give a number ${range}`);
  if (n === 0 && /[1-9]/.test(text.replace(/[eE].*$/, ''))) {
    throw new InputError(`${quoteInput(text)} is too small to represent (it rounds to 0)`, option, `give 0 or a number of magnitude ≥ ${Number.MIN_VALUE}`);
  }
  if (n < min || n > max) throw new InputError(`${n} is out of range`, option, `give a number ${range}`);
  return n === 0 ? 0 : n;
}

/** A number in (0, max]: zero is refused as well as the negatives (rates, densities of work, budgets). */
export function parsePositiveNumberOption(value: string, option: string, max = Infinity, smallest = Number.MIN_VALUE): number {
  const n = parseNumberOption(value, option, 0, max);
  if (n < smallest) throw new InputError(`${n} is too small`, option, `give a number in [${smallest}, ${max}]`);
  return n;
}

/** One of `choices`, exactly as written (dtypes, patterns, policies): the one choice parser every command uses. */
export function parseChoiceOption<T extends string>(value: string, option: string, choices: readonly T[], what = 'value'): T {
  if (!(choices as readonly string[]).includes(value)) throw new InputError(`unknown ${what} ${quoteInput(value)}`, option, `use one of ${choices.join(', ')}`);
  return value as T;
}

/** A dtype flag (--dtype, --kv-dtype): one of the dtypes the command supports. */
export function parseDtypeOption<T extends string>(value: string, option: string, dtypes: readonly T[]): T {
  if (!(dtypes as readonly string[]).includes(value)) throw new InputError(`unsupported dtype ${quoteInput(value)}`, option, `use one of ${dtypes.join(', ')}`);
  return value as T;
}

/** "16x16" (or "16X16") with each side in [1, maxSide]. */
export function parseGridOption(value: string, option: string, maxSide: number): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(value);
  if (!m) throw new InputError(`not a mesh size: ${quoteInput(value)}`, option, 'give WIDTHxHEIGHT, e.g. 16x16');
  const [width, height] = [Number(m[1]), Number(m[2])];
  for (const [side, n] of [['width', width], ['height', height]] as const) {
    if (n < 1) throw new InputError(`mesh ${side} ${n} is not positive`, option, 'give at least 1 tile a side');
    if (n > maxSide) throw new InputError(`mesh ${side} ${n > 1e9 ? quoteInput(String(m[side === 'width' ? 1 : 2])) : n} is larger than ${maxSide}`, option, `give at most ${maxSide} tiles a side`);
  }
  return { width, height };
}

/** "1,2,3" -> [1, 2, 3]; every id a non-negative integer (below vocabSize when given); at most `maxLength` ids. */
export function parseTokenList(value: string, option = '--prompt', vocabSize?: number, maxLength = 65536): number[] {
  const parts = value.split(',', maxLength + 1).map((s) => s.trim());
  if (parts.length > maxLength) throw new InputError(`more than ${maxLength} token ids`, option, `give at most ${maxLength}`);
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InputError(`not a list of token ids: ${quoteInput(value)}`, option, 'give comma-separated non-negative integers, e.g. 1,2,3');
  }
  const ids = parts.map((p) => parseIntOption(p, option, 0, 0x7fffffff));
  if (vocabSize !== undefined) {
    const bad = ids.find((t) => t >= vocabSize);
    if (bad !== undefined) throw new InputError(`token id ${bad} is outside the vocabulary of ${vocabSize}`, option, `use ids below ${vocabSize}`);
  }
  return ids;
}

/** "1,8,64" -> [1, 8, 64], each in [min, max], at most 64 entries. */
export function parseIntList(value: string, option: string, min = 1, max = MAX_INT_OPTION): number[] {
  const parts = value.split(',', 65);
  if (parts.length > 64) throw new InputError('more than 64 values', option, 'give at most 64 comma-separated values');
  return parts.map((s) => parseIntOption(s, option, min, max));
}
