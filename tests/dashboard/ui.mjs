// SPDX-License-Identifier: Apache-2.0
// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// prints PASS/FAIL lines like the shell suites. Environment: URL (the
// portal's base URL), ADMIN and VIEWER tokens, RID (a halted rollout),
// HOSTS (the first enrolled devices' host names, space separated; then
// bulk-001… up to NDEV devices in all), PW (the directory holding
// node_modules/playwright-core).
import { createRequire } from 'module';

const require = createRequire(process.env.PW + '/');
const { chromium } = require('playwright-core');
const { URL: base, ADMIN, VIEWER, RID, HOSTS } = process.env;
const NDEV = Number(process.env.NDEV);
let failed = 0;
const pass = (n) => console.log('PASS: dashboard: ' + n);
const fail = (n, why) => { failed++; console.log('FAIL: dashboard: ' + n + ' (' + String(why).split('\n')[0].slice(0, 300) + ')'); };
async function check(name, fn) {
  try { await fn(); pass(name); } catch (e) { fail(name, e.message || e); }
}
function expect(cond, why) { if (!cond) throw new Error(why); }

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const external = [];
const context = await browser.newContext({ ignoreHTTPSErrors: true });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const apiCalls = [];
page.on('request', (r) => {
  if (!r.url().startsWith(base)) external.push(r.url());
  else if (r.url().startsWith(base + '/api/')) apiCalls.push(r.url().slice(base.length));
});
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// Whatever the Content-Security-Policy blocks: the page's own report
// (securitypolicyviolation, passed out through a binding, which the CSP
// does not govern) and chromium's console message about it.
const violations = [];
const cspConsole = [];
await context.exposeFunction('lfCspViolation', (v) => violations.push(v));
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => window.lfCspViolation(
    e.effectiveDirective + ' blocked ' + (e.blockedURI || '?') + ' at ' + (e.sourceFile || '?') + ':' + e.lineNumber));
});
page.on('console', (m) => { if (/content security policy/i.test(m.text())) cspConsole.push(m.text()); });

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
function expectSecurityHeaders(what, h, csp) {
  expect(h['content-security-policy'] === csp, what + ': CSP ' + h['content-security-policy']);
  expect(h['x-content-type-options'] === 'nosniff', what + ': X-Content-Type-Options ' + h['x-content-type-options']);
  expect(h['x-frame-options'] === 'DENY', what + ': X-Frame-Options ' + h['x-frame-options']);
  expect(h['referrer-policy'] === 'no-referrer', what + ': Referrer-Policy ' + h['referrer-policy']);
  expect(/^max-age=[1-9][0-9]{6,}/.test(h['strict-transport-security'] || ''),
    what + ': Strict-Transport-Security ' + h['strict-transport-security']);
}

async function login(token) {
  await page.goto(base + '/dashboard/');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
}

