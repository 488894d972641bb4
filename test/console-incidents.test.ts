import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAccessibility, launchBrowser, signInAs, watchPage, type PageProblems } from './browser.ts';
import { signIn } from './console-helpers.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * The incidents pages of the operations console in a real browser (Debian Chromium): an SLA
 * breach's incident with its timeline, an operator opening one, writing the postmortem (a bad
 * link refused in place), closing refused while an action item is open, then closed; staff
 * who may not act see no forms; partners are refused.
 */
describe('console: incidents and postmortems (Chromium)', () => {
  let browser: Browser;
  let s: TestService;
  let baseUrl: string;
  let now = Date.parse('2026-11-27T12:00:00Z');
  let operatorToken: string;
  let approverToken: string;
  let operator: BrowserContext;
  let incidentId: string;
  const noProblems: PageProblems = { cspViolations: [], scriptErrors: [], foreignRequests: [] };

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestService({ seed: true, clock: () => new Date(now) });
    baseUrl = await s.listen();
    operatorToken = await s.token('operator');
    approverToken = await s.token('approver');
    // An SLA breach (errorRate of payer-data-export at bluestem-mutual above 0.2 for 5 minutes) opens INC-1.
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    now += 5 * 60_000 + 1000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();
    now += 5 * 60_000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();
    incidentId = (await s.deps.db.$sql.value('SELECT id FROM incidents WHERE number = 1')) as string;
    expect(incidentId).toMatch(/^inc_/);
    operator = await browser.newContext();
    const page = await operator.newPage();
    await signInAs(page, baseUrl, operatorToken);
    await page.close();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  async function open(context: BrowserContext, path: string): Promise<{ page: Page; problems: PageProblems; status: number | undefined }> {
    const page = await context.newPage();
    const problems = await watchPage(page);
    const response = await page.goto(`${baseUrl}${path}`);
    return { page, problems, status: response?.status() };
  }

  /** axe (no serious/critical), no CSP problem, no sideways scrolling at 375 px. */
  async function expectClean(page: Page, problems: PageProblems) {
    const found = { axe: await checkAccessibility(page), sideways: 0, ...problems };
    await page.setViewportSize({ width: 375, height: 667 });
    found.sideways = await page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(found).toEqual({ axe: [], sideways: 0, ...noProblems });
  }

  it('lists the breach’s incident and opens another through the form', async () => {
    const { page, problems, status } = await open(operator, '/console/operations/incidents');
    try {
      expect(status).toBe(200);
      expect(await page.locator('h1').innerText()).toBe('Incidents');
      expect(await page.getByRole('navigation', { name: 'Operations sections' }).getByRole('link', { name: 'Incidents' }).getAttribute('aria-current')).toBe('page');
      const rows = page.getByRole('region', { name: 'Incidents' }).locator('tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().innerText()).toContain('INC-1');
      expect(await rows.first().innerText()).toContain('payer-data-export');
      await expectClean(page, problems);

      await page.getByLabel('Title').fill('Northwind bulk export stalls');
      await page.getByLabel('Severity').selectOption('sev1');
      await page.getByLabel('Partner (optional)').fill('northwind-health');
      await page.getByLabel('Summary (optional)').fill('Reported by the partner’s on-call.');
      await Promise.all([page.waitForURL(/\/console\/operations\/incidents\/inc_\w+\?done=opened$/), page.getByRole('button', { name: 'Open incident' }).click()]);
      expect(await page.locator('h1').innerText()).toBe('INC-2: Northwind bulk export stalls');
      expect(await page.getByRole('status').innerText()).toBe('Incident opened.');

      await page.goto(`${baseUrl}/console/operations/incidents`);
      const refs = await page.getByRole('region', { name: 'Incidents' }).locator('tbody tr td:first-child').allInnerTexts();
      expect(refs).toEqual(['INC-2', 'INC-1']);
      expect(problems).toEqual(noProblems);
    } finally {
      await page.close();
    }
  });

  it('shows the timeline; a postmortem with a bad link is refused in place; close is refused while an item is open, then closes', async () => {
    const { page, problems, status } = await open(operator, `/console/operations/incidents/${incidentId}`);
    try {
      expect(status).toBe(200);
      expect(await page.locator('h1').innerText()).toMatch(/^INC-1: SLA breach: payer-data-export at bluestem-mutual/);
      const timeline = await page.getByRole('region', { name: 'Timeline' }).innerText();
      expect(timeline).toContain('sla.breach');
      expect(timeline).toContain('sla.intervention-applied');
      expect(timeline).toContain('incident.opened');
      await expectClean(page, problems);

      const fill = async (item: { ref: string; status?: string }) => {
        await page.getByLabel('Root cause').fill('Consent service certificate expired.');
        await page.getByLabel('How it was detected').fill('SLA monitor: errorRate above 0.2.');
        await page.getByLabel('Compensation effectiveness').fill('Every export compensated.');
        await page.getByLabel('Partner communication').fill('Bluestem told within 10 minutes.');
        await page.getByLabel('Governance gaps').fill('Certificate rotation is not change-controlled.');
        const first = page.getByRole('group', { name: 'Action item 1' });
        await first.getByLabel('Title').fill('Alert before certificates expire');
        await first.getByLabel('Area').selectOption('monitoring');
        await first.getByLabel('Links to').selectOption('matrix-proposal');
        await first.getByLabel('Reference').fill(item.ref);
        await first.getByLabel('Status').selectOption(item.status ?? 'open');
        await page.getByRole('button', { name: 'Save the postmortem' }).click();
        await page.waitForLoadState();
      };

      await fill({ ref: 'payer-data-export/v42' });
      expect(await page.getByRole('alert').innerText()).toContain('no version 42 of control-matrix flow "payer-data-export"');
      expect(await page.getByRole('alert').innerText()).toContain('/actionItems/0/link/ref');
      expect(await page.getByRole('group', { name: 'Action item 1' }).getByLabel('Reference').inputValue()).toBe('payer-data-export/v42');
      expect(await s.deps.db.$sql.value('SELECT count(*) FROM incident_postmortems')).toBe(0);
      await expectClean(page, problems);

      await page.getByRole('group', { name: 'Action item 1' }).getByLabel('Reference').fill('payer-data-export/v1');
      await Promise.all([page.waitForURL(/\?done=written#postmortem$/), page.getByRole('button', { name: 'Save the postmortem' }).click()]);
      expect(await page.getByRole('status').innerText()).toBe('Postmortem saved.');
      const items = await page.getByRole('region', { name: 'Action items' }).innerText();
      expect(items).toContain('Alert before certificates expire');
      expect(items).toContain('matrix proposal payer-data-export/v1');
      expect(await page.getByLabel('Time to detect (ISO 8601 duration, e.g. PT12M; default: from the start to the opening)').inputValue()).toBe('PT5M');

      await page.getByRole('button', { name: 'Close incident' }).click();
      await page.waitForLoadState();
      expect(await page.getByRole('alert').innerText()).toContain('cannot be closed while 1 action item is open');
      expect(await page.getByRole('alert').innerText()).toContain('Alert before certificates expire');
      expect(await s.deps.db.$sql.value('SELECT status FROM incidents WHERE id = ?', [incidentId])).toBe('open');

      await page.goto(`${baseUrl}/console/operations/incidents/${incidentId}`);
      await page.getByRole('group', { name: 'Action item 1' }).getByLabel('Status').selectOption('done');
      await Promise.all([page.waitForURL(/\?done=written#postmortem$/), page.getByRole('button', { name: 'Save the postmortem' }).click()]);
      await Promise.all([page.waitForURL(/\?done=closed$/), page.getByRole('button', { name: 'Close incident' }).click()]);
      expect(await page.getByRole('status').innerText()).toBe('Incident closed.');
      expect(await page.getByRole('button', { name: 'Close incident' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Save the postmortem' }).count()).toBe(0);
      expect(await s.deps.db.$sql.value('SELECT closed_by FROM incidents WHERE id = ?', [incidentId])).toMatch(/^operator/);
      expect(problems).toEqual(noProblems);
    } finally {
      await page.close();
    }
  });

  it('offers the Markdown export; an approver reads but gets no forms; a partner is refused', async () => {
    const approver = await browser.newContext();
    try {
      const signin = await approver.newPage();
      await signInAs(signin, baseUrl, approverToken);
      await signin.close();
      const { page, problems, status } = await open(approver, `/console/operations/incidents/${incidentId}`);
      expect(status).toBe(200);
      expect(await page.getByRole('button', { name: 'Close incident' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Save the postmortem' }).count()).toBe(0);
      const markdown = await page.request.get(`${baseUrl}/console/operations/incidents/${incidentId}/markdown`);
      expect(markdown.headers()['content-type']).toBe('text/markdown; charset=utf-8');
      expect(await markdown.text()).toMatch(/^# INC-1: [^]*## Timeline[^]*## Action items\n\n- \[x\] Alert before certificates expire \(monitoring\) — matrix-proposal/);
      await page.goto(`${baseUrl}/console/operations/incidents`);
      expect(await page.getByRole('button', { name: 'Open incident' }).count()).toBe(0);
      await expectClean(page, problems);
      await page.close();
    } finally {
      await approver.close();
    }
    const partner = await signIn(s, await s.token('partner', 'bluestem-mutual'));
    expect((await partner.get('/console/operations/incidents')).status).toBe(403);
    expect((await partner.get(`/console/operations/incidents/${incidentId}`)).status).toBe(403);
  });

  it('console writes need the session’s CSRF token and are audited', async () => {
    const user = await signIn(s, operatorToken);
    const refused = await user.post('/console/operations/incidents', { _csrf: null, title: 'no token', severity: 'sev3' });
    expect(refused.status).toBe(403);
    expect(await s.deps.db.$sql.value("SELECT count(*) FROM incidents WHERE title = 'no token'")).toBe(0);
    const opened = await user.post('/console/operations/incidents', { title: 'with token', severity: 'sev3' });
    expect(opened.status).toBe(303);
    const audit = (await s.deps.db.$sql.all("SELECT action, outcome FROM audit_log WHERE action = 'console POST /console/operations/incidents' ORDER BY seq")) as Array<{ outcome: string }>;
    expect(audit.map((r) => r.outcome)).toEqual(['ok', 'refused', 'ok']);
  });
});
