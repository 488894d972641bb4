import { randomBytes } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPartner, type TestPartner } from './partner/start.ts';
import { certify, type Run } from './certification-helpers.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * Partner certification (issue 20) against real servers: Accord's own reference partner through
 * its exchange, and a separate test partner process — correct, and with deliberate faults that
 * the suite must catch.
 */

const CONTRACT = 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml';
const BEARER = 'partner-sandbox-token-0123456789';

const failedIds = (run: Run) => run.cases.filter((c) => c.verdict !== 'pass').map((c) => c.id);
const findingsOf = (run: Run, id: string) => run.cases.find((c) => c.id === id)?.findings.join(' | ') ?? '';

describe('certifying Accord’s own reference partner', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date() });
  });
  afterAll(async () => await s.cleanup());

  it('runs every category of the suite through the exchange and passes, records Accord-produced evidence bound to the content, and revokes its token', async () => {
    const run = await certify(s, { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', target: 'reference' });
    expect(failedIds(run), JSON.stringify(run.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings]), null, 1)).toEqual([]);
    expect(run).toMatchObject({ status: 'passed', target: 'reference', environment: 'sandbox' });
    expect(run.progress.done).toBe(run.progress.total);
    expect(new Set(run.cases.map((c) => c.category))).toEqual(new Set(['contract', 'idempotency', 'duplicate-handling', 'failure', 'trace']));
    for (const id of ['contract/memberMatch/example', 'contract/memberMatch/invalid-1', 'idempotency/memberMatch/replay', 'idempotency/memberMatch/other-payload', 'idempotency/captureConsent/concurrent', 'duplicate-handling/finalisation/finalizeExchange', 'failure/consent-capture/capture-consent/compensation', 'failure/payer-data-export/request-export/compensation', 'trace/memberMatch']) {
      expect(run.cases.map((c) => c.id)).toContain(id);
    }
    expect(run.evidence.map((e) => e.kind).sort()).toEqual(['contract-test', 'duplicate-handling-test', 'failure-injection', 'replay-test', 'trace-completeness']);
    const evidence = (await (await s.call('GET', '/v1/evidence?partner=northwind-health&api=p2p-exchange&version=2.1.0')).json()) as Array<{ kind: string; producedBy: string; boundToContent: boolean; result: string; uri: string }>;
    expect(evidence).toHaveLength(5);
    for (const e of evidence) expect(e).toMatchObject({ producedBy: 'accord', boundToContent: true, result: 'pass', uri: expect.stringContaining(`/v1/certifications/${run.id}`) });
    const tokens = (await (await s.call('GET', '/v1/tokens')).json()) as Array<{ name: string; revokedAt: string | null }>;
    expect(tokens.find((t) => t.name === `certification ${run.id}`)?.revokedAt).not.toBeNull();

    const junit = await s.call('GET', `/v1/certifications/${run.id}/junit`);
    expect(junit.headers.get('content-type')).toMatch(/^application\/xml/);
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(await junit.text()) as { testsuites: { tests: string; failures: string } };
    expect(Number(xml.testsuites.tests)).toBe(run.cases.length);
    expect(xml.testsuites.failures).toBe('0');
  });

  it('passes again on a second run: a new caller, whose $finalize of the example exchange the first run’s caller owns, gets the documented 409 (problem+json)', async () => {
    const run = await certify(s, { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', target: 'reference' });
    expect(failedIds(run)).toEqual([]);
    const example = run.cases.find((c) => c.id === 'contract/finalizeExchange/example')!.exchanges[0] as unknown as { response: { status: number; headers: Record<string, string> } };
    expect(example.response.status).toBe(409);
    expect(example.response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses what it cannot run: a version the exchange does not serve (409), an unknown version (404), an endpoint target without environment (422), another partner’s certification (403)', async () => {
    const post = async (body: unknown, token?: string) => await s.call('POST', '/v1/certifications', { body: JSON.stringify(body), type: 'application/json', token });
    const older = await post({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', target: 'reference' });
    expect(older.status).toBe(409);
    expect((await older.json()).detail).toContain('serves 2.1.0');
    expect((await post({ partner: 'northwind-health', api: 'p2p-exchange', version: '9.9.9', target: 'reference' })).status).toBe(404);
    const noEnv = await post({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0' });
    expect(noEnv.status).toBe(422);
    expect((await noEnv.json()).errors).toEqual([{ location: '/environment', message: expect.stringContaining('required for target endpoint') }]);
    const noEndpoint = await post({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'staging' });
    expect(noEndpoint.status).toBe(404);
    expect((await noEndpoint.json()).detail).toContain('PUT /v1/partners/northwind-health/endpoints');
    const bluestem = await s.token('partner', 'bluestem-mutual');
    expect((await post({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', target: 'reference' }, bluestem)).status).toBe(403);
    const runs = (await (await s.call('GET', '/v1/certifications')).json()) as Run[];
    expect(runs.length).toBeGreaterThan(0);
    expect((await s.call('GET', `/v1/certifications/${runs[0]!.id}`, { token: bluestem })).status).toBe(404);
    expect(await (await s.call('GET', '/v1/certifications', { token: bluestem })).json()).toEqual([]);
  });
});

describe('certifying a partner’s own endpoint (a separate test partner process)', () => {
  let s: TestService;
  const partners: TestPartner[] = [];
  const start = async (variant: Parameters<typeof startTestPartner>[0]['variant']) => {
    const p = await startTestPartner({ contract: CONTRACT, variant, bearer: BEARER });
    partners.push(p);
    return p;
  };
  const register = async (environment: string, url: string) => {
    const res = await s.call('PUT', '/v1/partners/northwind-health/endpoints', { body: JSON.stringify({ environments: { [environment]: { baseUrl: url, auth: { type: 'bearer', token: BEARER } } } }), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SECRETS_KEY: randomBytes(32).toString('hex'), ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await Promise.all(partners.map((p) => p.stop()));
    await s.cleanup();
  });

  it('passes the correct partner, with its credential sent and redacted from the report', async () => {
    await register('sandbox', (await start('correct')).url);
    const run = await certify(s, { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'sandbox' });
    expect(failedIds(run), JSON.stringify(run.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings]), null, 1)).toEqual([]);
    expect(run.status).toBe('passed');
    const report = JSON.stringify(run);
    expect(report).not.toContain(BEARER);
    expect(run.cases[0]!.exchanges[0]!.request.headers.Authorization).toBe('[redacted]');
  });

  it.each([
    ['ignores-idempotency-key', 'idempotency/memberMatch/other-payload', 'expected 422'],
    ['undocumented-status', 'contract/memberMatch/example', '203 is not a documented response of memberMatch'],
    ['drops-traceparent', 'trace/memberMatch', 'no traceparent'],
    ['violates-response-schema', 'contract/memberMatch/example', 'body/parameter'],
  ] as const)('catches a partner that %s (%s)', async (variant, caseId, finding) => {
    const environment = `fault-${variant}`.slice(0, 40);
    await register(environment, (await start(variant)).url);
    const run = await certify(s, { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment });
    expect(run.status).toBe('failed');
    expect(failedIds(run)).toContain(caseId);
    expect(findingsOf(run, caseId)).toContain(finding);
    // The evidence of the failing kind is recorded as failing.
    const kind = caseId.startsWith('trace') ? 'trace-completeness' : caseId.startsWith('idempotency') ? 'replay-test' : 'contract-test';
    expect(run.evidence.find((e) => e.kind === kind)?.result).toBe('fail');
  });
});

describe('a run cut short', () => {
  let s: TestService;
  let slow: TestPartner;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SECRETS_KEY: randomBytes(32).toString('hex'), ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    slow = await startTestPartner({ contract: CONTRACT, bearer: BEARER, latencyMs: 150 });
  });
  afterAll(async () => {
    await slow.stop();
    await s.cleanup();
  });

  it('refuses a second run while one is running (409), and ends in error when the server stops during it: the cases not run say so, and it records no evidence (it proves nothing about the partner)', async () => {
    expect((await s.call('PUT', '/v1/partners/northwind-health/endpoints', { body: JSON.stringify({ environments: { sandbox: { baseUrl: slow.url, auth: { type: 'bearer', token: BEARER } } } }), type: 'application/json' })).status).toBe(200);
    const res = await s.call('POST', '/v1/certifications', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'sandbox' }), type: 'application/json' });
    expect(res.status).toBe(202);
    const location = new URL(res.headers.get('location')!).pathname;
    const read = async () => (await (await s.call('GET', location)).json()) as Run & { error: string | null };
    while ((await read()).progress.done === 0) await new Promise((r) => setTimeout(r, 50));
    // One run at a time per partner, API and environment.
    const second = await s.call('POST', '/v1/certifications', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', environment: 'sandbox' }), type: 'application/json' });
    expect(second.status).toBe(409);
    expect((await second.json()).detail).toContain(`GET ${location}`);
    await s.runtime.certifier.stop();
    const run = await read();
    expect(run.status).toBe('error');
    expect(run.error).toContain('the server stopped during the run');
    expect(run.evidence).toEqual([]);
    expect(run.cases.some((c) => c.verdict === 'error' && c.findings[0] === 'not run: the server stopped during the run')).toBe(true);
    expect(await (await s.call('GET', '/v1/evidence?partner=northwind-health&api=p2p-exchange&version=2.1.0')).json()).toEqual([]);
  });

  it('reads as abandoned (error) once the replica running it has not written for five minutes', async () => {
    const stale = new Date(Date.now() - 6 * 60_000).toISOString();
    await s.deps.db.$sql.run("INSERT INTO certification_runs (id, partner, api, version, environment, target, content_sha256, seed, status, total, done, failures, report, error, trigger, created_at, created_by, heartbeat_at, finished_at) VALUES ('crt_00000000deadbeef', 'northwind-health', 'p2p-exchange', '2.1.0', 'sandbox', 'endpoint', 'x', 1, 'running', 10, 3, 0, ?, NULL, 'request', ?, 'test', ?, NULL)", [JSON.stringify({ cases: [], evidence: [], notes: [] }), stale, stale]);
    const run = (await (await s.call('GET', '/v1/certifications/crt_00000000deadbeef')).json()) as { status: string; error: string };
    expect(run.status).toBe('error');
    expect(run.error).toMatch(/^abandoned: the replica running it stopped writing at /);
  });
});
