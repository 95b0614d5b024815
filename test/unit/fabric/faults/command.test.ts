// `wafer faults` end to end, in process: the command registered on a fresh program, stdout and stderr captured.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register } from '../../../../src/commands/faults.js';

async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command()
    .option('--json', '', false)
    .option('--verbose', '', false)
    .option('-q, --quiet', '', false)
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'wafer', ...args]);
  } catch {
    process.exitCode = 2; // commander usage error
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('wafer faults', () => {
  it('--json prints the report for mini-64 at 3%, seed 1', async () => {
    const r = await run(['faults', '--fabric', 'mini-8', '--density', '0.03', '--seed', '1', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.fabric).toBe('mini-8');
    expect(j.grid).toEqual({ width: 8, height: 8 });
    expect(j.source).toEqual({ kind: 'generated', model: 'uniform', density: 0.03, clusterAlpha: null, seed: 1 });
    expect(j.deadTiles.length + j.deadCores.length + j.deadLinks.length).toBe(Math.round(0.03 * 64));
    expect(j.usableTiles).toBe(64 - j.deadTiles.length - j.deadCores.length);
    expect(typeof j.connected).toBe('boolean');
    expect(j.largestFaultFreeRectangle.tiles).toBeGreaterThan(0);
    expect(j.remap).toBeNull();
    // Deterministic.
    expect((await run(['faults', '--fabric', 'mini-8', '--density', '0.03', '--seed', '1', '--json'])).out).toBe(r.out);
  });

  it('text output, clustered, remap on the physical grid', async () => {
    const r = await run(['faults', '--fabric', 'mini-16', '--density', '0.02', '--clustered', '0.5', '--seed', '7', '--repair', 'remap']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('faults on mini-16, 18x17 physical grid (with spares), clustered density 0.02, alpha 0.5, seed 7');
    expect(r.out).toMatch(/largest fault-free rectangle: \d+x\d+ at \(\d+,\d+\) = \d+ tiles/);
    expect(r.out).toMatch(/remap: (repaired to a perfect 16x16|FAILED — row \d+ has)/);
  });

  it('reports a failed remap as the outcome, naming the row', async () => {
    const r = await run(['faults', '--fabric', 'mini-8', '--density', '0.4', '--seed', '3', '--repair', 'remap', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.remap.ok).toBe(false);
    expect(j.remap.error).toMatch(/^row \d+ has \d+ defective tiles but only 2 spare columns \(and all 1 spare rows are used\)/);
  });

  it('--out writes the map atomically, refuses to overwrite without --force, and --map reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafer-faults-'));
    const file = join(dir, 'map.json');
    const a = await run(['faults', '--fabric', 'mini-8', '--density', '0.05', '--seed', '2', '--out', file, '--json']);
    expect(a.code).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.width).toBe(8);
    const again = await run(['faults', '--fabric', 'mini-8', '--density', '0.05', '--seed', '3', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.err).toBe(`error: file exists: ${file} (--out): pass --force to overwrite it, or choose another path\n`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(written);
    const forced = await run(['faults', '--fabric', 'mini-8', '--density', '0.05', '--seed', '3', '--out', file, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain(`fault map written to ${file}`);
    const back = await run(['faults', '--fabric', 'mini-8', '--map', file, '--json']);
    expect(back.code).toBe(0);
    const j = JSON.parse(back.out);
    expect(j.source).toEqual({ kind: 'file', path: file });
    expect({ width: 8, height: 8, deadTiles: j.deadTiles, deadCores: j.deadCores, deadLinks: j.deadLinks }).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });

  it('a fabric spec file works too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafer-faults-'));
    const { getFabricPreset } = await import('../../../../fabric/spec/index.js');
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ ...getFabricPreset('mini-4'), name: 'tiny', widthTiles: 5, heightTiles: 3 }));
    const r = await run(['faults', '--fabric', spec, '--density', '0', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ fabric: 'tiny', grid: { width: 5, height: 3 }, connected: true, largestFaultFreeRectangle: { tiles: 15 } });
  });

  const errors: [string, string[], string][] = [
    ['no source', ['--fabric', 'mini-8'], 'error: no fault source given (faults): give either --density D (with --seed) or --map FILE\n'],
    ['both sources', ['--fabric', 'mini-8', '--density', '0.1', '--map', 'x.json'], 'error: both --density and --map given (faults): give either --density D (with --seed) or --map FILE\n'],
    ['a bad density', ['--fabric', 'mini-8', '--density', '2'], 'error: 2 is out of range (--density): give a number in [0, 1]\n'],
    ['a bad seed', ['--fabric', 'mini-8', '--density', '0.1', '--seed', 'x'], 'error: not an integer: "x" (--seed): give a whole number ≥ 0\n'],
    ['a bad alpha', ['--fabric', 'mini-8', '--density', '0.1', '--clustered', '0'], 'error: clustering parameter 0 must be positive (--clustered): give α > 0 (small α = strong clustering, e.g. 0.5; large α ≈ uniform)\n'],
    ['clustered with a map', ['--fabric', 'mini-8', '--map', 'x.json', '--clustered', '1'], 'error: --clustered applies to generated maps only (--clustered): drop it, or use --density instead of --map\n'],
    ['an unknown policy', ['--fabric', 'mini-8', '--density', '0.1', '--repair', 'pray'], 'error: unknown repair policy "pray" (--repair): use one of remap, route-around\n'],
    ['an unknown fabric', ['--fabric', 'wse9', '--density', '0.1'], 'error: unknown fabric preset "wse9" (--fabric): use one of wse2, wse3, mini-4, mini-8, mini-16, mini-32, mini-64, mini-128, mini-256, mini-320, or a spec JSON file\n'],
    ['a missing map', ['--fabric', 'mini-8', '--map', '/nonexistent/m.json'], 'error: file not found (--map /nonexistent/m.json): check the path\n'],
  ];
  it.each(errors)('exits 2 on %s', async (_label, args, message) => {
    const r = await run(['faults', ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(message);
    expect(r.out).toBe('');
  });

  it('refuses a map of the wrong size for the policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wafer-faults-'));
    const file = join(dir, 'm.json');
    writeFileSync(file, JSON.stringify({ width: 8, height: 8, deadTiles: [], deadCores: [], deadLinks: [] }));
    const r = await run(['faults', '--fabric', 'mini-8', '--map', file, '--repair', 'remap']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: fault map is 8x8 but mini-8's physical grid (with spares, for --repair remap) is 10x9 (--map ${file}): give a fault map of 10x9\n`);
  });
});
