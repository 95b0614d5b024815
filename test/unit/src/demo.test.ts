// README's main command: the demo runs end to end (once: it projects every model preset), its wafer and GPU tokens
// agree with the reference, the terminal table, --json and the HTML report show the same figures, the report holds
// the real-size memory wall beside the toy run (read back in headless Chromium where /usr/bin/chromium exists), and it
// never overwrites a file wafer did not write.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPresets } from '../../../compiler/model/presets.js';
import { assertReportWritable, formatDemo } from '../../../src/commands/demo.js';
import type { DemoData } from '../../../src/study/demo.js';
import { describeSetting } from '../../../src/study/setting.js';
import { Browser, CHROMIUM, type CdpEvent } from './report/cdp.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'wafer-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Result = DemoData & { report: string };
const out = join(dir, 'report.html');
let r: Result;
let html: string;

/** The memory wall's drawn points in Chromium: their data-* attributes (camelCase, as the DOM gives them). */
const POINTS = `JSON.stringify({
  points: [...document.querySelectorAll('#memory-wall g.point')].map((e) => ({ ...e.dataset })),
  marks: [...document.querySelectorAll('#memory-wall g.mark')].map((e) => ({ ...e.dataset })),
  headline: document.querySelector('#summary .headline')?.textContent ?? '',
})`;

async function inChromium(file: string): Promise<{ points: Record<string, string>[]; marks: Record<string, string>[]; headline: string; problems: string[] }> {
  const browser = Browser.launch();
  try {
    const { targetId } = (await browser.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await browser.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    for (const domain of ['Runtime', 'Page']) await browser.send(`${domain}.enable`, {}, sessionId);
    const loaded = browser.waitFor((e: CdpEvent) => e.sessionId === sessionId && e.method === 'Page.loadEventFired');
    await browser.send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
    await loaded;
    const v = (await browser.send('Runtime.evaluate', { expression: POINTS, returnByValue: true }, sessionId)) as { result: { value: string } };
    const problems = browser.events.filter((e) => e.sessionId === sessionId && e.method === 'Runtime.exceptionThrown').map((e) => JSON.stringify(e.params));
    return { ...JSON.parse(v.result.value), problems };
  } finally {
    await browser.close();
  }
}

describe('wafer demo', () => {
  beforeAll(async () => {
    const { stdout } = await exec(process.execPath, ['bin/wafer.mjs', 'demo', '--json', '--out', out], { maxBuffer: 1 << 26 });
    r = JSON.parse(stdout) as Result;
    html = readFileSync(out, 'utf8');
  }, 600_000);

  it('runs the toy model on the faulty mesh and on the GPU emulator, both matching the reference', () => {
    expect(r.toy.wafer.matchesReference).toBe(true);
    expect(r.toy.wafer.tokens).toHaveLength(8);
    expect(r.toy.gpu.sameTokens).toBe(true);
    expect(r.toy.wafer.deadTiles).toBeGreaterThan(0);
    expect(r.toy.wafer.point.setting).toMatchObject({ source: 'mesh run', faults: { density: 0.01, seed: 1, deadTiles: r.toy.wafer.deadTiles } });
    // Both toy figures answer the same question: the GPU is timed at the mesh run's prompt and last context.
    expect(r.toy.gpu.point.setting.contextLength).toBe(r.toy.wafer.point.setting.contextLength);
    expect(r.toy.gpu.point.setting.promptLength).toBe(r.toy.wafer.point.setting.promptLength);
  });

  // Not in the default demo: `--all-presets` sweeps every preset, and with every stage coloured the larger projections
  // take minutes and more than 8 GB in a worker (the closing note of #16 says what to change).
  it.skip('computes the real-size memory wall: every model preset on a full wafer and on GPUs, each point or its reason', () => {
    for (const s of r.real.modelSweep) expect(s.points.length + s.unavailable.length, s.fabric).toBe(listPresets().length);
    const wse3 = r.real.modelSweep.find((s) => s.fabric === 'wse3')!;
    expect(wse3.points.filter((p) => p.totalParams > 1e9).length).toBeGreaterThanOrEqual(8);
    expect(wse3.points.every((p) => p.setting.source === 'projection')).toBe(true);
    // The wafer count grows with the model: the fewest wafers that hold it.
    const sorted = [...wse3.points].sort((a, b) => a.totalParams - b.totalParams);
    expect(sorted[sorted.length - 1].devices).toBeGreaterThan(sorted[0].devices);
  });

  it('prints the table from the same records as --json', () => {
    const text = formatDemo(r);
    const f0 = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
    expect(text).toContain(f0(r.toy.wafer.point.decodeTokensPerSecond));
    expect(text).toContain(f0(r.toy.gpu.point.decodeTokensPerSecond));
    const row = (f: string) => r.real.rows.find((x) => x.fabric === f && x.batch === 1)!;
    expect(text).toContain(`${f0(row('wse3').decodeTokensPerSecond!)} on ${row('wse3').wafers} wse3`);
    expect(text).toContain(`${f0(row('h100').decodeTokensPerSecond!)} on ${row('h100').gpus} h100`);
    // The table's real-size row is the chart's point for that model.
    const point = r.real.modelSweep.find((s) => s.fabric === 'wse3')!.points.find((p) => p.model === r.real.model)!;
    expect(point.decodeTokensPerSecond).toBe(row('wse3').decodeTokensPerSecond);
  });

  it('writes one report with the toy run and the real-size series, every point the figure --json gives', async () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>wafer report: toy-moe on mini-64</title>');
    for (const id of ['summary', 'wafer-map', 'wafer-heatmap', 'memory-wall']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('toy run');
    if (!existsSync(CHROMIUM)) return; // the SVG's data is read back in a browser where one is installed
    const page = await inChromium(out);
    expect(page.problems).toEqual([]);
    const records = r.real.modelSweep.flatMap((s) => s.points.map((p) => ({ fabric: s.fabric, p })));
    expect(page.points).toHaveLength(records.length);
    for (const { fabric, p } of records) {
      const drawn = page.points.filter((d) => d.fabric === fabric && d.model === p.model);
      expect(drawn, `${p.model} on ${fabric}`).toHaveLength(1);
      expect(Number(drawn[0].tokensPerSecond)).toBe(p.decodeTokensPerSecond);
      expect(Number(drawn[0].devices)).toBe(p.devices);
      expect(drawn[0].setting).toBe(describeSetting(p.setting));
    }
    // The toy run sits on the chart as marks with the table's own toy figures.
    expect(page.marks.map((m) => Number(m.tokensPerSecond)).sort()).toEqual([r.toy.wafer.point.decodeTokensPerSecond, r.toy.gpu.point.decodeTokensPerSecond].sort());
    const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
    const w = r.real.rows.find((x) => x.fabric === 'wse3')!.decodeTokensPerSecond!;
    const g = r.real.rows.find((x) => x.fabric === 'h100')!.decodeTokensPerSecond!;
    expect(page.headline).toContain(`${f0(w)} against ${f0(g)}`);
  }, 120_000);

  it('may replace its own report, and refuses any other file', () => {
    expect(() => assertReportWritable(out, false)).not.toThrow();
    const mine = join(dir, 'notes.html');
    writeFileSync(mine, 'my notes');
    expect(() => assertReportWritable(mine, false)).toThrow(`file exists and was not written by wafer: ${mine} (--out): pass --force to overwrite it, or choose another path with --out`);
    expect(() => assertReportWritable(mine, true)).not.toThrow();
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
