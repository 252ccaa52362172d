// Page-load timing for bench/dashboard.py: open the dashboard signed in (the token put in
// sessionStorage before the page runs) in real headless Chromium, `runs` times in fresh
// pages, and time from navigation start until the order list shows a full page of rows with
// every thumbnail decoded. Prints one JSON line: {"ms": [...], "rows": N, "errors": [...]}.
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.env.HARTOMAT_PAGELOAD);
const browser = await chromium.launch({ executablePath: cfg.chromium, args: ['--no-sandbox'] });
const errors = [];
const ms = [];
let rows = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript((token) => sessionStorage.setItem('hartomat.token', token), cfg.token);
  for (let i = 0; i < cfg.runs; i++) {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(cfg.url);
    const done = await page.waitForFunction((want) => {
      const found = document.querySelectorAll('tr[data-order]');
      const thumbs = [...document.querySelectorAll('tr[data-order] img.thumb')];
      const ready = found.length === want && thumbs.length === want && thumbs.every((img) => img.complete && img.naturalWidth > 0);
      return ready ? { at: performance.now(), rows: found.length } : false;
    }, cfg.rows, { timeout: 30_000, polling: 'raf' });
    const value = await done.jsonValue();
    ms.push(Math.round(value.at));
    rows = value.rows;
    await page.close();
  }
} catch (error) {
  errors.push(String(error.stack || error));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ms, rows, errors }));
