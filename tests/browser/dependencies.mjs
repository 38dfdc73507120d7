// The dependency view of the service page in real headless Chromium (Debian's
// /usr/bin/chromium via playwright-core), against the Worker in local workerd. Driven by
// tests/tests/dependencies.rs while `dep-db` is down and `dep-api`'s down is held: the page of
// `dep-api` shows "Depends on" with `dep-db` linked and its status, the held incident's mark;
// the page of `dep-db` shows its dependents. Prints `RESULT {json}` and exits non-zero on any
// failure. Environment: BASE, TOKEN (admin login token), SHOTS (screenshot folder).
import { launch } from './chromium.mjs';

const { BASE, TOKEN, SHOTS } = process.env;
const check = (ok, what) => { if (!ok) throw new Error(what); };
const browser = await launch();
const result = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${BASE}/login`);
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);

  await page.goto(`${BASE}/services/dep-api`);
  const parents = page.locator('dd[data-field="depends-on"] li');
  check(await parents.count() === 1, 'dep-api depends on one service');
  const link = parents.locator('a');
  check(await link.getAttribute('href') === '/services/dep-db', 'the parent is linked');
  check((await link.textContent()).trim() === 'Dependency database', 'by its name');
  result.parentStatus = (await parents.locator('[data-status-text]').textContent()).trim();
  result.suppressed = (await page.locator('[data-field="suppressed"]').first().textContent()).trim();
  await page.screenshot({ path: `${SHOTS}/dependencies.png`, fullPage: true });

  await page.goto(`${BASE}/services/dep-db`);
  result.dependents = await page.locator('dd[data-field="dependents"] li a').allTextContents();
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(result.ok ? 0 : 1);
