// The report opened in a real headless Chromium (Debian's `chromium`), driven over the DevTools protocol through
// --remote-debugging-pipe: no console errors or exceptions, no request leaves the file, the SVG charts exist and have
// a size, every wafer and GPU point of the memory wall is the figure `--json` printed for the same run (read back from
// the points' data-* attributes), and a full-page screenshot lands in test/out/report.png. Skips when /usr/bin/chromium
// is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Browser, CHROMIUM, type CdpEvent } from './cdp.js';
import type { ReportData } from '../../../../src/study/reportData.js';
import { describeSetting } from '../../../../src/study/setting.js';

const hasChromium = existsSync(CHROMIUM);
const SCREENSHOT = resolve('test/out/report.png');
const NOC = 'test/unit/src/report/fixtures/noc-sweep.json';

interface PageFacts {
  scripts: number;
  svgs: Record<string, { width: number; height: number } | null>;
  mapTiles: number;
  heatTiles: number;
  deadTiles: number;
  routeLinks: number;
  histogramBars: number;
  wallSeries: number;
  wallPoints: number;
  nocPoints: number;
  title: string;
  points: Record<string, string>[];
  marks: Record<string, string>[];
  summary: string;
}

const FACTS = `(() => {
  const box = (id) => { const e = document.getElementById(id); if (!e) return null; const r = e.getBoundingClientRect(); return { width: r.width, height: r.height }; };
  const n = (sel) => document.querySelectorAll(sel).length;
  return JSON.stringify({
    scripts: document.scripts.length,
    svgs: Object.fromEntries(['wafer-map', 'wafer-heatmap', 'sram-histogram', 'memory-wall', 'noc-curve'].map((id) => [id, box(id)])),
    mapTiles: n('#wafer-map rect.tile'),
    heatTiles: n('#wafer-heatmap rect.tile'),
    deadTiles: n('#wafer-map g.dead'),
    routeLinks: n('#wafer-map line.route-link'),
    histogramBars: n('#sram-histogram rect.bar'),
    wallSeries: n('#memory-wall g.series'),
    wallPoints: n('#memory-wall g.point'),
    nocPoints: n('#noc-curve g.points circle'),
    title: document.title,
    points: [...document.querySelectorAll('#memory-wall g.point')].map((e) => ({ ...e.dataset })),
    marks: [...document.querySelectorAll('#memory-wall g.mark')].map((e) => ({ ...e.dataset })),
    summary: document.getElementById('summary')?.textContent ?? '',
  });
})()`;

