import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { dispatchDueDeliveries, WebhookDispatcher } from '../src/notices/webhook-dispatcher.ts';
import { AccordError } from '../src/errors.ts';
import { parseInput } from '../src/lib/validate.ts';
import { backoffMs, createWebhook, enqueueEvent, WebhookRequest } from '../src/notices/webhooks.ts';
import { dnsResolver, type ResolveHost } from '../src/outbound/dns-resolver.ts';
import { startTestService, type TestService } from './harness.ts';
import { dnsServer } from './outbound-helpers.ts';

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 (a stand-in for a subscriber's endpoint): answers `answer(hit)`, or holds the request while `answer` returns undefined. */
async function receiver(answer: (hit: Hit) => number | undefined = () => 204) {
  const hits: Hit[] = [];
  const held: Array<{ hit: Hit; res: http.ServerResponse; closed: boolean }> = [];
  const events: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const hit = { path: req.url!, headers: req.headers, body };
      hits.push(hit);
      const status = answer(hit);
      if (status !== undefined) return void res.writeHead(status, status >= 300 && status < 400 ? { Location: '/elsewhere' } : {}).end();
      const entry = { hit, res, closed: false };
      held.push(entry);
      res.on('close', () => {
        entry.closed = true;
        events.push(`closed ${hit.path}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    hits,
    held,
    events,
    port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    /** Answers every request held so far with `status`. */
    release: (status = 204) => {
      for (const h of held.splice(0)) if (!h.closed) h.res.writeHead(status).end();
    },
    close: () => {
      for (const h of held) h.res.destroy();
      server.close();
    },
  };
}

const SECRET = 'whsec-0123456789abcdef';
const json = (s: TestService, method: string, path: string, body: unknown, token?: string) => s.call(method, path, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
const count = async (s: TestService, sql: string, ...params: unknown[]) => (await s.deps.db.$sql.value(sql, [...params])) as number;
const deliveriesOf = async (s: TestService, id: string) => (await s.deps.db.$sql.all('SELECT status, attempts, last_status AS "lastStatus", last_error AS "lastError" FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at', [id])) as Array<{ status: string; attempts: number; lastStatus: number | null; lastError: string | null }>;
/** Inserts a subscription as if it had been registered before the address rules existed. */
async function insertWebhook(s: TestService, url: string, options: { partner?: string | null; events?: string[] } = {}): Promise<string> {
  const id = `whk_${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}00000000`;
  await s.deps.db.$sql.run('INSERT INTO webhooks (id, url, secret, events, partner, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)', [id, url, SECRET, JSON.stringify(options.events ?? ['notice.deprecation']), options.partner ?? null, '2026-01-01T00:00:00.000Z', 'before-upgrade']);
  return id;
}
/** Puts one event of `type` in the outbox of every subscription to it (partner subscriptions: those of `audience`). */
const emit = async (s: TestService, type: string, audience: string[] | 'all' = 'all') => await s.deps.db.transaction(async (tx) => await enqueueEvent(tx, s.deps.clock(), type, { audience }, audience));
const deprecate = (s: TestService, partner: string, version: string, sunset = '2027-12-31') => json(s, 'POST', `/v1/contracts/${partner}/p2p-exchange/versions/${version}/deprecation`, { sunset, reason: 'superseded' });

describe('webhook registration refuses destinations that are not public', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => await s.cleanup());

  const REFUSALS: Array<[url: string, message: string]> = [
    ['http://127.0.0.1:8080/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://2130706433/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://0x7f.1/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://0177.0.0.1/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://127.1/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://[::ffff:127.0.0.1]/hook', 'is a private address (127.0.0.1, loopback)'],
    ['http://[::1]/hook', 'is a private address (::1, loopback)'],
    ['http://0.0.0.0/hook', 'is a private address (0.0.0.0, unspecified)'],
    ['http://10.0.0.5/hook', 'is a private address (10.0.0.5, private)'],
    ['http://192.168.10.1/hook', 'is a private address (192.168.10.1, private)'],
    ['http://169.254.169.254/latest/meta-data/', 'is a private address (169.254.169.254, linkLocal)'],
    ['http://[fd00::1]/hook', 'is a private address (fd00::1, uniqueLocal)'],
    ['http://100.64.1.1/hook', 'is a private address (100.64.1.1, carrierGradeNat)'],
    ['http://localhost:8080/hook', 'is a loopback name (localhost)'],
    ['http://hooks.localhost/hook', 'is a loopback name (hooks.localhost)'],
    ['file:///etc/passwd', 'must be an http(s) URL, not file:'],
    ['gopher://hooks.partner.example/', 'must be an http(s) URL, not gopher:'],
    ['https://user:secret@hooks.partner.example/hook', 'must not carry credentials (user:password@); authenticate deliveries with the signing secret'],
  ];

  it('answers 422 problem+json naming the reason at /url, for admins and partners, and stores nothing', async () => {
    const partner = await s.token('partner', 'acme-payer');
    for (const [url, message] of REFUSALS) {
      for (const token of [undefined, partner]) {
        const res = await json(s, 'POST', '/v1/webhooks', { url, secret: SECRET, events: ['notice.deprecation'] }, token);
        expect(res.status, url).toBe(422);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect((await res.json()).errors, url).toEqual([{ location: '/url', message }]);
      }
    }
    expect(await count(s, 'SELECT count(*) FROM webhooks')).toBe(0);
  });

  it('refuses a URL longer than 2048 characters and a secret outside 16–256 characters with 422, storing nothing', async () => {
    const partner = await s.token('partner', 'acme-payer');
    const huge = `https://hooks.partner.example/${'a'.repeat(1024 * 1024)}`;
    const res = await json(s, 'POST', '/v1/webhooks', { url: huge, secret: 's'.repeat(257), events: ['notice.deprecation'] }, partner);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).errors).toEqual([
      { location: '/url', message: 'must be at most 2048 characters' },
      { location: '/secret', message: 'must be 16–256 characters (used to sign deliveries)' },
    ]);
    const longest = `http://127.0.0.1:9/${'a'.repeat(2048 - 'http://127.0.0.1:9/'.length)}`;
    const opted = await startTestService({ env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    try {
      expect((await json(opted, 'POST', '/v1/webhooks', { url: `${longest}a`, secret: SECRET, events: ['notice.deprecation'] })).status).toBe(422);
      expect((await json(opted, 'POST', '/v1/webhooks', { url: longest, secret: 's'.repeat(15), events: ['notice.deprecation'] })).status).toBe(422);
      expect(await count(opted, 'SELECT count(*) FROM webhooks')).toBe(0);
      expect((await json(opted, 'POST', '/v1/webhooks', { url: longest, secret: 's'.repeat(256), events: ['notice.deprecation'] })).status).toBe(201);
    } finally {
      await opted.cleanup();
    }
    expect(await count(s, 'SELECT count(*) FROM webhooks')).toBe(0);
  });

  it('lists every finding of a request of the wrong shape; a partner may subscribe to notice and change-request events only', async () => {
    const partnerEvents = 'notice.deprecation, notice.breaking-release, notice.sunset-reached, notice.synthetic-drift, notice.partner-drift, notice.webhook-disabled, notice.acknowledgement-requested, notice.change-unaffected, change.acknowledgement-requested';
    const all = `${partnerEvents}, release.recorded, gate.break-glass, matrix.break-glass, transaction.state-changed, transaction.step-failed, transaction.compensation-failed, transaction.reversal-event, transaction.recorded, transaction.compensation-awaiting-approval, transaction.compensation-approved, transaction.compensation-rejected, sla.page-owner, sla.open-ticket, sla.recovered, incident.opened, incident.closed`;
    const empty = await json(s, 'POST', '/v1/webhooks', {});
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({
      code: 'invalid_document',
      detail: 'Invalid webhook',
      errors: [
        { location: '/url', message: 'must be an http(s) URL' },
        { location: '/secret', message: 'must be 16–256 characters (used to sign deliveries)' },
        { location: '/events', message: `must list events: ${all}` },
      ],
    });
    const unknown = await json(s, 'POST', '/v1/webhooks', { url: 'https://93.184.215.14/in', secret: SECRET, events: ['notice.deprecation', 'bogus'] });
    expect((await unknown.json()).errors).toEqual([{ location: '/events/1', message: `must be one of ${all}` }]);
    const partner = await s.token('partner', 'acme-payer');
    const staffOnly = await json(s, 'POST', '/v1/webhooks', { url: 'https://93.184.215.14/in', secret: SECRET, events: ['notice.deprecation', 'release.recorded'] }, partner);
    expect(staffOnly.status).toBe(422);
    expect((await staffOnly.json()).errors).toEqual([
      { location: '/events/1', message: `must be one of ${partnerEvents}` },
    ]);
    expect((await json(s, 'POST', '/v1/webhooks', [])).status).toBe(400);
    expect(await count(s, 'SELECT count(*) FROM webhooks')).toBe(0);
  });

  it('resolves a host name: refused when any address is not public, accepted when it cannot be resolved now (every delivery checks it again)', async () => {
    const admin = { tokenId: 'tok_test', name: 'admin', role: 'admin' as const, partner: null };
    const input: WebhookRequest = { url: 'https://hooks.partner.example/in', secret: SECRET, events: ['notice.deprecation'] };
    const privateAnswer: ResolveHost = async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }];
    const refused = await createWebhook(s.deps, admin, input, { resolve: privateAnswer }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AccordError);
    expect((refused as AccordError).toProblem()).toMatchObject({ status: 422, errors: [{ location: '/url', message: 'resolves to a private address (10.0.0.5, private)' }] });
    // A partner learns that the name is refused, not what Accord's DNS says it is.
    const partner = { tokenId: 'tok_partner', name: 'acme', role: 'partner' as const, partner: 'acme-payer' };
    const refusedForPartner = await createWebhook(s.deps, partner, input, { resolve: privateAnswer }).catch((error: unknown) => error);
    expect((refusedForPartner as AccordError).toProblem()).toMatchObject({ status: 422, errors: [{ location: '/url', message: 'resolves to an address that is not public' }] });
    expect(await count(s, 'SELECT count(*) FROM webhooks')).toBe(0);
    const nxdomain: ResolveHost = async (name) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    };
    expect(await createWebhook(s.deps, admin, input, { resolve: nxdomain })).toMatchObject({ url: 'https://hooks.partner.example/in', disabledAt: null });
  });

  it('makes no DNS query for a registration refused for its other fields (a flood of bad requests cannot make Accord query names)', async () => {
    const partner = { tokenId: 'tok_partner', name: 'acme', role: 'partner' as const, partner: 'acme-payer' };
    const queried: string[] = [];
    const resolve: ResolveHost = async (name) => {
      queried.push(name);
      return [{ address: '93.184.215.14', family: 4 }];
    };
    // As the API does: the request's shape is checked before createWebhook runs.
    const register = async (input: unknown) => await createWebhook(s.deps, partner, parseInput(WebhookRequest, input, { detail: 'Invalid webhook' }), { resolve });
    const badSecret = await register({ url: 'https://a.partner.example/in', secret: 'short', events: ['notice.deprecation'] }).catch((e: unknown) => e);
    expect((badSecret as AccordError).toProblem().errors).toEqual([{ location: '/secret', message: 'must be 16–256 characters (used to sign deliveries)' }]);
    for (let i = 0; i < s.deps.config.webhooksPerOwner; i++) {
      await register({ url: 'https://93.184.215.14/in', secret: SECRET, events: ['notice.deprecation'] });
    }
    const full = await register({ url: 'https://b.partner.example/in', secret: SECRET, events: ['notice.deprecation'] }).catch((e: unknown) => e);
    expect((full as AccordError).toProblem().status).toBe(409);
    expect(queried).toEqual([]);
  });
});

