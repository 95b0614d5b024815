#!/usr/bin/env node
// Load and update times of the lab page in headless Chromium (docs/lab.md "Measured"): serves the site with
// `wafer lab`, loads the page three times, moves the SRAM slider to five values, and prints what each took.
// Figures, not a test: they depend on the machine and its load.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS as ARGS, startLab } from './headlessLab.mjs';

const { server, url } = await startLab();
const profile = mkdtempSync(join(tmpdir(), 'wafer-lab-timings-'));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const timings = () => page.evaluate(() => window.labTimings);
  for (let i = 0; i < 3; i++) {
    await page.goto(`${url}?load=${i}`);
    await page.waitForFunction(() => window.labTimings?.charts > 0 && window.labTimings.maps > 0, null, { timeout: 120_000 });
    const ready = await page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
    console.log(`load ${i + 1}: DOMContentLoaded ${ready.toFixed(0)} ms, first chart ${(await timings()).firstChartMs.toFixed(0)} ms`);
  }
  for (const kib of [96, 200, 24, 512, 64]) {
    const n = (await timings()).charts;
    await page.$eval('#sramKiB', (e, v) => {
      e.value = String(v);
      e.dispatchEvent(new Event('input', { bubbles: true }));
    }, kib);
    await page.waitForFunction((k) => window.labTimings.charts > k, n, { timeout: 120_000 });
    const t = await timings();
    console.log(`SRAM slider to ${kib} KiB: chart redrawn after ${(t.lastChartMs - t.lastInputMs).toFixed(0)} ms`);
  }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  server.kill();
}
