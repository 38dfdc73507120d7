// The dashboard's admin pages in real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core), against the Worker in local workerd started by
// tests/tests/browser_admin.rs. Prints `RESULT {json}` at the end and exits non-zero on any
// failure.
// Environment: BASE (http://127.0.0.1:port), TOKEN (admin login token), VIEWER_TOKEN (a
// viewer's, who sees the `web` group), SHOTS (screenshot folder).
import { launch } from './chromium.mjs';

const { BASE, TOKEN, VIEWER_TOKEN, SHOTS } = process.env;
const ID = 'browser-managed';
const check = (ok, what) => { if (!ok) throw new Error(what); };
const beat = async (key, body) => fetch(`${BASE}/api/v1/heartbeat`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ serviceId: ID, ...body }),
});
// Chromium logs every 4xx answer as a console error: those this script provokes on purpose
// (a refused form, a viewer's 403) are expected, anything else fails the test.
const expected = /status of (400|403|409|422)/;

const browser = await launch();
const result = {};
const errors = [];
const watch = (page) => {
  page.on('console', (m) => { if (m.type() === 'error' && !expected.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
};
const signIn = async (context, token) => {
  const page = await context.newPage();
  watch(page);
  await page.goto(`${BASE}/login`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-connected=true]');
  return page;
};
const noticeText = async (page, since) => {
  await page.waitForFunction((t) => +(document.body.dataset.notice || 0) > t, since, { timeout: 15000 });
  return page.textContent('#notice');
};
const stamp = (page) => page.evaluate(() => +(document.body.dataset.notice || 0));

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await signIn(context, TOKEN);
  // A second tab on the dashboard: the new service must show up there too, live.
  const other = await context.newPage();
  watch(other);
  await other.goto(`${BASE}/`);
  await other.waitForSelector('body[data-connected=true]');
  for (const p of [page, other]) await p.evaluate(() => { window.__notReloaded = true; });

  // "Add service" by keyboard: the dialog opens with the id field focused.
  await page.focus('#add-service');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#service-dialog[open]');
  check(await page.evaluate(() => document.activeElement.id) === 'sf-id', 'the id field has the focus');
  await page.screenshot({ path: `${SHOTS}/admin-add.png` });
  // Escape closes it and the focus goes back to the button; Enter opens it again.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#service-dialog:not([open])', { state: 'attached' });
  check(await page.evaluate(() => document.activeElement.id) === 'add-service', 'the focus is back on "Add service"');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#service-dialog[open]');

  // Refused first: the API's problem+json errors show next to their fields.
  await page.fill('#sf-id', 'not a valid id!');
  await page.fill('#sf-stalenessThreshold', '1');
  await page.selectOption('select[name=stalenessThresholdUnit]', 's');
  await page.click('#service-submit');
  await page.waitForSelector('[data-error-for="id"]:not([hidden]), .form-error:not([hidden])', { timeout: 10000 });
  const refused = await page.evaluate(() => ({
    fields: [...document.querySelectorAll('[data-error-for]:not([hidden])')].map((e) => [e.dataset.errorFor, e.textContent]),
    general: document.querySelector('.form-error').hidden ? null : document.querySelector('.form-error').textContent,
    invalid: [...document.querySelectorAll('[aria-invalid=true]')].map((e) => e.name),
    focus: document.activeElement.name || document.activeElement.className,
    open: document.getElementById('service-dialog').open,
  }));
  result.refused = refused;
  check(refused.open, 'the form stays open');
  check(refused.fields.some(([f]) => f === 'id') && refused.invalid.includes('id'), `id error by its field: ${JSON.stringify(refused)}`);
  await page.screenshot({ path: `${SHOTS}/admin-form-errors.png` });

  // Accepted: the key is shown once, with the curl line that uses it.
  await page.fill('#sf-id', ID);
  await page.fill('#sf-name', 'Managed from the browser');
  await page.selectOption('#sf-group', 'browser');
  await page.fill('#sf-stalenessThreshold', '5');
  await page.selectOption('select[name=stalenessThresholdUnit]', 'min');
  await page.fill('#sf-tags', 'e2e, browser');
  await page.click('#service-submit');
  await page.waitForSelector('#key-dialog[open]', { timeout: 15000 });
  const key = await page.inputValue('#key-value');
  const curl = await page.inputValue('#key-curl');
  result.keyLength = key.length;
  check(key.length >= 22, `a key of at least 128 bits: ${key}`);
  check(curl.includes(`Bearer ${key}`) && curl.includes(`"serviceId": "${ID}"`) && curl.includes(`${BASE}/api/v1/heartbeat`), `curl line: ${curl}`);
  await page.click('#key-dialog [data-copy="key-value"]');
  check(await page.evaluate(() => navigator.clipboard.readText()) === key, 'the copy button copies the key');
  await page.screenshot({ path: `${SHOTS}/admin-key.png` });
  await page.click('#key-dialog [data-close]');
  check(await page.isHidden('#key-dialog'), 'the key dialog closes');

  // The new row in both tabs without a reload; a heartbeat with the shown key turns it up.
  for (const p of [page, other]) await p.waitForSelector(`li[data-service="${ID}"]`, { timeout: 15000 });
  const r = await beat(key, { status: 'up', message: 'first beat from the shown key' });
  check(r.status === 200, `heartbeat with the shown key: ${r.status} ${await r.text()}`);
  for (const p of [page, other]) await p.waitForSelector(`li[data-service="${ID}"][data-status=up]`, { timeout: 15000 });
  for (const p of [page, other]) check(await p.evaluate(() => window.__notReloaded === true), 'no reload');
  await page.screenshot({ path: `${SHOTS}/admin-dashboard.png` });

  // Its page: pause, resume, edit, rotate the key, a test notification; the change log.
  await page.goto(`${BASE}/services/${ID}`);
  await page.waitForSelector('body[data-connected=true]');
  let t = await stamp(page);
  await page.click('#act-toggle[data-act=pause]');
  check((await noticeText(page, t)).startsWith('Paused'), 'paused, and said so');
  await page.waitForSelector(`section[data-service="${ID}"][data-status=paused]`, { timeout: 15000 });
  check(await page.evaluate(() => document.activeElement.id) === 'act-toggle', 'the focus stays on the toggle');
  t = await stamp(page);
  await page.click('#act-toggle[data-act=resume]');
  check((await noticeText(page, t)).startsWith('Resumed'), 'resumed, and said so');
  await page.waitForSelector('#act-toggle[data-act=pause]', { timeout: 15000 });

  t = await stamp(page);
  await page.click('#act-edit');
  await page.waitForSelector('#service-dialog[open]');
  check(await page.inputValue('#sf-name') === 'Managed from the browser', 'the edit form is filled in');
  check(await page.inputValue('#sf-stalenessThreshold') === '5', 'with the threshold in minutes');
  await page.fill('#sf-name', 'Managed and renamed');
  await page.click('#service-submit');
  check((await noticeText(page, t)).startsWith('Saved'), 'saved, and said so');
  await page.waitForSelector('h1.name:has-text("Managed and renamed")', { timeout: 15000 });

  t = await stamp(page);
  await page.click('#act-rotate');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-yes');
  await page.waitForSelector('#key-dialog[open]', { timeout: 15000 });
  const rotated = await page.inputValue('#key-value');
  check(rotated && rotated !== key, 'a new key');
  check((await noticeText(page, t)).startsWith('Rotated'), 'rotated, and said so');
  await page.click('#key-dialog [data-close]');
  const r2 = await beat(rotated, { status: 'up', message: 'beat with the rotated key' });
  check(r2.status === 200, `heartbeat with the rotated key: ${r2.status}`);

  await page.click('#manage .test-notify button[type=submit]');
  await page.waitForFunction(() => document.getElementById('notice').textContent.startsWith('Test notification'), null, { timeout: 20000 });
  const sent = await page.textContent('#notice');
  result.testNotification = sent;
  // No channel has credentials here: the page says it was not delivered, and why.
  check(/^Test notification to discord (delivered|not delivered)/.test(sent), `test notification answered: ${sent}`);

  await page.reload();
  await page.waitForSelector('#changelog li', { timeout: 15000 });
  const log = await page.textContent('#changelog');
  result.changeLog = log;
  for (const verb of ['created', 'paused', 'resumed', 'changed: name', 'rotated its key']) check(log.includes(verb), `change log has "${verb}": ${log}`);
  await page.screenshot({ path: `${SHOTS}/admin-service.png`, fullPage: true });

  // Delete, after a confirmation: back on the dashboard with the result; gone from the other tab.
  await page.click('#act-delete');
  await page.waitForSelector('#confirm-dialog[open]');
  check(await page.isVisible('#confirm-purge'), 'the purge choice is offered');
  await page.screenshot({ path: `${SHOTS}/admin-delete.png` });
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('#confirm-yes')]);
  check((await page.textContent('#notice')).startsWith('Deleted'), 'deleted, and said so');
  await other.waitForSelector(`li[data-service="${ID}"]`, { state: 'detached', timeout: 15000 });
  const gone = await beat(rotated, { status: 'up' });
  check(gone.status === 401, `a deleted service's key is refused: ${gone.status}`);

  // A viewer: no admin control on any page, and the API refuses them (403).
  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const viewer = await signIn(viewerContext, VIEWER_TOKEN);
  for (const sel of ['#add-service', '.test-notify', 'dialog', '#notice']) {
    check(await viewer.locator(sel).count() === 0, `a viewer's dashboard has no ${sel}`);
  }
  await viewer.goto(`${BASE}/services/web-frontend`);
  check(await viewer.locator('#manage, [data-act], dialog').count() === 0, 'a viewer\'s service page has no controls');
  const refusedViewer = await viewer.evaluate(async (id) => {
    const post = await fetch('/api/v1/services', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id, name: 'not allowed' }),
    });
    const pause = await fetch('/api/v1/services/web-frontend/pause', { method: 'POST', credentials: 'same-origin' });
    return [post.status, (await post.json()).status, pause.status];
  }, `${ID}-viewer`);
  result.viewer = refusedViewer;
  check(refusedViewer[0] === 403 && refusedViewer[1] === 403 && refusedViewer[2] === 403, `the API refuses a viewer: ${refusedViewer}`);
  await viewer.screenshot({ path: `${SHOTS}/admin-viewer.png` });

  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  result.ok = true;
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (e) {
  console.log(`RESULT ${JSON.stringify({ ...result, errors, ok: false, error: String(e && e.stack || e) })}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}
