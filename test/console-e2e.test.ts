import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { checkAccessibility, launchBrowser, signInAs, watchPage, type PageProblems } from './browser.ts';
import { openChange, registerVersion } from './change-fixtures.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

/**
 * The walk-through in Chromium, as people would do it: nothing is seeded but the
 * reference network, so the author registers a breaking 3.0.0 and opens its change request
 * (through the API, as CI or the CLI would); then an approver approves it in the console and the
 * gate preview changes, the consuming partner acknowledges it from its inbox, another network
 * member cannot see the draft, and a form posted without its CSRF token is refused.
 */
describe('console walk-through in a real browser', () => {
  let browser: Browser;
  let s: TestService;
  let base: string;
  let id: string;
  const signedIn = new Map<string, BrowserContext>();
  const noProblems: PageProblems = { cspViolations: [], scriptErrors: [], foreignRequests: [] };

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestService({ seed: true });
    base = await s.listen();
    const author = (await createToken(s.deps, 'test', { role: 'author', name: 'alice' })).token;
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '3.0.0', (d) => {
      delete d.paths['/Consent/{consentId}'];
      d.components.schemas.Finalization.required.push('finalizedBy');
      d.components.schemas.Finalization.properties.finalizedBy = { type: 'string' };
      d.paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example.finalizedBy = 'bluestem-mutual';
    }, author);
    for (const flow of ['finalisation', 'payer-data-export']) {
      const entry = fs.readFileSync(path.join(REPO_ROOT, `control-matrix/${flow}.yaml`), 'utf8').replace('>=1.0.0 <3.0.0', '>=1.0.0 <4.0.0');
      // proposed by the author, approved by an approver (ADR 0018)
      expect((await putApprovedMatrixEntry(s, flow, entry, { token: author })).baseVersion).toBe(1);
    }
    id = (await openChange(s, 'northwind-health', 'p2p-exchange', '3.0.0', 'Reading one consent moves to the consent search', author)).id;
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  /** A page in the browser context of a user signed in with `token` (one sign-in per user). */
  async function pageAs(who: string, token: () => Promise<string>): Promise<{ page: Page; problems: PageProblems }> {
    if (!signedIn.has(who)) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signInAs(page, base, await token());
      await page.close();
      signedIn.set(who, context);
    }
    const page = await signedIn.get(who)!.newPage();
    return { page, problems: await watchPage(page) };
  }

  const gatePreview = (page: Page) => page.locator('section[aria-labelledby="gate-preview"]').innerText();

  it('an approver opens the change from the queue and approves it: the gate preview changes', async () => {
    const { page, problems } = await pageAs('bob', async () => await s.token('approver'));
    await page.goto(`${base}/console`);
    await page.getByRole('link', { name: /Awaiting my review/ }).first().click();
    await page.getByRole('link', { name: 'northwind-health/p2p-exchange@3.0.0' }).click();
    expect(await page.locator('h1').innerText()).toBe('Change request northwind-health/p2p-exchange@3.0.0');
    expect(await gatePreview(page)).toContain('0 of 2 approvals');
    expect(await checkAccessibility(page)).toEqual([]);
    await page.getByLabel('Comment (required to reject)').fill('Consent search covers it; approved');
    await Promise.all([page.waitForURL(/done=approved/), page.getByRole('button', { name: 'Approve' }).click()]);
    expect(await page.getByText('Your approval is recorded.').count()).toBe(1);
    expect(await gatePreview(page)).toContain('1 of 2 approvals');
    expect(await page.locator('section[aria-labelledby="approvals"]').innerText()).toContain('Consent search covers it; approved');
    expect(problems).toEqual(noProblems);
  });

  it('the consuming partner sees the change awaiting its acknowledgement and acknowledges it', async () => {
    const { page, problems } = await pageAs('bluestem', async () => await s.token('partner', 'bluestem-mutual'));
    await page.goto(`${base}/console`);
    await page.getByRole('link', { name: '1 change request awaits your acknowledgement' }).click();
    await page.getByRole('link', { name: 'northwind-health/p2p-exchange@3.0.0' }).click();
    expect(await checkAccessibility(page)).toEqual([]);
    await page.getByLabel('Comment (optional)').fill('Our client no longer reads single consents');
    await Promise.all([page.waitForURL(/done=acknowledged/), page.getByRole('button', { name: 'Acknowledge for bluestem-mutual' }).click()]);
    await page.goto(`${base}/console`);
    expect(await page.getByText('Nothing awaits your acknowledgement').count()).toBe(1);
    const acks = (await s.deps.db.$sql.all('SELECT partner, comment FROM change_acks WHERE change_id = ?', [id]));
    expect(acks).toEqual([{ partner: 'bluestem-mutual', comment: 'Our client no longer reads single consents' }]);
    expect(problems).toEqual(noProblems);
  });

  it('an admin sees the change with its release form, and the page is accessible', async () => {
    const { page, problems } = await pageAs('admin', async () => await s.token('admin'));
    await page.goto(`${base}/console/changes/${id}`);
    expect(await page.getByRole('button', { name: 'Record the release' }).count()).toBe(1);
    expect(await page.locator('section[aria-labelledby="approvals"]').innerText()).toContain('Consent search covers it; approved');
    expect(await checkAccessibility(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 667 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    expect(problems).toEqual(noProblems);
  });

  it("a partner of another network member sees neither the draft nor its change request", async () => {
    const { page } = await pageAs('acme', async () => await s.token('partner', 'acme-payer'));
    await page.goto(`${base}/console/contracts/northwind-health/p2p-exchange`);
    expect(await page.locator('main').innerText()).not.toContain('3.0.0');
    for (const url of [`/console/contracts/northwind-health/p2p-exchange/versions/3.0.0`, `/console/changes/${id}`]) {
      const answer = await page.goto(`${base}${url}`);
      expect(answer?.status(), url).toBe(404);
      expect(await page.locator('main').innerText()).not.toContain('Reading one consent');
    }
    await page.goto(`${base}/console/changes`);
    expect(await page.locator('main').innerText()).not.toContain('3.0.0');
  });

  it('a form posted without its CSRF token is refused with 403 and changes nothing', async () => {
    const { page } = await pageAs('carol', async () => await s.token('approver'));
    await page.goto(`${base}/console/changes/${id}`);
    // the same form as the page's, its _csrf field removed: the browser posts it with the session cookie
    await page.locator('form[action$="/reviews"] input[name="_csrf"]').evaluate((input) => input.remove());
    const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Approve' }).click()]);
    expect(answer.status()).toBe(403);
    expect(await page.getByRole('alert').innerText()).toContain('CSRF');
    expect((await s.deps.db.$sql.value('SELECT count(*) FROM change_reviews'))).toBe(1);
  });
});
