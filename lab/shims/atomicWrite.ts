// The page's stand-in for src/io/atomicWrite.ts (the lab's esbuild build swaps it in, lab/build.ts): a page has no
// file system; a file reaches it only by being dropped, so reading a path is bad input with a way out.
import { InputError } from '../../fabric/errors.js';

export function readUserJson(path: string, option: string): unknown {
  throw new InputError('files are not read by path in the page', `${option} ${path}`, 'drop the file on the page, or use the wafer command line');
}
