// fabric/errors.ts: the messages every validator's zod issues and JSON syntax errors turn into.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inputErrorFromZod, parseJsonText } from '../../../fabric/errors.js';
import { catchInputError } from '../inputError.js';

const schema = z.strictObject({
  width: z.number().int().positive(),
  name: z.string(),
  tiles: z.array(z.tuple([z.int(), z.int()])),
  on: z.boolean().optional(),
  mode: z.enum(['a', 'b']).optional(),
});

function zodMessage(input: unknown, withInput = true): string {
  const r = schema.safeParse(input);
  if (r.success) throw new Error('expected a zod error');
  return inputErrorFromZod(r.error, 'x.json', undefined, withInput ? input : undefined).message;
}

describe('inputErrorFromZod', () => {
  const ok = { width: 4, name: 'n', tiles: [] };
  it.each([
    ['a fraction where an integer goes', { ...ok, width: 2.5 }, 'expected an integer, got 2.5 (x.json: width): give a whole number'],
    ['a fraction deep in an array', { ...ok, tiles: [[1, 0.5]] }, 'expected an integer, got 0.5 (x.json: tiles.0.1): give a whole number'],
    ['a string where a number goes', { ...ok, width: '4' }, 'expected number, got string (x.json: width): give a number'],
    ['a string where an array goes', { ...ok, tiles: 'none' }, 'expected array, got string (x.json: tiles): give an array'],
    ['a string where a boolean goes', { ...ok, on: 'yes' }, 'expected boolean, got string (x.json: on): give a boolean'],
    ['a missing field', { width: 4, tiles: [] }, 'missing required field (x.json: name): add "name"'],
    ['an unknown key', { ...ok, colour: 1 }, 'unknown key "colour" (x.json: (root)): remove it or check its spelling'],
    ['a value not in the list', { ...ok, mode: 'c' }, 'unsupported value (x.json: mode): use one of "a", "b"'],
    ['zero where a positive number goes', { ...ok, width: 0 }, 'Too small: expected number to be >0 (x.json: width): make it >0'],
  ])('%s', (_what, input, message) => {
    expect(zodMessage(input)).toBe(message);
  });

  it('without the input, a fraction is still named in plain words', () => {
    expect(zodMessage({ width: 2.5, name: 'n', tiles: [] }, false)).toBe('expected an integer, got a fraction (x.json: width): give a whole number');
  });
});

describe('parseJsonText', () => {
  const message = (text: string) => catchInputError(() => parseJsonText(text, 'f.json')).message;
  it.each([
    ['a missing colon', '{\n\n  "a" 1}', "malformed JSON: expected ':' after property name at line 3, column 7 (f.json): fix the JSON syntax"],
    ['an unquoted key', '{"name": "x", width: 1}', 'malformed JSON: expected double-quoted property name at line 1, column 15 (f.json): fix the JSON syntax'],
    // V8 gives this one no position; the scanner finds it (the ']' is the 6th character).
    ['a trailing comma', '[1,2,]', "malformed JSON: unexpected character ']' at line 1, column 6 (f.json): fix the JSON syntax"],
    ['a bad literal over two lines', '{\n"x": tru\n}', "malformed JSON: unexpected character 't' at line 2, column 6 (f.json): fix the JSON syntax"],
    ['an unterminated string', '{"a": "b', 'malformed JSON: unterminated string at line 1, column 9 (f.json): fix the JSON syntax'],
    ['text after the document', '{"a":1} x', 'malformed JSON: unexpected non-whitespace character after JSON at line 1, column 9 (f.json): fix the JSON syntax'],
    ['a truncated document', '{"a": [1, 2', "malformed JSON: expected ',' or ']' after array element at line 1, column 12 (f.json): fix the JSON syntax"],
    ['an empty file', ' \n', 'malformed JSON: the file is empty (f.json): write a JSON document into it'],
  ])('%s', (_what, text, expected) => {
    expect(message(text)).toBe(expected);
  });

  it('nesting deeper than 64 levels is refused without recursion (5,000 deep)', () => {
    expect(message('['.repeat(5000) + ']'.repeat(5000))).toBe('JSON nested deeper than 64 levels (f.json): no wafer file nests that deep; check the file');
  });

  it('valid JSON is parsed', () => {
    expect(parseJsonText('{"a": [1, {"b": null}]}', 'f.json')).toEqual({ a: [1, { b: null }] });
  });
});
