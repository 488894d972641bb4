import fs from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { OpsRollups } from '../src/observability/ops-rollups.ts';
import { approvalFlowYaml, approvalSeedDir, matchExample } from './approval-helpers.ts';
import { checkAccessibility, launchBrowser, signInAs, watchPage, type PageProblems } from './browser.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

const FLOW = 'payer-data-export';
const PARTNER = 'northwind-health';
/** The rule the author proposes: short enough for a test (any error rate above 0.2 over one minute pages the owner at once). */
const SHORT_RULE = '    - metric: errorRate\n      above: 0.2\n      window: PT1M\n      for: PT0S\n      actions: [page-owner]\n';
const noProblems: PageProblems = { cspViolations: [], scriptErrors: [], foreignRequests: [] };

/**
 * Issue 18's story end to end, in a real browser (Debian Chromium) against a real HTTP server
 * and a real SQLite file: an author and an approver shorten the SLA window through the control
 * matrix; an injected partner fault breaches it and opens an incident; the operator reads the
 * incident's timeline, pivots from the overview chart to one failed transaction and to its
 * failure cluster; a compensation awaiting approval is refused to the operator whose compensate
 * caused it and approved by a second operator; the postmortem links an action item to the
 * matrix proposal, closing is refused while it is open, then the incident closes.
 */
