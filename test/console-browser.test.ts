import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAccessibility, launchBrowser, signInAs, watchPage, type PageProblems } from './browser.ts';
import { certify } from './certification-helpers.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

/** Who visits a page: signed in with one of the suite's tokens, or not signed in. */
type Visitor = 'admin' | 'approver' | 'partner' | 'anonymous';

/**
 * Every console page, as a visitor sees it: each must answer `status` (200 unless given), pass
 * axe-core with no serious or critical violation, cause no CSP violation, script error or
 * request to another host, and not scroll sideways at 375 px wide. One line per page.
 */
const PAGES: Array<{ path: string; as: Visitor; status?: number }> = [
  { path: '/console/sign-in', as: 'anonymous' },
  { path: '/console', as: 'admin' },
  { path: '/console', as: 'partner' },
  { path: '/console/no-such-page', as: 'admin', status: 404 },
  { path: '/console/contracts', as: 'partner' },
  { path: '/console/contracts/northwind-health/p2p-exchange', as: 'admin' },
  { path: '/console/contracts/northwind-health/p2p-exchange/versions/2.0.0', as: 'partner' },
  { path: '/console/contracts/northwind-health/p2p-exchange/compare?from=1.1.0&to=2.0.0', as: 'approver' },
  { path: '/console/contracts/northwind-health/p2p-exchange/compare?from=1.1.0', as: 'approver', status: 400 },
  { path: '/console/changes', as: 'approver' },
  { path: '/console/changes?tab=released', as: 'admin' },
  { path: '/console/changes', as: 'partner' },
  { path: '/console/notices', as: 'admin' },
  { path: '/console/notices', as: 'partner' },
  { path: '/console/matrix', as: 'approver' },
  { path: '/console/matrix/member-match', as: 'admin' },
  { path: '/console/audit', as: 'admin' },
  { path: '/console/audit', as: 'partner', status: 403 },
  { path: '/console/operations/transactions', as: 'admin' },
  { path: '/console/operations/transactions?q=nothing-like-this&from=2026-01-01T00:00:00Z', as: 'partner' },
  { path: '/console/operations/clusters', as: 'admin' },
  { path: '/console/operations/clusters', as: 'partner', status: 403 },
  { path: '/console/operations/partners/northwind-health', as: 'approver' },
  { path: '/console/operations/partners/bluestem-mutual', as: 'partner' },
  { path: '/console/operations/incidents', as: 'admin' },
  { path: '/console/operations/incidents?status=closed', as: 'approver' },
  { path: '/console/operations/incidents', as: 'partner', status: 403 },
  { path: '/console/operations/compensations', as: 'admin' },
  { path: '/console/operations/compensations', as: 'partner', status: 403 },
  { path: '/console/operations', as: 'admin' },
  { path: '/console/operations?window=P7D&flow=member-match', as: 'partner' },
  { path: '/console/operations?window=PT5M', as: 'admin', status: 400 },
  // {run}: the reference certification of bluestem-mutual's 1.2.0 the suite starts.
  { path: '/console/operations/certifications/{run}', as: 'partner' },
  { path: '/console/operations/certifications/{run}', as: 'approver' },
];

