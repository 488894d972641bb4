import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summariseJunit } from '../src/evidence/evidence.ts';
import { evaluateGate, type GateFacts } from '../src/gate/evaluate.ts';
import { processSunsets } from '../src/notices/notices.ts';
import { backoffMs, dispatchDueDeliveries } from '../src/notices/webhooks.ts';
import { startTestService, type TestService } from './harness.ts';

const SHA = 'a'.repeat(64);
function facts(over: Partial<GateFacts> = {}): GateFacts {
  return {
    now: '2026-11-27T12:00:00.000Z',
    target: { partner: 'p', api: 'a', version: '2.0.0', environment: 'production', state: 'approved', sha256: SHA },
    change: { id: 'chg_1', createdBy: 'alice', createdByToken: 'tok_a', requiredApprovals: 2, requiredAcks: ['q'], requiredEvidence: ['contract-test'] },
    diff: { base: '1.0.0', hash: 'h1', summary: { breaking: 1, warning: 0, info: 0, total: 1, distinct: { breaking: 1, warning: 0, info: 0 } }, bump: 'major', changes: [{ rule: 'request-property-became-required', level: 'breaking', method: 'POST', path: '/x', operationId: 'opX', message: 'm' }] },
    reviews: [
      { reviewer: 'bob', reviewerToken: 'tok_b', decision: 'approve', diffHash: 'h1', comment: '' },
      { reviewer: 'carol', reviewerToken: 'tok_c', decision: 'approve', diffHash: 'h1', comment: '' },
    ],
    acks: [{ partner: 'q', diffHash: 'h1' }],
    evidence: [{ id: 'e1', kind: 'contract-test', result: 'pass', sha256: SHA, uri: 'u', producedAt: '2026-11-27T10:00:00.000Z', expiresAt: null }],
    flows: [{ flow: 'f', owner: { team: 't', contact: 't@x.example' }, steps: [{ id: 's', operationId: 'opX', timeout: 'PT1S', retry: { maxAttempts: 1, initial: 'PT1S', multiplier: 1, max: 'PT1S', jitter: 0 }, compensation: { strategy: 'none' } }], observability: { requiredFields: ['correlation-id'], metrics: ['m'] }, sla: { interventions: [] } as never, escalation: [], idempotency: { replayPolicy: 'return-original', dedupeWindow: 'P1D' } }],
    changedOperations: ['opX'],
    freezes: [],
    previousRelease: '1.0.0',
    ...over,
  };
}
const reason = (f: GateFacts, rule: string) => evaluateGate(f).reasons.find((r) => r.rule === rule);

describe('the release gate (pure)', () => {
  it('passes when every requirement is met, and gives the same answer for the same facts', () => {
    expect(evaluateGate(facts()).verdict).toBe('pass');
    expect(evaluateGate(facts())).toEqual(evaluateGate(structuredClone(facts())));
  });

  it.each([
    ['no change request', { change: null }, 'change-request', 'pending'],
    ['one approval short', { reviews: facts().reviews.slice(0, 1) }, 'approvals', 'pending'],
    ['approvals for another diff no longer count', { diff: { ...facts().diff, hash: 'h2' }, acks: [{ partner: 'q', diffHash: 'h2' }] }, 'approvals', 'pending'],
    ["the author's own approval does not count", { reviews: [facts().reviews[0]!, { reviewer: 'alice', reviewerToken: 'tok_x', decision: 'approve', diffHash: 'h1', comment: '' }] }, 'approvals', 'pending'],
    ['a rejection', { reviews: [...facts().reviews, { reviewer: 'dave', reviewerToken: 'tok_d', decision: 'reject', diffHash: 'h1', comment: 'no' }] }, 'approvals', 'failed'],
    ['a missing acknowledgement', { acks: [] }, 'acknowledgements', 'pending'],
    ['evidence only for other content', { evidence: [{ ...facts().evidence[0]!, sha256: 'b'.repeat(64) }] }, 'evidence:contract-test', 'pending'],
    ['failing evidence', { evidence: [{ ...facts().evidence[0]!, result: 'fail' }] }, 'evidence:contract-test', 'failed'],
    ['expired evidence', { evidence: [{ ...facts().evidence[0]!, expiresAt: '2026-11-27T11:00:00.000Z' }] }, 'evidence:contract-test', 'pending'],
    ['a changed operation without controls', { changedOperations: ['opX', 'opY'] }, 'control-matrix', 'failed'],
    ['an operation removed before its sunset', { diff: { ...facts().diff, changes: [{ rule: 'api-removed-before-sunset', level: 'breaking', method: 'GET', path: '/y', message: 'removed before its sunset' }] } }, 'sunset', 'failed'],
    ['a release freeze', { freezes: [{ id: 'frz', reason: 'SLA breach', source: 'sla' }] }, 'release-freeze', 'failed'],
    ['a retired version', { target: { ...facts().target, state: 'retired' } }, 'lifecycle', 'failed'],
  ] as const)('%s → %s %s', (_, over, rule, status) => {
    const f = facts(over as Partial<GateFacts>);
    expect(reason(f, rule)?.status).toBe(status);
    expect(evaluateGate(f).verdict).toBe(status === 'failed' ? 'fail' : 'pending');
    if (status !== 'failed') expect(reason(f, rule)?.howToFix).not.toBe('');
  });

  it('fail wins over pending', () => {
    expect(evaluateGate(facts({ acks: [], freezes: [{ id: 'f', reason: 'r', source: 'manual' }] })).verdict).toBe('fail');
  });
});