describe('webhook delivery checks the destination again and shows failure classes only', () => {
  let s: TestService;
  let r: Awaited<ReturnType<typeof receiver>>;
  const logged: string[] = [];
  beforeAll(async () => {
    r = await receiver((hit) => (hit.path === '/redirect' ? 302 : hit.path === '/unavailable' ? 503 : 204));
    const sink = { write: (line: string) => void logged.push(line) };
    s = await startTestService({ seed: true, logger: pino({ level: 'warn' }, sink) });
  });
  afterAll(async () => {
    r.close();
    return await s.cleanup();
  });

  it('refuses at delivery a subscription whose name is loopback: the class is shown, the receiver never contacted', async () => {
    const id = await insertWebhook(s, `http://localhost:${r.port}/old-subscription`);
    expect((await deprecate(s, 'bluestem-mutual', '1.0.0')).status).toBe(201);
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    const log = await (await s.call('GET', `/v1/webhooks/${id}/deliveries`)).json();
    expect(log).toMatchObject([{ status: 'pending', attempts: 1, lastStatus: null, lastError: 'destination not allowed' }]);
    expect(r.hits).toEqual([]);
  });

  it('checks every address a name resolves to at delivery (DNS may change after registration)', async () => {
    const id = await insertWebhook(s, `http://hooks.partner.test:${r.port}/rebound`, { events: ['notice.breaking-release', 'notice.deprecation'] });
    const rebound: ResolveHost = async () => [{ address: '93.184.215.14', family: 4 }, { address: '127.0.0.1', family: 4 }];
    expect((await deprecate(s, 'northwind-health', '1.0.0')).status).toBe(201);
    await dispatchDueDeliveries(s.deps, { resolve: rebound });
    expect(await deliveriesOf(s, id)).toMatchObject([{ attempts: 1, lastError: 'destination not allowed' }]);
    expect(r.hits).toEqual([]);
  });

  it('shows "could not resolve host", "no connection or no answer in time", "HTTP 503" and "redirect not followed"; operators see the raw error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    // A refused connection is recorded when the attempt's budget is spent: a short budget keeps the test short.
    const allowPrivate = { ...s.deps, config: { ...s.deps.config, outboundAllowPrivate: true, webhookTimeoutMs: 1000 } };
    const unresolvable = await insertWebhook(s, 'https://hooks.partner.test/unresolvable', { events: ['notice.sunset-reached'] });
    const refused = await insertWebhook(s, `http://127.0.0.1:${closedPort}/refused`, { events: ['notice.sunset-reached'] });
    const unavailable = await insertWebhook(s, r.url('/unavailable'), { events: ['notice.sunset-reached'] });
    const redirect = await insertWebhook(s, r.url('/redirect'), { events: ['notice.sunset-reached'] });
    await s.deps.db.$sql.run("UPDATE deprecations SET sunset = '2026-01-01T00:00:00.000Z'");
    await (await import('../src/notices/notices.ts')).processSunsets(s.deps);
    const nxdomain: ResolveHost = async (name) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    };
    await dispatchDueDeliveries(allowPrivate, { resolve: nxdomain });
    const shown = async (id: string) => (await (await s.call('GET', `/v1/webhooks/${id}/deliveries`)).json()).map((d: { lastError: string; lastStatus: number | null }) => [d.lastError, d.lastStatus]);
    expect(await shown(unresolvable)).toEqual([['could not resolve host', null], ['could not resolve host', null]]);
    expect(await shown(refused)).toEqual([['no connection or no answer in time', null], ['no connection or no answer in time', null]]);
    expect(await shown(unavailable)).toEqual([['HTTP 503', 503], ['HTTP 503', 503]]);
    expect(await shown(redirect)).toEqual([['redirect not followed', 302], ['redirect not followed', 302]]);
    expect(r.hits.map((h) => h.path)).not.toContain('/elsewhere');
    expect(JSON.stringify(await (await s.call('GET', `/v1/webhooks/${refused}/deliveries`)).json())).not.toContain('ECONNREFUSED');
    expect(logged.some((line) => line.includes('ECONNREFUSED') && line.includes(refused))).toBe(true);
    expect(logged.some((line) => line.includes('ENOTFOUND') && line.includes(unresolvable))).toBe(true);
  });

  it('with ACCORD_OUTBOUND_ALLOW_PRIVATE=true the same loopback name is resolved and contacted', async () => {
    const opted = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    try {
      const res = await json(opted, 'POST', '/v1/webhooks', { url: `http://localhost:${r.port}/opted-in`, secret: SECRET, events: ['notice.deprecation'] });
      expect(res.status).toBe(201);
      expect((await deprecate(opted, 'bluestem-mutual', '1.0.0')).status).toBe(201);
      expect(await dispatchDueDeliveries(opted.deps)).toBe(1);
      expect(r.hits.filter((h) => h.path === '/opted-in')).toHaveLength(1);
      expect(await deliveriesOf(opted, (await res.json()).id)).toMatchObject([{ status: 'delivered', lastStatus: 204, lastError: null }]);
    } finally {
      await opted.cleanup();
    }
  });
});

