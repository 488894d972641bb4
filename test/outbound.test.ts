import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { checkDestination, checkUrl, outboundPolicy } from '../src/outbound/address-policy.ts';
import { dnsResolver, type ResolveHost } from '../src/outbound/dns-resolver.ts';
import { sendOutbound } from '../src/outbound/http-client.ts';
import { dnsServer, holdThreadPool } from './outbound-helpers.ts';

/** The policy the settings give (parsed by loadConfig, as at start-up). */
const policy = (env: Record<string, string> = {}) => outboundPolicy(loadConfig({ ACCORD_DATA_DIR: '/tmp/accord-outbound-unused', ...env }));
const DEFAULT = policy();
const ALLOW_PRIVATE = policy({ ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' });

/** Every spelling of a non-public destination: the URL, the address it is classified as, and ipaddr.js's range. */
const REFUSED: Array<[url: string, address: string, range: string]> = [
  ['http://127.0.0.1/', '127.0.0.1', 'loopback'],
  ['http://127.0.0.1./hook', '127.0.0.1', 'loopback'],
  ['http://2130706433/', '127.0.0.1', 'loopback'],
  ['http://0x7f.1/', '127.0.0.1', 'loopback'],
  ['http://0x7f000001/', '127.0.0.1', 'loopback'],
  ['http://0177.0.0.1/', '127.0.0.1', 'loopback'],
  ['http://017700000001/', '127.0.0.1', 'loopback'],
  ['http://127.1/', '127.0.0.1', 'loopback'],
  ['https://127.0.0.53:8443/x', '127.0.0.53', 'loopback'],
  ['http://[::1]/', '::1', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', '127.0.0.1', 'loopback'],
  ['http://[::ffff:7f00:1]/', '127.0.0.1', 'loopback'],
  ['http://[::ffff:10.0.0.5]/', '10.0.0.5', 'private'],
  ['http://0.0.0.0/', '0.0.0.0', 'unspecified'],
  ['http://0/', '0.0.0.0', 'unspecified'],
  ['http://[::]/', '::', 'unspecified'],
  ['http://10.0.0.5/', '10.0.0.5', 'private'],
  ['http://172.16.3.4/', '172.16.3.4', 'private'],
  ['http://172.31.255.255/', '172.31.255.255', 'private'],
  ['http://192.168.1.1/', '192.168.1.1', 'private'],
  ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'linkLocal'],
  ['http://[fe80::1]/', 'fe80::1', 'linkLocal'],
  ['http://[fd00::1]/', 'fd00::1', 'uniqueLocal'],
  ['http://[fc00::1]/', 'fc00::1', 'uniqueLocal'],
  ['http://[fd00:ec2::254]/', 'fd00:ec2::254', 'uniqueLocal'],
  ['http://100.64.0.1/', '100.64.0.1', 'carrierGradeNat'],
  ['http://224.0.0.1/', '224.0.0.1', 'multicast'],
  ['http://[ff02::1]/', 'ff02::1', 'multicast'],
  ['http://255.255.255.255/', '255.255.255.255', 'broadcast'],
  ['http://240.0.0.1/', '240.0.0.1', 'reserved'],
  ['http://192.0.2.10/', '192.0.2.10', 'reserved'],
  ['http://[64:ff9b::a00:5]/', '10.0.0.5', 'private'],
  ['http://[64:ff9b::7f00:1]/', '127.0.0.1', 'loopback'],
  ['http://[2002:7f00:1::]/', '2002:7f00:1::', '6to4'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  // IPv4-compatible (::/96, deprecated) and the rest of the IETF-reserved ::/8, which ipaddr.js calls unicast.
  ['http://[::127.0.0.1]/', '::7f00:1', 'reserved'],
  ['http://[::7f00:1]/', '::7f00:1', 'reserved'],
  ['http://[::a9fe:a9fe]/', '::a9fe:a9fe', 'reserved'],
  ['http://[::8.8.8.8]/', '::808:808', 'reserved'],
  ['http://[::1:0:0:1]/', '::1:0:0:1', 'reserved'],
  // Outside 2000::/3 nothing is allocated for global unicast.
  ['http://[4000::1]/', '4000::1', 'reserved'],
  ['http://[1::1]/', '1::1', 'reserved'],
];

const PUBLIC = ['https://93.184.215.14/hook', 'http://8.8.8.8:8080/', 'http://134744072/', 'https://[2606:4700:4700::1111]/', 'http://[::ffff:8.8.8.8]/', 'http://[64:ff9b::808:808]/', 'https://hooks.partner.example/accord'];

describe('outbound address policy: URLs', () => {
  for (const [url, address, range] of REFUSED) {
    it(`refuses ${url} (${address}, ${range}) unless an opt-in allows it`, () => {
      expect(checkUrl(url, DEFAULT)).toEqual({ ok: false, reason: `is a private address (${address}, ${range})` });
      expect(checkUrl(url, ALLOW_PRIVATE).ok).toBe(true);
      const cidr = address.includes(':') ? `${address}/128` : `${address}/32`;
      expect(checkUrl(url, policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: cidr })).ok, `allowed by ${cidr}`).toBe(true);
      expect(checkUrl(url, policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: address.includes(':') ? '2001:db8:ffff::/48' : '198.51.100.0/24' })).ok, 'another range does not allow it').toBe(false);
    });
  }

  it('allows public addresses in every spelling, and names (checked after resolution)', () => {
    for (const url of PUBLIC) expect(checkUrl(url, DEFAULT).ok, url).toBe(true);
    expect(checkUrl('http://134744072/', DEFAULT)).toMatchObject({ ok: true, address: { classified: '8.8.8.8', range: 'unicast' } });
    expect(checkUrl('https://hooks.partner.example/accord', DEFAULT)).toMatchObject({ ok: true, name: 'hooks.partner.example' });
  });

  it('a CIDR allow-list lets exactly its ranges through (IPv4-mapped addresses count as their IPv4 address)', () => {
    const tenNet = policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: '10.0.0.0/8, fd00:1234::/32' });
    expect(checkUrl('http://10.20.30.40/', tenNet).ok).toBe(true);
    expect(checkUrl('http://[::ffff:10.0.0.5]/', tenNet).ok).toBe(true);
    expect(checkUrl('http://[fd00:1234::5]/', tenNet).ok).toBe(true);
    expect(checkUrl('http://[fd00:1235::5]/', tenNet).ok).toBe(false);
    expect(checkUrl('http://192.168.0.1/', tenNet).ok).toBe(false);
    expect(checkUrl('http://127.0.0.1/', tenNet).ok).toBe(false);
  });

  it('localhost and every name under it are loopback, whatever DNS says; only ACCORD_OUTBOUND_ALLOW_PRIVATE allows them', () => {
    for (const url of ['http://localhost/', 'http://LOCALHOST./hook', 'http://api.localhost:8080/', 'https://a.b.localhost/']) {
      expect(checkUrl(url, DEFAULT), url).toMatchObject({ ok: false, reason: expect.stringMatching(/^is a loopback name \(.*localhost\.?\)$/) });
      expect(checkUrl(url, policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8' })).ok, url).toBe(false);
      expect(checkUrl(url, ALLOW_PRIVATE).ok, url).toBe(true);
    }
    expect(checkUrl('http://localhost.example.com/', DEFAULT).ok).toBe(true);
  });

  it('refuses a URL longer than 2048 characters, as given or once normalised', () => {
    const base = 'https://hooks.partner.example/';
    expect(checkUrl(base + 'a'.repeat(2048 - base.length), DEFAULT).ok).toBe(true);
    expect(checkUrl(base + 'a'.repeat(2049 - base.length), ALLOW_PRIVATE)).toEqual({ ok: false, reason: 'must be at most 2048 characters' });
    expect(checkUrl(base + 'a'.repeat(1024 * 1024), ALLOW_PRIVATE)).toEqual({ ok: false, reason: 'must be at most 2048 characters' });
    // Each of these becomes %C3%A9 (6 characters) in the URL Accord would store and send.
    expect(checkUrl(base + 'é'.repeat(400), DEFAULT)).toEqual({ ok: false, reason: 'must be at most 2048 characters' });
  });

  it('refuses other schemes, credentials and non-URLs, even with every opt-in', () => {
    for (const url of ['file:///etc/passwd', 'ftp://files.example.com/', 'gopher://example.com/', 'javascript:alert(1)', 'data:text/plain,hi', 'ws://example.com/']) {
      expect(checkUrl(url, ALLOW_PRIVATE), url).toMatchObject({ ok: false, reason: expect.stringMatching(/^must be an http\(s\) URL, not [a-z]+:$/) });
    }
    for (const url of ['http://user:secret@hooks.partner.example/', 'https://user@hooks.partner.example/', 'http://:pw@127.0.0.1/']) {
      expect(checkUrl(url, ALLOW_PRIVATE), url).toMatchObject({ ok: false, reason: expect.stringContaining('must not carry credentials') });
    }
    for (const url of ['not a url', '/relative/path', 'http://', 'http://[::1/']) expect(checkUrl(url, ALLOW_PRIVATE), url).toEqual({ ok: false, reason: 'must be an http(s) URL' });
  });
});

