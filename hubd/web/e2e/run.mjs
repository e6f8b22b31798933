// End-to-end check of the dashboard in headless Chromium, driven by
// playwright-core. Usage:
//
//   node e2e/run.mjs <page url>
//
// The hub behind <page url> must have a simulated device online. Settings
// come from the environment:
//
//   EDGEPLANE_E2E_DEVICE    device id to look at (required)
//   EDGEPLANE_E2E_SENSOR    sensor whose chart and value are checked (required)
//   EDGEPLANE_E2E_RELAY     actuator to toggle ("" skips the command step)
//   EDGEPLANE_E2E_TOKEN     dashboard token, passed in the URL fragment
//   EDGEPLANE_E2E_RESTART   "stdin": print {"event":"restart"} and wait for a
//                           line on stdin once the hub was restarted; an
//                           http(s) URL: GET it; "" skips the restart step
//   EDGEPLANE_E2E_ARTIFACTS directory for screenshots ("" = none)
//   CHROMIUM                browser binary (default /usr/bin/chromium)
//
// It prints one JSON object per line on stdout ({"event": ...}) for the
// driver to check, and exits 0 when every step passed, 1 otherwise.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const url = process.argv[2];
if (!url) {
  console.error('usage: node e2e/run.mjs <page url>');
  process.exit(2);
}
const env = process.env;
const device = env.EDGEPLANE_E2E_DEVICE;
const sensor = env.EDGEPLANE_E2E_SENSOR;
const relay = env.EDGEPLANE_E2E_RELAY || '';
const restart = env.EDGEPLANE_E2E_RESTART || '';
const artifacts = env.EDGEPLANE_E2E_ARTIFACTS || '';
if (!device || !sensor) {
  console.error('run.mjs: EDGEPLANE_E2E_DEVICE and EDGEPLANE_E2E_SENSOR are required');
  process.exit(2);
}

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const log = (...a) => console.error('[e2e]', ...a);
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const problems = [];
const fail = (msg) => {
  problems.push(msg);
  log('FAIL', msg);
};

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let exitCode = 1;
let currentPage = null;
try {
  exitCode = await run(browser);
} catch (err) {
  fail(`${err.message}`);
  if (currentPage) {
    // What the page knew when it failed, for the log.
    const state = await currentPage.evaluate(() => window.edgeplane && {
      conn: window.edgeplane.conn(), devices: window.edgeplane.devices(), subs: window.edgeplane.subs(),
      errors: window.edgeplane.errors(), notices: window.edgeplane.notices(),
    }).catch((e) => ({ evaluate: e.message }));
    emit({ event: 'state', state });
  }
} finally {
  await browser.close();
}
if (problems.length) exitCode = 1;
emit({ event: 'done', ok: exitCode === 0, problems });
process.exit(exitCode);