describe('JUnit evidence', () => {
  it('counts tests, failures, errors and skipped from testcases or suite attributes', () => {
    expect(summariseJunit('<testsuite tests="4"><testcase name="a"/><testcase name="b"><failure/></testcase><testcase name="c"><error/></testcase><testcase name="d"><skipped/></testcase></testsuite>')).toEqual({ tests: 4, failures: 1, errors: 1, skipped: 1 });
    expect(summariseJunit('<testsuites><testsuite tests="10" failures="2" errors="0" skipped="1"/><testsuite tests="5" failures="0" errors="1"/></testsuites>')).toEqual({ tests: 15, failures: 2, errors: 1, skipped: 1 });
    expect(() => summariseJunit('<html>')).toThrow();
    expect(() => summariseJunit('<report/>')).toThrow(/Not a JUnit report/);
  });
});

describe('evidence, webhooks and sunsets over HTTP', () => {
  let s: TestService;
  let now = new Date('2026-11-27T12:00:00Z');
  const clock = () => new Date(now);
  let receiver: http.Server;
  let url: string;
  const statuses: number[] = [];
  const hits: string[] = [];
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock });
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        hits.push(`${req.url} ${JSON.parse(body).type}`);
        res.writeHead(statuses.shift() ?? 204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    receiver.close();
    s.cleanup();
  });
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  it('refuses invalid evidence with locations and stores nothing', async () => {
    const res = await json('POST', '/v1/evidence', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', kind: 'vibes', result: 'maybe', sha256: 'xyz', uri: 'not a uri', environment: 'staging', commit: 'zz', producedAt: 'yesterday' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { location: string }) => e.location).sort()).toEqual(['/commit', '/kind', '/producedAt', '/result', '/sha256', '/uri']);
    expect(s.deps.db.$client.prepare('SELECT count(*) FROM evidence').pluck().get()).toBe(0);
    const junit = await s.call('POST', '/v1/evidence/junit?partner=northwind-health', { body: '<not-xml', type: 'application/xml' });
    expect(junit.status).toBe(422);
    expect((await s.call('POST', '/v1/evidence', { body: '{}', type: 'application/json', token: s.token('partner', 'northwind-health') })).status).toBe(403);
  });

  it('retries a failing webhook delivery with backoff until it succeeds, and logs every attempt', async () => {
    const hook = await (await json('POST', '/v1/webhooks', { url: `${url}/admin`, secret: 'admin-secret-0123456789', events: ['notice.deprecation'] })).json();
    const partnerToken = s.token('partner', 'acme-payer');
    const partnerHook = await json('POST', '/v1/webhooks', { url: `${url}/acme`, secret: 'acme-secret-0123456789', events: ['notice.deprecation'] }, partnerToken);
    expect(partnerHook.status).toBe(201);
    expect((await json('POST', '/v1/webhooks', { url: `${url}/acme`, secret: 'acme-secret-0123456789', events: ['release.recorded'] }, partnerToken)).status).toBe(422);
    statuses.push(500, 503);
    const dep = await json('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.0.0/deprecation', { sunset: '2027-03-31', reason: 'Use 1.1.0', successor: '1.1.0' });
    expect(dep.status).toBe(201);
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    // not due again until the backoff has passed
    expect(await dispatchDueDeliveries(s.deps)).toBe(0);
    now = new Date(now.getTime() + backoffMs(1));
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    now = new Date(now.getTime() + backoffMs(2));
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    const log = await (await s.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).json();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 204, eventType: 'notice.deprecation' });
    // the partner's webhook gets nothing: the notice does not concern acme-payer
    expect(hits.filter((h) => h.startsWith('/acme'))).toEqual([]);
    expect(await (await s.call('GET', '/v1/webhooks', { token: partnerToken })).json()).toHaveLength(1);
  });

  it('refuses a sunset sooner than the policy notice, and a deprecation of a non-released version', async () => {
    expect((await json('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.0.0/deprecation', { sunset: '2027-01-01', reason: 'too soon' })).status).toBe(422);
    expect((await s.call('POST', '/v1/contracts/acme/x/versions?version=1.0.0', { body: 'openapi: 3.1.0\ninfo: {title: t, version: 1.0.0}\npaths: {}\n', type: 'application/yaml' })).status).toBe(201);
    expect((await json('POST', '/v1/contracts/acme/x/versions/1.0.0/deprecation', { sunset: '2028-01-01', reason: 'draft' })).status).toBe(409);
  });

  it('retires a version when its sunset passes and tells its partners', async () => {
    expect(processSunsets(s.deps)).toBe(0);
    now = new Date('2027-04-01T00:00:00Z');
    expect(processSunsets(s.deps)).toBe(1);
    expect(processSunsets(s.deps)).toBe(0);
    const version = await (await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.0.0')).json();
    expect(version.state).toBe('retired');
    const notices = await (await s.call('GET', '/v1/notices', { token: s.token('partner', 'northwind-health') })).json();
    expect(notices[0]).toMatchObject({ kind: 'sunset-reached', version: '1.0.0', title: expect.stringContaining('reached its sunset') });
    const notes = await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.1.0/release-notes');
    expect(notes.headers.get('content-type')).toContain('text/markdown');
    expect(await notes.text()).toContain('POST /exchanges/{exchangeId}/$finalize added');
  });
});
