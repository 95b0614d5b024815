// `wafer report` through the real CLI: the data it prints with --json draws the same page again with --from, and
// every bad-input message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportHtml } from '../../../../src/report/html.js';
import { parseReportData, type ReportData } from '../../../../src/study/reportData.js';

const root = mkdtempSync(join(tmpdir(), 'wafer-report-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const NOC = 'test/unit/src/report/fixtures/noc-sweep.json';

function wafer(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    execFile(process.execPath, ['bin/wafer.mjs', ...args], { maxBuffer: 1 << 26, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return fail(error);
      done({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

const first = join(root, 'first.html');
const dataFile = join(root, 'data.json');
let data: ReportData;

beforeAll(async () => {
  const r = await wafer('report', '--model', 'toy-dense', '--fabric', 'mini-32', '--dtype', 'bf16', '--max-seq', '16', '--fault-density', '0.02', '--seed', '3', '--prompt', '1,2', '--tokens', '2', '--workers', '0', '--no-compare', '--json', '--out', first);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  writeFileSync(dataFile, r.stdout);
  data = parseReportData(JSON.parse(r.stdout), 'stdout');
}, 120_000);

describe('wafer report', () => {
  it('--json prints the data the page was drawn from; --from draws the same page from it', async () => {
    expect(data).toMatchObject({ kind: 'wafer-report-data', model: 'toy-dense', fabric: 'mini-32', dtype: 'bf16', busySource: 'mesh run', compare: null, noc: null });
    expect(data.run!.prompt).toEqual([1, 2]);
    expect(readFileSync(first, 'utf8')).toBe(reportHtml(data));
    const again = join(root, 'again.html');
    const r = await wafer('report', '--from', dataFile, '--out', again);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`report of toy-dense on mini-32 written to ${again}\n  mesh run: ${data.run!.tokensPerSecond.toFixed(0)} tokens/s decode, ${data.run!.totalCycles} cycles, tokens ${data.run!.tokens.join(',')}\n  sections: wafer map, busy heatmap, SRAM fill\n`);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(first, 'utf8'));
  });

  it('--from with --noc and --route-colour adds the NoC curve and draws that colour', async () => {
    const out = join(root, 'noc.html');
    const colour = data.tiles.flatMap((t) => t.routes.map(([c]) => c)).sort((a, b) => b - a)[0];
    const r = await wafer('report', '--from', dataFile, '--noc', NOC, '--route-colour', String(colour), '--out', out);
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('id="noc-curve"');
    expect(html).toContain(`class="routes" data-colour="${colour}"`);
  });

  it.concurrent.each([
    [['--from', dataFile, '--model', 'toy-dense'], 'error: --from and --model/--fabric both given (--from): draw from the file alone, or run with --model and --fabric\n'],
    [['--fabric', 'mini-32'], 'error: no model given (--model): give --model and --fabric (as for wafer run), or --from FILE\n'],
    [['--model', 'toy-dense'], 'error: no fabric given (--fabric): give a fabric preset (mini-64, …) or spec file, or --from FILE\n'],
    [['--from', dataFile, '--route-colour', '23'], /^error: no route uses colour 23 \(--route-colour\): use one of 0, 1, .*\n$/],
    [['--from', dataFile, '--route-colour', 'red'], 'error: not an integer: "red" (--route-colour): give a whole number in [0, 31]\n'],
    [['--from', 'test/unit/src/report/fixtures/noc-sweep.json'], 'error: not a wafer report data file (no "kind": "wafer-report-data") (test/unit/src/report/fixtures/noc-sweep.json): write one with `wafer report --model … --fabric … --json > run.json` and pass that file\n'],
    [['--from', dataFile, '--noc', dataFile], `error: not a NoC sweep (no "sweep" list) (${dataFile}): write one with \`wafer noc … --sweep --json > noc.json\` and pass that file\n`],
  ])('rejects %j', async (args, message) => {
    const out = join(root, `never-${Math.random().toString(36).slice(2)}.html`);
    const r = await wafer('report', ...args, '--out', out);
    if (typeof message === 'string') expect(r.stderr).toBe(message);
    else expect(r.stderr).toMatch(message);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects `wafer run --json` output with the way to get report data', async () => {
    const runJson = join(root, 'run.json');
    writeFileSync(runJson, JSON.stringify({ model: 'toy-dense', tokens: [1, 2], stepCycles: [10, 20] }));
    const r = await wafer('report', '--from', runJson, '--out', join(root, 'x.html'));
    expect(r.stderr).toBe(`error: this is \`wafer run --json\` output, which has no per-tile data (${runJson}): write the report data with \`wafer report --model … --fabric … --json > run.json\` (same options as run) and pass that file\n`);
    expect(r.code).toBe(2);
  });
});
