import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';

const wafer = (args: string[]) => spawnSync(process.execPath, ['bin/wafer.mjs', ...args], { encoding: 'utf8' });

describe('wafer noc', () => {
  it('--json prints the figures of one run', () => {
    const out = execFileSync(process.execPath, ['bin/wafer.mjs', 'noc', '--mesh', '4x4', '--rate', '0.05', '--cycles', '800', '--warmup', '100', '--json'], { encoding: 'utf8' });
    const r = JSON.parse(out) as Record<string, number | string | boolean | null>;
    for (const key of ['offeredRate', 'acceptedRate', 'meanLatencyCycles', 'p99LatencyCycles', 'meanHops']) expect(typeof r[key]).toBe('number');
    expect(r.bisectionBoundRate).toBe(1);
    expect(r.deliveredWavelets).toBe(r.injectedWavelets);
  });

  it('--sweep --json prints the curve; bad input exits 2 with one line', () => {
    const s = wafer(['noc', '--mesh', '4x4', '--sweep', '--cycles', '300', '--warmup', '50', '--json']);
    expect(s.status).toBe(0);
    const sweep = JSON.parse(s.stdout) as { sweep: { offeredRate: number }[] };
    expect(sweep.sweep).toHaveLength(12);
    expect(sweep.sweep[11].offeredRate).toBeGreaterThan(sweep.sweep[0].offeredRate);
    const bad = wafer(['noc', '--mesh', '4x4']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('error: no --rate given (--rate): give the offered load in wavelets per tile per cycle, e.g. --rate 0.1 (or use --sweep)\n');
    const badMesh = wafer(['noc', '--mesh', '4by4', '--rate', '0.1']);
    expect(badMesh.stderr).toBe('error: not a mesh size: "4by4" (--mesh): give WIDTHxHEIGHT, e.g. 16x16\n');
    const badPattern = wafer(['noc', '--pattern', 'zig', '--rate', '0.1']);
    expect(badPattern.stderr).toBe('error: unknown traffic pattern "zig" (--pattern): use one of uniform, transpose, bitcomplement, hotspot, neighbor\n');
  });
});
