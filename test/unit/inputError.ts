// The InputError `fn` throws, for tests that assert its what / where / fix; any other outcome fails the test.
import { InputError } from '../../fabric/errors.js';

export function catchInputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}
