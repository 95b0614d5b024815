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

/** The first issue of a zod error as an InputError naming the field path inside `source` (a file or preset name). */
export function inputErrorFromZod(error: z.ZodError, source: string, fixHint?: string): InputError {
  const issue = error.issues[0];
  const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
  let what = issue.message;
  let fix = fixHint ?? 'correct this field';
  if (issue.code === 'unrecognized_keys') {
    what = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    fix = 'remove it or check its spelling';
  } else if (issue.code === 'invalid_type') {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    what = received === 'undefined' ? 'missing required field' : `expected ${issue.expected}${received ? `, got ${received}` : ''}`;
    fix = received === 'undefined' ? `add "${String(issue.path.at(-1))}"` : `give a ${issue.expected}`;
  } else if (issue.code === 'invalid_value') {
    what = `unsupported value`;
    fix = `use one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    fix = issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, 'make it ');
  }
  return new InputError(what, `${source}: ${path}`, fix);
}
