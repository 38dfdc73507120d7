// The dashboard in real headless Chromium (Debian's /usr/bin/chromium via playwright-core),
// against the Worker in local workerd. Driven by tests/tests/browser.rs, which started the
// Worker and stops/starts it on request:
//   this script prints `STOP` or `START` on stdout and waits for `STOPPED` / `STARTED` on
//   stdin. It prints `RESULT {json}` at the end and exits non-zero on any failure.
// Environment: BASE (http://127.0.0.1:port), TOKEN (admin login token), FLIP_KEY and
// WEB_KEY (heartbeat keys of `browser-flip` and `web-frontend`), JOB_KEY (`job-ok`'s), ALERT_KEY (ALERT_API_KEY),
// SHOTS (screenshot folder).
import { launch } from './chromium.mjs';
import { createInterface } from 'node:readline';

const { BASE, TOKEN, FLIP_KEY, WEB_KEY, JOB_KEY, ALERT_KEY, SHOTS } = process.env;
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
const alert = async (body) => {
  const r = await fetch(`${BASE}/api/v1/alerts`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ALERT_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  check(r.status === 202, `external alert: ${r.status} ${await r.text()}`);
};

const browser = await launch();
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  // Browser notifications allowed, and counted (tests/config/settings.json enables them).
  await context.grantPermissions(['notifications'], { origin: BASE });
  await context.addInitScript(() => {
    window.__notes = [];
    const Real = window.Notification;
    if (Real) window.Notification = class extends Real { constructor(title, o) { window.__notes.push(title); super(title, o); } };
  });
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
  // The session cookie is a __Host- cookie (Secure, Path=/, no Domain), which Chromium
  // accepts from http://127.0.0.1 (a secure context), and the page's socket opened with it.
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-systole_session');
  check(session && session.secure && session.path === '/' && session.httpOnly && session.sameSite === 'Strict',
    `the __Host- session cookie is set: ${JSON.stringify(cookies.map((c) => c.name))}`);
  const row = page.locator('li[data-service="browser-flip"]');

  // dashboard.json: header links, the sanitised custom HTML (no script ran, no handler or
  // javascript: URL survived), customCss applied from /assets/custom.css, the footer.
  const branding = await page.evaluate(() => {
    document.querySelector('.page-header-extra strong').click();
    document.querySelector('.footer-note').dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    const docs = document.querySelector('nav.links a.hl');
    const details = document.querySelector('.page-header-extra a');
    return {
      pwned: window.__pwned,
      scripts: document.querySelectorAll('.page-header-extra script, .page-footer-extra script').length,
      handlers: document.querySelectorAll('.page-header-extra [onclick], .page-footer-extra [onmouseover]').length,
      jsLinks: document.querySelectorAll('a[href^="javascript"]').length,
      notice: getComputedStyle(document.querySelector('.page-header-extra .notice')).borderLeftColor,
      noteStyle: getComputedStyle(document.querySelector('.footer-note')).fontStyle,
      docs: docs && [docs.textContent, docs.target, docs.rel],
      details: details && details.rel,
      footer: document.querySelector('footer .foot').textContent,
      logoAlt: document.querySelector('img.logo').alt,
    };
  });
  result.branding = branding;
  check(branding.pwned === undefined && branding.scripts === 0 && branding.handlers === 0 && branding.jsLinks === 0,
    `custom HTML sanitised: ${JSON.stringify(branding)}`);
  check(branding.notice === 'rgb(124, 58, 237)' && branding.noteStyle === 'italic', `customCss applied: ${JSON.stringify(branding)}`);
  check(JSON.stringify(branding.docs) === JSON.stringify(['Docs', '_blank', 'noopener noreferrer']), `header link ${branding.docs}`);
  check(branding.details === 'noopener noreferrer', `custom link rel ${branding.details}`);
  check(branding.footer.includes('Systole end-to-end suite') && branding.logoAlt === 'Systole', 'footer text and logoAlt');

  // Pop-up alerts: every toast is noted with the server's time of the alert and the page's
  // time of showing it.
  await page.evaluate(() => {
    window.__toasts = [];
    new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType === 1 && n.matches('.toast')) {
            window.__toasts.push({ title: n.querySelector('strong').textContent, severity: n.dataset.severity, at: Number(n.dataset.at), seen: Date.now() });
          }
        }
      }
    }).observe(document.getElementById('toasts'), { childList: true });
  });

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

  // The status change popped up within a second, as a toast and a browser notification;
  // the recovery before it is "info", which severityFilter (critical, warning) leaves out.
  await page.waitForSelector('.toast[data-severity=critical]', { timeout: 5000 });
  const toasts = await page.evaluate(() => ({ toasts: window.__toasts, notes: window.__notes }));
  const downToast = toasts.toasts.find((t) => t.title === 'Service Down: Browser flip');
  check(downToast && downToast.severity === 'critical', `down toast: ${JSON.stringify(toasts)}`);
  result.toastLatencyMs = downToast.seen - downToast.at;
  check(result.toastLatencyMs >= 0 && result.toastLatencyMs < 1000, `toast ${result.toastLatencyMs} ms after the change`);
  check(!toasts.toasts.some((t) => t.severity === 'info'), `no info toast: ${JSON.stringify(toasts.toasts)}`);
  check(toasts.notes.includes('Service Down: Browser flip'), `browser notification: ${JSON.stringify(toasts.notes)}`);
  check(await page.isHidden('#notify'), 'no "Enable notifications" once allowed');

  // External alerts come over the same socket: a warning pops up, an info one does not.
  await alert({ title: 'Nightly report ready', message: 'all green', severity: 'info', source: 'cron' });
  await alert({ title: 'Disk almost full', message: 'db-1 at 91 %', severity: 'warning', source: 'grafana' });
  await page.waitForSelector('.toast:has-text("Disk almost full")', { timeout: 5000 });
  await page.waitForTimeout(500);
  const external = await page.evaluate(() => window.__toasts.map((t) => t.title));
  check(!external.includes('Nightly report ready'), `the info alert is filtered out: ${external}`);
  const remembered = await page.evaluate(() => localStorage.getItem('systole-e2e-last-alert'));
  check(/^\d{4}-\d\d-\d\dT/.test(remembered || ''), `newest alert remembered: ${remembered}`);
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  await page.screenshot({ path: `${SHOTS}/dashboard-light.png`, fullPage: false });

  // Dark mode: the toggle (with the toasts still up), remembered across a reload; the
  // reload pops up nothing already seen.
  await page.click('#theme-toggle');
  await page.screenshot({ path: `${SHOTS}/dashboard-dark.png`, fullPage: false });
  await page.click('.toast:has-text("Disk almost full") button.x');
  check(await page.locator('.toast:has-text("Disk almost full")').count() === 0, 'a toast is dismissed');
  await page.reload();
  check(await page.evaluate(() => document.documentElement.dataset.theme) === 'dark', 'dark mode remembered');
  await page.waitForSelector('body[data-connected=true]');
  await page.waitForTimeout(500);
  check(await page.locator('.toast').count() === 0, 'nothing seen pops up again after a reload');

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
  // A job on a schedule: the schedule in words, and its next run in its zone and in UTC.
  await page.goto(`${BASE}/services/job-nightly`);
  const schedule = await page.textContent('dd[data-field="schedule"]');
  check(schedule.includes('every day at 02:30 (Europe/Berlin)'), `schedule shown: ${schedule}`);
  const nextRun = await page.textContent('dd[data-field="next-run"]');
  check(/ 02:30:00 CES?T \(\d{4}-\d\d-\d\d 0[01]:30:00 UTC\)$/.test(nextRun), `next run shown: ${nextRun}`);
  await page.screenshot({ path: `${SHOTS}/service-schedule.png`, fullPage: true });
  // A job's runs: two runs (a success, then exit status 2 with output) listed newest first
  // with a link to the failure's log, and charted.
  await beat('job-ok', JOB_KEY, { event: 'start', runId: 'browser-1' });
  await beat('job-ok', JOB_KEY, { runId: 'browser-1', exitStatus: 0, output: 'backed up 42 files' });
  await beat('job-ok', JOB_KEY, { event: 'start', runId: 'browser-2' });
  await new Promise((r) => setTimeout(r, 1200));
  await beat('job-ok', JOB_KEY, { runId: 'browser-2', exitStatus: 2, output: 'tar: disk full' });
  for (let i = 0; i < 40; i += 1) {
    await page.goto(`${BASE}/services/job-ok`);
    if (await page.locator('table.runs tr[data-run]').count() === 2) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  check(await page.locator('table.runs tr[data-run]').count() === 2, 'both runs listed');
  const newest = await page.textContent('table.runs tbody tr:first-child');
  check(newest.includes('fail') && newest.includes('2') && newest.includes('log'), `the failed run first: ${newest}`);
  check(await page.locator('figure.chart figcaption:has-text("run duration (s)")').count() === 1, 'durations charted');
  await page.screenshot({ path: `${SHOTS}/service-runs.png`, fullPage: true });
  // A plain heartbeat (no run) brings the job back up, so the fleet's counts below hold.
  await beat('job-ok', JOB_KEY, { message: 'recovered' });
  await page.goto(`${BASE}/status`);
  await page.waitForSelector('body[data-connected=true]');
  await page.screenshot({ path: `${SHOTS}/status.png`, fullPage: false });
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);

  // A fleet larger than a page (20 services a page here): one page under the whole fleet's
  // counts and the services that need attention; a status change refetches the page, so a
  // service that turns degraded joins "Needs attention" and leaves it when it recovers.
  await page.goto(`${BASE}/?limit=20`);
  await page.waitForSelector('body[data-connected=true]');
  check(await page.locator('main[data-paged="1"] #attention').count() === 1, 'a paged dashboard lists what needs attention');
  check(await page.locator('nav.pager').count() === 2, 'links to the other pages above and below');
  check(await page.locator('section.group:not(#attention) li.row').count() === 20, 'one page of rows');
  check(Number(await page.textContent('[data-count=total]')) > 20, 'the cards count the whole fleet');
  await beat('web-frontend', WEB_KEY, { status: 'degraded', message: 'slow on a paged dashboard' });
  await page.waitForSelector('#attention li[data-service="web-frontend"][data-status=degraded]', { timeout: 20000 });
  await page.screenshot({ path: `${SHOTS}/dashboard-paged.png`, fullPage: false });
  await beat('web-frontend', WEB_KEY, { status: 'up', message: 'recovered' });
  await page.waitForSelector('#attention li[data-service="web-frontend"]', { state: 'detached', timeout: 20000 });
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

  // A network that blocks WebSockets: the page falls back to polling (every 5 s with
  // tests/config/settings.json) and still pops up external alerts and status changes.
  const blocked = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  await blocked.addCookies(await context.cookies());
  const polling = await blocked.newPage();
  const pollErrors = [];
  polling.on('console', (m) => { if (m.type() === 'error') pollErrors.push(m.text()); });
  polling.on('pageerror', (e) => pollErrors.push(String(e)));
  await polling.routeWebSocket(/\/api\/v1\/live$/, (ws) => ws.close());
  await polling.goto(`${BASE}/`);
  await polling.waitForSelector('body[data-connected=false]');
  await alert({ title: 'Backup overdue', message: 'no run for 26 h', severity: 'critical', source: 'cron' });
  await polling.waitForSelector('.toast:has-text("Backup overdue")', { timeout: 20000 });
  await beat('web-frontend', WEB_KEY, { status: 'up', message: 'polled' });
  await polling.waitForSelector('li[data-service="web-frontend"][data-status=up]', { timeout: 20000 });
  await beat('web-frontend', WEB_KEY, { status: 'degraded', message: 'slow while polled' });
  await polling.waitForSelector('.toast:has-text("Service Degraded: Web frontend")', { timeout: 20000 });
  check(await polling.locator('.toast:has-text("Service Recovered")').count() === 0, 'info left out when polling too');
  result.pollErrors = pollErrors;
  check(pollErrors.every((e) => /WebSocket/i.test(e)), `console errors while polling: ${pollErrors.join(' | ')}`);
  await blocked.close();

  result.ok = true;
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (e) {
  console.log(`RESULT ${JSON.stringify({ ...result, ok: false, error: String(e && e.stack || e) })}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}
