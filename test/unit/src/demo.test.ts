// README's main command: the demo runs end to end, its wafer and GPU tokens agree with the reference, it writes the
// report, and it never overwrites a file wafer did not write.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'wafer-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wafer demo', () => {
  it('runs the whole story and writes the report', async () => {
    const out = join(dir, 'report.html');
    const { stdout } = await exec(process.execPath, ['bin/wafer.mjs', 'demo', '--json', '--out', out], { maxBuffer: 1 << 24 });
    const r = JSON.parse(stdout);
    expect(r.toy.wafer.matchesReference).toBe(true);
    expect(r.toy.wafer.tokens).toHaveLength(8);
    expect(r.toy.gpu.sameTokens).toBe(true);
    expect(r.toy.wafer.deadTiles).toBeGreaterThan(0);
    expect(r.toy.wafer.tokensPerSecond).toBeGreaterThan(0);
    expect(r.real.gpu.tokensPerSecond).toBeGreaterThan(0);
    expect(r.real.wafer.tokensPerSecond).toBeGreaterThan(0);
    expect(r.real.wafer.wafers).toBeGreaterThanOrEqual(1);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>wafer report: toy-moe on mini-64</title>');
    // Running again may replace its own report...
    await exec(process.execPath, ['bin/wafer.mjs', 'demo', '--quiet', '--out', out], { maxBuffer: 1 << 24 });
  });

  it("refuses to overwrite a file wafer did not write, and leaves it as it was", async () => {
    const mine = join(dir, 'mine.html');
    writeFileSync(mine, 'my notes');
    const err = await exec(process.execPath, ['bin/wafer.mjs', 'demo', '--out', mine]).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect(err).toMatchObject({ code: 2, stdout: '' });
    expect((err as { stderr: string }).stderr).toBe(`error: file exists and was not written by wafer: ${mine} (--out): pass --force to overwrite it, or choose another path with --out\n`);
    expect(readFileSync(mine, 'utf8')).toBe('my notes');
  });
});
