// Issue 4's acceptance, as a user types it: a model initialised on disk runs on a faulty mini-64 and gives the
// tokens `wafer generate` gives, with matchesReference: true — for route-around and remap.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const wafer = (...args: string[]) => exec(process.execPath, ['bin/wafer.mjs', ...args], { maxBuffer: 1 << 24 });
const dir = mkdtempSync(join(tmpdir(), 'wafer-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wafer run (CLI)', () => {
  it('toy-moe from disk on mini-64 with 3% faults matches wafer generate, both repair policies', async () => {
    const m = join(dir, 'm');
    await wafer('model', 'init', 'toy-moe', '--out', m);
    const gen = JSON.parse((await wafer('generate', '--model', m, '--prompt', '1,2,3', '--tokens', '8', '--json')).stdout) as { tokens: number[] };
    for (const repair of ['route-around', 'remap']) {
      const { stdout } = await wafer('run', '--model', m, '--fabric', 'mini-64', '--fault-density', '0.03', '--seed', '5', '--repair', repair, '--prompt', '1,2,3', '--tokens', '8', '--no-baseline', '--json');
      const r = JSON.parse(stdout) as Record<string, unknown>;
      expect(r.tokens).toEqual(gen.tokens);
      expect(r.matchesReference).toBe(true);
      for (const k of ['prefillCycles', 'decodeCyclesPerToken', 'tokensPerSecond', 'clockHz', 'tilesUsed', 'deadTiles']) expect(typeof r[k]).toBe('number');
      expect(r.deadTiles as number).toBeGreaterThan(0);
    }
  });
});
