import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { spawn } from 'node:child_process';
const srv = spawn(process.execPath, ['bin/wafer.mjs', 'lab', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((r) => { let buf = ''; srv.stdout.on('data', (d) => { buf += d; try { r(JSON.parse(buf).url); } catch {} }); });
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/i19probe/ud-'), { executablePath: '/usr/bin/chromium', headless: true, args: ['--headless','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
const T = () => page.evaluate(() => window.labTimings);
await page.goto(url);
await page.waitForFunction(() => window.labTimings.charts > 0 && window.labTimings.maps > 0, null, { timeout: 60000 });
for (const v of ['96', '200', '24', '512', '64']) {
  const n = (await T()).charts;
  await page.$eval('#sramKiB', (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }, v);
  await page.waitForFunction((n) => window.labTimings.charts > n, n, { timeout: 60000 });
  const t = await T(); console.log('slider', v, (t.lastChartMs - t.lastInputMs).toFixed(0), 'ms');
}
const n0 = (await T()).charts; const t0 = Date.now();
for (let v = 56; v <= 256; v += 8) { await page.$eval('#sramKiB', (e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', { bubbles: true })); }, v); await page.waitForTimeout(100); }
console.log('drag of 26 steps over', Date.now() - t0, 'ms: charts drawn during it', (await T()).charts - n0);
await page.waitForTimeout(3000);
console.log('final chart has 256 KiB edge', await page.$eval('#table', (e) => e.innerText.includes('256 KiB')));
await ctx.close(); srv.kill();