describe('outbound address policy: every resolved address is checked', () => {
  const answers = (...addresses: string[]): ResolveHost => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses a name when any address it resolves to is not allowed, naming that address', async () => {
    const check = await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers('93.184.215.14', '10.0.0.5'), timeoutMs: 1000 });
    expect(check).toEqual({ ok: false, failure: 'not-allowed', reason: 'resolves to a private address (10.0.0.5, private)' });
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers('2606:4700::1', '::ffff:169.254.169.254'), timeoutMs: 1000 })).toMatchObject({ reason: 'resolves to a private address (169.254.169.254, linkLocal)' });
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers('fd00::7'), timeoutMs: 1000 })).toMatchObject({ reason: 'resolves to a private address (fd00::7, uniqueLocal)' });
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers('2606:4700::1', '::7f00:1'), timeoutMs: 1000 })).toMatchObject({ reason: 'resolves to a private address (::7f00:1, reserved)' });
  });

  it('accepts a name whose addresses are all allowed, and returns them to connect to', async () => {
    const check = await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers('93.184.215.14', '2606:4700::1'), timeoutMs: 1000 });
    expect(check).toMatchObject({ ok: true, addresses: [{ address: '93.184.215.14', range: 'unicast' }, { address: '2606:4700::1', range: 'unicast' }] });
    expect((await checkDestination('http://hooks.internal.example/', policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: '10.20.0.0/16' }), { resolve: answers('10.20.1.2'), timeoutMs: 1000 })).ok).toBe(true);
  });

  it('a name that does not resolve, resolves to nothing or whose resolver never answers is "unresolved"', async () => {
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.partner.example'), { code: 'ENOTFOUND' });
    };
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: failing, timeoutMs: 1000 })).toMatchObject({ ok: false, failure: 'unresolved' });
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: answers(), timeoutMs: 1000 })).toMatchObject({ ok: false, failure: 'unresolved' });
    const silent: ResolveHost = () => new Promise(() => {});
    expect(await checkDestination('https://hooks.partner.example/', DEFAULT, { resolve: silent, timeoutMs: 20 })).toMatchObject({ ok: false, failure: 'unresolved' });
  });

  it('never asks the resolver about an address literal or a refused URL', async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (name) => {
      asked.push(name);
      return [{ address: '93.184.215.14', family: 4 }];
    };
    await checkDestination('http://2130706433/', DEFAULT, { resolve, timeoutMs: 1000 });
    await checkDestination('http://localhost/', DEFAULT, { resolve, timeoutMs: 1000 });
    await checkDestination('http://8.8.8.8/', DEFAULT, { resolve, timeoutMs: 1000 });
    expect(asked).toEqual([]);
  });
});

