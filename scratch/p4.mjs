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
for (let i = 0; i < 3; i++) {
  await page.goto(url + '?x=' + i);
  await page.waitForFunction(() => window.labTimings.charts > 0 && window.labTimings.maps > 0, null, { timeout: 60000 });
  const nav = await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0]; return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; });
  console.log('load', JSON.stringify(await T()), JSON.stringify(nav));
}
for (const v of ['96', '200', '24', '512']) {
  const n = (await T()).charts;
  await page.$eval('#sramKiB', (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }, v);
  await page.waitForFunction((n) => window.labTimings.charts > n, n, { timeout: 60000 });
  const t = await T(); console.log('slider', v, (t.lastChartMs - t.lastInputMs).toFixed(0), 'ms');
}
// full wafer: select wse3 + llama-3.1-8b, see status after 300ms, cancel
await page.selectOption('#model', 'llama-3.1-8b');
await page.selectOption('#wafer', 'wse3');
await page.waitForTimeout(1500);
console.log('status visible', await page.$eval('#study-status', (e) => !e.hidden), await page.$eval('#study-status span', (e) => e.textContent));
// is page responsive? measure a rAF roundtrip
console.log('raf ms', await page.evaluate(() => new Promise((r) => { const t = performance.now(); requestAnimationFrame(() => r(performance.now() - t)); })));
await page.click('#study-status button');
console.log('after cancel visible', await page.$eval('#study-status', (e) => !e.hidden));
const n = (await T()).charts; const t0 = Date.now();
await page.selectOption('#model', 'llama-3.1-8b'); // no change
await page.selectOption('#dtype', 'int8');
await page.waitForFunction((n) => window.labTimings.charts > n, n, { timeout: 120000 });
console.log('wse3 llama8b int8 study', Date.now() - t0, 'ms');
console.log(await page.$eval('#table', (e) => e.innerText.slice(0, 600)));
await ctx.close(); srv.kill();
