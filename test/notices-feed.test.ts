import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { startTestService, type TestService } from './harness.ts';

/** What feed readers and pollers rely on: entity tags, alternate links, and a token in the URL for readers without headers. */

describe('notices feed and list for readers and pollers', () => {
  let s: TestService;
  let reader: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date('2026-11-27T12:00:00Z'), env: { ACCORD_PUBLIC_URL: 'https://accord.example.org' } });
    reader = (await createToken(s.deps, 'test', { role: 'partner', partner: 'bluestem-mutual', name: 'feed reader', scopes: ['notices:read'] })).token;
  });
  afterAll(async () => await s.cleanup());
  const deprecate = async (partner: string, version: string, successor: string) => {
    const res = await s.call('POST', `/v1/contracts/${partner}/p2p-exchange/versions/${version}/deprecation`, { body: JSON.stringify({ sunset: '2027-06-30', successor, reason: `Use ${successor}` }), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  it('answers 304 to If-None-Match with the ETag until a notice is published, on the feed and the list alike', async () => {
    await deprecate('northwind-health', '1.1.0', '2.0.0');
    for (const url of ['/v1/notices.atom', '/v1/notices']) {
      const first = await s.call('GET', url);
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^W\/".+"$/);
      expect(first.headers.get('cache-control')).toBe('private, no-cache');
      const again = await s.call('GET', url, { headers: { 'If-None-Match': etag } });
      expect(again.status, url).toBe(304);
      expect(await again.text()).toBe('');
      expect((await s.call('GET', url, { headers: { 'If-None-Match': `"other", ${etag.slice(2)}` } })).status).toBe(304);
      expect((await s.call('GET', url, { headers: { 'If-None-Match': 'W/"something-else"' } })).status).toBe(200);
    }
    const before = (await s.call('GET', '/v1/notices.atom')).headers.get('etag')!;
    await deprecate('bluestem-mutual', '1.0.0', '1.1.0');
    const after = await s.call('GET', '/v1/notices.atom', { headers: { 'If-None-Match': before } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before);
  });

  it('links the feed and each entry to the page a person reads it on (rel="alternate")', async () => {
    const feed = await (await s.call('GET', '/v1/notices.atom')).text();
    expect(feed).toContain('<link rel="alternate" type="text/html" href="https://accord.example.org/console/notices"/>');
    expect(feed).toContain('<link rel="alternate" type="text/html" href="https://accord.example.org/console/contracts/northwind-health/p2p-exchange/versions/1.1.0"/>');
    const entries = feed.split('<entry>').slice(1);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry).toMatch(/<link rel="alternate" type="text\/html" href="[^"]+"\/>/);
  });

  it('takes a token in the URL only on the feed, and only one limited to notices:read alone', async () => {
    const viaUrl = await s.call('GET', `/v1/notices.atom?token=${reader}`, { token: null });
    expect(viaUrl.status).toBe(200);
    expect(await viaUrl.text()).toContain('bluestem-mutual/p2p-exchange 1.0.0 is deprecated');
    // Anywhere else a token in the URL is no credential.
    expect((await s.call('GET', `/v1/notices?token=${reader}`, { token: null })).status).toBe(401);
    // A broader token in a URL (where it would leak into logs and histories) is refused.
    const broad = (await createToken(s.deps, 'test', { role: 'partner', partner: 'bluestem-mutual', name: 'broad' })).token;
    const refused = await s.call('GET', `/v1/notices.atom?token=${broad}`, { token: null });
    expect(refused.status).toBe(403);
    expect((await refused.json()).detail).toContain('only when it is limited to the notices:read scope alone');
    const admin = await s.call('GET', `/v1/notices.atom?token=${(await createToken(s.deps, 'test', { role: 'admin', name: 'a2', scopes: ['notices:read', 'contracts:read'] })).token}`, { token: null });
    expect(admin.status).toBe(403);
    expect((await s.call('GET', '/v1/notices.atom?token=acc_not-a-token', { token: null })).status).toBe(401);
  });
});