describe('Standard Webhooks signatures', () => {
  let s: TestService;
  let r: Awaited<ReturnType<typeof receiver>>;
  // Near real time: the standardwebhooks library refuses timestamps more than five minutes off.
  let now = Date.now();
  const statuses = [503, 204];
  beforeAll(async () => {
    r = await receiver(() => statuses.shift() ?? 204);
    s = await startTestService({ seed: true, clock: () => new Date(now), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    r.close();
    return await s.cleanup();
  });

  it('signs every delivery so the standardwebhooks package verifies it (secret as raw UTF-8 bytes); webhook-id is the delivery id on every retry', async () => {
    const secret = 'clé-secrète-0123456789-ünïcode';
    const hook = await (await json(s, 'POST', '/v1/webhooks', { url: r.url('/signed'), secret, events: ['notice.deprecation'] })).json();
    expect((await deprecate(s, 'bluestem-mutual', '1.0.0')).status).toBe(201);
    await dispatchDueDeliveries(s.deps);
    now += backoffMs(1);
    await dispatchDueDeliveries(s.deps);
    expect(r.hits).toHaveLength(2);
    const [delivery] = await (await s.call('GET', `/v1/webhooks/${hook.id}/deliveries`)).json();
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2 });
    const verifier = new Webhook(new TextEncoder().encode(secret), { format: 'raw' });
    for (const hit of r.hits) {
      expect(hit.headers['webhook-id']).toBe(delivery.id);
      expect(hit.headers['accord-delivery']).toBe(delivery.id);
      expect(verifier.verify(hit.body, hit.headers as Record<string, string>)).toMatchObject({ type: 'notice.deprecation' });
      expect(() => verifier.verify(hit.body.replace('bluestem', 'bluestom'), hit.headers as Record<string, string>)).toThrow();
      expect(() => new Webhook(new TextEncoder().encode(`${secret}x`), { format: 'raw' }).verify(hit.body, hit.headers as Record<string, string>)).toThrow();
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hit.headers['accord-signature']))!;
      expect(t).toBe(hit.headers['webhook-timestamp']);
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${hit.body}`).digest('hex'));
    }
    expect(Number(r.hits[1]!.headers['webhook-timestamp'])).toBeGreaterThan(Number(r.hits[0]!.headers['webhook-timestamp']));
  });
});

describe('webhook isolation: a hanging subscriber holds up neither others nor the jobs loop', () => {
  let s: TestService;
  let slow: Awaited<ReturnType<typeof receiver>>;
  let healthy: Awaited<ReturnType<typeof receiver>>;
  let releaseSlow = false;
  let now = Date.parse('2026-11-27T12:00:00Z');
  const order: string[] = [];
  beforeAll(async () => {
    slow = await receiver((hit) => {
      order.push(`slow got ${JSON.parse(hit.body).data.version}`);
      return releaseSlow ? 204 : undefined;
    });
    healthy = await receiver((hit) => {
      order.push(`healthy got ${JSON.parse(hit.body).type}`);
      return 204;
    });
    s = await startTestService({
      seed: true,
      clock: () => new Date(now),
      // The attempt budget is far beyond the test: the slow endpoint hangs until the test releases it.
      env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_JOBS_INTERVAL_MS: '50', ACCORD_WEBHOOK_TIMEOUT_MS: '120000' },
    });
  });
  afterAll(async () => {
    slow.close();
    healthy.close();
    return await s.cleanup();
  });

  it('the healthy subscriber is delivered to and a sunset is processed while the slow one hangs; the slow one gets its events one at a time, in order', async () => {
    await json(s, 'POST', '/v1/webhooks', { url: slow.url('/slow'), secret: SECRET, events: ['notice.deprecation'] });
    await json(s, 'POST', '/v1/webhooks', { url: healthy.url('/healthy'), secret: SECRET, events: ['notice.sunset-reached'] });
    expect((await deprecate(s, 'bluestem-mutual', '1.0.0', '2027-03-31')).status).toBe(201);
    expect((await deprecate(s, 'northwind-health', '1.0.0', '2027-12-31')).status).toBe(201);
    const stopJobs = await s.startJobs();
    try {
      await vi.waitFor(() => expect(slow.held).toHaveLength(1), { timeout: 30_000, interval: 20 });
      now = Date.parse('2027-04-01T00:00:00Z');
      await vi.waitFor(() => expect(healthy.hits).toHaveLength(1), { timeout: 30_000, interval: 20 });
      expect(await count(s, "SELECT count(*) FROM contract_versions WHERE partner = 'bluestem-mutual' AND version = '1.0.0' AND state = 'retired'")).toBe(1);
      // Still hanging: the healthy delivery and the sunset did not wait for the slow attempt to end.
      expect(slow.held[0]!.closed).toBe(false);
      expect(slow.hits).toHaveLength(1);
      releaseSlow = true;
      slow.held[0]!.res.writeHead(204).end();
      await vi.waitFor(() => expect(slow.hits).toHaveLength(2), { timeout: 30_000, interval: 20 });
      expect(order).toEqual(['slow got 1.0.0', 'healthy got notice.sunset-reached', 'slow got 1.0.0']);
      expect(slow.hits.map((h) => JSON.parse(h.body).data.partner)).toEqual(['bluestem-mutual', 'northwind-health']);
    } finally {
      await stopJobs();
    }
  });
});

describe('cap of active webhook subscriptions per owner', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_WEBHOOKS_PER_OWNER: '2' } });
  });
  afterAll(async () => await s.cleanup());
  const register = (token?: string) => json(s, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', secret: SECRET, events: ['notice.deprecation'] }, token);

  it("counts a partner's own subscriptions and the staff's together; 409 problem+json beyond the cap, nothing stored", async () => {
    const acme = await s.token('partner', 'acme-payer');
    const acmeAgain = await s.token('partner', 'acme-payer');
    const other = await s.token('partner', 'other-payer');
    expect((await register(acme)).status).toBe(201);
    const second = await (await register(acmeAgain)).json();
    const third = await register(acme);
    expect(third.status).toBe(409);
    expect(third.headers.get('content-type')).toBe('application/problem+json');
    expect((await third.json()).detail).toBe('acme-payer already holds 2 active webhook subscriptions, the most allowed (ACCORD_WEBHOOKS_PER_OWNER=2); delete one first');
    expect(await count(s, "SELECT count(*) FROM webhooks WHERE partner = 'acme-payer'")).toBe(2);
    expect((await register(other)).status).toBe(201);
    expect((await register()).status).toBe(201);
    expect((await register(await s.token('admin'))).status).toBe(201);
    const staff = await register();
    expect(staff.status).toBe(409);
    expect((await staff.json()).detail).toMatch(/^The staff already hold 2 active webhook subscriptions/);
    expect((await s.call('DELETE', `/v1/webhooks/${second.id}`, { token: acme })).status).toBe(204);
    expect((await register(acme)).status).toBe(201);
  });
});

describe('automatic disabling after sustained failure', () => {
  let s: TestService;
  let r: Awaited<ReturnType<typeof receiver>>;
  let now = Date.parse('2026-11-27T12:00:00Z');
  let answer = 503;
  beforeAll(async () => {
    r = await receiver(() => answer);
    s = await startTestService({ seed: true, clock: () => new Date(now), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_WEBHOOK_DISABLE_FAILURES: '3', ACCORD_WEBHOOK_DISABLE_AFTER: 'PT1H' } });
  });
  afterAll(async () => {
    r.close();
    return await s.cleanup();
  });
  afterEach(() => {
    answer = 503;
  });
  const retry = async (attempt: number) => {
    now += backoffMs(attempt);
    return await dispatchDueDeliveries(s.deps);
  };

  it('a success ends the failure streak', async () => {
    const hook = await (await json(s, 'POST', '/v1/webhooks', { url: r.url('/flaky'), secret: SECRET, events: ['notice.synthetic-drift'] })).json();
    const { publishNotice } = await import('../src/notices/notices.ts');
    await s.deps.db.transaction(async (tx) => await publishNotice(tx, s.deps, { kind: 'synthetic-drift', partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', title: 'drift', body: 'drift' }));
    await dispatchDueDeliveries(s.deps);
    await retry(1);
    expect(await (await s.call('GET', `/v1/webhooks/${hook.id}`)).json()).toMatchObject({ consecutiveFailures: 2, failingSince: expect.any(String), disabledAt: null });
    answer = 204;
    await retry(2);
    expect(await (await s.call('GET', `/v1/webhooks/${hook.id}`)).json()).toMatchObject({ consecutiveFailures: 0, failingSince: null, disabledAt: null });
    expect((await s.call('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(204);
  });

  it('disables after N failures in a row over at least the window, cancels pending deliveries and tells the owner; the owner re-enables it', async () => {
    const bluestem = await s.token('partner', 'bluestem-mutual');
    const northwind = await s.token('partner', 'northwind-health');
    const hook = await (await json(s, 'POST', '/v1/webhooks', { url: r.url('/dead'), secret: SECRET, events: ['notice.deprecation'] }, bluestem)).json();
    expect((await deprecate(s, 'bluestem-mutual', '1.0.0')).status).toBe(201);
    await dispatchDueDeliveries(s.deps);
    await retry(1);
    await retry(2);
    // three failures in a row, but within the hour: still active
    expect(await (await s.call('GET', `/v1/webhooks/${hook.id}`, { token: bluestem })).json()).toMatchObject({ consecutiveFailures: 3, disabledAt: null });
    now += 3_600_000;
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    const [view] = await (await s.call('GET', '/v1/webhooks', { token: bluestem })).json();
    expect(view).toMatchObject({ id: hook.id, disabledAt: new Date(now).toISOString(), disabledReason: expect.stringMatching(/^every delivery attempt failed since .* \(4 in a row, the last: HTTP 503\)$/) });
    expect((await deliveriesOf(s, hook.id)).map((d) => d.status)).toEqual(['cancelled']);

    const notices = await (await s.call('GET', '/v1/notices', { token: bluestem })).json();
    const notice = notices.find((n: { kind: string }) => n.kind === 'webhook-disabled');
    expect(notice).toMatchObject({ partner: 'bluestem-mutual', api: 'webhooks', version: hook.id, audience: ['bluestem-mutual'], title: `Webhook ${hook.id} was disabled` });
    expect(notice.body).toContain(`POST /v1/webhooks/${hook.id}/enable`);
    expect((await (await s.call('GET', '/v1/notices', { token: northwind })).json()).some((n: { kind: string }) => n.kind === 'webhook-disabled')).toBe(false);
    expect(await (await s.call('GET', '/v1/notices.atom', { token: bluestem })).text()).toMatch(new RegExp(`<link rel="related" href="[^"]*/v1/webhooks/${hook.id}"/>`));
    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    expect(audit.some((a: { action: string; target: string }) => a.action === 'webhook.disabled' && a.target === hook.id)).toBe(true);

    // a disabled subscription gets no new deliveries
    expect((await deprecate(s, 'bluestem-mutual', '1.1.0')).status).toBe(201);
    expect(await deliveriesOf(s, hook.id)).toHaveLength(1);
    expect(await dispatchDueDeliveries(s.deps)).toBe(0);

    expect((await s.call('POST', `/v1/webhooks/${hook.id}/enable`, { token: northwind })).status).toBe(404);
    const enabled = await s.call('POST', `/v1/webhooks/${hook.id}/enable`, { token: bluestem });
    expect(enabled.status).toBe(200);
    expect(await enabled.json()).toMatchObject({ disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null });
    answer = 204;
    expect((await deprecate(s, 'northwind-health', '1.1.0')).status).toBe(201);
    await dispatchDueDeliveries(s.deps);
    expect((await deliveriesOf(s, hook.id)).map((d) => d.status)).toEqual(['cancelled', 'delivered']);
  });
});

