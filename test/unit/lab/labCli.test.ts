// `wafer lab`'s refusals: a non-empty folder that is not a previous lab output is never written into (house rule:
// nothing a user gave is lost), and a bad port is bad input; both before any build, exit 2, one line.
// (Its success paths: the lab browser test builds with buildLab and serves with serveStatic, what the command calls.)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertLabOutput, LAB_MARKER } from '../../../lab/build.js';
import { wafer } from '../src/cli/spawnWafer.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-lab-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('wafer lab', () => {
  it('refuses a non-empty folder that is not a lab output (left as it was), a file as --out, and a port out of range, exit 2', async () => {
    const dir = join(root, 'mine');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const file = join(root, 'file.txt');
    writeFileSync(file, 'x');
    const [mine, port] = await Promise.all([wafer(['lab', '--out', dir]), wafer(['lab', '--port', '70000'])]);
    expect([mine.code, mine.stdout, mine.stderr]).toEqual([2, '', `error: the directory is not empty and is not a previous wafer lab output (--out ${dir}): choose an empty or new directory\n`]);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(root).sort()).toEqual(['file.txt', 'mine']); // no temporary build folder left beside them
    expect(() => assertLabOutput(file)).toThrow(`not a directory (--out ${file}): give a directory for the site (absent, empty, or a previous wafer lab output)`);
    expect([port.code, port.stdout, port.stderr]).toEqual([2, '', 'error: port 70000 (--port): give 0 to 65535\n']);
  });

  it('may replace an absent folder, an empty one, or a previous lab output', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const previous = join(root, 'previous');
    mkdirSync(previous);
    writeFileSync(join(previous, LAB_MARKER), '');
    writeFileSync(join(previous, 'main.js'), '');
    for (const d of [join(root, 'absent'), empty, previous]) expect(() => assertLabOutput(d)).not.toThrow();
    expect(existsSync(join(root, 'absent'))).toBe(false);
  });
});
