// Outputs are written to a temporary name beside the target and renamed, so a failure leaves no partial file; a
// user's existing file is replaced only when the caller says so (--force).
import { writeFileSync, renameSync, rmSync, existsSync, mkdirSync, readFileSync, linkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, parseJsonText } from '../../fabric/errors.js';

export interface WriteOptions {
  /** Replace an existing file. Default true (the caller checked); false refuses, even if the file appears meanwhile. */
  force?: boolean;
  /** The option the path came from, for messages (default "output"). */
  option?: string;
}

/** Refuses an existing `path` unless `force`: the check to run before any long work, so the user learns early. */
export function assertWritable(path: string, force: boolean | undefined, option = '--out'): void {
  if (!force && existsSync(path)) throw new InputError(`file exists: ${path}`, option, 'pass --force to overwrite it, or choose another path');
}

/** A filesystem error from writing a user's output path (not a directory, no permission, disk full) as an InputError; others unchanged. */
export function writeError(e: unknown, path: string, option: string): Error {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const why: Record<string, string> = {
    ENOTDIR: 'a parent of the path is a file, not a directory',
    EEXIST: 'a parent of the path is a file, not a directory',
    EISDIR: 'the path is a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the filesystem is read-only',
    ENOSPC: 'the disk is full',
    ENAMETOOLONG: 'the name is too long',
  };
  if (why[code]) return new InputError(`cannot write the output: ${why[code]}`, `${option} ${path}`, 'choose a path in a writable directory');
  return e as Error;
}

/**
 * Writes `data` to `path` through a temporary file in the same directory and a rename, so readers never see a
 * partial file. With `force: false` the last step is a hard link, which fails rather than replace a file that
 * appeared while we worked (where the filesystem has no hard links, an existence check and a rename).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  const force = opts.force ?? true;
  const option = opts.option ?? 'output';
  if (!force) assertWritable(path, false, option);
  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, data);
    if (force) renameSync(tmp, target);
    else {
      try {
        linkSync(tmp, target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') assertWritable(path, false, option);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
        assertWritable(path, false, option);
        renameSync(tmp, target);
      }
    }
  } catch (e) {
    throw e instanceof InputError ? e : writeError(e, path, option);
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the temporary file could not even be created there
    }
  }
}

/** Reads a user's file; a missing or unreadable one is an InputError naming the option it came from. */
export function readUserFile(path: string, option: string): Buffer {
  if (!existsSync(path)) throw new InputError('file not found', `${option} ${path}`, 'check the path');
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read file: ${(e as Error).message}`, `${option} ${path}`, 'check the path and its permissions');
  }
}

/** Parses a user's JSON file; malformed JSON is an InputError naming the file, the line and the column. */
export function readUserJson(path: string, option: string): unknown {
  return parseJsonText(readUserFile(path, option).toString('utf8'), `${option} ${path}`);
}
