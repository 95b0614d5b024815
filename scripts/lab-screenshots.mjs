#!/usr/bin/env node
// Screenshots of the lab page for README and docs/lab.md: `npm run lab:screenshots`. Serves the site with
// `wafer lab` (which builds it if its sources changed), opens it in headless Chromium (/usr/bin/chromium through
// playwright-core), waits for the chart's sweeps, the wafer map and a run in the page, and writes docs/img/lab-*.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS as ARGS, startLab } from './headlessLab.mjs';

const OUT = 'docs/img';

if (!existsSync(CHROMIUM)) {
  console.error(`lab:screenshots needs ${CHROMIUM} (apt-get install chromium)`);
  process.exit(2);
}

const { server, url } = await startLab();

const profile = mkdtempSync(join(tmpdir(), 'wafer-lab-shots-'));
const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1360, height: 900 } });
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const waitFor = (expr) => page.waitForFunction(expr, null, { timeout: 180_000 });
  await page.goto(url);
  await waitFor(() => window.labTimings?.charts > 0 && window.labTimings.maps > 0);
  // The sweeps (every model preset, every batch) replace the first chart when they are done.
  await waitFor(() => document.getElementById('sweep-status').hidden);
  await page.click('#run');
  await waitFor(() => window.labTimings.runs > 0 || !document.getElementById('run-error').hidden);
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, 'lab-overview.png'), fullPage: true });
  await page.locator('#memory-wall-section').screenshot({ path: join(OUT, 'lab-memory-wall.png') });
  await page.locator('#faulty-mesh').screenshot({ path: join(OUT, 'lab-mesh.png') });
  console.log(`wrote ${['lab-overview.png', 'lab-memory-wall.png', 'lab-mesh.png'].map((f) => join(OUT, f)).join(', ')}`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  server.kill();
}