describe('outbound HTTP client (real sockets on 127.0.0.1)', () => {
  const hits: Array<{ url: string; host: string | undefined; body: string }> = [];
  const held: http.ServerResponse[] = [];
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        hits.push({ url: req.url!, host: req.headers.host, body });
        if (req.url === '/redirect') res.writeHead(302, { Location: '/elsewhere' }).end();
        else if (req.url === '/large') res.writeHead(200).end('x'.repeat(1024 * 1024));
        else if (req.url === '/hang') held.push(res);
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    for (const res of held) res.destroy();
    server.close();
  });
  const loopbackOnly = policy({ ACCORD_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8' });
  const toLoopback: ResolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
  const post = (url: string, p = loopbackOnly, resolve?: ResolveHost, timeoutMs = 10_000) => sendOutbound(p, { url, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"ping":true}', timeoutMs }, { resolve });

  it('connects to the validated address: a name only the injected resolver knows is reached, with its Host header kept', async () => {
    // hooks.partner.test exists nowhere (.test is reserved): a second, system lookup could not reach the receiver.
    const result = await post(`http://hooks.partner.test:${port}/pinned`, loopbackOnly, toLoopback);
    expect(result).toMatchObject({ outcome: 'response', status: 204, address: '127.0.0.1' });
    expect(hits.at(-1)).toEqual({ url: '/pinned', host: `hooks.partner.test:${port}`, body: '{"ping":true}' });
  });

  it('never contacts a destination the policy refuses, before or after resolution', async () => {
    const before = hits.length;
    expect(await post(`http://127.0.0.1:${port}/direct`, DEFAULT)).toMatchObject({ outcome: 'failed', failure: 'not-allowed' });
    expect(await post(`http://hooks.partner.test:${port}/resolved`, DEFAULT, toLoopback)).toMatchObject({ outcome: 'failed', failure: 'not-allowed', error: 'resolves to a private address (127.0.0.1, loopback)' });
    expect(await post(`http://localhost:${port}/named`, DEFAULT)).toMatchObject({ outcome: 'failed', failure: 'not-allowed' });
    expect(hits.length).toBe(before);
  });

  it('returns a redirect without following it', async () => {
    expect(await post(`http://127.0.0.1:${port}/redirect`)).toMatchObject({ outcome: 'response', status: 302 });
    expect(hits.map((h) => h.url)).not.toContain('/elsewhere');
  });

  it('reads at most a few KB of the answer', async () => {
    const result = await post(`http://127.0.0.1:${port}/large`);
    expect(result).toMatchObject({ outcome: 'response', status: 200 });
    expect(result.outcome === 'response' && result.body.length).toBe(4096);
  });

  it('a refused connection and an endpoint that never answers fail with the same class (no port scanning)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await post(`http://127.0.0.1:${closedPort}/`);
    const silent = await post(`http://127.0.0.1:${port}/hang`, loopbackOnly, undefined, 100);
    expect(refused).toMatchObject({ outcome: 'failed', failure: 'no-answer', error: expect.stringContaining('ECONNREFUSED') });
    expect(silent).toMatchObject({ outcome: 'failed', failure: 'no-answer', error: "no answer within the attempt's 100 ms" });
  });
});

