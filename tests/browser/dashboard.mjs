// The dashboard in real headless Chromium (Debian's /usr/bin/chromium via playwright-core),
// against the Worker in local workerd. Driven by tests/tests/browser.rs, which started the
// Worker and stops/starts it on request:
//   this script prints `STOP` or `START` on stdout and waits for `STOPPED` / `STARTED` on
//   stdin. It prints `RESULT {json}` at the end and exits non-zero on any failure.
// Environment: BASE (http://127.0.0.1:port), TOKEN (admin login token), FLIP_KEY and
// WEB_KEY (heartbeat keys of `browser-flip` and `web-frontend`), SHOTS (screenshot folder).
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const { BASE, TOKEN, FLIP_KEY, WEB_KEY, SHOTS } = process.env;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (command, answer) => {
  console.log(command);
  const { value } = await lines.next();
  if (value !== answer) throw new Error(`expected ${answer}, got ${value}`);
};
const check = (ok, what) => { if (!ok) throw new Error(what); };
const beat = async (service, key, body) => {
  const r = await fetch(`${BASE}/api/heartbeat`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ serviceId: service, ...body }),
  });
  check(r.status === 200, `heartbeat for ${service}: ${r.status} ${await r.text()}`);
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));

  // Sign in with the admin token. (`/` without a session is the same form with 401, which
  // Chromium logs as a failed resource; the suite checks that status in dashboard.rs.)
  await page.goto(`${BASE}/login`);
  check(await page.locator('h1', { hasText: 'Sign in' }).count() === 1, 'the sign-in form is shown first');
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-connected=true]');
  const row = page.locator('li[data-service="browser-flip"]');

  // A heartbeat shows up live; then the deadline passes and the service goes down in place.
  // Every status the row takes is noted with the server's time of the change (data-at) and
  // the page's time of seeing it, whether changed in place ('live') or by a resync swapping
  // the page in ('snapshot'); waits are generous and the latency bounds are checked on those
  // times afterwards.
  await page.evaluate(() => {
    window.__notReloaded = true;
    window.__flips = [];
    const FLIP = 'li[data-service="browser-flip"]';
    const note = (li, how) => window.__flips.push({ status: li.dataset.status, at: Number(li.dataset.at || 0), seen: Date.now(), how });
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes' && r.target.matches(FLIP)) note(r.target, 'live');
        for (const n of r.addedNodes || []) {
          const li = n.nodeType === 1 && (n.matches(FLIP) ? n : n.querySelector(FLIP));
          if (li) note(li, 'snapshot');
        }
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
  const downBefore = Number(await page.textContent('[data-count=down]'));
  await beat('browser-flip', FLIP_KEY, { status: 'up', message: 'hello from the browser test' });
  await page.waitForSelector('li[data-service="browser-flip"][data-status=down]', { timeout: 30000 });
  const seen = await page.evaluate(() => ({
    flips: window.__flips,
    notReloaded: window.__notReloaded === true,
    title: document.title,
    down: Number(document.querySelector('[data-count=down]').textContent),
    badge: document.querySelector('li[data-service="browser-flip"] [data-status-text]').textContent,
  }));
  const flips = JSON.stringify(seen.flips);
  const up = seen.flips.find((f) => f.status === 'up');
  const down = seen.flips.find((f) => f.status === 'down' && f.how === 'live');
  check(up && down && seen.flips.indexOf(up) < seen.flips.indexOf(down), `up, then down in place: ${flips}`);
  check((await row.locator('[data-field=message]').textContent()) === 'hello from the browser test', 'message live');
  if (up.how === 'live') {
    result.upLatencyMs = up.seen - up.at;
    check(result.upLatencyMs >= 0 && result.upLatencyMs < 5000, `row up ${result.upLatencyMs} ms after the heartbeat`);
  }
  result.downLatencyMs = down.seen - down.at;
  check(seen.notReloaded, 'the page was not reloaded');
  check(result.downLatencyMs >= 0 && result.downLatencyMs < 1000, `row changed ${result.downLatencyMs} ms after the status change`);
  check(seen.down === downBefore + 1, `down card ${downBefore} → ${seen.down}`);
  check(seen.title.startsWith(`(${seen.down} down) `), `tab title ${seen.title}`);
  check(seen.badge === 'Down', 'status as text');
  const activity = await page.textContent('#activity');
  check(activity.includes('browser-flip') && activity.includes('Down'), `alert history shows the change: ${activity}`);
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  await page.screenshot({ path: `${SHOTS}/dashboard-light.png`, fullPage: false });

  // Dark mode: the toggle, remembered across a reload.
  await page.click('#theme-toggle');
  await page.reload();
  check(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'dark mode remembered');
  await page.waitForSelector('body[data-connected=true]');
  await page.screenshot({ path: `${SHOTS}/dashboard-dark.png`, fullPage: false });

  // 360 px wide: no horizontal scrolling.
  const phone = await browser.newContext({ viewport: { width: 360, height: 800 }, colorScheme: 'dark' });
  const small = await phone.newPage();
  small.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await phone.addCookies((await context.cookies()).map((c) => ({ ...c })));
  await small.goto(`${BASE}/`);
  await small.waitForSelector('li[data-service="browser-flip"]');
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `page is ${overflow}px wider than 360`);
  await small.screenshot({ path: `${SHOTS}/dashboard-360.png`, fullPage: false });

  // Keyboard: the skip link comes first.
  await small.keyboard.press('Tab');
  check(await small.evaluate(() => document.activeElement.className) === 'skip', 'skip link is the first tab stop');

  // The service page and the public status page.
  await page.goto(`${BASE}/services/web-frontend`);
  await page.screenshot({ path: `${SHOTS}/service.png`, fullPage: true });
  await page.goto(`${BASE}/status`);
  await page.waitForSelector('body[data-connected=true]');
  await page.screenshot({ path: `${SHOTS}/status.png`, fullPage: false });
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);

  // The runtime stops: the banner appears. It restarts: the banner clears and the page
  // resynchronises, showing a recovery that happened while the tab was disconnected.
  await page.goto(`${BASE}/`);
  await page.waitForSelector('body[data-connected=true]');
  await ask('STOP', 'STOPPED');
  await page.waitForSelector('#banner', { state: 'visible', timeout: 30000 });
  await page.screenshot({ path: `${SHOTS}/banner.png`, fullPage: false });
  await ask('START', 'STARTED');
  await beat('web-frontend', WEB_KEY, { status: 'degraded', message: 'back after the restart' });
  const started = Date.now();
  await page.waitForSelector('#banner', { state: 'hidden', timeout: 30000 });
  await page.waitForSelector('body[data-synced]', { timeout: 30000 });
  await page.waitForSelector('li[data-service="web-frontend"][data-status=degraded]', { timeout: 30000 });
  result.reconnectMs = Date.now() - started;
  const cards = await page.evaluate(() => ({
    down: Number(document.querySelector('[data-count=down]').textContent),
    degraded: Number(document.querySelector('[data-count=degraded]').textContent),
  }));
  check(cards.down === downBefore + 1 && cards.degraded >= 1, `summary after resync ${JSON.stringify(cards)}`);
  result.ok = true;
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (e) {
  console.log(`RESULT ${JSON.stringify({ ...result, ok: false, error: String(e && e.stack || e) })}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}