async function run(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  currentPage = page;
  const consoleErrors = [];
  // While the hub restarts, Chromium logs each refused WebSocket attempt as
  // a console error; those are expected then, and only then.
  let hubDown = false;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (hubDown && /WebSocket connection to .*\/v1\/ws' failed/.test(m.text())) return;
    consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (!r.url().includes('/v1/ws')) consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });

  const token = env.EDGEPLANE_E2E_TOKEN || '';
  await page.goto(`${url}#proto=json`);
  const ep = (fn, ...args) => page.evaluate(fn, ...args);
  const waitFor = async (what, fn, arg, timeout = 20000, p = page) => {
    try {
      await p.waitForFunction(fn, arg, { timeout, polling: 100 });
    } catch (err) {
      throw new Error(`timed out waiting for ${what}: ${err.message.split('\n')[0]}`);
    }
  };

  // 0. Without a token the hub turns the page away: it asks for one, and
  // the token pasted in gets it in.
  if (token) {
    await waitFor('login form', () => !document.getElementById('login').hidden);
    await page.fill('#token-input', token);
    await page.click('#login-form button[type=submit]');
  }

  // 1. Connected, device listed online.
  await waitFor('connection ready', () => window.edgeplane && window.edgeplane.conn().state === 'ready');
  await waitFor(`tile of ${device} online`, (id) => !!document.querySelector(`.tile[data-device="${CSS.escape(id)}"][data-online="true"]`), device);
  emit({ event: 'online', device });

  // 2. Open the device: its chart receives points.
  await page.click(`.tile[data-device="${device}"] h3`);
  await waitFor(`chart of ${sensor}`, (s) => !!document.querySelector(`[data-chart="${CSS.escape(s)}"] canvas`), sensor);
  await waitFor('20 samples on the chart', ([d, s]) => window.edgeplane.samples(d, s).length >= 20, [device, sensor]);
  emit({ event: 'chart', device, sensor, points: (await ep(([d, s]) => window.edgeplane.samples(d, s).length, [device, sensor])) });

  // 3. The value on screen is the last sample's, as received.
  await checkValue(page, 'json');

  // 4. Hub restart: the page reconnects and recovers with no missing seq.
  if (restart) {
    const before = await ep(([d]) => ({ seqs: window.edgeplane.seqs(d), connects: window.edgeplane.conn().connects }), [device]);
    const lastBefore = before.seqs[before.seqs.length - 1];
    hubDown = true;
    emit({ event: 'restart', lastSeq: lastBefore });
    if (restart === 'stdin') {
      const line = await stdinLines.next();
      if (line.done) throw new Error('stdin closed while waiting for the hub restart');
    } else {
      const r = await fetch(restart);
      if (!r.ok) throw new Error(`restart: HTTP ${r.status}`);
    }
    await waitFor('reconnection', (n) => window.edgeplane.conn().connects > n && window.edgeplane.conn().state === 'ready', before.connects, 30000);
    hubDown = false;
    await waitFor('30 new frames after the restart', ([d, s]) => {
      const q = window.edgeplane.seqs(d);
      return q.length && q[q.length - 1] >= s + 30;
    }, [device, lastBefore], 30000);
    const after = await ep(([d]) => ({ seqs: window.edgeplane.seqs(d), missing: window.edgeplane.missingSeqs(d), resets: window.edgeplane.resets(), notices: window.edgeplane.notices() }), [device]);
    emit({ event: 'recovered', first: after.seqs[0], last: after.seqs[after.seqs.length - 1], count: after.seqs.length, missing: after.missing, resets: after.resets });
    if (after.missing.length) fail(`seqs missing after the restart: ${after.missing.slice(0, 20).join(',')}`);
    if (!after.resets.some((r) => r.ch === `dev/${device}`)) fail('the lost history was not announced (no reset/unrecovered entry)');
    const noticeText = await page.textContent('#notices');
    if (!noticeText || !noticeText.includes('history')) fail(`no notice about the lost history on screen: ${JSON.stringify(noticeText)}`);
    await checkValue(page, 'json after restart');
  }

  // 5. A command toggles the relay.
  if (relay) {
    const sw = `#actuators [data-pin="${relay}"]`;
    await waitFor(`switch ${relay} enabled`, (s) => { const e = document.querySelector(s); return e && !e.disabled; }, sw);
    for (let round = 0; round < 2; round++) {
      const was = (await page.getAttribute(sw, 'aria-checked')) === 'true';
      const n = (await ep(() => window.edgeplane.commands().length));
      await page.click(sw);
      await waitFor('command result', (k) => { const c = window.edgeplane.commands(); return c.length > k && c[c.length - 1].ok !== null; }, n);
      const cmd = await ep(() => { const c = window.edgeplane.commands(); return c[c.length - 1]; });
      emit({ event: 'command', device, pin: relay, level: cmd.level, ok: cmd.ok, error: cmd.error, result: cmd.result });
      if (!cmd.ok) {
        fail(`command failed: ${cmd.error}`);
        break;
      }
      if (cmd.level === was) fail(`switch sent level ${cmd.level} while showing ${was}`);
      await waitFor(`switch showing ${!was}`, ([s, want]) => document.querySelector(s)?.getAttribute('aria-checked') === String(want), [sw, !was]);
      const resText = await page.textContent(`#actuators [data-actuator="${relay}"] .result`);
      if (!resText.includes('ok')) fail(`command result not shown: ${resText}`);
      if (round === 0) await shot(page, 'desktop');
    }
  } else {
    await shot(page, 'desktop');
  }

  // 6. A longer window is backfilled from history.
  {
    const n = await ep(([d, s]) => window.edgeplane.samples(d, s).length, [device, sensor]);
    await page.selectOption('#window', '300');
    await waitFor('5 min window backfilled', ([d, s, k]) => {
      const sub = window.edgeplane.subs().find((x) => x.ch === `dev/${d}`);
      return sub && sub.active && sub.mode === 'detail' && window.edgeplane.samples(d, s).length >= k;
    }, [device, sensor, n]);
    const missing = await ep(([d]) => window.edgeplane.missingSeqs(d), [device]);
    emit({ event: 'window', seconds: 300, points: await ep(([d, s]) => window.edgeplane.samples(d, s).length, [device, sensor]) });
    if (missing.length) fail(`seqs missing after the window change: ${missing.slice(0, 20).join(',')}`);
  }

  // 7. CBOR: switch protocol; frames keep coming with no gap.
  {
    const before = await ep(([d]) => ({ seqs: window.edgeplane.seqs(d), connects: window.edgeplane.conn().connects }), [device]);
    const lastBefore = before.seqs[before.seqs.length - 1];
    await page.selectOption('#proto', 'cbor');
    await waitFor('CBOR connection', (n) => { const c = window.edgeplane.conn(); return c.proto === 'cbor' && c.state === 'ready' && c.connects > n; }, before.connects);
    await waitFor('20 frames over CBOR', ([d, s]) => { const q = window.edgeplane.seqs(d); return q[q.length - 1] >= s + 20; }, [device, lastBefore]);
    const missing = await ep(([d]) => window.edgeplane.missingSeqs(d), [device]);
    if (missing.length) fail(`seqs missing after switching to CBOR: ${missing.slice(0, 20).join(',')}`);
    await checkValue(page, 'cbor');
  }

  // 7b. The 1 h window asks for max_rate with minmax: merged points carry
  // the min and max of their window, drawn as a band.
  {
    await page.selectOption('#window', '3600');
    await waitFor('1 h window with min/max', ([d, s]) => {
      const sub = window.edgeplane.subs().find((x) => x.ch === `dev/${d}`);
      return sub && sub.active && sub.minmax && window.edgeplane.samples(d, s).some((p) => p.lo !== undefined);
    }, [device, sensor]);
    const pts = (await ep(([d, s]) => window.edgeplane.samples(d, s), [device, sensor])).filter((p) => p.lo !== undefined);
    const bad = pts.filter((p) => !(p.lo <= p.v && p.v <= p.hi));
    emit({ event: 'minmax', seconds: 3600, points: pts.length });
    if (bad.length) fail(`min/max not around the value: ${JSON.stringify(bad.slice(0, 3))}`);
  }

  // 8. Phone width: still readable (no horizontal scroll), charts fit.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300); // ResizeObserver → uPlot setSize on the next frame
  const overflow = await ep(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`page scrolls sideways by ${overflow}px at phone width`);
  await shot(page, 'phone');

  // 9. A link with #token= logs in a fresh tab; the token leaves the
  // address bar and stays in session storage only.
  if (token) {
    const tab = await (await browser.newContext()).newPage();
    tab.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`second tab: ${m.text()}`); });
    await tab.goto(`${url}#token=${encodeURIComponent(token)}`);
    await waitFor('ready with the token from the link', () => window.edgeplane && window.edgeplane.conn().state === 'ready', undefined, 20000, tab);
    const where = await tab.evaluate(() => ({ href: location.href, session: sessionStorage.getItem('edgeplane.token'), local: Object.keys(localStorage).length }));
    if (where.href.includes('token=')) fail(`token still in the URL: ${where.href}`);
    if (where.session !== token) fail('token not kept in session storage');
    if (where.local !== 0) fail('something was written to local storage');
    await tab.context().close();
  }

  const state = await ep(() => ({ conn: window.edgeplane.conn(), lastError: window.edgeplane.lastError(), errors: window.edgeplane.errors() }));
  emit({ event: 'stats', ...state.conn, lastError: state.lastError });
  if (state.errors.length) fail(`page reported errors: ${state.errors.map((e) => e.text).join(' | ')}`);
  if (consoleErrors.length) fail(`console errors: ${consoleErrors.join(' | ')}`);
  return problems.length ? 1 : 0;
}

