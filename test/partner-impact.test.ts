import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { dispatchDueDeliveries } from '../src/notices/webhook-dispatcher.ts';
import { seededDocument } from './change-fixtures.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * Partner-scoped impact and the partner inbox (issue 16, items 4 and 5), over real HTTP: what
 * each consumer uses (declared, or observed through the exchange), which consumers a change
 * affects, who is asked to acknowledge it (and gets a notice and a webhook event), who is only
 * told, and what the gate says about who must still acknowledge and why.
 */

const API = '/v1/contracts/northwind-health/p2p-exchange';
const EXPORT_PATH = '/Group/{groupId}/$davinci-data-export';
const MATCH_PATH = '/Patient/$member-match';

/** A webhook endpoint on 127.0.0.1 collecting what it is sent. */
async function receiver() {
  const hits: Array<{ path: string; body: { type: string; data: Record<string, any> } }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ path: req.url!, body: JSON.parse(body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { hits, url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, close: () => server.close() };
}

describe('partner-scoped impact and the partner inbox', () => {
  let s: TestService;
  let base: string;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let now = Date.parse('2026-11-27T12:00:00.000Z');
  const t = {} as Record<'acme' | 'riverbend' | 'zenith' | 'bluestem' | 'northwind' | 'stranger' | 'author' | 'approver', string>;
  let exportChange: string;
  let matchChange: string;

  /** A request over real HTTP (admin unless a token is given). */
  async function call(method: string, path: string, options: { token?: string; body?: unknown; type?: string; headers?: Record<string, string> } = {}) {
    return await fetch(`${base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${options.token ?? 'test-admin-token-0123456789abcdef'}`, ...(options.body !== undefined ? { 'Content-Type': options.type ?? 'application/json' } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
    });
  }
  const ok = async (res: Response, status = 200) => {
    expect(res.status, await res.clone().text()).toBe(status);
    return await res.json();
  };
  const problem = async (res: Response, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    return await res.json();
  };
  const declare = (consumer: string, operations: unknown, token?: string) => call('PUT', `${API}/consumers/${consumer}/usage`, { token, body: { operations } });
  const awaiting = async (token: string) => ((await ok(await call('GET', '/v1/changes?awaiting=me', { token }))) as Array<{ id: string }>).map((c) => c.id);
  const usageRows = async () => await s.deps.db.$sql.all('SELECT consumer, operations, declared_at AS "declaredAt", declared_by AS "declaredBy" FROM consumer_usage ORDER BY consumer');
  /** Registers a new northwind-health version: 2.1.0 with one more required query parameter on the operations at `paths`. */
  async function registerBreaking(version: string, paths: string[]) {
    const doc = seededDocument('northwind-health', 'p2p-exchange', '2.1.0');
    doc.info.version = version;
    for (const path of paths) doc.paths[path].post.parameters = [...(doc.paths[path].post.parameters ?? []), { name: 'region', in: 'query', required: true, schema: { type: 'string' } }];
    await ok(await call('POST', `${API}/versions`, { token: t.author, body: doc }), 201);
  }

  beforeAll(async () => {
    hooks = await receiver();
    s = await startTestService({ seed: true, clock: () => new Date((now += 1000)), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    base = await s.listen();
    t.acme = await s.token('partner', 'acme-payer');
    t.riverbend = await s.token('partner', 'riverbend-care');
    t.zenith = await s.token('partner', 'zenith-care');
    t.bluestem = await s.token('partner', 'bluestem-mutual');
    t.northwind = await s.token('partner', 'northwind-health');
    t.stranger = await s.token('partner', 'other-payer');
    t.author = (await createToken(s.deps, 'test', { role: 'author', name: 'alice' })).token;
    t.approver = (await createToken(s.deps, 'test', { role: 'approver', name: 'bob' })).token;
    await ok(await call('PUT', `${API}/consumers`, { body: { consumers: ['acme-payer', 'bluestem-mutual', 'riverbend-care', 'zenith-care'] } }));
    for (const partner of ['acme', 'riverbend', 'zenith', 'bluestem'] as const) {
      await ok(await call('POST', '/v1/webhooks', { token: t[partner], body: { url: hooks.url(`/${partner}`), secret: 'whsec-0123456789abcdef', events: ['change.acknowledgement-requested', 'notice.acknowledgement-requested', 'notice.change-unaffected'] } }), 201);
    }
  }, 120_000);
  afterAll(async () => {
    hooks.close();
    await s.cleanup();
  });

  it('a consumer declares the operations it calls (or an admin does for it); the declaration is audited', async () => {
    expect(await ok(await declare('acme-payer', ['requestDataExport', 'getExportStatus', 'requestDataExport'], t.acme))).toMatchObject({
      consumer: 'acme-payer',
      declared: ['getExportStatus', 'requestDataExport'],
      declaredBy: expect.stringContaining('partner-acme-payer'),
      observed: [],
      operations: ['getExportStatus', 'requestDataExport'],
    });
    expect(await ok(await declare('riverbend-care', ['memberMatch', 'captureConsent']))).toMatchObject({ consumer: 'riverbend-care', declared: ['captureConsent', 'memberMatch'], declaredBy: 'initial admin' });
    const audited = await s.deps.db.$sql.all<{ action: string; outcome: string; actor: string }>("SELECT action, outcome, actor FROM audit_log WHERE action LIKE 'PUT %/usage' ORDER BY seq");
    expect(audited.map((a) => a.outcome)).toEqual(['ok', 'ok']);
    expect(audited[0]!.actor).toContain('partner-acme-payer');
  });

  it('refuses bad declarations with 422 or 403 problem+json and writes nothing', async () => {
    const before = await usageRows();
    const unknown = await problem(await declare('acme-payer', ['requestDataExport', 'noSuchOperation'], t.acme), 422);
    expect(unknown).toMatchObject({ code: 'invalid_document', detail: 'Invalid usage declaration', errors: [{ location: '/operations/1', message: 'no operation "noSuchOperation" in any registered version of northwind-health/p2p-exchange' }] });
    const shape = await problem(await declare('acme-payer', 'requestDataExport', t.acme), 422);
    expect(shape.errors).toEqual([{ location: '/operations', message: 'must be an array of operationIds (at most 1000)' }]);
    expect((await problem(await declare('acme-payer', [''], t.acme), 422)).errors).toEqual([{ location: '/operations/0', message: 'must be an operationId' }]);
    const notConsumer = await problem(await declare('other-payer', ['memberMatch']), 422);
    expect(notConsumer.errors).toEqual([{ location: 'consumer', message: 'other-payer is not a consumer of northwind-health/p2p-exchange (GET /v1/contracts/northwind-health/p2p-exchange/consumers)' }]);
    // another partner's usage, or a staff role other than admin
    expect((await problem(await declare('riverbend-care', ['memberMatch'], t.acme), 403)).detail).toBe('Only an admin or riverbend-care itself may declare what riverbend-care uses');
    expect((await problem(await declare('acme-payer', ['memberMatch'], t.author), 403)).code).toBe('forbidden');
    expect((await problem(await declare('acme-payer', ['memberMatch'], t.northwind), 403)).code).toBe('forbidden');
    expect((await problem(await call('PUT', '/v1/contracts/northwind-health/no-such-api/consumers/acme-payer/usage', { body: { operations: [] } }), 404)).code).toBe('not_found');
    expect(await usageRows()).toEqual(before);
    const refused = await s.deps.db.$sql.all<{ outcome: string }>("SELECT outcome FROM audit_log WHERE action LIKE 'PUT %/usage' AND outcome = 'refused'");
    expect(refused.length).toBe(8);
  });

  it('observes the operations a consumer calls through the exchange runtime', async () => {
    const match = structuredClone(seededDocument('northwind-health', 'p2p-exchange', '2.1.0').paths[MATCH_PATH].post.requestBody.content['application/fhir+json'].example);
    const res = await call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { token: t.bluestem, body: match, type: 'application/fhir+json', headers: { 'Idempotency-Key': 'impact-match-0001' } });
    expect(res.status).toBe(200);
    const listed = await ok(await call('GET', `${API}/consumers`));
    expect(listed.consumers).toEqual(['acme-payer', 'bluestem-mutual', 'riverbend-care', 'zenith-care']);
    expect(listed.usage.map((u: { consumer: string; operations: string[] | null }) => [u.consumer, u.operations])).toEqual([
      ['acme-payer', ['getExportStatus', 'requestDataExport']],
      ['bluestem-mutual', ['memberMatch']],
      ['riverbend-care', ['captureConsent', 'memberMatch']],
      ['zenith-care', null],
    ]);
    expect(listed.usage[1]).toMatchObject({ declared: null, observed: ['memberMatch'] });
    // the provider sees every consumer's usage, a consumer its own, another partner none
    expect((await ok(await call('GET', `${API}/consumers`, { token: t.northwind }))).usage).toHaveLength(4);
    expect((await ok(await call('GET', `${API}/consumers`, { token: t.acme }))).usage.map((u: { consumer: string }) => u.consumer)).toEqual(['acme-payer']);
    expect(await ok(await call('GET', `${API}/consumers`, { token: t.stranger }))).toMatchObject({ consumers: ['acme-payer', 'bluestem-mutual', 'riverbend-care', 'zenith-care'], usage: [] });
  });

  it('asks only the consumers a breaking change affects: those using what it breaks, and those whose usage is unknown', async () => {
    await registerBreaking('3.0.0', [EXPORT_PATH]);
    const opened = await ok(await call('POST', '/v1/changes', { token: t.author, body: { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', summary: 'Exports need a region' } }), 201);
    exportChange = opened.id;
    expect(opened.requires.acknowledgements).toEqual(['acme-payer', 'zenith-care']);

    const detail = await ok(await call('GET', `/v1/changes/${exportChange}`));
    const byConsumer = Object.fromEntries(detail.impact.consumers.map((c: { consumer: string }) => [c.consumer, c]));
    expect(Object.keys(byConsumer)).toEqual(['acme-payer', 'bluestem-mutual', 'riverbend-care', 'zenith-care']);
    const rule = byConsumer['acme-payer'].findings[0].rule;
    expect(byConsumer['acme-payer']).toMatchObject({ usage: 'declared', affected: true, touched: ['requestDataExport'], reason: `uses requestDataExport — ${rule}` });
    expect(byConsumer['acme-payer'].findings.every((f: { level: string; operationId?: string }) => f.level !== 'info' && (f.operationId === undefined || f.operationId === 'requestDataExport'))).toBe(true);
    expect(detail.diff.changes.find((c: { rule: string; operationId?: string }) => c.rule === rule)).toMatchObject({ level: 'breaking', operationId: 'requestDataExport' });
    expect(byConsumer['zenith-care']).toMatchObject({ usage: 'unknown', operations: null, affected: true });
    expect(byConsumer['bluestem-mutual']).toMatchObject({ usage: 'observed', operations: ['memberMatch'], affected: false, touched: [] });
    expect(byConsumer['riverbend-care']).toMatchObject({ usage: 'declared', affected: false, reason: 'uses captureConsent, memberMatch, which the change does not touch' });

    // a consumer sees its own entry only; an unaffected one may read the change it was told of; another partner may not
    expect((await ok(await call('GET', `/v1/changes/${exportChange}`, { token: t.acme }))).impact.consumers.map((c: { consumer: string }) => c.consumer)).toEqual(['acme-payer']);
    expect((await ok(await call('GET', `/v1/changes/${exportChange}`, { token: t.riverbend }))).impact.consumers).toEqual([byConsumer['riverbend-care']]);
    expect((await ok(await call('GET', `/v1/changes/${exportChange}`, { token: t.northwind }))).impact.consumers).toHaveLength(4);
    expect((await problem(await call('GET', `/v1/changes/${exportChange}`, { token: t.stranger }), 404)).code).toBe('not_found');
  });

  it('puts the change in the inboxes of the affected consumers only', async () => {
    expect(await awaiting(t.acme)).toEqual([exportChange]);
    expect(await awaiting(t.zenith)).toEqual([exportChange]);
    expect(await awaiting(t.riverbend)).toEqual([]);
    expect(await awaiting(t.bluestem)).toEqual([]);
  });

  it('sends an affected consumer a notice and a change.acknowledgement-requested event; an unaffected one a notice and no ask', async () => {
    const notices = async (token: string) => ((await ok(await call('GET', '/v1/notices', { token }))) as Array<{ kind: string; title: string; body: string; audience: string[] }>).filter((n) => n.title.includes(exportChange));
    const [asked] = await notices(t.acme);
    expect(asked).toMatchObject({ kind: 'acknowledgement-requested', audience: ['acme-payer'] });
    expect(asked!.body).toContain('uses requestDataExport');
    expect(asked!.body).toContain(`GET /v1/changes/${exportChange}/diff`);
    expect((await notices(t.zenith)).map((n) => n.kind)).toEqual(['acknowledgement-requested']);
    const told = await notices(t.riverbend);
    expect(told.map((n) => n.kind)).toEqual(['change-unaffected']);
    expect(told[0]!.body).toContain('no acknowledgement is asked');
    expect((await notices(t.bluestem)).map((n) => n.kind)).toEqual(['change-unaffected']);

    await dispatchDueDeliveries(s.deps);
    const received = (who: string) => hooks.hits.filter((h) => h.path === `/${who}` && JSON.stringify(h.body.data).includes(exportChange)).map((h) => h.body.type).sort();
    expect(received('acme')).toEqual(['change.acknowledgement-requested', 'notice.acknowledgement-requested']);
    expect(received('zenith')).toEqual(['change.acknowledgement-requested', 'notice.acknowledgement-requested']);
    expect(received('riverbend')).toEqual(['notice.change-unaffected']);
    expect(received('bluestem')).toEqual(['notice.change-unaffected']);
    const event = hooks.hits.find((h) => h.path === '/acme' && h.body.type === 'change.acknowledgement-requested')!.body.data;
    expect(event).toMatchObject({ changeId: exportChange, partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', consumer: 'acme-payer', usage: 'declared', touched: ['requestDataExport'], links: { diff: `${s.config.publicUrl}/v1/changes/${exportChange}/diff` } });
  });

  it('reads the diff scoped to the caller: only the findings touching what it uses', async () => {
    const full = await ok(await call('GET', `/v1/changes/${exportChange}/diff`));
    expect(full.scope).toBeNull();
    const acme = await ok(await call('GET', `/v1/changes/${exportChange}/diff`, { token: t.acme }));
    expect(acme.scope).toMatchObject({ consumer: 'acme-payer', usage: 'declared', affected: true });
    expect(acme.changes.length).toBeGreaterThan(0);
    expect(acme.changes.every((c: { operationId?: string }) => c.operationId === undefined || ['requestDataExport', 'getExportStatus'].includes(c.operationId))).toBe(true);
    expect(acme.summary.breaking).toBeGreaterThan(0);
    const riverbend = await ok(await call('GET', `/v1/changes/${exportChange}/diff`, { token: t.riverbend }));
    expect(riverbend.scope).toMatchObject({ consumer: 'riverbend-care', affected: false });
    expect(riverbend.summary.breaking).toBe(0);
    expect(riverbend.changes.every((c: { operationId?: string }) => c.operationId === undefined || ['memberMatch', 'captureConsent'].includes(c.operationId))).toBe(true);
    // unknown usage: the whole diff
    expect((await ok(await call('GET', `/v1/changes/${exportChange}/diff`, { token: t.zenith }))).changes).toEqual(full.changes);
    // staff and the provider may ask for a consumer's scope; a consumer only for its own
    expect((await ok(await call('GET', `/v1/changes/${exportChange}/diff?consumer=acme-payer`))).changes).toEqual(acme.changes);
    expect((await ok(await call('GET', `/v1/changes/${exportChange}/diff?consumer=acme-payer`, { token: t.northwind }))).changes).toEqual(acme.changes);
    expect((await problem(await call('GET', `/v1/changes/${exportChange}/diff?consumer=acme-payer`, { token: t.riverbend }), 403)).code).toBe('forbidden');
    expect((await problem(await call('GET', `/v1/changes/${exportChange}/diff?consumer=other-payer`), 404)).code).toBe('not_found');
    expect((await problem(await call('GET', `/v1/changes/${exportChange}/diff`, { token: t.stranger }), 404)).code).toBe('not_found');
    const markdown = await call('GET', `/v1/changes/${exportChange}/diff?format=markdown`, { token: t.acme });
    expect(markdown.headers.get('content-type')).toContain('text/markdown');
    expect(await markdown.text()).toContain(`for acme-payer`);
  });

  it('the gate says who must acknowledge and why; an unaffected consumer may not acknowledge, an affected one may', async () => {
    const gate = async () => (await ok(await call('POST', '/v1/gate/check', { body: { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', environment: 'production' } }))).reasons.find((r: { rule: string }) => r.rule === 'acknowledgements');
    const detail = await ok(await call('GET', `/v1/changes/${exportChange}`));
    const acmeReason = detail.impact.consumers.find((c: { consumer: string }) => c.consumer === 'acme-payer').reason;
    const before = await gate();
    expect(before.status).toBe('pending');
    expect(before.message).toBe(`Waiting for acknowledgement from acme-payer: ${acmeReason}; zenith-care: usage unknown (nothing declared, no calls observed), so every change counts`);
    expect(before.message).toMatch(/^Waiting for acknowledgement from acme-payer: uses requestDataExport — [a-z-]+; /);

    const refused = await problem(await call('POST', `/v1/changes/${exportChange}/acknowledgements`, { token: t.riverbend, body: {} }), 403);
    expect(refused.detail).toBe('Partner riverbend-care is not asked to acknowledge this change: it uses captureConsent, memberMatch, which the change does not touch');
    await ok(await call('POST', `/v1/changes/${exportChange}/acknowledgements`, { token: t.acme, body: { comment: 'we send a region' } }), 201);
    expect(await awaiting(t.acme)).toEqual([]);
    expect(await awaiting(t.zenith)).toEqual([exportChange]);
    expect((await gate()).message).toBe('Waiting for acknowledgement from zenith-care: usage unknown (nothing declared, no calls observed), so every change counts');
    await ok(await call('POST', `/v1/changes/${exportChange}/acknowledgements`, { token: t.zenith, body: {} }), 201);
    expect(await gate()).toMatchObject({ status: 'met', message: 'Acknowledged by acme-payer, zenith-care' });
  });

  it('observed usage counts: a consumer that called an operation through the exchange is affected when it breaks', async () => {
    // against 3.0.0 (the version before it), only member match changes
    await registerBreaking('4.0.0', [EXPORT_PATH, MATCH_PATH]);
    const opened = await ok(await call('POST', '/v1/changes', { token: t.author, body: { partner: 'northwind-health', api: 'p2p-exchange', version: '4.0.0', summary: 'Member match needs a region' } }), 201);
    matchChange = opened.id;
    expect(opened.requires.acknowledgements).toEqual(['bluestem-mutual', 'riverbend-care', 'zenith-care']);
    const impact = (await ok(await call('GET', `/v1/changes/${matchChange}`, { token: t.bluestem }))).impact.consumers;
    expect(impact).toMatchObject([{ consumer: 'bluestem-mutual', usage: 'observed', affected: true, touched: ['memberMatch'] }]);
    expect(await awaiting(t.bluestem)).toEqual([matchChange]);
    expect(await awaiting(t.acme)).toEqual([]);
  });

  it('observed usage is the calls within ACCORD_USAGE_WINDOW (30 days by default)', async () => {
    now += 31 * 86_400_000;
    const listed = await ok(await call('GET', `${API}/consumers`, { token: t.bluestem }));
    expect(listed.usage).toEqual([{ consumer: 'bluestem-mutual', declared: null, declaredAt: null, declaredBy: null, observed: [], operations: null }]);
    expect(Date.parse(listed.observedSince)).toBeGreaterThan(now - 31 * 86_400_000);
  });
});
