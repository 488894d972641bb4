import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthGuard, MAX_REFUSAL_SOURCES, MAX_WINDOWS, WindowCounters } from '../src/auth/abuse.ts';
import { clientAddress, IN_PROCESS, limitKey } from '../src/auth/client-address.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

/**
 * Abuse limits over a real HTTP server (the client address is the socket's): failed
 * authentications per client address and per token prefix, per-token request limits,
 * X-Forwarded-For only from trusted proxies, and refused authentications audited one row per
 * source and minute. Time is the injected clock, never a sleep.
 */

const T0 = Date.parse('2026-11-27T12:00:10Z');

describe('abuse limits over HTTP', () => {
  let s: TestService;
  let url: string;
  let now: number;
  const start = async (env: Record<string, string>) => {
    now = T0;
    s = await startTestService({ clock: () => new Date(now), env });
    url = await s.listen();
  };
  afterEach(async () => await s.cleanup());

  const get = (path: string, token: string | null, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...headers } });
  const auditRows = async () => (await s.deps.db.$sql.all("SELECT actor, role, action, target, outcome, detail FROM audit_log WHERE action IN ('auth.refused', 'rate-limited') ORDER BY seq")) as Array<{ actor: string; role: string; action: string; target: string; outcome: string; detail: string }>;
  const allAuditRows = async () => (await s.deps.db.$sql.value('SELECT count(*) FROM audit_log')) as number;

  it('past ACCORD_AUTH_FAILURE_LIMIT failures a minute, an address gets 429 with Retry-After, a valid token included, on /v1 and /exchange', async () => {
    await start({ ACCORD_AUTH_FAILURE_LIMIT: '3' });
    expect((await get('/v1/contracts', 'acc_guess-0000000000000000000001')).status).toBe(401);
    now += 5_000;
    expect((await get('/v1/contracts', null)).status).toBe(401);
    expect((await get('/exchange/acme/member-api/v1/members/1', 'acc_guess-0000000000000000000002')).status).toBe(401);
    now += 15_000;

    for (const [path, token] of [['/v1/contracts', ADMIN_TOKEN], ['/v1/contracts', 'acc_guess-0000000000000000000003'], ['/exchange/acme/member-api/v1/members/1', ADMIN_TOKEN]] as const) {
      const res = await get(path, token);
      expect(res.status, `${path} ${token}`).toBe(429);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('40'); // the window opened at T0 and lasts a minute
      expect(await res.json()).toMatchObject({ status: 429, code: 'too_many_requests' });
    }
    now = T0 + 59_500;
    expect((await get('/v1/contracts', ADMIN_TOKEN)).headers.get('retry-after')).toBe('1');
    now = T0 + 60_000;
    expect((await get('/v1/contracts', ADMIN_TOKEN)).status).toBe(200);
  });

  it('counts failures per token prefix too: a prefix over the limit is refused from any address, other prefixes are not', async () => {
    await start({ ACCORD_AUTH_FAILURE_LIMIT: '3', ACCORD_TRUSTED_PROXIES: '127.0.0.1' });
    const from = (n: number) => ({ 'X-Forwarded-For': `203.0.113.${n}` });
    for (let i = 1; i <= 3; i++) expect((await get('/v1/contracts', `acc_SAMEPREFIX-guess-${i}-00000000000000`, from(i))).status).toBe(401);
    const refused = await get('/v1/contracts', 'acc_SAMEPREFIX-guess-9-00000000000000', from(9));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect((await get('/v1/contracts', 'acc_OTHERPREFIX-guess-0000000000000', from(10))).status).toBe(401);
    expect((await get('/v1/contracts', ADMIN_TOKEN, from(11))).status).toBe(200);
  });

  it('believes X-Forwarded-For only from a trusted proxy, and then its right-most address that is not a proxy', async () => {
    await start({ ACCORD_AUTH_FAILURE_LIMIT: '2' });
    // Not behind a trusted proxy: a client rotating X-Forwarded-For is still one address.
    for (let i = 1; i <= 2; i++) expect((await get('/v1/contracts', null, { 'X-Forwarded-For': `198.51.100.${i}` })).status).toBe(401);
    expect((await get('/v1/contracts', ADMIN_TOKEN, { 'X-Forwarded-For': '198.51.100.77' })).status).toBe(429);
    await s.cleanup();

    await start({ ACCORD_AUTH_FAILURE_LIMIT: '2', ACCORD_TRUSTED_PROXIES: '127.0.0.1/32, 10.0.0.0/8' });
    // The client writes what it likes left of the address the proxies saw; that part is ignored.
    for (let i = 1; i <= 2; i++) expect((await get('/v1/contracts', null, { 'X-Forwarded-For': `192.0.2.${i}, 203.0.113.5, 10.1.2.3` })).status).toBe(401);
    expect((await get('/v1/contracts', ADMIN_TOKEN, { 'X-Forwarded-For': '192.0.2.99, 203.0.113.5, 10.1.2.3' })).status).toBe(429);
    expect((await get('/v1/contracts', ADMIN_TOKEN, { 'X-Forwarded-For': '203.0.113.6, 10.1.2.3' })).status).toBe(200);
  });

  it('behind a trusted proxy, clients whose entries carry a port, brackets or an unreadable form keep counters of their own', async () => {
    await start({ ACCORD_AUTH_FAILURE_LIMIT: '2', ACCORD_TRUSTED_PROXIES: '127.0.0.1/32' });
    for (const [attacker, bystander] of [['5.5.5.1:4444', '5.5.5.2:4444'], ['[2001:db8::1]:443', '[2001:db9::1]'], ['unknown-1', 'unknown-2']]) {
      for (let i = 0; i < 2; i++) expect((await get('/v1/contracts', null, { 'X-Forwarded-For': attacker! })).status).toBe(401);
      expect((await get('/v1/contracts', ADMIN_TOKEN, { 'X-Forwarded-For': attacker! })).status, attacker).toBe(429);
      expect((await get('/v1/contracts', ADMIN_TOKEN, { 'X-Forwarded-For': bystander! })).status, bystander).toBe(200);
    }
    // The proxy's own address was never counted.
    expect((await get('/v1/contracts', ADMIN_TOKEN)).status).toBe(200);
  });

  it('audits refused authentications as one row per source per minute with a count, not one row per request', async () => {
    await start({ ACCORD_AUTH_FAILURE_LIMIT: '5' });
    const before = await allAuditRows();
    for (let i = 0; i < 40; i++) {
      now += 1000;
      expect([401, 429]).toContain((await get('/v1/contracts', i % 2 ? null : `acc_flood-${i}-0000000000000000000`)).status);
    }
    for (let i = 0; i < 10; i++) expect((await fetch(`${url}/v1/changes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(429);
    expect(await allAuditRows()).toBe(before); // nothing yet: the minute has not ended

    now = T0 + 55_000; // the next minute (the address is still limited): its first refusal writes the last minute's row
    expect((await get('/v1/contracts', null)).status).toBe(429);
    const rows = await auditRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'anonymous', role: 'none', action: 'auth.refused', target: '127.0.0.1', outcome: 'refused' });
    const detail = JSON.parse(rows[0]!.detail);
    expect(detail).toMatchObject({ count: 50, reasons: { unknown: 3, missing: 2, 'rate-limited': 45 } });
    expect(await allAuditRows()).toBe(before + 1);
  });

  it('writes the pending refusal rows at shutdown', async () => {
    s = await startTestService();
    const dir = s.dir;
    expect((await s.call('GET', '/v1/contracts', { token: 'acc_unknown-000000000000000000000' })).status).toBe(401);
    expect(await auditRows()).toHaveLength(0);
    await s.close();
    s = await startTestService({ dir });
    const rows = await auditRows();
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.detail)).toMatchObject({ count: 1, reasons: { unknown: 1 } });
  });

  it('limits requests per token per minute when ACCORD_TOKEN_RATE_LIMIT is set (429 with Retry-After), other tokens unaffected', async () => {
    await start({ ACCORD_TOKEN_RATE_LIMIT: '5' });
    const ci = await s.token('ci');
    for (let i = 0; i < 5; i++) expect((await get('/v1/contracts', ci)).status).toBe(200);
    now += 12_000;
    const limited = await get('/v1/contracts', ci);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('48');
    expect((await get('/v1/contracts', ADMIN_TOKEN)).status).toBe(200);
    now += 48_000;
    expect((await get('/v1/contracts', ci)).status).toBe(200);
    now += 61_000;
    await s.guard.flushEnded(); // what the jobs loop does
    expect((await auditRows()).filter((r) => r.action === 'rate-limited')).toEqual([expect.objectContaining({ role: 'ci', target: expect.stringMatching(/^token tok_/), detail: expect.stringContaining('"token-rate-limit":1') })]);
  });

  it('has no per-token limit by default', async () => {
    await start({});
    const ci = await s.token('ci');
    for (let i = 0; i < 60; i++) expect((await s.call('GET', '/v1/contracts', { token: ci })).status).toBe(200);
  });
});

/** POSTs with a declared Content-Length and no body (what `curl -H 'Content-Length: 99999999'` sends); resolves with the answer's status and headers. */
function postDeclaringLength(url: string, path: string, length: number, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': String(length), ...headers } });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode!, headers: res.headers });
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

describe('nothing unauthenticated writes an audit row per request', () => {
  let s: TestService;
  let url: string;
  let now: number;
  afterEach(async () => await s.cleanup());
  const start = async () => {
    now = T0;
    s = await startTestService({ clock: () => new Date(now), env: { ACCORD_AUTH_FAILURE_LIMIT: '5', ACCORD_BODY_LIMIT: '4000' } });
    url = await s.listen();
  };
  const rows = async () => (await s.deps.db.$sql.all('SELECT actor, role, action, target, outcome, detail FROM audit_log ORDER BY seq')) as Array<{ actor: string; role: string; action: string; target: string; outcome: string; detail: string }>;

  it('50 anonymous oversized POSTs (and long or malformed paths) leave one aggregated row for their source and minute', async () => {
    await start();
    const before = (await rows()).length;
    const paths = ['/v1/tokens', `/v1/${'a'.repeat(12_000)}`, '/v1/contracts/%E0%A4%A', '/v1/no-such-route'];
    for (let i = 0; i < 50; i++) {
      now += 500;
      const res = await postDeclaringLength(url, paths[i % paths.length]!, 99_999_999);
      expect([401, 429]).toContain(res.status);
    }
    // The exchange refuses the same way, and its refusal still carries the correlation id and trace context.
    const exchange = await postDeclaringLength(url, '/exchange/acme/member-api/v1/members', 99_999_999, { 'X-Correlation-Id': 'corr-anon-1' });
    expect(exchange.status).toBe(429);
    expect(exchange.headers['x-correlation-id']).toBe('corr-anon-1');
    expect(exchange.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await rows()).toHaveLength(before); // nothing per request

    now += 60_000;
    await s.guard.flushEnded();
    const anonymous = (await rows()).slice(before).filter((r) => r.actor === 'anonymous');
    expect(anonymous).toHaveLength(1);
    expect(anonymous[0]).toMatchObject({ action: 'auth.refused', target: '127.0.0.1', outcome: 'refused' });
    expect(JSON.parse(anonymous[0]!.detail)).toMatchObject({ count: 51, reasons: { missing: 5, 'rate-limited': 46 } });
  });

  it('an authenticated oversized POST still gets 413 and is audited once, under its caller', async () => {
    await start();
    const before = (await rows()).length;
    const res = await postDeclaringLength(url, '/v1/tokens', 99_999_999, { Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const added = (await rows()).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ actor: 'initial admin', role: 'admin', target: '/v1/tokens', outcome: 'refused' });
    expect(JSON.parse(added[0]!.detail)).toMatchObject({ status: 413 });
  });

  it('an audit row keeps at most 512 characters of a request\'s path, marked as cut', async () => {
    await start();
    const before = (await rows()).length;
    const long = `/v1/${'b'.repeat(12_000)}`;
    const res = await fetch(`${url}${long}`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(404);
    const added = (await rows()).slice(before);
    expect(added).toHaveLength(1);
    for (const text of [added[0]!.action, added[0]!.target]) {
      expect(text.length).toBeLessThan(600);
      expect(text).toMatch(/…\(\+\d+ characters\)$/);
    }
    expect(added[0]!.target.startsWith('/v1/bbbb')).toBe(true);
  });
});

describe('abuse limit memory stays bounded', () => {
  let s: TestService;
  afterEach(async () => await s.cleanup());

  it('a flood of distinct addresses keeps at most MAX_WINDOWS counters and MAX_REFUSAL_SOURCES + 1 audit rows a minute', async () => {
    let now = T0;
    s = await startTestService({ clock: () => new Date(now) });
    const guard = new AuthGuard(s.deps);
    const flood = MAX_WINDOWS; // two counters each (address and prefix): twice the cap
    let refused = 0;
    for (let i = 0; i < flood; i++) {
      try {
        await guard.authenticate(`Bearer acc_${String(i).padStart(8, '0')}-flood-000000000000`, () => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      } catch {
        refused++;
      }
    }
    expect(refused).toBe(flood);
    expect(guard.failures.size).toBeLessThanOrEqual(MAX_WINDOWS);
    expect(guard.refusals.pending).toBe(MAX_REFUSAL_SOURCES + 1);
    // The newest addresses are still counted.
    const last = flood - 1;
    expect(guard.failures.peek(`address 10.${(last >> 16) & 255}.${(last >> 8) & 255}.${last & 255}`, now)?.count).toBe(1);
    now += 60_000;
    await guard.flushEnded();
    const rows = (await s.deps.db.$sql.all("SELECT target, detail FROM audit_log WHERE action = 'auth.refused'")) as Array<{ target: string; detail: string }>;
    expect(rows).toHaveLength(MAX_REFUSAL_SOURCES + 1);
    const other = rows.find((r) => r.target === '(other sources)')!;
    expect(JSON.parse(other.detail).count).toBe(flood - MAX_REFUSAL_SOURCES);
    // The jobs loop forgets the ended windows (they held the flood's keys for good).
    expect(guard.failures.size).toBe(0);
  });

  it('window counters evict the oldest windows first and forget ended ones', () => {
    const counters = new WindowCounters(3);
    counters.add('a', 0);
    counters.add('b', 1_000);
    counters.add('c', 2_000);
    counters.add('a', 3_000);
    counters.add('d', 4_000);
    expect(counters.size).toBe(3);
    expect(counters.peek('a', 4_000)).toBeUndefined();
    expect(counters.peek('b', 4_000)?.count).toBe(1);
    counters.add('e', 61_500); // b's window (1 000 → 61 000) has ended and goes; c's (2 000 → 62 000) stays
    expect(counters.peek('b', 61_500)).toBeUndefined();
    expect(counters.peek('c', 61_500)?.count).toBe(1);
    expect(counters.peek('c', 62_000)).toBeUndefined();
  });
});

describe('client address', () => {
  const trusted = ['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8'];

  it.each([
    ['the peer, when no proxy is trusted', '198.51.100.1', '203.0.113.9', [], '198.51.100.1'],
    ['the peer, when it is not a trusted proxy', '198.51.100.1', '203.0.113.9', trusted, '198.51.100.1'],
    ['an IPv4-mapped peer as IPv4', '::ffff:198.51.100.1', undefined, [], '198.51.100.1'],
    ['the forwarded address from a trusted proxy', '127.0.0.1', '203.0.113.9', trusted, '203.0.113.9'],
    ['the right-most address that is not a proxy', '10.0.0.1', '192.0.2.1, 203.0.113.9, 10.9.9.9', trusted, '203.0.113.9'],
    ['an IPv4 entry with the port a load balancer appended', '127.0.0.1', '198.51.100.7:4444', trusted, '198.51.100.7'],
    ['a bracketed IPv6 entry', '127.0.0.1', '[2001:db8::1]', trusted, '2001:db8::1'],
    ['a bracketed IPv6 entry with a port', '127.0.0.1', '[2001:db8::1]:443', trusted, '2001:db8::1'],
    ['a trusted proxy written with its port is still a proxy', '127.0.0.1', '203.0.113.9, 10.9.9.9:8080', trusted, '203.0.113.9'],
    ['an unreadable entry a proxy wrote: that entry, never the proxy', '127.0.0.1', '192.0.2.1, evil, 10.9.9.9', trusted, 'unreadable "evil"'],
    ['an octal-looking entry is unreadable, not 8.1.1.1 and not the proxy', '127.0.0.1', '010.1.1.1', trusted, 'unreadable "010.1.1.1"'],
    ['an empty entry is unreadable too', '127.0.0.1', '192.0.2.1,', trusted, 'unreadable ""'],
    ['a port out of range is unreadable', '127.0.0.1', '198.51.100.7:99999', trusted, 'unreadable "198.51.100.7:99999"'],
    ['the left-most when every hop is a proxy', '127.0.0.1', '10.1.1.1, 10.2.2.2', trusted, '10.1.1.1'],
    ['IPv6 through an IPv6 proxy', 'fd00::1', '2001:db8::5', trusted, '2001:db8::5'],
  ])('%s', (_, peer, forwarded, proxies, expected) => {
    expect(clientAddress(peer, forwarded, proxies)).toBe(expected);
  });

  it('keeps at most 64 characters of an unreadable entry', () => {
    const address = clientAddress('127.0.0.1', `${'x'.repeat(10_000)}`, trusted);
    expect(address).toBe(`unreadable "${'x'.repeat(64)}"`);
    expect(limitKey(address)).toBe(address);
  });

  it('in-process requests share one address; IPv6 clients are limited by their /64', () => {
    expect(clientAddress(undefined, '203.0.113.9', trusted)).toBe(IN_PROCESS);
    expect(limitKey('2001:db8:1:2:aaaa::1')).toBe(limitKey('2001:db8:1:2:bbbb::2'));
    expect(limitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(limitKey('2001:db8:1:3::1')).not.toBe(limitKey('2001:db8:1:2::1'));
    expect(limitKey('203.0.113.9')).toBe('203.0.113.9');
  });
});
