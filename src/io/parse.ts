// Parsers for command-line values; each bad value is an InputError naming the option.
import { InputError } from '../../fabric/errors.js';

export function parseIntOption(value: string, option: string, min = 0): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InputError(`not an integer: "${value}"`, option, `give a whole number ≥ ${min}`);
  const n = Number(value);
  if (n < min) throw new InputError(`${n} is too small`, option, `give a whole number ≥ ${min}`);
  return n;
}

export function parseNumberOption(value: string, option: string, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InputError(`not a number: "${value}"`, option, 'give a number');
  if (n < min || n > max) throw new InputError(`${n} is out of range`, option, `give a number in [${min}, ${max}]`);
  return n;
}

/** "1,2,3" -> [1, 2, 3]; every id a non-negative integer (below vocabSize when given). */
export function parseTokenList(value: string, option = '--prompt', vocabSize?: number): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InputError(`not a list of token ids: "${value}"`, option, 'give comma-separated non-negative integers, e.g. 1,2,3');
  }
  const ids = parts.map(Number);
  if (vocabSize !== undefined) {
    const bad = ids.find((t) => t >= vocabSize);
    if (bad !== undefined) throw new InputError(`token id ${bad} is outside the vocabulary of ${vocabSize}`, option, `use ids below ${vocabSize}`);
  }
  return ids;
}

/** "1,8,64" -> [1, 8, 64]. */
export function parseIntList(value: string, option: string, min = 1): number[] {
  return value.split(',').map((s) => parseIntOption(s, option, min));
}
