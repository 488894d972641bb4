import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summariseJunit } from '../src/evidence/evidence.ts';
import { evaluateGate, type GateFacts } from '../src/gate/evaluate.ts';
import { processSunsets } from '../src/notices/notices.ts';
import { dispatchDueDeliveries } from '../src/notices/webhook-dispatcher.ts';
import { backoffMs } from '../src/notices/webhooks.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const SHA = 'a'.repeat(64);
function facts(over: Partial<GateFacts> = {}): GateFacts {
  return {
    now: '2026-11-27T12:00:00.000Z',
    target: { partner: 'p', api: 'a', version: '2.0.0', environment: 'production', state: 'approved', sha256: SHA },
    change: { id: 'chg_1', diffHash: 'h1', createdBy: 'alice', createdByToken: 'tok_a', requiredApprovals: 2, requiredAcks: ['q'], requiredEvidence: ['contract-test'] },
    diff: { base: '1.0.0', hash: 'h1', summary: { breaking: 1, warning: 0, info: 0, total: 1, distinct: { breaking: 1, warning: 0, info: 0 } }, bump: 'major', changes: [{ rule: 'request-property-became-required', level: 'breaking', method: 'POST', path: '/x', operationId: 'opX', message: 'm' }] },
    reviews: [
      { reviewer: 'bob', reviewerToken: 'tok_b', decision: 'approve', diffHash: 'h1', comment: '' },
      { reviewer: 'carol', reviewerToken: 'tok_c', decision: 'approve', diffHash: 'h1', comment: '' },
    ],
    acks: [{ partner: 'q', diffHash: 'h1' }],
    evidence: [{ id: 'e1', kind: 'contract-test', result: 'pass', sha256: SHA, uri: 'u', producedAt: '2026-11-27T10:00:00.000Z', expiresAt: null, createdAt: '2026-11-27T10:01:00.000Z' }],
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
    ['a change request whose diff went stale', { diff: { ...facts().diff, hash: 'h2' } }, 'change-request', 'pending'],
    ['reviews for another diff do not count', { reviews: facts().reviews.map((r) => ({ ...r, diffHash: 'h0' })) }, 'approvals', 'pending'],
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
    // The webhook receivers listen on 127.0.0.1: private targets need the operator's opt-in.
    s = await startTestService({ seed: true, clock, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
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
  afterAll(async () => {
    receiver.close();
    await s.cleanup();
  });
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  it('refuses invalid evidence with locations and stores nothing', async () => {
    const res = await json('POST', '/v1/evidence', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', kind: 'vibes', result: 'maybe', sha256: 'xyz', uri: 'not a uri', environment: 'staging', commit: 'zz', producedAt: 'yesterday' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { location: string }) => e.location).sort()).toEqual(['/commit', '/kind', '/producedAt', '/result', '/sha256', '/uri']);
    expect((await s.deps.db.$sql.value('SELECT count(*) FROM evidence'))).toBe(0);
    const junit = await s.call('POST', '/v1/evidence/junit?partner=northwind-health', { body: '<not-xml', type: 'application/xml' });
    expect(junit.status).toBe(422);
    expect((await s.call('POST', '/v1/evidence', { body: '{}', type: 'application/json', token: await s.token('partner', 'northwind-health') })).status).toBe(403);
  });

  it('retries a failing webhook delivery with backoff until it succeeds, and logs every attempt', async () => {
    const hook = await (await json('POST', '/v1/webhooks', { url: `${url}/admin`, secret: 'admin-secret-0123456789', events: ['notice.deprecation'] })).json();
    const partnerToken = await s.token('partner', 'acme-payer');
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
    expect((await s.call('POST', '/v1/contracts/acme/x/versions?version=1.0.0', { body: 'openapi: 3.1.0\ninfo: {title: t, version: 1.0.0}\npaths: {}\nsecurity: [{bearerAuth: []}]\ncomponents: {securitySchemes: {bearerAuth: {type: http, scheme: bearer}}}\n', type: 'application/yaml' })).status).toBe(201);
    expect((await json('POST', '/v1/contracts/acme/x/versions/1.0.0/deprecation', { sunset: '2028-01-01', reason: 'draft' })).status).toBe(409);
  });

  it('retires a version when its sunset passes and tells its partners', async () => {
    expect(await processSunsets(s.deps)).toBe(0);
    now = new Date('2027-04-01T00:00:00Z');
    expect(await processSunsets(s.deps)).toBe(1);
    expect(await processSunsets(s.deps)).toBe(0);
    const version = await (await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.0.0')).json();
    expect(version.state).toBe('retired');
    const notices = await (await s.call('GET', '/v1/notices', { token: await s.token('partner', 'northwind-health') })).json();
    expect(notices[0]).toMatchObject({ kind: 'sunset-reached', version: '1.0.0', title: expect.stringContaining('reached its sunset') });
    const notes = await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.1.0/release-notes');
    expect(notes.headers.get('content-type')).toContain('text/markdown');
    expect(await notes.text()).toContain('POST /exchanges/{exchangeId}/$finalize added');
  });
});

describe('change control holds up against stale facts and misuse', () => {
  let s: TestService;
  beforeAll(async () => {
    // One test subscribes a webhook on 127.0.0.1: private targets need the operator's opt-in.
    s = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => await s.cleanup());
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const gate = async (version: string, extra: Record<string, unknown> = {}) => (await json('POST', '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version, environment: 'production', ...extra })).json();

  it('a change request goes stale when the diff a release would ship changes, and approvals stop counting', async () => {
    const change = await (await json('POST', '/v1/changes', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', summary: 'exchangeId required' })).json();
    expect(change.baseVersion).toBe('1.1.0');
    // production moves to 1.0.0 (break-glass), so 2.0.0 would now ship the diff against 1.0.0
    await gate('1.0.0', { breakGlass: 'restore the known-good baseline' });
    expect((await json('POST', '/v1/releases', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', environment: 'production' })).status).toBe(201);
    const decision = await gate('2.0.0');
    expect(decision.reasons.find((r: { rule: string }) => r.rule === 'change-request')).toMatchObject({ status: 'pending', message: expect.stringContaining('stale') });
    const view = await (await s.call('GET', `/v1/changes/${change.id}`)).json();
    expect(view.stale).toBe(true);
  });

  it('a patch on an older line is compared with the release below it, not a newer one', async () => {
    const v10 = fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml'), 'utf8').replace('version: 1.0.0', 'version: 1.0.1').replace('Match a member from a previous payer', 'Match a member from the previous payer');
    expect((await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: v10, type: 'application/yaml' })).status).toBe(201);
    const change = await (await json('POST', '/v1/changes', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.1', summary: 'wording' })).json();
    expect(change).toMatchObject({ baseVersion: '1.0.0', breaking: false, bump: 'none' });
  });

  it('a release is refused when the gate no longer passes, even after a pass', async () => {
    // bluestem 1.0.0 meets every requirement, so its gate passes without break-glass
    const change = await (await json('POST', '/v1/changes', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.0.0', summary: 'baseline' })).json();
    const approver = await s.token('approver');
    await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, approver);
    const sha = (await (await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.0.0')).json()).sha256;
    for (const kind of change.requires.evidence) {
      expect((await json('POST', '/v1/evidence', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.0.0', kind, result: 'pass', sha256: sha, uri: 'https://ci.example/x', environment: 'staging', commit: 'abcdef1', producedAt: '2026-11-27T11:00:00Z' })).status).toBe(201);
    }
    const ok = await (await json('POST', '/v1/gate/check', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.0.0', environment: 'production' })).json();
    expect(ok.verdict).toBe('pass');
    const freeze = await (await json('POST', '/v1/freezes', { partner: 'bluestem-mutual', reason: 'incident in progress' })).json();
    const refused = await json('POST', '/v1/releases', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.0.0', environment: 'production' });
    expect(refused.status).toBe(409);
    expect((await refused.json()).detail).toContain('incident in progress');
    await s.call('DELETE', `/v1/freezes/${freeze.id}`);
    expect((await json('POST', '/v1/releases', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.0.0', environment: 'production' })).status).toBe(201);
  });

  it('a rejected change cannot be wiped out by opening a new change request', async () => {
    const v = fs.readFileSync(path.join(REPO_ROOT, 'contracts/bluestem-mutual/p2p-exchange/1.2.0/openapi.yaml'), 'utf8').replace('version: 1.2.0', 'version: 1.3.0').replace('Record the member', 'Record a member');
    expect((await s.call('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions', { body: v, type: 'application/yaml' })).status).toBe(201);
    const change = await (await json('POST', '/v1/changes', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.3.0', summary: 'wording' })).json();
    expect((await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'reject', comment: 'wrong wording' }, await s.token('approver'))).status).toBe(201);
    expect((await json('POST', '/v1/changes', { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.3.0', summary: 'again' })).status).toBe(409);
  });

  it('JUnit reports whose tests were all skipped do not pass', async () => {
    const sha = (await (await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.2.0')).json()).sha256;
    const q = new URLSearchParams({ partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.2.0', kind: 'contract-test', sha256: sha, uri: 'https://ci.example/j', environment: 'staging', commit: 'abcdef1', producedAt: '2026-11-27T11:00:00Z' });
    const res = await s.call('POST', `/v1/evidence/junit?${q}`, { body: '<testsuite tests="2"><testcase name="a"><skipped/></testcase><testcase name="b"><skipped/></testcase></testsuite>', type: 'application/xml' });
    expect(res.status).toBe(201);
    expect((await res.json()).result).toBe('fail');
  });

  it('audits refused reads; break-glass opens a review item that can be closed once', async () => {
    expect((await s.call('GET', '/v1/audit', { token: await s.token('ci') })).status).toBe(403);
    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    expect(audit.some((a: { action: string; outcome: string }) => a.action === 'GET /v1/audit' && a.outcome === 'refused')).toBe(true);
    const items = await (await s.call('GET', '/v1/review-items?status=open')).json();
    expect(items.length).toBeGreaterThanOrEqual(1);
    const closed = await json('POST', `/v1/review-items/${items[0].id}/close`, { conclusion: 'baseline restored, no follow-up' });
    expect(closed.status).toBe(200);
    expect((await closed.json()).status).toBe('closed');
    expect((await json('POST', `/v1/review-items/${items[0].id}/close`, { conclusion: 'again' })).status).toBe(409);
  });

  it('a deleted webhook receives nothing more; control characters never break the Atom feed', async () => {
    const hook = await (await json('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/never', secret: 'secret-0123456789abcdef', events: ['notice.deprecation'] })).json();
    const dep = await json('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.0.0/deprecation', { sunset: '2027-12-31', reason: 'bell \u0007 in the reason' });
    expect(dep.status).toBe(201);
    expect((await s.call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
    expect(await dispatchDueDeliveries(s.deps)).toBe(0);
    const log = (await s.deps.db.$sql.column('SELECT status FROM webhook_deliveries WHERE webhook_id = ?', [hook.id]));
    expect(log).toEqual(['cancelled']);
    const atom = await (await s.call('GET', '/v1/notices.atom')).text();
    expect(atom).not.toMatch(/[\u0000-\u0008]/);
    expect(() => new XMLParser().parse(atom, true)).not.toThrow();
  });
});