describe.skipIf(!hasChromium)('wafer report in headless Chromium', () => {
  const root = mkdtempSync(join(tmpdir(), 'wafer-report-browser-'));
  const html = join(root, 'report.html');
  let browser: Browser;
  let facts: PageFacts;
  let problems: string[];
  let requests: string[];
  let json: ReportData;

  beforeAll(async () => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done, fail) =>
      execFile(
        process.execPath,
        ['bin/wafer.mjs', 'report', '--model', 'toy-moe', '--fabric', 'mini-64', '--fault-density', '0.02', '--seed', '3', '--max-seq', '16', '--tokens', '4', '--workers', '0', '--compare-fabrics', 'h100', '--noc', NOC, '--out', html, '--json'],
        { timeout: 120_000, maxBuffer: 1 << 26 },
        (error, stdout, stderr) => (error && typeof error.code !== 'number' ? fail(error) : done({ code: error ? (error.code as number) : 0, stdout, stderr })),
      ),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    json = JSON.parse(r.stdout) as ReportData;

    browser = Browser.launch();
    const { targetId } = (await browser.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await browser.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const on = (method: string) => (e: CdpEvent) => e.sessionId === sessionId && e.method === method;
    for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await browser.send(`${domain}.enable`, {}, sessionId);
    await browser.send('Emulation.setDeviceMetricsOverride', { width: 1200, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = browser.waitFor(on('Page.loadEventFired'));
    await browser.send('Page.navigate', { url: pathToFileURL(html).href }, sessionId);
    await loaded;
    const value = (await browser.send('Runtime.evaluate', { expression: FACTS, returnByValue: true }, sessionId)) as { result: { value: string } };
    facts = JSON.parse(value.result.value) as PageFacts;
    const metrics = (await browser.send('Page.getLayoutMetrics', {}, sessionId)) as { cssContentSize: { width: number; height: number } };
    const { width, height } = metrics.cssContentSize;
    const shot = (await browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width, height, scale: 1 } }, sessionId)) as { data: string };
    mkdirSync(resolve('test/out'), { recursive: true });
    writeFileSync(SCREENSHOT, Buffer.from(shot.data, 'base64'));
    const mine = browser.events.filter((e) => e.sessionId === sessionId);
    problems = mine.flatMap((e) => {
      if (e.method === 'Runtime.exceptionThrown') return [`exception: ${JSON.stringify(e.params.exceptionDetails)}`];
      if (e.method === 'Runtime.consoleAPICalled' && (e.params.type === 'error' || e.params.type === 'assert')) return [`console.${String(e.params.type)}: ${JSON.stringify(e.params.args)}`];
      const entry = e.params.entry as { level?: string; text?: string } | undefined;
      if (e.method === 'Log.entryAdded' && entry?.level === 'error') return [`log: ${entry.text}`];
      return [];
    });
    requests = mine.filter((e) => e.method === 'Network.requestWillBeSent').map((e) => (e.params.request as { url: string }).url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads without console errors or exceptions, runs no script and requests nothing beyond the file', () => {
    expect(problems).toEqual([]);
    expect(facts.scripts).toBe(0);
    expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
    expect(facts.title).toBe('wafer report: toy-moe on mini-64');
  });

  it('draws the wafer map, the heatmap, the SRAM histogram, the memory wall and the NoC curve', () => {
    for (const [id, box] of Object.entries(facts.svgs)) {
      expect(box, id).not.toBeNull();
      expect(box!.width, id).toBeGreaterThan(100);
      expect(box!.height, id).toBeGreaterThan(100);
    }
    expect(facts.mapTiles).toBeGreaterThan(500);
    expect(facts.heatTiles).toBe(facts.mapTiles);
    expect(facts.deadTiles).toBeGreaterThan(0);
    expect(facts.routeLinks).toBeGreaterThan(0);
    expect(facts.histogramBars).toBe(20);
    expect(facts.wallSeries).toBe(4);
    expect(facts.wallPoints).toBeGreaterThan(10);
    expect(facts.nocPoints).toBe(12);
  });

  it('draws every wafer and GPU point of the memory wall with the figure and setting --json gives for the same run', () => {
    const records = json.compare!.modelSweep.flatMap((s) => s.points.map((p) => ({ fabric: s.fabric, kind: s.kind, p })));
    expect(records.some((x) => x.kind === 'wafer') && records.some((x) => x.kind === 'gpu')).toBe(true);
    expect(facts.points).toHaveLength(records.length);
    for (const { fabric, kind, p } of records) {
      const drawn = facts.points.filter((d) => d.fabric === fabric && d.model === p.model);
      expect(drawn, `${p.model} on ${fabric}`).toHaveLength(1);
      expect(drawn[0]).toMatchObject({ kind, devices: String(p.devices), setting: describeSetting(p.setting) });
      expect(Number(drawn[0].tokensPerSecond)).toBe(p.decodeTokensPerSecond);
    }
    // The run itself sits on the chart as a mark: the mesh run's own tokens/s, with the faults it ran with.
    expect(facts.marks).toHaveLength(1);
    expect(Number(facts.marks[0].tokensPerSecond)).toBe(json.run!.tokensPerSecond);
    expect(facts.marks[0].setting).toBe(describeSetting(json.marks[0].point.setting));
    expect(facts.marks[0].setting).toContain('2% defective tiles (seed 3)');
  });

  it('opens with a summary: what ran, with which faults, the headline ratio of the chart\'s own points', () => {
    const h = json.headline!;
    expect(h.ratio).toBe(h.wafer.point.decodeTokensPerSecond / h.gpu.point.decodeTokensPerSecond);
    expect(facts.summary).toContain('toy-moe');
    expect(facts.summary).toContain('2% defective tiles (seed 3)');
    expect(facts.summary).toContain(`${Math.round(h.wafer.point.decodeTokensPerSecond).toLocaleString('en-US')} against ${Math.round(h.gpu.point.decodeTokensPerSecond).toLocaleString('en-US')}`);
  });

  it('saves a full-page screenshot', () => {
    expect(existsSync(SCREENSHOT)).toBe(true);
  });
});
