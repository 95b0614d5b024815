// Outputs are written to a temporary name beside the target and renamed, so a failure leaves no partial file.
import { writeFileSync, renameSync, rmSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../fabric/errors.js';

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const target = resolve(path);
  const dir = dirname(target);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
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

/** Parses a user's JSON file; malformed JSON is an InputError naming the file. */
export function readUserJson(path: string, option: string): unknown {
  const text = readUserFile(path, option).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, `${option} ${path}`, 'fix the JSON syntax');
  }
}
