import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compensationApprovals, notices, reviewItems, transactions, webhookDeliveries } from '../src/db/index.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/**
 * Cursor pagination on every list (issue 19): walking the `Link: rel="next"` URLs with a small
 * `limit` gives every item exactly once, in the order of one unpaged call; the last page has no
 * Link; a `limit` out of range and a bad cursor are 400; the shapes stay what they were.
 */

let s: TestService;
let webhookId: string;
const T = (n: number) => new Date(Date.parse('2026-11-20T10:00:00.000Z') + n * 60_000).toISOString();

const json = (method: string, url: string, body: unknown) => s.call(method, url, { body: JSON.stringify(body), type: 'application/json' });

beforeAll(async () => {
  s = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  for (let i = 0; i < 4; i++) await s.token('author');
  const file = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/member-match.yaml'), 'utf8');
  for (let v = 1; v <= 4; v++) {
    const res = await s.call('PUT', '/v1/control-matrix/member-match', { body: file.replace(/^title: .*$/m, `title: "Member match, revision ${v}"`), type: 'application/yaml' });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  for (const [partner, version] of [['bluestem-mutual', '1.1.0'], ['bluestem-mutual', '1.2.0'], ['northwind-health', '1.1.0']] as const) {
    const res = await json('POST', '/v1/changes', { partner, api: 'p2p-exchange', version, summary: `change of ${version}` });
    expect(res.status, await res.clone().text()).toBe(201);
  }
  const evidence = { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.2.0', kind: 'contract-test', result: 'pass', sha256: 'f'.repeat(64), uri: 'https://ci.example/runs/1', environment: 'staging', commit: 'a1b2c3d4e5f6' };
  // Two of them produced at the same time: the id breaks the tie.
  for (const producedAt of [T(1), T(2), T(2), T(3)]) expect((await json('POST', '/v1/evidence', { ...evidence, producedAt })).status).toBe(201);
  for (let i = 0; i < 4; i++) expect((await json('POST', '/v1/freezes', { partner: 'northwind-health', reason: `freeze ${i}` })).status).toBe(201);
  for (let i = 0; i < 4; i++) expect((await json('POST', '/v1/incidents', { title: `Incident ${i}`, severity: 'sev3', partner: 'northwind-health' })).status).toBe(201);
  for (let i = 0; i < 3; i++) {
    const res = await json('POST', '/v1/webhooks', { url: `http://127.0.0.1:9/hook-${i}`, secret: 'whsec-0123456789abcdef', events: ['notice.deprecation'] });
    expect(res.status, await res.clone().text()).toBe(201);
    webhookId = ((await res.json()) as { id: string }).id;
  }
  const db = s.deps.db;
  for (let i = 0; i < 5; i++) {
    // Same creation time for several rows: the tie-breaking column keeps pages exact.
    const at = T(10 + Math.floor(i / 2));
    await db.insert(notices).values({ id: `ntc_page_${i}`, kind: 'deprecation', partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', title: `Notice ${i}`, body: 'b', audience: '["northwind-health"]', createdAt: at }).run();
    await db.insert(webhookDeliveries).values({ id: `dlv_page_${i}`, webhookId, eventId: `evt_${i}`, eventType: 'notice.deprecation', payload: JSON.stringify({ id: `evt_${i}`, type: 'notice.deprecation', createdAt: at, data: {} }), status: 'delivered', attempts: 1, nextAttemptAt: at, lastStatus: 200, createdAt: at, deliveredAt: at }).run();
    await db.insert(reviewItems).values({ id: `rvw_page_${i}`, decisionId: `dec_${i}`, partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', reason: 'break-glass', status: 'open', createdAt: at, createdBy: 'admin' }).run();
    await db.insert(compensationApprovals).values({ id: `cap_page_${i}`, transactionId: `tx_page_${i}`, stepId: 'match', flow: 'member-match', partner: 'northwind-health', status: 'awaiting', cause: 'engine', requestedAt: at }).run();
    await db
      .insert(transactions)
      .values({
        id: `tx_page_${i}`,
        flow: 'member-match',
        partner: 'northwind-health',
        api: 'p2p-exchange',
        version: '1.0.0',
        state: 'needs-attention',
        phase: 'forward',
        cursor: 0,
        operatorAction: null,
        correlationId: `corr_page_${i}`,
        traceId: '0'.repeat(32),
        callerTokenId: 'tok',
        mode: 'async',
        input: '{}',
        plan: '[]',
        context: '{}',
        timeScale: 1_000_000,
        createdAt: at,
        updatedAt: at,
      })
      .run();
  }
}, 120_000);

afterAll(async () => {
  await s?.close();
});

type Body = unknown;
interface List {
  path: string;
  /** The items of a body, and their identity. */
  items?: (body: Body) => unknown[];
  id: (item: Record<string, unknown>) => unknown;
  limit?: number;
}

const bare = (body: Body) => body as unknown[];
const LISTS: List[] = [
  { path: '/v1/tokens', id: (t) => t.id },
  { path: '/v1/contracts', id: (c) => `${c.partner}/${c.api}`, limit: 1 },
  { path: '/v1/contracts/bluestem-mutual/p2p-exchange/versions', id: (v) => v.version, limit: 1 },
  { path: '/v1/contracts/bluestem-mutual/p2p-exchange/history', id: (c) => c.sha, limit: 1 },
  { path: '/v1/control-matrix/member-match/versions', id: (v) => v.version },
  { path: '/v1/control-matrix/member-match/proposals?status=all', id: (v) => v.version },
  { path: '/v1/notices', id: (n) => n.id },
  { path: '/v1/webhooks', id: (w) => w.id },
  { path: '/v1/webhooks/{webhook}/deliveries', id: (d) => d.id },
  { path: '/v1/changes', id: (c) => c.id },
  { path: '/v1/evidence?partner=bluestem-mutual&api=p2p-exchange&version=1.2.0', id: (e) => e.id },
  { path: '/v1/review-items?status=open', id: (r) => r.id },
  { path: '/v1/freezes', id: (f) => f.id },
  { path: '/v1/audit', id: (a) => a.seq },
  { path: '/v1/audit?after=3', id: (a) => a.seq },
  { path: '/v1/transactions', items: (b) => (b as { transactions: unknown[] }).transactions, id: (t) => t.id },
  { path: '/v1/transactions?from=2026-01-01T00:00:00Z', items: (b) => (b as { transactions: unknown[] }).transactions, id: (t) => t.id },
  { path: '/v1/compensations', items: (b) => (b as { compensations: unknown[] }).compensations, id: (c) => c.id },
  { path: '/v1/incidents', id: (i) => i.id },
];

const withQuery = (url: string, query: string) => `${url}${url.includes('?') ? '&' : '?'}${query}`;
const pathOf = (list: List) => list.path.replace('{webhook}', webhookId);

describe('cursor pagination', () => {
  for (const list of LISTS) {
    it(`${list.path}: the Link pages hold every item once, in order, shapes unchanged`, async () => {
      const items = list.items ?? bare;
      const whole = await s.call('GET', withQuery(pathOf(list), 'limit=1000'));
      expect(whole.status, await whole.clone().text()).toBe(200);
      expect(whole.headers.get('link')).toBeNull();
      const wholeBody = await whole.json();
      if (!list.items) expect(Array.isArray(wholeBody)).toBe(true);
      else expect(Array.isArray(wholeBody)).toBe(false);
      const expected = items(wholeBody).map((i) => list.id(i as Record<string, unknown>));
      const limit = list.limit ?? 2;
      expect(expected.length).toBeGreaterThan(limit);

      const seen: unknown[] = [];
      let url: string | undefined = withQuery(pathOf(list), `limit=${limit}`);
      let pages = 0;
      while (url) {
        const res = await s.call('GET', url);
        expect(res.status, await res.clone().text()).toBe(200);
        const body = await res.json();
        if (!list.items) expect(Array.isArray(body)).toBe(true);
        const page = items(body);
        expect(page.length).toBeLessThanOrEqual(limit);
        seen.push(...page.map((i) => list.id(i as Record<string, unknown>)));
        pages++;
        const link = res.headers.get('link');
        if (!link) break;
        const next = /^<([^>]+)>; rel="next"$/.exec(link);
        expect(next, link).not.toBeNull();
        expect(next![1]!.startsWith(`${s.config.publicUrl}/`)).toBe(true);
        const nextUrl = new URL(next![1]!);
        // The request's other parameters are kept.
        for (const [name, value] of new URL(url, 'http://x').searchParams) if (name !== 'cursor') expect(nextUrl.searchParams.get(name)).toBe(value);
        expect(page.length).toBe(limit);
        url = `${nextUrl.pathname}${nextUrl.search}`;
        expect(pages).toBeLessThan(100);
      }
      expect(pages).toBe(Math.ceil(expected.length / limit));
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
    });
  }

  it('a limit out of range or a cursor that is not one of the list is 400 (location cursor)', async () => {
    const tokensCursor = Buffer.from(JSON.stringify(['tokens', 'x', 'y'])).toString('base64url');
    for (const list of LISTS) {
      for (const limit of ['0', '1001', 'abc', '1.5']) {
        const res = await s.call('GET', withQuery(pathOf(list), `limit=${limit}`));
        expect(res.status, `${list.path} limit=${limit}`).toBe(400);
      }
      for (const cursor of ['%%%', 'bm90LWpzb24', list.path === '/v1/tokens' ? Buffer.from('["tokens",1]').toString('base64url') : tokensCursor]) {
        const res = await s.call('GET', withQuery(pathOf(list), `cursor=${cursor}`));
        expect(res.status, `${list.path} cursor=${cursor}`).toBe(400);
        const problem = (await res.json()) as { code: string; errors?: Array<{ location: string }> };
        expect(problem.code).toBe('bad_request');
        expect(problem.errors?.[0]?.location).toBe('cursor');
      }
    }
  });

  it('/openapi.json documents limit, cursor and the Link header on every list', async () => {
    const doc = (await (await s.call('GET', '/openapi.json')).json()) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, { headers?: Record<string, unknown> }> }>> };
    for (const list of LISTS) {
      const p = list.path.split('?')[0]!.replace('{webhook}', '{id}').replace('member-match', '{flow}').replace('bluestem-mutual/p2p-exchange', '{partner}/{api}');
      const get = doc.paths[p]?.get;
      expect(get, p).toBeDefined();
      const names = (get!.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name);
      expect(names, p).toEqual(expect.arrayContaining(['limit', 'cursor']));
      expect(Object.keys(get!.responses['200']!.headers ?? {}), p).toContain('Link');
    }
  });
});
