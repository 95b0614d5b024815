// The one error type for bad user input, shared by every layer above kernels/. The CLI prints it as one line,
// `error: <what> (<where>): <how to fix>`, and exits 2.
import type { z } from 'zod';

/** Names an option in a message: the core's field name (`context`), or at an edge the flag it came from (`--context`). */
export type OptionNamer = (option: string) => string;

/**
 * How to fix bad input. A fix that names options is a function of how to name them, so the core writes field
 * names as data and an edge that took the values from flags names the flags (src/wafer/setup.ts withFlags).
 */
export type Fix = string | ((name: OptionNamer) => string);

const fieldName: OptionNamer = (option) => option;

export class InputError extends Error {
  readonly fix: string;

  constructor(
    readonly what: string,
    readonly where: string,
    private readonly fixOf: Fix,
  ) {
    const fix = typeof fixOf === 'string' ? fixOf : fixOf(fieldName);
    super(`${what} (${where}): ${fix}`);
    this.fix = fix;
    this.name = 'InputError';
  }

  /**
   * This error as an edge reports it: `where` and the options its fix names through `name`, the flags they came
   * from (an OptionError's option too). Itself where nothing changes.
   */
  named(name: OptionNamer): InputError {
    const where = this.whereNamed(name);
    const fix = typeof this.fixOf === 'string' ? this.fixOf : this.fixOf(name);
    if (where === this.where && fix === this.fix) return this;
    const named = new InputError(this.what, where, fix);
    named.stack = this.stack;
    return named;
  }

  protected whereNamed(name: OptionNamer): string {
    void name;
    return this.where;
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
    fix: Fix,
  ) {
    super(what, option, fix);
  }

  protected override whereNamed(name: OptionNamer): string {
    return name(this.option);
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
  const path = issue.path.length ? issue.path.map((k) => (typeof k === 'string' && k.length > 40 ? quoteInput(k) : String(k))).join('.') : '(root)';
  let what = issue.message;
  let fix = fixHint ?? 'correct this field';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.slice(0, 3).map((k) => quoteInput(k));
    what = `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys.join(', ')}${issue.keys.length > 3 ? ` and ${issue.keys.length - 3} more` : ''}`;
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

/** Longest text of a user's value an error message repeats. */
const QUOTE_CHARS = 40;

/**
 * `"value"` for messages: strings cut to 40 characters (with an ellipsis and the full length), control characters
 * escaped; numbers, booleans and null as JSON; arrays and objects only by their kind — so a message never grows with
 * what the user wrote, nor recurses into it.
 */
export function quoteInput(value: unknown): string {
  if (typeof value === 'string') {
    const escaped = JSON.stringify(value.length > QUOTE_CHARS ? `${value.slice(0, QUOTE_CHARS)}…` : value);
    return value.length > QUOTE_CHARS ? `${escaped} (${value.length} characters)` : escaped;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Deepest nesting of arrays and objects a JSON input may have: every format here needs 4 levels; 64 is generous. */
export const MAX_JSON_DEPTH = 64;

/** A character for a message: '}' as written, control characters escaped ('\\n'). */
function charName(ch: string): string {
  return `'${JSON.stringify(ch).slice(1, -1).replace(/'/g, "\\'")}'`;
}

/** The line and column (1-based) of character `offset` of `text`. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

/**
 * Where JSON.parse gave up on `text`, when its message has no position (V8 writes "Unexpected token 'x', "…" is
 * not valid JSON" for some errors): the offset of the first character that cannot continue a JSON document, found
 * by a small scanner of the JSON grammar (iterative, so deep nesting cannot overflow the stack).
 */
export function jsonErrorOffset(text: string): number {
  const ws = /[ \t\n\r]*/y;
  const num = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const str = /"([^"\\\u0000-\u001f]|\\(["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const lit = /true|false|null/y;
  let i = 0;
  const skip = () => {
    ws.lastIndex = i;
    ws.exec(text);
    i = ws.lastIndex;
  };
  const match = (re: RegExp) => {
    re.lastIndex = i;
    if (!re.exec(text)) return false;
    i = re.lastIndex;
    return true;
  };
  // The stack holds what each open container expects next: 'v' a value, 'k' a key, ',' a comma or the close.
  const stack: ('[' | '{')[] = [];
  let expect: 'value' | 'key' | 'next' = 'value';
  for (;;) {
    skip();
    if (expect === 'value') {
      const c = text[i];
      if (c === '[' || c === '{') {
        stack.push(c);
        i++;
        skip();
        if (text[i] === (c === '[' ? ']' : '}')) {
          i++;
          stack.pop();
          expect = 'next';
        } else expect = c === '[' ? 'value' : 'key';
        continue;
      }
      if (!(match(str) || match(num) || match(lit))) return i;
      expect = 'next';
    } else if (expect === 'key') {
      if (!match(str)) return i;
      skip();
      if (text[i] !== ':') return i;
      i++;
      expect = 'value';
    } else {
      const top = stack.at(-1);
      if (top === undefined) return i; // trailing text after the document (or the end, which parsed)
      const c = text[i];
      if (c === ',') {
        i++;
        expect = top === '[' ? 'value' : 'key';
      } else if (c === (top === '[' ? ']' : '}')) {
        i++;
        stack.pop();
      } else return i;
    }
  }
}

/** Throws an InputError when `value` nests arrays and objects deeper than MAX_JSON_DEPTH (checked without recursion). */
function assertJsonDepth(value: unknown, where: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) throw new InputError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`, where, 'no wafer file nests that deep; check the file');
    for (const child of Object.values(v as object)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/**
 * JSON.parse with a syntax error as an InputError on one line: `malformed JSON: <reason> at line L, column C
 * (<where>): fix the JSON syntax`. The reason is V8's, without its position or its quote of the text (both differ
 * between Node versions, and the quote may span lines); the position is V8's or, where it gives none, the scanner's.
 * A document nested deeper than MAX_JSON_DEPTH is refused too, before anything walks it.
 */
export function parseJsonText(text: string, where: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (text.trim() === '') throw new InputError('malformed JSON: the file is empty', where, 'write a JSON document into it');
    const message = (e as Error).message;
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : jsonErrorOffset(text);
    let reason = message
      .replace(/\s*(in JSON )?at position \d+.*$/s, '')
      .replace(/^Unexpected token .*is not valid JSON$/s, () => `unexpected character ${charName(text.charAt(offset))}`)
      .replace(/[\r\n].*$/s, '');
    if (!position && offset >= text.length) reason = 'unexpected end of the document';
    if (reason.length > 80) reason = reason.slice(0, 80) + '…';
    reason = reason.charAt(0).toLowerCase() + reason.slice(1);
    throw new InputError(`malformed JSON: ${reason} at ${lineColumn(text, Math.min(offset, text.length))}`, where, 'fix the JSON syntax');
  }
  assertJsonDepth(value, where);
  return value;
}
