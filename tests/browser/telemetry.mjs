// The service page's telemetry in real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core), against the Worker in local workerd started by tests/tests/telemetry.rs:
// the tiles with units and sparklines, a 30-day chart drawn from rollups, the error groups,
// the reliability label, no console errors. Prints `RESULT {json}` and exits non-zero on any
// failure. Environment: BASE, TOKEN (admin login token), SERVICE, SHOTS (screenshot folder).
import { launch } from './chromium.mjs';

const { BASE, TOKEN, SERVICE, SHOTS } = process.env;
const check = (ok, what) => { if (!ok) throw new Error(what); };
const browser = await launch();
const result = {};
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${BASE}/login`);
  await page.fill('#token', TOKEN);
  await Promise.all([page.waitForURL(`${BASE}/`), page.click('button[type=submit]')]);
  await page.goto(`${BASE}/services/${SERVICE}?range=30d`);
  result.tiles = await page.$$eval('.tile', (ts) => ts.map((t) => t.querySelector('.tile-value').textContent));
  check(result.tiles.length >= 3, `tiles: ${result.tiles}`);
  result.sparklines = await page.$$eval('.tile svg.spark', (s) => s.map((e) => e.getAttribute('aria-label')));
  check(result.sparklines.length === result.tiles.length, 'a sparkline per tile');
  result.resolution = await page.getAttribute('figure.chart', 'data-resolution');
  check(result.resolution === '5m' || result.resolution === '1d', `resolution ${result.resolution}`);
  const box = await page.$eval('figure.chart svg', (s) => s.getBoundingClientRect().height);
  check(box > 50, `the chart is drawn (${box}px)`);
  result.reliability = await page.textContent('[data-field=reliability]');
  result.errors = await page.$$eval('table.errors tbody tr', (rows) => rows.length);
  check(result.errors >= 1, 'error groups listed');
  await page.locator('#telemetry-h').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/telemetry.png`, fullPage: true });
  check(errors.length === 0, `console errors: ${errors.join(' | ')}`);
  result.ok = true;
} catch (e) {
  result.ok = false;
  result.error = String(e);
  result.consoleErrors = errors;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(result.ok ? 0 : 1);
