#!/usr/bin/env node
// README's pictures, regenerated with the numbers: runs `wafer demo` (or takes a report given with --report FILE), opens
// the report in headless Chromium through playwright-core, and writes docs/img/report-*.png — the summary at the top,
// the memory-wall chart and the toy run's wafer map. Needs /usr/bin/chromium (CHROMIUM=path picks another).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './headlessLab.mjs';

const OUT = resolve('docs/img');
const args = process.argv.slice(2);
const given = args[0] === '--report' ? args[1] : null;
if (args.length && !given) {
  process.stderr.write('error: unknown arguments (scripts/report-screenshots.mjs): run it alone, or with --report FILE.html to skip the demo\n');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  process.stderr.write(`error: no Chromium at ${CHROMIUM} (scripts/report-screenshots.mjs): install chromium, or set CHROMIUM=/path/to/chromium\n`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'wafer-screenshots-'));
const profile = join(work, 'profile');
try {
  const report = given ? resolve(given) : join(work, 'wafer-report.html');
  if (!given) {
    process.stderr.write('running `wafer demo` for a fresh report…\n');
    execFileSync(process.execPath, ['bin/wafer.mjs', 'demo', '--quiet', '--out', report], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  mkdirSync(OUT, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1180, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    const page = await context.newPage();
    await page.goto(pathToFileURL(report).href);
    const shots = [
      ['report-summary.png', 'body > h1, #summary'],
      ['report-memory-wall.png', '#memory-wall-section'],
      ['report-wafer-map.png', '#map'],
    ];
    for (const [name, selector] of shots) {
      const boxes = await page.$$eval(selector, (els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ x: r.x + window.scrollX, y: r.y + window.scrollY, w: r.width, h: r.height })));
      if (!boxes.length) throw new Error(`the report has no ${selector}`);
      const x = Math.min(...boxes.map((b) => b.x)) - 8;
      const y = Math.min(...boxes.map((b) => b.y)) - 8;
      const right = Math.max(...boxes.map((b) => b.x + b.w)) + 8;
      const bottom = Math.max(...boxes.map((b) => b.y + b.h)) + 8;
      await page.screenshot({ path: join(OUT, name), clip: { x: Math.max(0, x), y: Math.max(0, y), width: right - Math.max(0, x), height: bottom - Math.max(0, y) }, fullPage: true });
      process.stderr.write(`wrote docs/img/${name}\n`);
    }
  } finally {
    await context.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