describe('upgrade: subscriptions to destinations no longer allowed are disabled at start', () => {
  it('disables them with a notice to the owner (staff only for an admin subscription), idempotently, unless an opt-in allows them', async () => {
    const first = await startTestService();
    const dir = first.dir;
    const loopback = await insertWebhook(first, 'http://127.0.0.1:9/hook', { partner: 'acme-payer' });
    const decimal = await insertWebhook(first, 'http://2130706433/hook', { partner: 'acme-payer' });
    const credentials = await insertWebhook(first, 'https://user:pw@hooks.partner.example/hook', { partner: 'acme-payer' });
    const staffLocalhost = await insertWebhook(first, 'http://localhost:8080/hook');
    const named = await insertWebhook(first, 'https://hooks.partner.example/hook', { partner: 'acme-payer' });
    const huge = await insertWebhook(first, `https://hooks.partner.example/${'a'.repeat(1024 * 1024)}`, { partner: 'acme-payer' });
    await first.close();

    const optedIn = await startTestService({ dir, env: { ACCORD_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8' } });
    const active = async () => (await optedIn.deps.db.$sql.column('SELECT id FROM webhooks WHERE disabled_at IS NULL ORDER BY id')) as string[];
    // the CIDR opt-in keeps the loopback address literals; localhost names and credentials are not allowed by it
    expect(await active()).toEqual([loopback, decimal, named].sort());
    await optedIn.close();

    const upgraded = await startTestService({ dir });
    try {
      const acme = await upgraded.token('partner', 'acme-payer');
      const views = await (await upgraded.call('GET', '/v1/webhooks', { token: acme })).json();
      const byId = Object.fromEntries(views.map((v: { id: string }) => [v.id, v]));
      expect(byId[loopback]).toMatchObject({ disabledAt: expect.any(String), disabledReason: expect.stringMatching(/^the URL is a private address \(127\.0\.0\.1, loopback\); outbound calls reach public addresses only/) });
      expect(byId[decimal].disabledReason).toMatch(/^the URL is a private address \(127\.0\.0\.1, loopback\)/);
      expect(byId[credentials].disabledReason).toMatch(/^the URL must not carry credentials/);
      expect(byId[huge].disabledReason).toMatch(/^the URL must be at most 2048 characters/);
      expect(byId[named]).toMatchObject({ disabledAt: null, disabledReason: null });
      expect((await (await upgraded.call('GET', `/v1/webhooks/${staffLocalhost}`)).json()).disabledReason).toMatch(/^the URL is a loopback name \(localhost\)/);

      const partnerNotices = (await (await upgraded.call('GET', '/v1/notices', { token: acme })).json()).filter((n: { kind: string }) => n.kind === 'webhook-disabled');
      expect(partnerNotices.map((n: { title: string }) => n.title).sort()).toEqual([loopback, decimal, credentials, huge].map((id) => `Webhook ${id} was disabled`).sort());
      // The notice quotes at most 2048 characters of a URL stored before URLs were bounded.
      expect(partnerNotices.find((n: { title: string }) => n.title.includes(huge)).body.length).toBeLessThan(2600);
      const staffNotices = (await (await upgraded.call('GET', '/v1/notices')).json()).filter((n: { kind: string }) => n.kind === 'webhook-disabled');
      expect(staffNotices.find((n: { title: string }) => n.title.includes(staffLocalhost))).toMatchObject({ partner: '', audience: [] });
      expect(staffNotices).toHaveLength(5);
    } finally {
      await upgraded.close();
    }

    const again = await startTestService({ dir });
    try {
      expect(await count(again, "SELECT count(*) FROM notices WHERE kind = 'webhook-disabled'")).toBe(5);
      expect(await count(again, 'SELECT count(*) FROM webhooks WHERE disabled_at IS NULL')).toBe(1);
    } finally {
      await again.cleanup();
    }
  });
});

describe('delivery slots are shared fairly between owners', () => {
  const services: TestService[] = [];
  let hostile: Awaited<ReturnType<typeof receiver>>;
  let honest: Awaited<ReturnType<typeof receiver>>;
  let hanging = true;
  let now = Date.parse('2026-11-27T12:00:00Z');
  beforeAll(async () => {
    hostile = await receiver(() => (hanging ? undefined : 204));
    honest = await receiver(() => 204);
  });
  afterAll(async () => {
    hostile.close();
    honest.close();
    for (const s of services) await s.cleanup();
  });
  /** Ends the test's hanging attempts: those held are answered, and any still on their way will be. */
  const stopHanging = async (dispatcher: WebhookDispatcher) => {
    hanging = false;
    hostile.release();
    await dispatcher.stop();
    hanging = true;
  };
  /** A service whose attempts hang until the test releases them (the budget is far beyond the test). */
  const service = async (env: Record<string, string> = {}) => {
    const s = await startTestService({ clock: () => new Date(now), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_WEBHOOK_TIMEOUT_MS: '120000', ...env } });
    services.push(s);
    return s;
  };
  const subscribe = async (s: TestService, partner: string, url: string) => {
    const res = await json(s, 'POST', '/v1/webhooks', { url, secret: SECRET, events: ['notice.deprecation'] }, await s.token('partner', partner));
    expect(res.status).toBe(201);
    return (await res.json()).id as string;
  };
  /** Two owners whose every subscription hangs, their events older than the honest owner's one. */
  const hostileOwnersAndOneHonest = async (s: TestService, subscriptionsEach: number) => {
    for (const partner of ['acme-payer', 'other-payer']) {
      for (let i = 0; i < subscriptionsEach; i++) await subscribe(s, partner, hostile.url(`/${partner}/${i}`));
    }
    const honestHook = await subscribe(s, 'bluestem-mutual', honest.url('/bluestem'));
    await emit(s, 'notice.deprecation', ['acme-payer', 'other-payer']);
    now += 1000;
    await emit(s, 'notice.deprecation', ['bluestem-mutual']);
    return { honestHook, honestDelivery: (await s.deps.db.$sql.value('SELECT id FROM webhook_deliveries WHERE webhook_id = ?', [honestHook])) as string };
  };
  const heldBy = (partner: string) => hostile.held.filter((h) => h.hit.path.startsWith(`/${partner}/`)).length;

  it('two owners with ten hanging subscriptions each cannot take every slot: a third owner is delivered to while they hang', async () => {
    const s = await service();
    const { honestHook, honestDelivery } = await hostileOwnersAndOneHonest(s, 10);
    const dispatcher = new WebhookDispatcher(s.deps);
    try {
      const started = await dispatcher.fill();
      expect(started).toContain(honestDelivery);
      await vi.waitFor(async () => expect(await deliveriesOf(s, honestHook)).toMatchObject([{ status: 'delivered', lastStatus: 204 }]), { timeout: 10_000, interval: 10 });
      await vi.waitFor(() => expect(hostile.held).toHaveLength(started.length - 1), { timeout: 10_000, interval: 10 });
      // Three owners hold subscriptions: each may have floor(16 / 3) = 5 attempts in flight.
      expect([heldBy('acme-payer'), heldBy('other-payer')]).toEqual([5, 5]);
      expect(hostile.held.every((h) => !h.closed)).toBe(true);
      expect(await dispatcher.fill()).toEqual([]);
    } finally {
      await stopHanging(dispatcher);
    }
  });

  it('a freed slot goes to the owner with the fewest attempts in flight, then to the one served least recently, not to the oldest retry', async () => {
    const s = await service({ ACCORD_WEBHOOK_CONCURRENCY: '2' });
    const { honestDelivery } = await hostileOwnersAndOneHonest(s, 3);
    const dispatcher = new WebhookDispatcher(s.deps);
    try {
      expect(await dispatcher.fill()).toHaveLength(2);
      await vi.waitFor(() => expect(hostile.held).toHaveLength(2), { timeout: 10_000, interval: 10 });
      expect([heldBy('acme-payer'), heldBy('other-payer')]).toEqual([1, 1]);
      const acme = hostile.held.find((h) => h.hit.path.startsWith('/acme-payer/'))!;
      acme.res.writeHead(204).end();
      await dispatcher.nextSettled();
      // acme-payer has nothing in flight now, like bluestem-mutual, but was served more recently; other-payer is at its share.
      expect(await dispatcher.fill()).toEqual([honestDelivery]);
      await vi.waitFor(() => expect(honest.hits.map((h) => h.path)).toEqual(['/bluestem']), { timeout: 10_000, interval: 10 });
    } finally {
      await stopHanging(dispatcher);
    }
  });
});

describe('subscribers whose name server never answers', () => {
  let s: TestService;
  let r: Awaited<ReturnType<typeof receiver>>;
  let dns: Awaited<ReturnType<typeof dnsServer>>;
  beforeAll(async () => {
    r = await receiver(() => 204);
    dns = await dnsServer({ 'hooks.bluestem.test': ['127.0.0.1'] }, (name) => name.startsWith('stall-'));
    s = await startTestService({ env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_WEBHOOK_TIMEOUT_MS: '120000' } });
  });
  afterAll(async () => {
    r.close();
    await dns.close();
    await s.cleanup();
  });

  it('hold up neither an honest subscriber nor each other: its delivery goes out while their lookups hang', async () => {
    const hostileHooks = await Promise.all(Array.from({ length: 8 }, async (_, i) => await insertWebhook(s, `http://stall-${i}.acme.test/hook`, { partner: 'acme-payer' })));
    const honestHook = await insertWebhook(s, `http://hooks.bluestem.test:${r.port}/hook`, { partner: 'bluestem-mutual' });
    await emit(s, 'notice.deprecation', ['acme-payer', 'bluestem-mutual']);
    const giveUp = new AbortController();
    const resolver = dnsResolver({ servers: [dns.server] });
    // The test ends the hanging lookups itself instead of waiting out their budget.
    const resolve: ResolveHost = (name, options) => resolver(name, { ...options, signal: AbortSignal.any([options.signal, giveUp.signal]) });
    const dispatcher = new WebhookDispatcher(s.deps, { resolve });
    try {
      expect(await dispatcher.fill()).toHaveLength(9);
      await vi.waitFor(async () => expect(await deliveriesOf(s, honestHook)).toMatchObject([{ status: 'delivered', lastStatus: 204 }]), { timeout: 10_000, interval: 10 });
      await vi.waitFor(() => expect(new Set(dns.queries.filter((q) => q.name.startsWith('stall-')).map((q) => q.name)).size).toBe(8), { timeout: 10_000, interval: 10 });
      expect(r.hits.map((h) => h.path)).toEqual(['/hook']);
      expect(dispatcher.inFlight).toBe(8);
      for (const id of hostileHooks) expect(await deliveriesOf(s, id)).toMatchObject([{ status: 'pending', attempts: 0 }]);
    } finally {
      giveUp.abort();
      await dispatcher.stop();
    }
    for (const id of hostileHooks) expect(await deliveriesOf(s, id)).toMatchObject([{ status: 'pending', attempts: 1, lastError: 'could not resolve host' }]);
  });
});

describe("a delivery log does not tell how a connection failed", () => {
  let s: TestService;
  let silent: Awaited<ReturnType<typeof receiver>>;
  let slowThenFailing: Awaited<ReturnType<typeof receiver>>;
  let closedPort: number;
  let now = Date.parse('2026-11-27T12:00:00Z');
  const BUDGET_MS = 1000;
  beforeAll(async () => {
    silent = await receiver(() => undefined);
    // Answers 503 thirty (fake) seconds after the request arrived.
    slowThenFailing = await receiver(() => {
      now += 30_000;
      return 503;
    });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    s = await startTestService({ clock: () => new Date(now), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true', ACCORD_WEBHOOK_TIMEOUT_MS: String(BUDGET_MS) } });
  });
  afterAll(async () => {
    silent.close();
    slowThenFailing.close();
    return await s.cleanup();
  });
  const subscribe = async (url: string, event: string) => (await (await json(s, 'POST', '/v1/webhooks', { url, secret: SECRET, events: [event] })).json()).id as string;
  const log = async (id: string) => (await s.call('GET', `/v1/webhooks/${id}/deliveries`)).json();

  it('a refused connection is recorded when the budget is spent, like a silent endpoint, and both logs read the same', async () => {
    const refused = await subscribe(`http://127.0.0.1:${closedPort}/refused`, 'release.recorded');
    const hanging = await subscribe(silent.url('/silent'), 'gate.break-glass');
    await emit(s, 'release.recorded');
    const startedAt = performance.now();
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    // A refused connection fails within milliseconds; its attempt still takes the whole budget.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(BUDGET_MS);
    await emit(s, 'gate.break-glass');
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    expect(silent.held).toHaveLength(1);
    const [refusedLog, hangingLog] = [await log(refused), await log(hanging)];
    const entry = { status: 'pending', attempts: 1, lastStatus: null, lastError: 'no connection or no answer in time', deliveredAt: null };
    expect(refusedLog).toMatchObject([{ ...entry, eventType: 'release.recorded' }]);
    expect(hangingLog).toMatchObject([{ ...entry, eventType: 'gate.break-glass' }]);
    // What the owner needs, not Accord's lease on the delivery nor its retry time.
    for (const shown of [refusedLog[0], hangingLog[0]]) expect(Object.keys(shown).sort()).toEqual(['attempts', 'createdAt', 'deliveredAt', 'eventId', 'eventType', 'id', 'lastError', 'lastStatus', 'payload', 'status']);
    for (const id of [refused, hanging]) expect((await s.call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
  });

  it('the next attempt is scheduled from the start of the failed one, whatever the failure took', async () => {
    const hook = await subscribe(slowThenFailing.url('/slow-503'), 'sla.page-owner');
    await emit(s, 'sla.page-owner');
    const startedAt = now;
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    expect(now).toBe(startedAt + 30_000);
    expect(await log(hook)).toMatchObject([{ status: 'pending', attempts: 1, lastStatus: 503 }]);
    // Due at start + 1 s, long past: a backoff counted from the end would make it due only at start + 31 s.
    expect(await dispatchDueDeliveries(s.deps)).toBe(1);
    expect(slowThenFailing.hits).toHaveLength(2);
  });
});
