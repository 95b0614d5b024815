// src/io/atomicWrite.ts: outputs appear whole or not at all, a user's file is replaced only with force, a path that
// cannot be written is bad input; user files are read with messages naming the option, the line and the column.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertWritable, readUserFile, readUserJson, writeFileAtomic } from '../../../../src/io/atomicWrite.js';
import { catchInputError as inputError } from '../../inputError.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => mkdtempSync(join(root, 'd-'));

describe('writeFileAtomic', () => {
  it('writes the file and nothing else (no temporary left); missing directories only with createParents', () => {
    const d = fresh();
    const p = join(d, 'a', 'b', 'out.json');
    expect(inputError(() => writeFileAtomic(p, '{"x":1}\n', { option: '--out' })).message).toBe(
      `the directory ${join(d, 'a', 'b')} does not exist (--out ${p}): create it first (wafer does not create directories), or choose another path`,
    );
    expect(readdirSync(d)).toEqual([]);
    writeFileAtomic(p, '{"x":1}\n', { createParents: true });
    expect(readFileSync(p, 'utf8')).toBe('{"x":1}\n');
    expect(readdirSync(join(d, 'a', 'b'))).toEqual(['out.json']);
  });

  it('a dangling symbolic link is named as such, and replaced (the link, not its target) only with force', () => {
    const d = fresh();
    const p = join(d, 'link.json');
    symlinkSync(join(d, 'nowhere', 'x.json'), p);
    expect(inputError(() => writeFileAtomic(p, '{}', { force: false, option: '--out' })).message).toBe(
      `the path is a symbolic link to a missing file (--out ${p}): pass --force to replace the link, or choose another path`,
    );
    expect(inputError(() => readUserFile(p, '--faults')).message).toBe(`the path is a symbolic link to a missing file (--faults ${p}): check the path`);
    writeFileAtomic(p, '{}', { force: true });
    expect(readFileSync(p, 'utf8')).toBe('{}');
  });

  it.skipIf(process.platform !== 'linux')('a path in /proc (no file can be created there) is an InputError naming the reason', () => {
    const e = inputError(() => writeFileAtomic('/proc/x', '{}', { option: '--out' }));
    expect(e.message).toMatch(/^cannot write the output: (the directory does not accept new files|permission denied|operation not permitted) \(--out \/proc\/x\): /);
  });

  it('with force: false refuses an existing file and leaves its bytes alone', () => {
    const d = fresh();
    const p = join(d, 'mine.json');
    writeFileSync(p, 'mine');
    expect(inputError(() => writeFileAtomic(p, 'new', { force: false, option: '--out' })).message).toBe(
      `file exists: ${p} (--out): pass --force to overwrite it, or choose another path`,
    );
    expect(readFileSync(p, 'utf8')).toBe('mine');
    expect(readdirSync(d)).toEqual(['mine.json']);
  });

  it('with force: false writes a new file; with force (the default) replaces one', () => {
    const d = fresh();
    const p = join(d, 'out.bin');
    writeFileAtomic(p, new Uint8Array([1, 2, 3]), { force: false });
    expect([...readFileSync(p)]).toEqual([1, 2, 3]);
    writeFileAtomic(p, new Uint8Array([4]));
    expect([...readFileSync(p)]).toEqual([4]);
    expect(readdirSync(d)).toEqual(['out.bin']);
  });

  it('a path under a file, or a directory, is an InputError and leaves nothing behind', () => {
    const d = fresh();
    writeFileSync(join(d, 'file'), 'x');
    mkdirSync(join(d, 'dir'));
    expect(inputError(() => writeFileAtomic(join(d, 'file', 'out.json'), '{}', { option: '--out' })).message).toBe(
      `cannot write the output: a parent of the path is a file, not a directory (--out ${join(d, 'file', 'out.json')}): choose a path in a writable directory`,
    );
    expect(inputError(() => writeFileAtomic(join(d, 'dir'), '{}', { option: '--out' })).message).toBe(
      `cannot write the output: the path is a directory (--out ${join(d, 'dir')}): choose a path in a writable directory`,
    );
    expect(readdirSync(d).sort()).toEqual(['dir', 'file']);
    expect(readdirSync(join(d, 'dir'))).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('a directory without write permission is an InputError', () => {
    const d = fresh();
    chmodSync(d, 0o555);
    try {
      expect(inputError(() => writeFileAtomic(join(d, 'out.json'), '{}', { option: '--out' })).message).toBe(
        `cannot write the output: permission denied (--out ${join(d, 'out.json')}): choose a path in a writable directory`,
      );
    } finally {
      chmodSync(d, 0o755);
    }
  });

  it('assertWritable refuses an existing path unless force', () => {
    const d = fresh();
    writeFileSync(join(d, 'x'), '');
    expect(() => assertWritable(join(d, 'x'), true)).not.toThrow();
    expect(() => assertWritable(join(d, 'y'), false)).not.toThrow();
    expect(inputError(() => assertWritable(join(d, 'x'), false, '--out')).message).toBe(`file exists: ${join(d, 'x')} (--out): pass --force to overwrite it, or choose another path`);
  });
});

describe('readUserFile / readUserJson', () => {
  it('a missing file names the option and the path', () => {
    const p = join(root, 'missing.json');
    expect(inputError(() => readUserFile(p, '--faults')).message).toBe(`file not found (--faults ${p}): check the path`);
  });

  it('malformed JSON gives the line and column, not V8 internals', () => {
    const d = fresh();
    const p = join(d, 'f.json');
    writeFileSync(p, '{\n  "width": 8,\n  "height" 8\n}\n');
    expect(inputError(() => readUserJson(p, '--map')).message).toBe(`malformed JSON: unexpected number at line 3, column 12 (--map ${p}): fix the JSON syntax`);
    writeFileSync(p, '  \n');
    expect(inputError(() => readUserJson(p, '--map')).message).toBe(`malformed JSON: the file is empty (--map ${p}): write a JSON document into it`);
    writeFileSync(p, '{"a": [1, 2,]}');
    expect(inputError(() => readUserJson(p, '--map')).message).toBe(`malformed JSON: unexpected character ']' at line 1, column 13 (--map ${p}): fix the JSON syntax`);
  });

  it('well-formed JSON is returned as parsed', () => {
    const d = fresh();
    writeFileSync(join(d, 'ok.json'), '{"a": [1, 2]}');
    expect(readUserJson(join(d, 'ok.json'), '--map')).toEqual({ a: [1, 2] });
  });
});
