// Debian's Chromium driven by playwright-core (never a downloaded browser),
// with a page that records every CSP violation, script error and alert, so a
// test can assert the dashboard ran clean.
import { chromium } from 'playwright-core';

/** Where Debian installs Chromium; $CHROMIUM overrides. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** One headless browser for a test file. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A fresh context and page. `page.problems` collects CSP violations, uncaught
 * errors, console errors and dialogs (an alert would mean injected script ran).
 */
export async function openPage(browser, { viewport = { width: 1280, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // A refused token shows up as "Failed to load resource: 401": expected, not a fault.
    const expected = /Failed to load resource/.test(m.text());
    if ((m.type() === 'error' && !expected) || /Content.Security.Policy/i.test(m.text())) page.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('dialog', async (d) => {
    page.problems.push(`dialog ${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  // CSP violations also surface as DOM events; collect them in the page.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { context, page };
}

/** Problems seen so far, CSP violations reported in the page included. */
export async function problems(page) {
  const csp = await page.evaluate(() => window.__csp ?? []).catch(() => []);
  return [...page.problems, ...csp.map((c) => `csp: ${c}`)];
}

/** Signs in through the form and waits for the live feed to connect. */
export async function signIn(page, url, token) {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#signin-submit').click();
  await page.locator('#dashboard-view').waitFor({ state: 'visible', timeout: 10_000 });
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 10_000 });
}
