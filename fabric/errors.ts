// The one error type for bad user input, shared by every layer above kernels/. The CLI prints it as one line,
// `error: <what> (<where>): <how to fix>`, and exits 2.
import type { z } from 'zod';

export class InputError extends Error {
  constructor(
    readonly what: string,
    readonly where: string,
    readonly fix: string,
  ) {
    super(`${what} (${where}): ${fix}`);
    this.name = 'InputError';
  }
}

/**
 * Bad input in one option of a core API, named by its field (`hubSlices`, `kvChunkPositions`, …): the core never
 * names a command-line flag; an edge that took the value from a flag reports the flag instead (src/wafer/setup.ts
 * withFlags).
 */
export class OptionError extends InputError {
  constructor(
    readonly option: string,
    what: string,
    fix: string,
  ) {
    super(what, option, fix);
  }
}

/** zod's type names as a person says them: "an integer", "a number", "an array". */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  tuple: 'an array',
  record: 'an object',
  bigint: 'an integer',
  null: 'null',
};

function typeName(t: string): string {
  return TYPE_NAMES[t] ?? (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
}

/** The value at `path` inside `input`, or undefined where the path does not lead anywhere. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/**
 * The first issue of a zod error as an InputError naming the field path inside `source` (a file or preset name).
 * `input`, the value that was parsed, lets the message quote what the user wrote ("expected an integer, got 2.5").
 */
export function inputErrorFromZod(error: z.ZodError, source: string, fixHint?: string, input?: unknown): InputError {
  const issue = error.issues[0];
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  let what = issue.message;
  let fix = fixHint ?? 'correct this field';
  if (issue.code === 'unrecognized_keys') {
    what = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    fix = 'remove it or check its spelling';
  } else if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    const value = valueAt(input, issue.path);
    if (received === 'undefined') {
      what = 'missing required field';
      fix = `add "${String(issue.path.at(-1))}"`;
    } else if (issue.expected === 'int') {
      // zod reports a fractional number as "expected int, received number".
      what = `expected an integer, got ${typeof value === 'number' ? value : 'a fraction'}`;
      fix = 'give a whole number';
    } else {
      what = `expected ${issue.expected}${received ? `, got ${received}` : ''}`;
      fix = `give ${typeName(issue.expected)}`;
    }
  } else if (issue.code === 'invalid_value') {
    what = `unsupported value`;
    fix = `use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    fix = issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, 'make it ');
  }
  return new InputError(what, `${source}: ${path}`, fix);
}

/**
 * JSON.parse with a syntax error as an InputError: `malformed JSON: <reason> at line L, column C (<where>): fix the
 * JSON syntax`. The reason is V8's, without its position text (which differs between Node versions).
 */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (text.trim() === '') throw new InputError('malformed JSON: the file is empty', where, 'write a JSON document into it');
    let reason = message.replace(/\s*(in JSON )?at position \d+.*$/s, '').replace(/^Unexpected token ('.+?'), .* is not valid JSON$/s, 'unexpected character $1');
    reason = reason.charAt(0).toLowerCase() + reason.slice(1);
    let at = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      at = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw new InputError(`malformed JSON: ${reason}${at}`, where, 'fix the JSON syntax');
  }
}
