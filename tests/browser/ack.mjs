// Acknowledging in real headless Chromium (Debian's /usr/bin/chromium via playwright-core),
// against the Worker started by tests/tests/escalation.rs: the service page's Acknowledge
// button for a signed-in admin (and a second tab showing it live), and a signed link's
// confirm page without sign-in. Prints
// `RESULT {json}` at the end and exits non-zero on any failure.
// Environment: BASE, TOKEN (admin login token), SERVICE (a service with an open incident),
// LINK (a signed link's path and query for another open incident), SHOTS (screenshot folder).
import { launch } from './chromium.mjs';

const { BASE, TOKEN, SERVICE, LINK, SHOTS } = process.env;
const check = (ok, what) => { if (!ok) throw new Error(what); };
const browser = await launch();
const result = {};
const errors = [];
const watch = (page) => {
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  watch(page);
  await page.goto(`${BASE}/login`);
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);
  // The incident reaches D1 (and the page) with the monitor's next flush.
  let button = null;
  for (let i = 0; i < 40 && !button; i++) {
    await page.goto(`${BASE}/services/${SERVICE}`);
    button = await page.$('form.ack button');
    if (!button) await page.waitForTimeout(250);
  }
  check(button, 'no Acknowledge button on the service page');
  const incidents = await page.$('section[aria-labelledby=incidents-h]');
  await incidents.screenshot({ path: `${SHOTS}/ack-button.png` });
  // A second tab on the same page, live, never reloaded by the test.
  const watcher = await context.newPage();
  watch(watcher);
  await watcher.goto(`${BASE}/services/${SERVICE}`);
  await watcher.waitForSelector('body[data-connected=true]');
  // The form posts and is sent back to this same page: wait for that page's own load (the
  // URL alone matches before the post), which must already show the acknowledgement.
  await Promise.all([page.waitForEvent('load'), button.click()]);
  check(page.url() === `${BASE}/services/${SERVICE}`, `sent to ${page.url()}`);
  const ackCell = 'section[aria-labelledby=incidents-h] tbody tr td:last-child';
  const cell = await page.textContent(ackCell);
  result.pageAfterClick = cell.trim();
  check(/by\s+ana/.test(cell), `the incident does not say who acknowledged it: ${cell}`);
  await (await page.$('section[aria-labelledby=incidents-h]')).screenshot({ path: `${SHOTS}/ack-after.png` });
  // The other tab shows it too, from the live update.
  await watcher.waitForFunction((sel) => /by\s+ana/.test(document.querySelector(sel)?.textContent || ''), ackCell, { timeout: 15000 });
  result.otherTab = (await watcher.textContent(ackCell)).trim();
  await watcher.screenshot({ path: `${SHOTS}/ack-live.png`, fullPage: true });
  await watcher.close();

  // A signed link, without signing in: a confirm page, then the button.
  const anonymous = await browser.newContext({ viewport: { width: 900, height: 600 }, colorScheme: 'light' });
  const linkPage = await anonymous.newPage();
  watch(linkPage);
  const opened = await linkPage.goto(`${BASE}${LINK}`);
  check(opened.status() === 200, `the link's page answered ${opened.status()}`);
  await linkPage.screenshot({ path: `${SHOTS}/ack-confirm.png` });
  result.confirm = (await linkPage.textContent('#ack')).replace(/\s+/g, ' ').trim();
  await Promise.all([linkPage.waitForLoadState('load'), linkPage.click('#ack button[type=submit]')]);
  await linkPage.waitForSelector('#ack p[role=status]');
  await linkPage.screenshot({ path: `${SHOTS}/ack-done.png` });
  result.done = (await linkPage.textContent('#ack p[role=status]')).replace(/\s+/g, ' ').trim();
  check(/acknowledged by link/.test(result.done), `not acknowledged: ${result.done}`);
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e && e.stack || e);
  result.consoleErrors = errors;
} finally {
  await browser.close();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(result.ok ? 0 : 1);
}