try {
  await check('the page, its script and style come with the CSP and security headers', async () => {
    const seen = {};
    const onResponse = (r) => { seen[r.url().slice(base.length)] = r.headers(); };
    page.on('response', onResponse);
    await page.goto(base + '/dashboard/');
    await page.waitForLoadState('load');
    page.off('response', onResponse);
    for (const f of ['/dashboard/', '/dashboard/app.js', '/dashboard/app.css']) {
      expect(seen[f], f + ' not loaded: ' + Object.keys(seen).join(' '));
      expectSecurityHeaders(f, seen[f], CSP);
    }
  });
  await check('a wrong token is refused on the login form', async () => {
    await login('lfa_not-a-token');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
    expect(await page.isVisible('#login'), 'login form hidden');
  });
  await check('the admin logs in and sees the fleet summary', async () => {
    await login(ADMIN);
    await page.waitForSelector('#fleet-cards');
    const text = await page.textContent('#fleet-cards');
    expect(text.includes(NDEV + 'devices'), 'cards: ' + text);
    expect(await page.evaluate(() => sessionStorage.getItem('livefix-token')) === ADMIN, 'token not in sessionStorage');
  });
  await check('the devices page lists the enrolled test devices', async () => {
    await page.click('nav a[data-view=devices]');
    await page.waitForSelector('tr[data-device]');
    const text = await page.textContent('#view');
    for (const h of HOSTS.split(' ')) expect(text.includes(h), h + ' missing: ' + text.slice(0, 200));
    const user = await page.textContent('tr[data-device]:first-child td.user-patches');
    expect(user === '2', 'userspace patches of ' + HOSTS.split(' ')[0] + ': ' + user);
    await page.click('tr[data-device]');
    await page.waitForSelector('#device-detail h3');
  });
  // Host names of the rows shown, and the "from–to of N" line.
  const listed = async () => ({
    range: await page.textContent('#devices-range'),
    hosts: await page.$$eval('tr[data-device] td:first-child', (tds) => tds.map((td) => td.textContent)),
  });
  const bulk = (n) => 'bulk-' + String(n - HOSTS.split(' ').length).padStart(3, '0'); // the nth device
  await check(`${NDEV} devices: one page of 100 is fetched and shown; Next and Previous page`, async () => {
    const pages = Math.ceil(NDEV / 100);
    let l = await listed();
    expect(l.range === '1–100 of ' + NDEV && l.hosts.length === 100, 'page 1: ' + l.range + ', ' + l.hosts.length + ' rows');
    expect(await page.isDisabled('#devices-prev'), 'Previous enabled on page 1');
    for (let p = 2; p <= pages; p++) {
      await page.click('#devices-next');
      const to = Math.min(p * 100, NDEV);
      await page.waitForFunction((t) => document.querySelector('#devices-range')?.textContent === t,
        `${(p - 1) * 100 + 1}–${to} of ${NDEV}`);
      l = await listed();
      expect(l.hosts.length === to - (p - 1) * 100 && l.hosts[0] === bulk((p - 1) * 100 + 1) &&
        l.hosts[l.hosts.length - 1] === bulk(to), `page ${p}: ${l.hosts[0]}…${l.hosts[l.hosts.length - 1]}`);
    }
    expect(await page.isDisabled('#devices-next'), 'Next enabled on the last page');
    await page.click('#devices-prev');
    await page.waitForFunction((t) => document.querySelector('#devices-range')?.textContent === t,
      `${(pages - 2) * 100 + 1}–${(pages - 1) * 100} of ${NDEV}`);
    expect((await listed()).hosts[0] === bulk((pages - 2) * 100 + 1), 'Previous: ' + (await listed()).hosts[0]);
    // The page is in the URL: a reload shows the same one.
    await page.reload();
    await page.waitForFunction((t) => document.querySelector('#devices-range')?.textContent === t,
      `${(pages - 2) * 100 + 1}–${(pages - 1) * 100} of ${NDEV}`);
    // A link past the end (devices went away) shows the last page.
    await page.goto(base + '/dashboard/#devices?offset=100000');
    await page.waitForFunction((t) => document.querySelector('#devices-range')?.textContent === t,
      `${(pages - 1) * 100 + 1}–${NDEV} of ${NDEV}`);
    // Only pages of 100 were asked for, and no device one by one.
    const lists = apiCalls.filter((u) => u.startsWith('/api/v1/devices?'));
    const bad = lists.filter((u) => !/[?&]limit=100(&|$)/.test(u));
    expect(lists.length >= pages + 2 && bad.length === 0, 'device list calls: ' + lists.join(' '));
    const singles = apiCalls.filter((u) => /^\/api\/v1\/devices\/[^?]/.test(u));
    expect(singles.length === 1, 'device detail calls (1 expected, the click above): ' + singles.join(' '));
  });
  await check('the patches page lists the bundle and its CVEs', async () => {
    await page.click('nav a[data-view=patches]');
    // The devices page's table is still there until the patches page renders.
    await page.waitForFunction(() => document.querySelector('#view')?.textContent.includes('kp-1'),
      null, { timeout: 10000 }).catch(() => {});
    const text = await page.textContent('#view');
    expect(text.includes('kp-1') && text.includes('CVE-2024-1086'), text.slice(0, 300));
  });
  await check('the CVE page shows exposed devices', async () => {
    await page.click('nav a[data-view=cves]');
    await page.waitForFunction(() => document.querySelector('#view')?.textContent.includes('CVE-2024-1086') &&
      !document.querySelector('#view')?.textContent.includes('kp-1'), null, { timeout: 10000 });
    await page.waitForSelector('#view table tbody tr');
    await page.click('#view table tbody tr');
    await page.waitForSelector('#cve-detail td.exposed');
  });
  await check('the rollouts page shows the halted rollout with its reason', async () => {
    await page.click('nav a[data-view=rollouts]');
    const state = await page.textContent(`tr[data-rollout="${RID}"] td[data-state]`);
    expect(state === 'halted', 'state ' + state);
    expect((await page.textContent(`tr[data-rollout="${RID}"]`)).includes('failed'), 'no reason');
  });
  await check('approve in the UI: the rollout shows running', async () => {
    await page.click(`button[data-action=approve][data-rollout="${RID}"]`);
    await page.waitForSelector(`tr[data-rollout="${RID}"] td[data-state=running]`);
  });
  await check('a reload keeps the session (sessionStorage)', async () => {
    await page.reload();
    await page.waitForSelector('#nav:not([hidden])');
  });
  await check('a viewer sees the rollouts without approve/resume buttons', async () => {
    await page.click('#logout');
    await login(VIEWER);
    await page.waitForSelector('#fleet-cards');
    await page.click('nav a[data-view=rollouts]');
    await page.waitForSelector(`tr[data-rollout="${RID}"]`);
    expect(await page.locator('button[data-action]').count() === 0, 'buttons shown to a viewer');
  });
  await check('no request left the portal (no CDN), no script errors', async () => {
    expect(external.length === 0, 'external: ' + external.join(' '));
    expect(errors.length === 0, 'errors: ' + errors.join('; '));
  });
  // After every page above: the policy blocked nothing the dashboard uses.
  await check('the CSP blocked nothing on any page (no violation, no CSP console message)', async () => {
    expect(violations.length === 0, 'violations: ' + violations.join('; '));
    expect(cspConsole.length === 0, 'console: ' + cspConsole.join('; '));
  });
  // ...and the check above can fail: the same listeners see what the policy refuses.
  await check('the CSP is enforced: an injected inline script and style are refused and reported', async () => {
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.lfInlineRan = true;';
      document.body.append(s);
      document.getElementById('view').setAttribute('style', 'display: none');
    });
    for (let i = 0; i < 50 && violations.length < 2; i++) await page.waitForTimeout(100);
    expect(await page.evaluate(() => window.lfInlineRan) === undefined, 'the inline script ran');
    expect(await page.isVisible('#view'), 'the inline style applied');
    expect(violations.some((v) => v.startsWith('script-src')), 'no script-src report: ' + violations.join('; '));
    expect(violations.some((v) => v.startsWith('style-src')), 'no style-src report: ' + violations.join('; '));
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
