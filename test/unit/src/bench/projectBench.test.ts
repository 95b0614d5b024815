// Smoke test of `wafer bench project` (src/bench/projectBench.ts) in quick mode: the report's shape, and that the
// worker thread projects what the main thread does — never the speed (speed targets live in the benchmark itself).
import { describe, expect, it } from 'vitest';
import { PROJECTION_TARGET_SECONDS, formatProjectBench, runProjectBench } from '../../../../src/bench/projectBench.js';
import { projectWafer } from '../../../../compiler/project/index.js';
import { getPreset } from '../../../../compiler/model/presets.js';
import { getFabricPreset } from '../../../../fabric/spec/index.js';

describe('runProjectBench (quick)', () => {
  it('times toy-dense on mini-64 in a worker: the same projection as here, cold and warm times, no verdict', async () => {
    const notes: string[] = [];
    const r = await runProjectBench({ quick: true, onProgress: (l) => notes.push(l) });
    expect(r.targetSeconds).toBe(PROJECTION_TARGET_SECONDS);
    expect(r.rows).toHaveLength(1);
    const [row] = r.rows;
    const here = projectWafer(getPreset('toy-dense'), getFabricPreset('mini-64'));
    expect([row.model, row.fabric, row.wafers, row.tiles, row.decodeTokensPerSecond]).toEqual(['toy-dense', 'mini-64', here.wafers, here.tilesPerWafer.reduce((a, b) => a + b, 0), here.decodeTokensPerSecond]);
    expect(row.coldSeconds).toBeGreaterThan(0);
    expect(row.warmBestSeconds).toBeGreaterThan(0);
    expect(row.warmMeanSeconds).toBeGreaterThanOrEqual(row.warmBestSeconds);
    expect(row.warmRuns).toBeGreaterThanOrEqual(3);
    expect(row.targetApplies).toBe(false);
    expect(notes).toHaveLength(2);
    const text = formatProjectBench(r);
    expect(text).toContain('target: a full wafer in ≤ 1 s');
    expect(text).not.toMatch(/met|MISSED/);
    // the verdict where the target applies
    const judged = formatProjectBench({ targetSeconds: 1, rows: [{ ...row, targetApplies: true, coldSeconds: 1.5, warmBestSeconds: 0.5 }] });
    expect(judged).toMatch(/1\.50 MISSED/);
    expect(judged).toMatch(/0\.50 met/);
  });
});
