// The lab page in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core): the site as
// `wafer lab --out` builds it, served on 127.0.0.1 as a plain static host would (not cross-origin isolated). The page loads with no console errors and no request outside its
// origin; moving the SRAM slider redraws the chart and lands in the URL; "Run it here" gives the tokens and cycles of
// `wafer run` (recorded by the build through executeRun, the function the command calls) for the same seed, with the
// gpu.js backend named; malformed model files get the CLI's one-line message beside the drop zone.
// Prints the load and update times it measured. Skips where chromium is absent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildLab } from '../../../lab/build.js';
import { DEFAULT_STATE, runCommandLine } from '../../../lab/state.js';
import type { NodeRun } from '../../../lab/render.js';
import { serveStatic } from '../../../src/commands/lab.js';
import { loadModelConfig, loadModelDir } from '../../../src/io/loadModel.js';
import { getPreset } from '../../../compiler/model/presets.js';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the lab browser test: ${CHROMIUM} is absent (apt-get install chromium)`);

interface Timings {
  firstChartMs: number;
  lastInputMs: number;
  lastChartMs: number;
  charts: number;
  maps: number;
  runs: number;
}

const timings = (page: Page) => page.evaluate(() => (window as unknown as { labTimings: Timings }).labTimings);

/** The CLI's error line for a model directory holding these files (what `wafer … --model DIR` prints). */
function cliError(files: Record<string, string | Uint8Array>, load: (dir: string) => unknown): { line: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wafer-lab-bad-'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  try {
    load(dir);
  } catch (e) {
    return { line: `error: ${(e as Error).message}`, dir };
  }
  throw new Error('expected the CLI loader to refuse these files');
}

describe.skipIf(!hasChromium)('the lab page in headless Chromium', () => {
  const root = mkdtempSync(join(tmpdir(), 'wafer-lab-browser-'));
  const site = join(root, 'site');
  let stop: () => void = () => {};
  let ctx: BrowserContext;
  let page: Page;
  let origin = '';
  const problems: string[] = [];
  const outside: string[] = [];
  let nodeRuns: NodeRun[] = [];
  let loadMs = 0;

  beforeAll(async () => {
    await buildLab(site, { runs: [DEFAULT_STATE] });
    nodeRuns = JSON.parse(readFileSync(join(site, 'node-runs.json'), 'utf8')) as NodeRun[];
    // As any static host serves it: no cross-origin isolation headers (the harder case; `wafer lab` sends them).
    const { server, url } = await serveStatic(site, 0, { isolate: false });
    stop = () => server.close();
    origin = url;
    const profile = join(root, 'profile');
    mkdirSync(profile);
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    ctx.on('request', (r) => {
      if (!r.url().startsWith(origin)) outside.push(r.url());
    });
    await page.goto(origin);
    await page.waitForFunction(() => {
      const t = (window as unknown as { labTimings?: Timings }).labTimings;
      return t !== undefined && t.charts > 0 && t.maps > 0;
    }, null, { timeout: 60_000 });
    loadMs = (await timings(page)).firstChartMs;
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('loads with the chart, the table and the wafer map, no console errors, nothing fetched from elsewhere', async () => {
    console.log(`lab: first chart ${loadMs.toFixed(0)} ms after navigation (headless Chromium, software rendering)`);
    expect(await page.$$eval('#chart svg', (s) => s.length)).toBe(1);
    expect(await page.$$eval('#compare-table tbody tr', (r) => r.length)).toBe(2);
    expect(await page.$$eval('#map svg rect.tile', (r) => r.length)).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  });

  it('redraws the chart when the SRAM slider moves, and keeps the value in the URL', async () => {
    const before = await page.$eval('#chart', (e) => e.innerHTML);
    const charts = (await timings(page)).charts;
    await page.$eval('#sramKiB', (e) => {
      (e as HTMLInputElement).value = '96';
      e.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction((n) => (window as unknown as { labTimings: Timings }).labTimings.charts > n, charts, { timeout: 60_000 });
    const t = await timings(page);
    console.log(`lab: chart redrawn ${(t.lastChartMs - t.lastInputMs).toFixed(0)} ms after the SRAM slider moved`);
    const after = await page.$eval('#chart', (e) => e.innerHTML);
    expect(after).not.toBe(before);
    // The SRAM edge of a 64×64 mesh of 96 KiB tiles: 64·64·96 KiB = 384 MiB of bf16 weights = 201M parameters.
    expect(after).toContain('201M');
    expect(new URL(page.url()).searchParams.get('sramKiB')).toBe('96');
    expect(problems).toEqual([]);
  });

  it('runs the toy model here with the tokens and cycles of wafer run for the same seed, and names the gpu.js backend', async () => {
    const node = nodeRuns.find((r) => r.command === runCommandLine(DEFAULT_STATE))!;
    expect(node).toBeDefined();
    await page.click('#run');
    await page.waitForFunction(() => (window as unknown as { labTimings: Timings }).labTimings.runs > 0 || !document.getElementById('run-error')!.hidden, null, { timeout: 120_000 });
    expect(await page.$eval('#run-error', (e) => e.textContent)).toBe('');
    expect(await page.$eval('#run-tokens', (e) => e.textContent)).toBe(node.tokens.join(','));
    expect(await page.$eval('#run-cycles', (e) => e.textContent)).toBe(node.stepCycles.join(', '));
    const backend = await page.$eval('#gpujs-backend', (e) => e.textContent);
    console.log(`lab: gpu.js ran the reference matvecs on its "${backend}" backend`);
    expect(['webgl2', 'webgl', 'cpu']).toContain(backend);
    expect(await page.$eval('#gpujs-check', (e) => e.textContent)).toContain('the same as the mesh run');
    expect(problems).toEqual([]);
  });

  it('answers a malformed config.json and a malformed model.safetensors with the CLI\'s one-line message beside the input', async () => {
    const badJson = cliError({ 'config.json': '{"model_type": "llama",' }, loadModelConfig);
    await page.setInputFiles('#files', [{ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{"model_type": "llama",') }]);
    await page.waitForFunction(() => !document.getElementById('drop-error')!.hidden, null, { timeout: 30_000 });
    expect(await page.$eval('#drop-error', (e) => e.textContent)).toBe(badJson.line.replaceAll(join(badJson.dir, 'config.json'), 'config.json'));

    const config = JSON.stringify(toyConfigJson());
    const badWeights = cliError({ 'config.json': config, 'model.safetensors': new Uint8Array([1, 2, 3]) }, loadModelDir);
    await page.setInputFiles('#files', [
      { name: 'config.json', mimeType: 'application/json', buffer: Buffer.from(config) },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3]) },
    ]);
    const expected = badWeights.line.replaceAll(join(badWeights.dir, 'model.safetensors'), 'model.safetensors').replaceAll(join(badWeights.dir, 'config.json'), 'config.json');
    await page.waitForFunction((want) => document.getElementById('drop-error')!.textContent === want, expected, { timeout: 30_000 });
    // The page still answers: the chart and map are there, and nothing was thrown.
    expect(await page.$$eval('#chart svg', (s) => s.length)).toBe(1);
    expect(problems).toEqual([]);
  });
});

/** A Hugging Face config.json of the toy-dense preset's shape (what `wafer model init toy-dense` writes). */
function toyConfigJson(): Record<string, unknown> {
  const c = getPreset('toy-dense');
  return {
    model_type: 'llama',
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxPositionEmbeddings,
  };
}
