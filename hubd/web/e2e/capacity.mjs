// Measures what the dashboard keeps up with in headless Chromium: open the
// page, show one device in detail, and sample the page's own counters for a
// while. Usage:
//
//   node e2e/capacity.mjs <page url with fragment> <device> [seconds]
//
// Prints one JSON line: frames/s received, draws/s, sample→screen latency
// and the longest main-thread task seen.
import { chromium } from 'playwright-core';

const [url, device, secs = '10'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForFunction(() => window.edgeplane && window.edgeplane.conn().state === 'ready');
  await page.evaluate(() => {
    window.__long = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long = Math.max(window.__long, e.duration); }).observe({ type: 'longtask', buffered: false });
  });
  if (device) await page.evaluate((d) => window.edgeplane.select(d), device);
  await page.waitForTimeout(3000); // history replay and warm-up
  const a = await page.evaluate(() => ({ ...window.edgeplane.conn(), t: performance.now(), long: window.__long }));
  const lat = [];
  const n = Number(secs);
  for (let i = 0; i < n; i++) {
    await page.waitForTimeout(1000);
    lat.push(await page.evaluate(() => window.edgeplane.conn().latencyMs));
  }
  const b = await page.evaluate(() => ({ ...window.edgeplane.conn(), t: performance.now(), long: window.__long, heap: performance.memory && performance.memory.usedJSHeapSize }));
  const s = (b.t - a.t) / 1000;
  lat.sort((x, y) => x - y);
  console.log(JSON.stringify({
    framesPerSec: Math.round((b.frames - a.frames) / s),
    messagesPerSec: Math.round((b.messagesIn - a.messagesIn) / s),
    drawsPerSec: Math.round((b.draws - a.draws) / s),
    latencyMsMedian: lat[Math.floor(lat.length / 2)],
    latencyMsMax: lat[lat.length - 1],
    longestTaskMs: b.long,
    heapMiB: b.heap ? Math.round(b.heap / 1048576) : null,
    errors: await page.evaluate(() => window.edgeplane.errors().length),
  }));
} finally {
  await browser.close();
}
