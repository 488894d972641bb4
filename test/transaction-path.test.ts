import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { checkAccessibility, launchBrowser, signInAs } from './browser.ts';
import { signIn } from './console-helpers.ts';
import { ADMIN_TOKEN, REPO_ROOT, startTestService, type TestService } from './harness.ts';

const doc = (version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', 'northwind-health', 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const matchExample = () => structuredClone(doc('2.0.0').paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';

/**
 * A clock the test moves: it starts in September 2026 and advances 1 ms per reading (so the
 * saga's scaled-down waits fall due), and `jump` moves it to another moment (another month).
 */
function movableClock(start: string) {
  let base = Date.parse(start);
  let ticks = 0;
  return {
    clock: () => new Date(base + ++ticks),
    jump: (to: string) => {
      base = Date.parse(to);
      ticks = 0;
    },
  };
}

describe('one transaction’s whole path: recorded governance, search, timeline, failure clusters, partner costs', () => {
  let s: TestService;
  const time = movableClock('2026-09-15T10:00:00.000Z');
  let n = 0;
  let operator: string;

  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: time.clock, env: { ACCORD_SAGA_TIME_SCALE: '0.0001' } });
    operator = await s.token('operator');
  });
  afterAll(async () => await s.cleanup());

  const get = async (ref: string, token?: string) => s.call('GET', `/v1/transactions/${encodeURIComponent(ref)}`, token ? { token } : {});
  const search = async (query: string, token?: string) => {
    const res = await s.call('GET', `/v1/transactions?${query}`, token ? { token } : {});
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()).transactions as Array<{ id: string; businessKey: string | null; createdAt: string }>).map((t) => t.id);
  };
  const inject = async (fault: object) => {
    const res = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', flow: 'payer-data-export', ...fault }), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const clearFaults = async () => {
    for (const f of (await (await s.call('GET', '/v1/faults')).json()).faults) await s.call('DELETE', `/v1/faults/${f.id}`);
  };
  /** Runs a payer-data-export to its end (or its stop) and returns its view. */
  const run = async (memberMatch: object = matchExample(), headers: Record<string, string> = {}) => {
    const res = await s.call('POST', '/v1/transactions', {
      body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch } }),
      type: 'application/json',
      headers: { 'Idempotency-Key': `path-key-${++n}`, ...headers },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = await res.json();
    await s.runtime.engine.idle();
    return (await get(id)).json();
  };
  const approved = async (flow: string) => (await s.deps.db.$sql.get("SELECT version, sha256 FROM matrix_versions WHERE name = ? AND status = 'approved' ORDER BY version DESC LIMIT 1", [flow])) as { version: number; sha256: string };
  const mismatch = () => {
    const nobody = matchExample();
    nobody.parameter[0].resource.name[0].family = 'Nobody';
    return nobody;
  };

  let september: any;
  let october: any;

  it('a saga records its business key (the matrix’s businessKeys, normalised) and the approved matrix version that governed it', async () => {
    const example = matchExample();
    const expectedKey = `${example.parameter[0].resource.birthDate}|${example.parameter[1].resource.subscriberId}`.toLowerCase();
    september = await run(example, { 'X-Correlation-Id': 'corr-path-sept', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(september.state).toBe('completed');
    const governing = await approved('payer-data-export');
    expect(september).toMatchObject({ businessKey: expectedKey, matrixVersion: governing.version, matrixSha256: governing.sha256, traceId: '4bf92f3577b34da6a3ce929d0e0e4736', version: expect.any(String) });
    expect(september.businessKey).not.toBe('|');
  });

  it('a direct request records them too', async () => {
    const res = await s.call('POST', MATCH, { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'path-direct-0001' } });
    expect(res.status).toBe(200);
    const view = await (await get('path-direct-0001')).json();
    const governing = await approved('member-match');
    expect(view).toMatchObject({ mode: 'sync', flow: 'member-match', businessKey: september.businessKey, matrixVersion: governing.version, matrixSha256: governing.sha256 });
    const html = await (await (await signIn(s, ADMIN_TOKEN)).get(`/console/operations/transactions/${view.id}`)).text();
    expect(html).toContain('step match-member attempt 1 (memberMatch)');
    expect(html).toContain(`member-match v${governing.version}`);
    expect(html).toContain('direct request');
  });

  it('finds a transaction by each of the four keys, in the list (q) and as {ref}', async () => {
    time.jump('2026-10-10T09:00:00.000Z');
    october = await run(matchExample(), { 'X-Correlation-Id': 'corr-path-oct' });
    for (const [key, ref] of [
      ['id', october.id],
      ['correlation id', 'corr-path-oct'],
      ['idempotency key', october.idempotencyKey],
    ] as const) {
      expect(await search(`q=${encodeURIComponent(ref)}`), key).toEqual([october.id]);
      expect((await (await get(ref)).json()).id, key).toBe(october.id);
    }
    // The business key is shared by every transaction of this member (saga and direct): all of them, newest first.
    const byKey = await search(`q=${encodeURIComponent(september.businessKey)}`);
    expect(byKey[0]).toBe(october.id);
    expect(byKey).toContain(september.id);
    expect(byKey.length).toBe(3);
    // Typed in another case, with spaces around the bar.
    expect(await search(`q=${encodeURIComponent(september.businessKey.toUpperCase().replace('|', ' | '))}`)).toEqual(byKey);
    // As {ref}: ambiguous, the newest.
    expect((await (await get(september.businessKey)).json()).id).toBe(october.id);
    expect((await get('no-such-key-anywhere')).status).toBe(404);
    // Searching looks at finished transactions; the default list does not.
    expect(await search('')).not.toContain(october.id);
  });

  it('from/to select by creation time; a bad timestamp is a 400', async () => {
    const inOctober = await search('from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z');
    expect(inOctober).toContain(october.id);
    expect(inOctober).not.toContain(september.id);
    const inSeptember = await search('from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z&flow=payer-data-export');
    expect(inSeptember).toEqual([september.id]);
    const bad = await s.call('GET', '/v1/transactions?from=yesterday');
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors).toEqual([expect.objectContaining({ location: expect.stringContaining('from') })]);
  });

  it('a partner finds only its own transactions, by any key', async () => {
    const bluestem = await s.token('partner', 'bluestem-mutual');
    const northwind = await s.token('partner', 'northwind-health');
    expect(await search(`q=${encodeURIComponent(september.businessKey)}`, bluestem)).toEqual([]);
    expect((await get(september.businessKey, bluestem)).status).toBe(404);
    expect((await get('corr-path-oct', bluestem)).status).toBe(404);
    expect(await search(`q=${encodeURIComponent(september.businessKey)}`, northwind)).toHaveLength(3);
    const page = await (await signIn(s, bluestem)).get(`/console/operations/transactions?q=${encodeURIComponent(september.businessKey)}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('No matching transactions');
    expect(html).not.toContain(september.id);
  });

  let failedA: any;
  let failedB: any;
  let stuck: any;

  it('the timeline shows every attempt with the partner’s answer, retries, compensations, state changes and operator actions', async () => {
    time.jump('2026-11-05T08:00:00.000Z');
    await inject({ step: 'capture-consent', kind: 'error-status', status: 503 });
    failedA = await run();
    failedB = await run();
    await clearFaults();
    expect(failedA.state).toBe('compensated');
    stuck = await run(mismatch());
    expect(stuck.state).toBe('needs-attention');

    const admin = await signIn(s, ADMIN_TOKEN);
    const page = await admin.get(`/console/operations/transactions/${failedA.id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    // Three attempts of capture-consent answered 503 and two retries were scheduled between them.
    expect(html.match(/step capture-consent attempt \d/g)).toHaveLength(failedA.steps[1].attempts);
    expect(failedA.steps[1].attempts).toBeGreaterThanOrEqual(2);
    expect(html).toContain('503 ');
    expect(html).toContain('retry of capture-consent scheduled');
    expect(html).toContain('step match-member attempt 1 (memberMatch)');
    expect(html).toMatch(/compensation (succeeded|skipped) \(match-member\)|data-kind="compensation"/);
    expect(html).toContain('in-progress → compensating');
    expect(html).toContain('compensating → compensated');
    // The trace id, the contract version (a link) and the governing matrix version.
    expect(html).toContain(failedA.traceId);
    expect(html).toContain(`href="/console/contracts/northwind-health/p2p-exchange/versions/${failedA.version}"`);
    expect(html).toContain(`payer-data-export v${failedA.matrixVersion}`);
    expect(html).toContain(`/console/operations/clusters?partner=northwind-health&amp;flow=payer-data-export&amp;step=capture-consent&amp;failureMode=partner-timeout&amp;statusClass=5xx`);

    // An operator compensates the stuck one from the console (CSRF form); the action is on its timeline.
    const ops = await signIn(s, operator);
    const before = await (await ops.get(`/console/operations/transactions/${stuck.id}`)).text();
    expect(before).toContain(`action="/console/operations/transactions/${stuck.id}/compensate"`);
    expect((await ops.post(`/console/operations/transactions/${stuck.id}/compensate`, { _csrf: null })).status).toBe(403);
    const done = await ops.post(`/console/operations/transactions/${stuck.id}/compensate`);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`/console/operations/transactions/${stuck.id}?done=compensate`);
    await s.runtime.engine.idle();
    const after = await (await ops.get(`/console/operations/transactions/${stuck.id}`)).text();
    expect(after).toContain('operator compensate by');
    expect(after).not.toContain(`/console/operations/transactions/${stuck.id}/compensate"`);
    // Again: finished, 409 on the page.
    expect((await ops.post(`/console/operations/transactions/${stuck.id}/compensate`)).status).toBe(409);
    // An author sees no operator forms and may not post them.
    const author = await signIn(s, await s.token('author'));
    const seen = await (await author.get(`/console/operations/transactions/${failedB.id}`)).text();
    expect(seen).not.toContain('/retry"');
    expect((await author.post(`/console/operations/transactions/${failedB.id}/retry`)).status).toBe(403);
  });

  it('failure clusters group by partner, step and error taxonomy (staff only), and list one cluster’s transactions', async () => {
    const res = await s.call('GET', '/v1/operator/failure-clusters?partner=northwind-health&window=P30D', { token: operator });
    expect(res.status).toBe(200);
    const { clusters } = await res.json();
    const timeout = clusters.find((k: any) => k.step === 'capture-consent');
    expect(timeout).toMatchObject({ partner: 'northwind-health', flow: 'payer-data-export', failureMode: 'partner-timeout', statusClass: '5xx', count: 2, states: { compensated: 2 } });
    expect(timeout.sampleTransactionIds.sort()).toEqual([failedA.id, failedB.id].sort());
    expect(timeout.firstSeen <= timeout.lastSeen).toBe(true);
    expect(timeout.link).toContain('/v1/operator/failure-clusters?');
    const mismatched = clusters.find((k: any) => k.failureMode === 'member-mismatch');
    expect(mismatched).toMatchObject({ step: 'match-member', statusClass: '4xx', count: 1, sampleTransactionIds: [stuck.id] });
    expect(clusters[0].count).toBeGreaterThanOrEqual(clusters.at(-1).count);
    // Filters: another partner has none; one step narrows to its cluster.
    expect((await (await s.call('GET', '/v1/operator/failure-clusters?partner=bluestem-mutual', { token: operator })).json()).clusters).toEqual([]);
    const one = (await (await s.call('GET', '/v1/operator/failure-clusters?step=capture-consent', { token: operator })).json()).clusters;
    expect(one.map((k: any) => [k.step, k.count])).toEqual([['capture-consent', 2]]);
    expect((await s.call('GET', '/v1/operator/failure-clusters?window=soon', { token: operator })).status).toBe(400);
    expect((await s.call('GET', '/v1/operator/failure-clusters', { token: await s.token('partner', 'northwind-health') })).status).toBe(403);

    const page = await (await signIn(s, operator)).get('/console/operations/clusters?partner=northwind-health&step=capture-consent&failureMode=partner-timeout&window=P30D');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`/console/operations/transactions/${failedA.id}`);
    expect(html).toContain(`/console/operations/transactions/${failedB.id}`);
    expect(html).not.toContain(`/console/operations/transactions/${stuck.id}"`);
    const partnerPage = await (await signIn(s, await s.token('partner', 'northwind-health'))).get('/console/operations/clusters');
    expect(partnerPage.status).toBe(403);
  });

  it('the scorecard’s cost view: compensations, manual interventions and duplicates per month, priced by the policy’s costs', async () => {
    // A duplicate delivery in November.
    const body = JSON.stringify(matchExample());
    for (let i = 0; i < 2; i++) expect((await s.call('POST', MATCH, { body, type: 'application/fhir+json', headers: { 'Idempotency-Key': 'path-dup-0001' } })).status).toBe(200);
    const policy = `${fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/policy.yaml'), 'utf8')}costs: {currency: EUR, manualIntervention: 200, compensation: 25, duplicate: 2}\n`;
    const put = await s.call('PUT', '/v1/policy', { body: policy, type: 'application/yaml' });
    expect(put.status, await put.clone().text()).toBe(201);
    const invalid = await s.call('PUT', '/v1/policy', { body: policy.replace('duplicate: 2', 'duplicate: -1'), type: 'application/yaml' });
    expect(invalid.status).toBeGreaterThanOrEqual(400);

    const res = await s.call('GET', '/v1/scorecards/northwind-health?months=3');
    expect(res.status, await res.clone().text()).toBe(200);
    const { costs } = await res.json();
    expect(costs.map((m: any) => m.month)).toEqual(['2026-09', '2026-10', '2026-11']);
    expect(costs[0]).toEqual({ month: '2026-09', compensations: 0, manualInterventions: 0, duplicates: 0, cost: 0, currency: 'EUR' });
    const november = costs[2];
    // Two compensated by the engine, one by an operator (one manual intervention); one duplicate.
    expect(november).toMatchObject({ compensations: 3, manualInterventions: 1, duplicates: 1, currency: 'EUR' });
    expect(november.cost).toBe(3 * 25 + 1 * 200 + 1 * 2);
    expect((await s.call('GET', '/v1/scorecards/northwind-health?months=25')).status).toBe(400);

    const page = await (await signIn(s, await s.token('partner', 'northwind-health'))).get('/console/operations/partners/northwind-health');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('2026-11');
    expect(html).toContain('€277.00');
    // A partner's tab bar offers what it may open: not the staff's clusters, approvals and incidents (403 for it).
    const tabs = html.slice(html.indexOf('aria-label="Operations sections"'), html.indexOf('</nav>', html.indexOf('aria-label="Operations sections"')));
    expect(tabs).toContain('>Overview<');
    expect(tabs).toContain('>Transactions<');
    expect(tabs).not.toContain('Failure clusters');
    expect(tabs).not.toContain('Compensations awaiting approval');
    expect(tabs).not.toContain('>Incidents<');
    expect((await (await signIn(s, await s.token('partner', 'bluestem-mutual'))).get('/console/operations/partners/northwind-health')).status).toBe(404);
  });

  describe('in a real browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => await browser?.close());

    it('search → a transaction’s page → its failure cluster → back to another transaction of it', async () => {
      const baseUrl = await s.listen();
      const page = await (await browser.newContext()).newPage();
      await signInAs(page, baseUrl, operator);
      await page.goto(`${baseUrl}/console/operations/transactions`);
      await page.getByLabel('Transaction id, correlation id, idempotency key or business key').fill(failedA.correlationId);
      await Promise.all([page.waitForURL(`${baseUrl}/console/operations/transactions/${failedA.id}`), page.getByRole('button', { name: 'Search' }).click()]);
      expect(await page.locator('h1').innerText()).toContain(failedA.id);
      expect(await page.getByRole('region', { name: 'Timeline' }).innerText()).toContain('capture-consent');
      expect(await checkAccessibility(page)).toEqual([]);
      await page.getByRole('link', { name: 'Other transactions of northwind-health failing the same way' }).click();
      await page.waitForURL(/\/console\/operations\/clusters\?/);
      expect(await checkAccessibility(page)).toEqual([]);
      await page.getByRole('link', { name: failedB.id }).click();
      await page.waitForURL(`${baseUrl}/console/operations/transactions/${failedB.id}`);
      expect(await page.locator('h1').innerText()).toContain(failedB.id);
      await page.getByRole('link', { name: 'Failure clusters' }).click();
      await page.waitForURL(`${baseUrl}/console/operations/clusters`);
      expect(await page.getByRole('region', { name: 'Failure clusters' }).innerText()).toContain('partner-timeout');
      expect(await checkAccessibility(page)).toEqual([]);
      await page.close();
    });
  });
});