describe('operations end to end: SLA breach → incident → pivot → four-eyes compensation → postmortem (Chromium)', () => {
  let browser: Browser;
  let s: TestService;
  let seedDir: string;
  let baseUrl: string;
  let operatorA: string;
  let operatorB: string;
  let contextA: BrowserContext;
  let proposalVersion: number;
  let incidentId: string;
  let incidentRef: string;
  let interventionId: string;
  const failed: string[] = [];
  const visited: Array<{ page: Page; problems: PageProblems }> = [];
  let n = 0;

  beforeAll(async () => {
    browser = await launchBrowser();
    seedDir = approvalSeedDir();
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001', ACCORD_SEED_DIR: seedDir } });
    baseUrl = await s.listen();
    operatorA = await s.token('operator');
    operatorB = await s.token('operator');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
    if (seedDir) fs.rmSync(seedDir, { recursive: true, force: true });
  });

  const json = (method: string, url: string, body: unknown, token: string, headers: Record<string, string> = {}) => s.call(method, url, { body: JSON.stringify(body), type: 'application/json', token, headers });
  const fault = async (body: object) => {
    const res = await json('POST', '/v1/faults', { partner: PARTNER, flow: FLOW, ...body }, operatorA);
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const clearFaults = async () => {
    for (const f of (await (await s.call('GET', '/v1/faults')).json()).faults) expect((await s.call('DELETE', `/v1/faults/${f.id}`, { token: operatorA })).status).toBe(204);
  };
  /** A partner's system (the admin token here) starts one export. */
  const start = async () => {
    const res = await json('POST', '/v1/transactions', { flow: FLOW, partner: PARTNER, input: { memberMatch: matchExample() } }, ADMIN_TOKEN, { 'Idempotency-Key': `ops-e2e-${++n}` });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = await res.json();
    await s.runtime.engine.idle();
    return id as string;
  };
  const view = async (id: string) => (await s.call('GET', `/v1/transactions/${id}`)).json();

  /** A new page of the context, watched for CSP violations, script errors and foreign requests from its first load. */
  async function watchedPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    visited.push({ page, problems: await watchPage(page) });
    return page;
  }
  /** The page as it is now passes axe (no serious or critical finding) and has caused no problem so far. */
  async function expectClean(page: Page) {
    const problems = visited.find((v) => v.page === page)!.problems;
    expect({ url: page.url(), axe: await checkAccessibility(page), ...problems }).toEqual({ url: page.url(), axe: [], ...noProblems });
  }

  it('1. an author proposes a short SLA window with If-Match; an approver approves it; the approved version governs', async () => {
    const author = (await createToken(s.deps, 'test', { role: 'author', name: 'Ada Author' })).token;
    const current = await s.call('GET', `/v1/control-matrix/${FLOW}`);
    expect(current.status).toBe(200);
    const etag = current.headers.get('etag')!;
    expect(etag).toBe('"v1"');
    // The seeded flow already asks for approval of capture-consent's compensation.
    expect((await current.json()).entry.steps[1].compensation).toMatchObject({ operationId: 'revokeConsent', approval: 'required' });

    const body = approvalFlowYaml().replace('  interventions:\n', `  interventions:\n${SHORT_RULE}`);
    // A stale ETag is refused and nothing is proposed.
    const stale = await s.call('PUT', `/v1/control-matrix/${FLOW}`, { body, type: 'application/yaml', token: author, headers: { 'If-Match': '"v0"' } });
    expect(stale.status).toBe(412);
    const put = await s.call('PUT', `/v1/control-matrix/${FLOW}`, { body, type: 'application/yaml', token: author, headers: { 'If-Match': etag } });
    expect(put.status, await put.clone().text()).toBe(201);
    const proposal = await put.json();
    expect(proposal).toMatchObject({ version: 2, status: 'proposed', baseVersion: 1, createdBy: 'Ada Author', breaking: false });
    proposalVersion = proposal.version;
    // Not governing until approved.
    expect((await s.call('GET', `/v1/control-matrix/${FLOW}`)).headers.get('etag')).toBe('"v1"');
    expect((await s.runtime.routes.flow(FLOW))!.sla.interventions.some((r) => r.window === 'PT1M')).toBe(false);

    const review = await json('POST', `/v1/control-matrix/${FLOW}/proposals/${proposalVersion}/reviews`, { decision: 'approve', comment: 'a one-minute window for the drill' }, await s.token('approver'));
    expect(review.status, await review.clone().text()).toBe(201);
    expect((await review.json()).proposal).toMatchObject({ version: proposalVersion, status: 'approved', approvals: { counted: 1, required: 1 } });

    const governing = await s.call('GET', `/v1/control-matrix/${FLOW}`);
    expect(governing.headers.get('etag')).toBe(`"v${proposalVersion}"`);
    const entry = (await governing.json()).entry;
    expect(entry.sla.interventions[0]).toEqual({ metric: 'errorRate', above: 0.2, window: 'PT1M', for: 'PT0S', actions: ['page-owner'] });
    expect((await s.runtime.routes.flow(FLOW))!.sla.interventions[0]).toMatchObject({ metric: 'errorRate', window: 'PT1M', for: 'PT0S' });
  });

  it('2. an operator injects a partner fault; transactions fail; the SLA monitor applies an intervention', async () => {
    await fault({ step: 'capture-consent', kind: 'error-status', status: 503 });
    for (let i = 0; i < 3; i++) failed.push(await start());
    await clearFaults();
    for (const id of failed) {
      const v = await view(id);
      expect(v.state).toBe('compensated');
      expect(v).toMatchObject({ matrixVersion: proposalVersion, failure: expect.objectContaining({ step: 'capture-consent' }) });
    }
    await s.runtime.sla.evaluate();

    const interventions = (await s.deps.db.$sql.all('SELECT id, rule, metric, actions FROM sla_interventions WHERE flow = ? AND partner = ? AND lifted_at IS NULL', [FLOW, PARTNER])) as Array<{ id: string; rule: number; metric: string; actions: string }>;
    expect(interventions).toEqual([expect.objectContaining({ rule: 0, metric: 'errorRate', actions: '["page-owner"]' })]);
    interventionId = interventions[0]!.id;
    const incidents = await (await s.call('GET', `/v1/incidents?status=open&partner=${PARTNER}`, { token: operatorA })).json();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ source: 'sla', flow: FLOW, partner: PARTNER, status: 'open', interventions: [interventionId] });
    expect(incidents[0].title).toContain('over PT1M for PT0S');
    incidentId = incidents[0].id;
    incidentRef = incidents[0].ref;
  });

  it('3. the operator, signed in through the form, finds the incident and its timeline', async () => {
    contextA = await browser.newContext();
    const page = await watchedPage(contextA);
    await signInAs(page, baseUrl, operatorA);
    const list = await page.goto(`${baseUrl}/console/operations/incidents`);
    expect(list?.status()).toBe(200);
    const rows = page.getByRole('region', { name: 'Incidents' }).locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain(incidentRef);
    expect(await rows.first().innerText()).toContain(FLOW);
    await expectClean(page);

    await Promise.all([page.waitForURL(`${baseUrl}/console/operations/incidents/${incidentId}`), rows.first().getByRole('link', { name: incidentRef }).click()]);
    expect(await page.locator('h1').innerText()).toMatch(new RegExp(`^${incidentRef}: SLA breach: ${FLOW} at ${PARTNER}: errorRate`));
    expect(await page.locator('dl.facts').innerText()).toContain(interventionId);
    const timeline = await page.getByRole('region', { name: 'Timeline' }).innerText();
    for (const kind of ['sla.breach', 'incident.opened', 'sla.intervention-applied']) expect(timeline).toContain(kind);
    await expectClean(page);
  });

  it('4. pivot: overview chart → its transactions → one failed transaction’s path → its failure cluster → another transaction', async () => {
    await new OpsRollups(s.deps).fold();
    const page = visited.at(-1)!.page;
    await page.goto(`${baseUrl}/console/operations`);
    expect(await page.locator('h1').innerText()).toBe('Operations overview');
    await page.getByLabel('Flow', { exact: true }).selectOption(FLOW);
    await page.getByLabel('Partner', { exact: true }).selectOption(PARTNER);
    await Promise.all([page.waitForURL(/\/console\/operations\?.*flow=payer-data-export/), page.getByRole('button', { name: 'Show' }).click()]);
    expect(await page.getByRole('img', { name: /^Requests initiated, .*: total 3\./ }).count()).toBe(1);
    await expectClean(page);

    await Promise.all([page.waitForURL(/\/console\/operations\/transactions\?/), page.getByRole('link', { name: 'Transactions behind this chart' }).first().click()]);
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toMatchObject({ flow: FLOW, partner: PARTNER });
    expect(await page.locator('h1').innerText()).toBe('Transactions');
    const found = page.getByRole('region', { name: 'Transactions found' });
    for (const id of failed) expect(await found.getByRole('link', { name: id }).count()).toBe(1);
    await expectClean(page);

    const [first, second] = failed as [string, string];
    const tx = await view(first);
    await Promise.all([page.waitForURL(`${baseUrl}/console/operations/transactions/${first}`), found.getByRole('link', { name: first }).click()]);
    expect(await page.locator('h1').innerText()).toContain(first);
    const facts = await page.locator('dl.facts').innerText();
    expect(facts).toContain(tx.traceId);
    expect(facts).toContain(`p2p-exchange ${tx.version}`);
    expect(facts).toContain(`${FLOW} v${proposalVersion}`);
    expect(await page.getByRole('link', { name: `${FLOW} v${proposalVersion}` }).getAttribute('href')).toBe(`/console/matrix/${FLOW}?version=${proposalVersion}`);
    const timeline = await page.getByRole('region', { name: 'Timeline' }).innerText();
    expect(timeline).toContain('step capture-consent attempt');
    expect(timeline).toContain('503');
    await expectClean(page);

    await Promise.all([page.waitForURL(/\/console\/operations\/clusters\?/), page.getByRole('link', { name: `Other transactions of ${PARTNER} failing the same way` }).click()]);
    const members = page.getByRole('region', { name: 'Transactions of this cluster' });
    for (const id of failed) expect(await members.getByRole('link', { name: id }).count()).toBe(1);
    await expectClean(page);

    await Promise.all([page.waitForURL(`${baseUrl}/console/operations/transactions/${second}`), members.getByRole('link', { name: second }).click()]);
    expect(await page.locator('h1').innerText()).toContain(second);
    await expectClean(page);
  });

  it('5. an operator’s compensate waits for approval; that operator is refused (four eyes); a second operator approves and it compensates', async () => {
    // acknowledge fails → compensating; cancelExport fails too → needs-attention.
    await fault({ step: 'acknowledge', kind: 'error-status', status: 500 });
    await fault({ step: 'cancelExport', kind: 'error-status', status: 502 });
    const stuck = await start();
    await clearFaults();
    expect((await view(stuck)).state).toBe('needs-attention');

    const page = visited.at(-1)!.page;
    await page.goto(`${baseUrl}/console/operations/transactions/${stuck}`);
    await Promise.all([page.waitForURL(`${baseUrl}/console/operations/transactions/${stuck}?done=compensate`), page.getByRole('button', { name: 'Compensate' }).click()]);
    expect(await page.getByRole('status').innerText()).toContain('Compensation requested');
    await s.runtime.engine.idle();
    expect((await view(stuck)).state).toBe('needs-attention');
    expect(await s.deps.db.$sql.all('SELECT status, cause FROM compensation_approvals WHERE transaction_id = ?', [stuck])).toEqual([{ status: 'awaiting', cause: 'operator' }]);
    await expectClean(page);

    await page.goto(`${baseUrl}/console/operations/compensations`);
    expect(await page.locator('h1').innerText()).toBe('Compensations awaiting approval');
    const row = page.locator('tbody tr', { has: page.getByRole('link', { name: stuck }) });
    expect(await row.innerText()).toContain('capture-consent');
    await expectClean(page);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), row.getByRole('button', { name: `Approve the compensation of capture-consent of ${stuck}` }).click()]);
    expect(refused.status()).toBe(403);
    expect(await page.getByRole('alert').innerText()).toContain('a different operator must approve it');
    expect((await s.deps.db.$sql.value('SELECT status FROM compensation_approvals WHERE transaction_id = ?', [stuck]))).toBe('awaiting');
    await expectClean(page);

    const contextB = await browser.newContext();
    try {
      const pageB = await watchedPage(contextB);
      await signInAs(pageB, baseUrl, operatorB);
      await pageB.goto(`${baseUrl}/console/operations/compensations`);
      const rowB = pageB.locator('tbody tr', { has: pageB.getByRole('link', { name: stuck }) });
      await expectClean(pageB);
      await Promise.all([pageB.waitForURL(`${baseUrl}/console/operations/compensations?done=approved`), rowB.getByRole('button', { name: `Approve the compensation of capture-consent of ${stuck}` }).click()]);
      expect(await pageB.getByRole('status').innerText()).toContain('approved');
      await expectClean(pageB);
      await s.runtime.engine.idle();
      expect((await view(stuck)).state).toBe('compensated');
      expect(await s.deps.db.$sql.value('SELECT status FROM compensation_approvals WHERE transaction_id = ?', [stuck])).toBe('approved');
      await pageB.goto(`${baseUrl}/console/operations/transactions/${stuck}`);
      expect(await pageB.getByText('compensated', { exact: true }).first().isVisible()).toBe(true);
      await expectClean(pageB);
    } finally {
      await contextB.close();
    }
  });

  it('6. the postmortem links an action item to the matrix proposal; closing is refused while it is open; done, then closed', async () => {
    const page = visited.filter((v) => v.page.context() === contextA).at(-1)!.page;
    await page.goto(`${baseUrl}/console/operations/incidents/${incidentId}`);
    await page.getByLabel('Root cause').fill('The partner’s consent service answered 503 to every call.');
    await page.getByLabel('How it was detected').fill('SLA monitor: errorRate above 0.2 over one minute.');
    await page.getByLabel('Compensation effectiveness').fill('Every failed export compensated; one waited for a second operator’s approval.');
    await page.getByLabel('Partner communication').fill('Northwind told through the escalation contact.');
    await page.getByLabel('Governance gaps').fill('The one-minute drill window should not stay in production.');
    const item = page.getByRole('group', { name: 'Action item 1' });
    await item.getByLabel('Title').fill('Restore the five-minute error-rate window');
    await item.getByLabel('Area').selectOption('monitoring');
    await item.getByLabel('Links to').selectOption('matrix-proposal');
    await item.getByLabel('Reference').fill(`${FLOW}/v${proposalVersion}`);
    await item.getByLabel('Status').selectOption('open');
    await Promise.all([page.waitForURL(/\?done=written#postmortem$/), page.getByRole('button', { name: 'Save the postmortem' }).click()]);
    expect(await page.getByRole('status').innerText()).toBe('Postmortem saved.');
    const items = await page.getByRole('region', { name: 'Action items' }).innerText();
    expect(items).toContain('Restore the five-minute error-rate window');
    expect(items).toContain(`matrix proposal ${FLOW}/v${proposalVersion}`);
    await expectClean(page);
    // The item's link opens the version it names (not whichever version is the latest when it is read).
    const link = page.getByRole('link', { name: `matrix proposal ${FLOW}/v${proposalVersion}` });
    expect(await link.getAttribute('href')).toBe(`/console/matrix/${FLOW}?version=${proposalVersion}`);
    await Promise.all([page.waitForURL(`${baseUrl}/console/matrix/${FLOW}?version=${proposalVersion}`), link.click()]);
    expect(await page.locator('main').innerText()).toContain(`${FLOW} version ${proposalVersion}`);
    await expectClean(page);
    await page.goto(`${baseUrl}/console/operations/incidents/${incidentId}`);

    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/close')), page.getByRole('button', { name: 'Close incident' }).click()]);
    expect(refused.status()).toBe(409);
    await page.waitForLoadState();
    expect(await page.getByRole('alert').innerText()).toContain('cannot be closed while 1 action item is open');
    expect(await s.deps.db.$sql.value('SELECT status FROM incidents WHERE id = ?', [incidentId])).toBe('open');
    await expectClean(page);

    await page.goto(`${baseUrl}/console/operations/incidents/${incidentId}`);
    await page.getByRole('group', { name: 'Action item 1' }).getByLabel('Status').selectOption('done');
    await Promise.all([page.waitForURL(/\?done=written#postmortem$/), page.getByRole('button', { name: 'Save the postmortem' }).click()]);
    await Promise.all([page.waitForURL(/\?done=closed$/), page.getByRole('button', { name: 'Close incident' }).click()]);
    expect(await page.getByRole('status').innerText()).toBe('Incident closed.');
    expect(await page.locator('dl.facts').first().innerText()).toMatch(/Status\s+closed/);
    expect(await page.getByRole('button', { name: 'Close incident' }).count()).toBe(0);
    await expectClean(page);

    await page.goto(`${baseUrl}/console/operations/incidents?status=closed`);
    expect(await page.getByRole('region', { name: 'Incidents' }).locator('tbody tr').first().innerText()).toContain(incidentRef);
    await expectClean(page);
    const closed = await (await s.call('GET', `/v1/incidents/${incidentId}`)).json();
    expect(closed).toMatchObject({ status: 'closed', closedBy: expect.stringMatching(/^operator/) });
    expect(closed.postmortem.actionItems).toEqual([expect.objectContaining({ status: 'done', link: { kind: 'matrix-proposal', ref: `${FLOW}/v${proposalVersion}` } })]);
    for (const v of visited) expect(v.problems).toEqual(noProblems);
    await contextA.close();
  });
});
