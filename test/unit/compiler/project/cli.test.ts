// `wafer project` and `wafer bench fabrics` as a user runs them: the JSON fields, the text report, bad input (exit 2
// with one line), the grid sweep, and the benchmark's files.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wafer } from '../../src/cli/spawnWafer.js';

describe('wafer project', () => {
  it('--json prints the projection with the fields other commands read', async () => {
    const r = await wafer(['project', '--model', 'toy-moe', '--fabric', 'mini-64', '--context', '16', '--prompt-len', '8', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['decodeTokensPerSecond', 'timeToFirstTokenSeconds', 'wafers', 'tilesUsedPerWafer', 'breakdown']) expect(j).toHaveProperty(k);
    expect(Object.keys(j.breakdown)).toEqual(['compute', 'sram', 'communication', 'interWafer', 'bubbles']);
    expect(j.wafers).toBe(1);
    expect(j.model).toBe('toy-moe');
  });

  it('prints a report of where a token goes', async () => {
    const r = await wafer(['project', '--model', 'toy-dense', '--fabric', 'mini-64', '--context', '16', '--prompt-len', '8', '--grid', '10x10']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^toy-dense on mini-64 10×10 \(bf16, KV cache bf16, batch 1, prompt 8, context 16\)\n/);
    expect(r.stdout).toContain('wafers        4 in a pipeline');
    expect(r.stdout).toMatch(/a token {7}compute \d+\.\d% \(matvec/);
    expect(r.stdout).toContain('inter-wafer   3 boundaries');
  });

  it('sweeps grids: a table of tokens/s, with the grids a layer does not fit', async () => {
    const r = await wafer(['project', '--model', 'toy-dense', '--fabric', 'mini-64', '--context', '16', '--prompt-len', '8', '--sweep-grid', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.points.map((p: { grid: { width: number } }) => p.grid.width)).toEqual([60, 64]);
    for (const p of j.points) expect(p.report.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it.each([
    [['--grid', '70x70'], "error: grid 70x70 is larger than mini-64's 64x64 (--grid): give at most 64x64\n"],
    [['--grid', 'big'], 'error: not a grid size: "big" (--grid): give WxH in tiles, e.g. 420x420\n'],
    [['--dtype', 'fp4'], 'error: unsupported dtype "fp4" (--dtype): use one of bf16, int8, mxfp4\n'],
    [['--wafers', 'many'], 'error: not a wafer count: "many" (--wafers): give auto or a whole number in [1, 1024]\n'],
    [['--dtype', 'mxfp4'], 'error: mxfp4 quantises routed experts, and toy-dense has none (--dtype): use bf16 or int8 for a dense model\n'],
    [['--sweep-grid', '--faults', 'x.json'], 'error: a fault map file fits one grid, and --sweep-grid visits many (--faults): use --fault-density (a map is generated per grid) or drop --sweep-grid\n'],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const r = await wafer(['project', '--model', 'toy-dense', '--fabric', 'mini-64', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe('');
  });
});

describe('wafer bench fabrics', () => {
  it('writes fabrics.json and fabrics.md and prints the same report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabrics-'));
    const r = await wafer(['bench', 'fabrics', '--models', 'toy-dense', '--out-dir', dir, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(JSON.parse(readFileSync(join(dir, 'fabrics.json'), 'utf8'))).toEqual(j);
    expect(j.fabrics).toEqual(['wse2', 'wse3', 'wse3 mxfp4', 'h100', 'h100×8', 'h200', 'b200']);
    expect(j.rows.map((x: { fabric: string }) => x.fabric)).toEqual(j.fabrics);
    for (const row of j.rows.filter((x: { fabric: string }) => x.fabric !== 'wse3 mxfp4')) expect(row.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(j.rows.find((x: { fabric: string }) => x.fabric === 'h100×8').devices).toBe(8);
    const md = readFileSync(join(dir, 'fabrics.md'), 'utf8');
    expect(md).toContain('| model | params | wse2 | wse3 | wse3 mxfp4 | h100 | h100×8 | h200 | b200 |');
    expect(md).toMatch(/\| toy-dense \| 0\.0B \| [\d.]+ · 1 wafer · /);
    const bad = await wafer(['bench', 'fabrics', '--models', 'gpt-5']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown model preset "gpt-5" \(--models\)/);
  });
});