describe('name resolution: a name server that never answers holds nothing other lookups need', () => {
  const ZONE = { 'honest.accord.test': ['127.0.0.1', '::1'], 'v6only.accord.test': ['2606:4700::1'], 'half.accord.test': ['127.0.0.1'] };
  const hits: string[] = [];
  let dns: Awaited<ReturnType<typeof dnsServer>>;
  let receiver: http.Server;
  let port: number;
  beforeAll(async () => {
    dns = await dnsServer(ZONE, (name, type) => name.startsWith('stall-') || (name === 'half.accord.test' && type === 'AAAA'));
    receiver = http.createServer((req, res) => {
      hits.push(req.url!);
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(async () => {
    receiver.close();
    await dns.close();
  });
  const never = () => new AbortController().signal;

  it("uses no thread of libuv's pool: with every pool thread held (as stalled getaddrinfo calls hold them), localhost and a name on the DNS are still delivered to", async () => {
    const release = holdThreadPool();
    try {
      const call = (url: string, p: typeof DEFAULT, resolve?: ResolveHost) => sendOutbound(p, { url, method: 'POST', headers: {}, body: '{}', timeoutMs: 3000 }, { resolve });
      expect(await call(`http://localhost:${port}/loopback-name`, ALLOW_PRIVATE)).toMatchObject({ outcome: 'response', status: 204, address: '127.0.0.1' });
      expect(await call(`http://honest.accord.test:${port}/by-dns`, ALLOW_PRIVATE, dnsResolver({ servers: [dns.server] }))).toMatchObject({ outcome: 'response', status: 204, address: '127.0.0.1' });
    } finally {
      await release();
    }
    expect(hits).toEqual(['/loopback-name', '/by-dns']);
  });

  it('localhost names are loopback without asking any resolver (RFC 6761; c-ares does not read /etc/hosts)', async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (name) => {
      asked.push(name);
      return [{ address: '93.184.215.14', family: 4 }];
    };
    const check = await checkDestination('http://api.localhost:8080/', ALLOW_PRIVATE, { resolve, timeoutMs: 1000 });
    expect(check).toMatchObject({ ok: true, addresses: [{ address: '127.0.0.1', range: 'loopback' }, { address: '::1', range: 'loopback' }] });
    expect(asked).toEqual([]);
  });

  it('answers an honest name while lookups of names whose server never answers are in flight; those end when their budget does', async () => {
    const resolve = dnsResolver({ servers: [dns.server] });
    const stalledBudget = new AbortController();
    const settled: string[] = [];
    const stalled = Array.from({ length: 12 }, (_, i) =>
      resolve(`stall-${i}.accord.test`, { signal: stalledBudget.signal, timeoutMs: 600_000 }).then(
        () => settled.push('answered'),
        (error: NodeJS.ErrnoException) => settled.push(error.code ?? error.message),
      ),
    );
    await vi.waitFor(() => expect(new Set(dns.queries.filter((q) => q.name.startsWith('stall-')).map((q) => q.name)).size).toBe(12), { timeout: 30_000, interval: 10 });
    expect(await resolve('honest.accord.test', { signal: never(), timeoutMs: 5000 })).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
    expect(await resolve('v6only.accord.test', { signal: never(), timeoutMs: 5000 })).toEqual([{ address: '2606:4700::1', family: 6 }]);
    await expect(resolve('missing.accord.test', { signal: never(), timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(settled).toEqual([]);
    stalledBudget.abort();
    await Promise.all(stalled);
    expect(settled).toEqual(Array(12).fill('ECANCELLED'));
    expect(await checkDestination('https://stall-late.accord.test/', DEFAULT, { resolve, timeoutMs: 200 })).toMatchObject({ ok: false, failure: 'unresolved', reason: 'stall-late.accord.test could not be resolved' });
  });

  it('once one address family has answered, does not wait out the budget for the other (RFC 8305 resolution delay)', async () => {
    const check = await checkDestination('https://half.accord.test/', ALLOW_PRIVATE, { resolve: dnsResolver({ servers: [dns.server] }), timeoutMs: 600_000 });
    expect(check).toMatchObject({ ok: true, addresses: [{ address: '127.0.0.1' }] });
    expect(dns.queries.filter((q) => q.name === 'half.accord.test').map((q) => q.type).sort()).toEqual(['A', 'AAAA']);
  });
});