// checkValue compares the value shown for the sensor with the page's own
// sample of the seq the element says it shows, and reports both, so the
// driver can compare them with what the hub sent for that seq.
async function checkValue(page, phase) {
  const v = await page.evaluate(([d, s]) => {
    const card = document.querySelector(`[data-chart="${CSS.escape(s)}"]`);
    const el = card.querySelector('.value');
    const seq = Number(el.dataset.seq);
    // A frame may carry several samples of a sensor: the newest is shown.
    const same = window.edgeplane.samples(d, s).filter((x) => x.seq === seq);
    const sample = same.reduce((a, b) => (!a || b.t >= a.t ? b : a), null);
    return { text: el.textContent, seq, sample, unit: card.querySelector('.unit').textContent };
  }, [device, sensor]);
  emit({ event: 'value', phase, device, sensor, seq: v.seq, text: v.text, unit: v.unit, value: v.sample && v.sample.v });
  if (!v.sample) {
    fail(`${phase}: the page holds no sample of seq ${v.seq}, which it shows`);
    return;
  }
  // The page rounds to the sensor's resolution: allow half of the last
  // decimal shown, nothing more.
  const half = 0.5 * 10 ** -((v.text.split('.')[1] || '').length);
  if (!(Math.abs(Number(v.text) - v.sample.v) <= half + 1e-9)) fail(`${phase}: screen shows ${v.text} for seq ${v.seq}, page state holds ${v.sample.v}`);
}

async function shot(page, name) {
  if (!artifacts) return;
  await mkdir(artifacts, { recursive: true });
  const path = join(artifacts, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  emit({ event: 'screenshot', path });
}
