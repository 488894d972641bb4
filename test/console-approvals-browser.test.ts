import fs from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSeedDir, matchExample } from './approval-helpers.ts';
import { checkAccessibility, launchBrowser, signInAs, watchPage } from './browser.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * The console's compensations awaiting approval, in a real browser: an operator's compensate led
 * to a compensation that needs approval; that operator's approval is refused on the page, a second
 * operator approves it and the engine compensates; another is rejected with a reason.
 */
describe('console: compensations awaiting approval (Chromium)', () => {
  let browser: Browser;
  let s: TestService;
  let seedDir: string;
  let baseUrl: string;
  const tokens = {} as Record<'operatorA' | 'operatorB' | 'approver', string>;
  let n = 0;

  beforeAll(async () => {
    browser = await launchBrowser();
    seedDir = approvalSeedDir();
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001', ACCORD_SEED_DIR: seedDir } });
    baseUrl = await s.listen();
    tokens.operatorA = await s.token('operator');
    tokens.operatorB = await s.token('operator');
    tokens.approver = await s.token('approver');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
    if (seedDir) fs.rmSync(seedDir, { recursive: true, force: true });
  });

  const fault = async (body: object) => expect((await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', flow: 'payer-data-export', ...body }), type: 'application/json' })).status).toBe(201);
  const clearFaults = async () => {
    for (const f of (await (await s.call('GET', '/v1/faults')).json()).faults) await s.call('DELETE', `/v1/faults/${f.id}`);
  };
  const start = async () => {
    const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: matchExample() } }), type: 'application/json', headers: { 'Idempotency-Key': `console-approval-${++n}` } });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    await s.runtime.engine.idle();
    return id as string;
  };
  const state = async (id: string) => (await (await s.call('GET', `/v1/transactions/${id}`)).json()).state as string;
  const approvalStatus = async (id: string) => (await s.deps.db.$sql.value('SELECT status FROM compensation_approvals WHERE transaction_id = ? ORDER BY requested_at DESC LIMIT 1', [id])) as string;

  async function signedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAs(page, baseUrl, token);
    return { context, page };
  }

  it('lists what waits; self-approval is refused on the page, a second operator approves, another is rejected with a reason', async () => {
    // One the operator's own compensate led to (a compensation failed, the operator compensated again) …
    await fault({ step: 'acknowledge', kind: 'error-status', status: 500 });
    await fault({ step: 'cancelExport', kind: 'error-status', status: 502 });
    const byOperator = await start();
    await clearFaults();
    expect(await state(byOperator)).toBe('needs-attention');
    expect((await s.call('POST', `/v1/transactions/${byOperator}/compensate`, { token: tokens.operatorA })).status).toBe(202);
    await s.runtime.engine.idle();
    // … and one the engine led to.
    await fault({ step: 'acknowledge', kind: 'error-status', status: 500 });
    const byEngine = await start();
    await clearFaults();
    expect(await state(byEngine)).toBe('awaiting-approval');
    expect(await approvalStatus(byOperator)).toBe('awaiting');

    // A staff member without the operator role sees the list, without the buttons.
    const watcher = await signedIn(tokens.approver);
    await watcher.page.goto(`${baseUrl}/console/operations/compensations`);
    const watcherRows = watcher.page.locator('tbody tr');
    expect(await watcherRows.count()).toBe(2);
    expect(await watcher.page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);
    await watcher.context.close();

    const a = await signedIn(tokens.operatorA);
    const problems = await watchPage(a.page);
    const response = await a.page.goto(`${baseUrl}/console/operations/compensations`);
    expect(response?.status()).toBe(200);
    expect(await a.page.locator('h1').innerText()).toBe('Compensations awaiting approval');
    expect(await a.page.getByRole('navigation', { name: 'Operations sections' }).getByRole('link', { name: 'Compensations awaiting approval' }).getAttribute('aria-current')).toBe('page');
    const row = a.page.locator('tbody tr', { has: a.page.locator(`a[href="/console/operations/transactions/${byOperator}"]`) });
    expect(await row.innerText()).toContain('capture-consent');
    expect(await row.innerText()).toContain('operator');
    expect(await checkAccessibility(a.page)).toEqual([]);

    // Operator A's own compensate led to it: refused, with the reason on the page; nothing changes.
    const [refused] = await Promise.all([a.page.waitForResponse((r) => r.request().method() === 'POST'), row.getByRole('button', { name: /^Approve/ }).click()]);
    expect(refused.status()).toBe(403);
    expect(await a.page.getByRole('alert').innerText()).toContain('a different operator must approve it');
    expect(await approvalStatus(byOperator)).toBe('awaiting');
    expect(await state(byOperator)).toBe('needs-attention');
    expect(problems).toEqual({ cspViolations: [], scriptErrors: [], foreignRequests: [] });
    await a.context.close();

    // Operator B approves it: the engine compensates.
    const b = await signedIn(tokens.operatorB);
    await b.page.goto(`${baseUrl}/console/operations/compensations`);
    const rowB = b.page.locator('tbody tr', { has: b.page.locator(`a[href="/console/operations/transactions/${byOperator}"]`) });
    await Promise.all([b.page.waitForURL(`${baseUrl}/console/operations/compensations?done=approved`), rowB.getByRole('button', { name: /^Approve/ }).click()]);
    expect(await b.page.getByRole('status').innerText()).toContain('approved');
    await s.runtime.engine.idle();
    expect(await state(byOperator)).toBe('compensated');
    expect(await approvalStatus(byOperator)).toBe('approved');

    // The engine's one: rejected with a reason.
    const rowEngine = b.page.locator('tbody tr', { has: b.page.locator(`a[href="/console/operations/transactions/${byEngine}"]`) });
    await rowEngine.getByLabel('Reason to reject').fill('the member withdrew the request');
    await Promise.all([b.page.waitForURL(`${baseUrl}/console/operations/compensations?done=rejected`), rowEngine.getByRole('button', { name: /^Reject/ }).click()]);
    expect(await b.page.getByText('No compensation awaits approval.').count()).toBe(1);
    const rejected = await (await s.call('GET', `/v1/transactions/${byEngine}`)).json();
    expect(rejected.state).toBe('needs-attention');
    expect(rejected.failure).toMatchObject({ reason: 'the member withdrew the request' });
    // The console's writes are audited like the API's.
    const audit = (await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'console POST /console/operations/compensations/%'")) as string[];
    expect(audit.length).toBe(3);
    await b.context.close();
  });
});
