// `wafer sweep` as a user runs it: the report of a results directory (files, and the raw records with --json), and
// bad input refused with one line before anything is written.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, wafer } from '../cli/spawnWafer.js';
import { loadSweep } from '../../../../src/sweep/plan.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-sweep-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const FIXTURE = join(REPO, 'test/fixtures/sweep-results');

describe('wafer sweep', () => {
  it('the example yield study plans to 2 repairs × 11 densities × 20 seeds of projections, and 2 GPU points', () => {
    const plan = loadSweep(join(REPO, 'examples/yield-toy-moe.yaml'));
    expect(plan.points.filter((p) => p.kind === 'project')).toHaveLength(2 * 11 * 20);
    expect(plan.points.filter((p) => p.kind === 'gpu')).toHaveLength(2);
  });

  it('report: the HTML page and the SVG figures; with --json the raw records on stdout', async () => {
    const out = join(root, 'report');
    const r = await wafer(['sweep', 'report', FIXTURE, '--out-dir', out, '--json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = readFileSync(join(FIXTURE, 'records.jsonl'), 'utf8').trimEnd().split('\n');
    const doc = JSON.parse(r.stdout) as { name: string; records: unknown[] };
    expect(doc.name).toBe('yield-toy-moe');
    expect(doc.records).toEqual(lines.map((l) => JSON.parse(l)));
    expect(readdirSync(out).sort()).toEqual(['sweep-pareto.svg', 'sweep-report.html', 'sweep-yield-fits.svg', 'sweep-yield-tiles.svg', 'sweep-yield-tokens.svg']);
    const html = readFileSync(join(out, 'sweep-report.html'), 'utf8');
    expect(html.match(/<tbody>[\s\S]*<\/tbody>/)![0].match(/<tr>/g)).toHaveLength(lines.length);
    expect(html.match(/class="sweep-yield /g)).toHaveLength(3);
    expect(html).toContain('toy-moe on mini-64, remap');
    expect(html).toContain('toy-moe on mini-64, route-around');
  });

  it('bad input: one line, exit 2, nothing written', async () => {
    const out = join(root, 'never');
    const [url, missing] = await Promise.all([
      wafer(['sweep', 'run', join(REPO, 'examples/yield-toy-moe.yaml'), '--out', out, '--queue', 'http://127.0.0.1:6379']),
      wafer(['sweep', 'report', join(root, 'nowhere')]),
    ]);
    expect([url.code, url.stdout, url.stderr]).toEqual([2, '', 'error: not a redis:// URL: "http://127.0.0.1:6379" (--queue): give redis://HOST:PORT, e.g. redis://127.0.0.1:6379\n']);
    expect([missing.code, missing.stdout]).toEqual([2, '']);
    expect(missing.stderr).toMatch(/^error: no records\.jsonl in .*nowhere \(results directory\): give the directory a `wafer sweep run --out` wrote\n$/);
    expect(existsSync(out)).toBe(false);
  });
});
