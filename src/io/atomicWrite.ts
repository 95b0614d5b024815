// Outputs are written to a temporary name beside the target and renamed, so a failure leaves no partial file; a
// user's existing file is replaced only when the caller says so (--force). A missing parent directory is refused, not
// created: a typo in a path must not scatter new directories (docs/robustness.md). Every filesystem error is an
// InputError naming the path and the reason in words (errnoReason), never an internal error.
import { writeFileSync, renameSync, rmSync, existsSync, lstatSync, readFileSync, linkSync, statSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, parseJsonText } from '../../fabric/errors.js';

export interface WriteOptions {
  /** Replace an existing file. Default true (the caller checked); false refuses, even if the file appears meanwhile. */
  force?: boolean;
  /** The option the path came from, for messages (default "output"). */
  option?: string;
  /** Create missing parent directories (bench result directories); default false: a missing parent is refused. */
  createParents?: boolean;
}

/** The largest JSON file wafer reads: 256 MiB (a compiled wse3 program of a real model is well below). */
export const MAX_JSON_FILE_BYTES = 256 << 20;

/** Every errno a file operation can give, in words; anything else is named by its code. */
const ERRNO_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a parent of the path is a file, not a directory',
  EISDIR: 'the path is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the filesystem is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links (a link loop)',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EBUSY: 'the file is busy',
  EIO: 'an input/output error from the device',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  EINVAL: 'the filesystem does not accept this name or operation',
  EXDEV: 'the path is on another filesystem',
  EFBIG: 'the file is too large for the filesystem',
  ETXTBSY: 'the file is busy (a running program)',
  EAGAIN: 'the resource is temporarily unavailable',
  EEXIST: 'something already exists at the path',
  ENOTEMPTY: 'the directory is not empty',
  ENOMEM: 'out of memory',
  ESPIPE: 'the path is a pipe, not a file',
};

/** The reason an errno-coded error gives, in words ("permission denied"), or its message for other errors. */
export function errnoReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return ERRNO_REASONS[code] ?? `system error ${code}`;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/** True when `path` names anything, a dangling symbolic link included (existsSync follows links and says no). */
function pathTaken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses an existing `path` unless `force`: the check to run before any long work, so the user learns early. */
export function assertWritable(path: string, force: boolean | undefined, option = '--out'): void {
  if (force || !pathTaken(path)) return;
  if (!existsSync(path)) throw new InputError('the path is a symbolic link to a missing file', `${option} ${path}`, 'pass --force to replace the link, or choose another path');
  throw new InputError(`file exists: ${path}`, option, 'pass --force to overwrite it, or choose another path');
}

/** Refuses a missing parent directory of `path` (or one that is not a directory) before any work. */
export function assertParentFolder(path: string, option = '--out'): void {
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`the directory ${dir} does not exist`, `${option} ${path}`, 'create it first (wafer does not create directories), or choose another path');
    throw writeError(e, path, option);
  }
  if (!st.isDirectory()) throw new InputError('cannot write the output: a parent of the path is a file, not a directory', `${option} ${path}`, 'choose a path in a writable directory');
}

/** A filesystem error from writing a user's output path as an InputError naming the path and the reason. */
export function writeError(e: unknown, path: string, option: string): Error {
  if (e instanceof InputError) return e;
  if (typeof (e as NodeJS.ErrnoException | null)?.code !== 'string') return e as Error;
  const code = (e as NodeJS.ErrnoException).code;
  // Writing happens after the parent directory was seen to exist: ENOENT then means it takes no new files (/proc).
  const reason = code === 'EEXIST' ? 'a parent of the path is a file, not a directory' : code === 'ENOENT' ? 'the directory does not accept new files' : errnoReason(e);
  return new InputError(`cannot write the output: ${reason}`, `${option} ${path}`, 'choose a path in a writable directory');
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
  if (opts.createParents && !existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw writeError(e, path, option);
    }
  }
  assertParentFolder(path, option);
  const tmp = join(dir, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  try {
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

/**
 * Reads a user's file of at most `maxBytes`; a missing, unreadable, special or too large one is an InputError
 * naming the option it came from and the reason.
 */
export function readUserFile(path: string, option: string, maxBytes = MAX_JSON_FILE_BYTES): Buffer {
  const where = `${option} ${path}`;
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (pathTaken(path)) throw new InputError('the path is a symbolic link to a missing file', where, 'check the path');
      throw new InputError('file not found', where, 'check the path');
    }
    throw new InputError(`cannot read the file: ${errnoReason(e)}`, where, 'check the path and its permissions');
  }
  if (st.isDirectory()) throw new InputError('the path is a directory, not a file', where, 'give the path of a file');
  if (!st.isFile()) throw new InputError('the path is not a regular file', where, 'give the path of a file (not a device, pipe or socket)');
  if (st.size > maxBytes) throw new InputError(`the file has ${st.size} bytes, more than the ${maxBytes} wafer reads`, where, 'give a smaller file');
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read the file: ${errnoReason(e)}`, where, 'check the path and its permissions');
  }
}

/** Parses a user's JSON file; malformed JSON is an InputError naming the file, the line and the column. */
export function readUserJson(path: string, option: string): unknown {
  return parseJsonText(readUserFile(path, option).toString('utf8'), `${option} ${path}`);
}