/** Serves one page on its own origin (http://<host>:<port>/); returns the page's URL. */
async function serveOtherOrigin(host: string, html: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

describe('the console in a real browser (Chromium)', () => {
  let browser: Browser;
  let s: TestService;
  let baseUrl: string;
  let tokens: Record<Exclude<Visitor, 'anonymous'>, string>;
  let runId: string;
  const contexts = new Map<Visitor, Promise<BrowserContext>>();

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestService({ seed: true });
    baseUrl = await s.listen();
    tokens = { admin: ADMIN_TOKEN, approver: await s.token('approver'), partner: await s.token('partner', 'bluestem-mutual') };
    runId = (await certify(s, { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.2.0', target: 'reference' })).id;
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  /** A fresh browser context, signed in as `as` (not at all for anonymous). */
  async function newVisitor(as: Visitor, options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
    const context = await browser.newContext(options);
    if (as !== 'anonymous') {
      const page = await context.newPage();
      await signInAs(page, baseUrl, tokens[as]);
      await page.close();
    }
    return context;
  }

  /** The visitor's shared context (one sign-in per visitor for the whole file). */
  function visitor(as: Visitor): Promise<BrowserContext> {
    if (!contexts.has(as)) contexts.set(as, newVisitor(as));
    return contexts.get(as)!;
  }

  async function openPage(context: BrowserContext): Promise<{ page: Page; problems: PageProblems }> {
    const page = await context.newPage();
    return { page, problems: await watchPage(page) };
  }

  const noProblems: PageProblems = { cspViolations: [], scriptErrors: [], foreignRequests: [] };

  it.each(PAGES)('$path as $as: accessible (axe: 0 serious/critical), within the CSP, only 127.0.0.1, no sideways scrolling at 375 px', async ({ path, as, status = 200 }) => {
    const { page, problems } = await openPage(await visitor(as));
    try {
      const response = await page.goto(`${baseUrl}${path.replace('{run}', runId)}`);
      const found = { status: response?.status(), path: ((u) => u.pathname + u.search)(new URL(page.url())), h1: await page.locator('h1').count(), axe: await checkAccessibility(page), sidewaysScrollAt375px: 0, ...problems };
      await page.setViewportSize({ width: 375, height: 667 });
      found.sidewaysScrollAt375px = await page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
      // Everything at once, so that a failure lists all a page gets wrong.
      expect(found).toEqual({ status, path: path.replace('{run}', runId), h1: 1, axe: [], sidewaysScrollAt375px: 0, ...noProblems });
    } finally {
      await page.close();
    }
  });

  it('signs in through the form into a session cookie page scripts cannot read; the token appears nowhere', async () => {
    const context = await newVisitor('anonymous');
    const { page, problems } = await openPage(context);
    await signInAs(page, baseUrl, tokens.approver);
    expect(await page.locator('h1').innerText()).toBe('Welcome');
    expect(await page.locator('header').innerText()).toContain('approver');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).getAttribute('aria-current')).toBe('page');
    const session = (await context.cookies()).find((c) => c.name === 'accord_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('accord_session');
    expect(await page.content()).not.toContain(tokens.approver);
    expect(page.url()).not.toContain(tokens.approver);
    expect(problems).toEqual(noProblems);
    await context.close();
  });

  it('a wrong token is refused on the sign-in page with the reason, and no session starts', async () => {
    const context = await newVisitor('anonymous');
    const { page } = await openPage(context);
    await page.goto(`${baseUrl}/console/sign-in`);
    await page.getByLabel('Token').fill('acc_wrong-token-000000000000000000000000000');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(answer.status()).toBe(401);
    expect(await page.getByRole('alert').innerText()).toContain('That token is not valid');
    expect((await context.cookies()).map((c) => c.name)).not.toContain('accord_session');
    await context.close();
  });

  it('keyboard: the first Tab stop is the skip link, and following it moves focus into the main content', async () => {
    const { page } = await openPage(await visitor('admin'));
    await page.goto(`${baseUrl}/console`);
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => ({ text: document.activeElement?.textContent?.trim(), href: document.activeElement?.getAttribute('href') }));
    expect(first).toEqual({ text: 'Skip to content', href: '#main' });
    expect((await page.locator('a.skip').boundingBox())!.x, 'the focused skip link is on screen').toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    // The next Tab stop after the skip link is inside <main>, past the navigation and the sign-out button.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
    await page.close();
  });

  it('sign-out ends the session: the console asks to sign in again', async () => {
    const context = await newVisitor('admin');
    const { page } = await openPage(context);
    await page.goto(`${baseUrl}/console`);
    await Promise.all([page.waitForURL(`${baseUrl}/console/sign-in`), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.goto(`${baseUrl}/console`);
    expect(page.url()).toBe(`${baseUrl}/console/sign-in`);
    expect(await page.locator('h1').innerText()).toBe('Sign in');
    await context.close();
  });

  // 127.0.0.1 on another port is the same site (ports do not count), so the cookie goes along and
  // the missing CSRF token is what refuses the post; from localhost (another site) SameSite=Strict
  // keeps the cookie at home and the post has no session at all.
  it.each([
    { host: '127.0.0.1', status: 403, says: 'CSRF' },
    { host: 'localhost', status: 401, says: 'sign in again' },
  ])('a form another origin ($host) auto-submits to /console/sign-out is refused ($status) and the user stays signed in', async ({ host, status, says }) => {
    const context = await newVisitor('admin');
    const attacker = await serveOtherOrigin(
      host,
      `<!DOCTYPE html><title>Win a prize</title><form id="f" method="post" action="${baseUrl}/console/sign-out"><input name="prize" value="1"></form><script>document.getElementById('f').submit()</script>`,
    );
    try {
      const page = await context.newPage();
      const [answer] = await Promise.all([page.waitForResponse(`${baseUrl}/console/sign-out`), page.goto(attacker.url)]);
      expect(answer.status()).toBe(status);
      expect(await page.locator('main').innerText()).toContain(says);
      await page.goto(`${baseUrl}/console`);
      expect(page.url()).toBe(`${baseUrl}/console`);
      expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    } finally {
      attacker.close();
      await context.close();
    }
  });
});
