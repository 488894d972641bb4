import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../src/http/security-headers.ts';
import { ACCORD_API_DOCUMENT } from '../src/http/api.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { publishTransactionEvents } from '../src/runtime/outbox.ts';
import { ADMIN_TOKEN, networkSpec, REPO_ROOT, startTestService, type TestService } from './harness.ts';

/** Response hardening: headers on every response, no-store on secrets, links on the public URL whatever the Host says. */

const PUBLIC = 'https://accord.example.org/gw';
const SAMPLE: Record<string, string> = { partner: 'acme', api: 'member-api', version: '1.0.0', id: 'x', flow: 'member-match', ref: 'x' };
const doc = (version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const example = (p: string, method = 'post', media = 'application/fhir+json') => structuredClone(doc('2.0.0').paths[p][method].requestBody.content[media].example);

/** A request over real HTTP with the headers given, Host included (fetch does not let one set Host). */
function raw(base: string, method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${url}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('security headers', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ env: { ACCORD_AUTH_FAILURE_LIMIT: '1000' } });
  });
  afterAll(async () => await s.cleanup());

  const expectHardened = (res: Response, what: string) => {
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
    expect(res.headers.get('content-security-policy'), what).toBe(contentSecurityPolicy());
  };

  it('every documented operation answers with nosniff, Referrer-Policy and the Content-Security-Policy, refusals included', async () => {
    for (const [template, item] of Object.entries(ACCORD_API_DOCUMENT.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, any>)) {
        if (method === 'parameters') continue;
        const url = template.replace(/\{(\w+)\}/g, (_, n) => SAMPLE[n]!);
        const body = op.requestBody ? { body: '{}', type: 'application/json' } : {};
        expectHardened(await s.call(method.toUpperCase(), url, body), `${method} ${url}`);
        if (op.security?.length) expectHardened(await s.call(method.toUpperCase(), url, { token: null, ...body }), `${method} ${url} without a token`);
      }
    }
    expectHardened(await s.call('GET', '/nowhere'), '404');
    expectHardened(await s.call('GET', '/exchange/acme/member-api/v1/x'), 'exchange');
    expectHardened(await s.call('POST', '/v1/diff', { body: 'x'.repeat(6 * 1024 * 1024), type: 'application/json' }), '413');
  });

  it('a documented path called with a method it does not serve answers 405 with Allow, not 404', async () => {
    const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
    const paths = Object.entries(ACCORD_API_DOCUMENT.paths ?? {});
    // GET /v1/control-matrix/validate is GET /v1/control-matrix/{flow}: a path another template serves is no wrong method.
    const matching = (url: string) => paths.filter(([t]) => new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`).test(url));
    const methodsAt = (url: string) => new Set(matching(url).flatMap(([, item]) => Object.keys(item as object).filter((m) => METHODS.includes(m))));
    let checked = 0;
    for (const [template] of paths) {
      const url = template.replace(/\{(\w+)\}/g, (_, n) => SAMPLE[n]!);
      const served = [...methodsAt(url)];
      const allow = [...served.map((m) => m.toUpperCase()), ...(served.includes('get') ? ['HEAD'] : [])].sort().join(', ');
      for (const method of METHODS.filter((m) => !served.includes(m))) {
        const res = await s.call(method.toUpperCase(), url);
        expect(res.status, `${method} ${url}`).toBe(405);
        expect(res.headers.get('allow'), `${method} ${url}`).toBe(allow);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect((await res.json()).code).toBe('method_not_allowed');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // An unknown path stays a 404.
    expect((await s.call('DELETE', '/v1/nothing-here')).status).toBe(404);
  });

  it('the answer carrying a new token secret says Cache-Control: no-store', async () => {
    const res = await s.call('POST', '/v1/tokens', { body: JSON.stringify({ role: 'ci', name: 'pipeline' }), type: 'application/json' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('absolute URLs come from ACCORD_PUBLIC_URL, never from the Host header', () => {
  let s: TestService;
  let base: string;
  const evil = { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http', Forwarded: 'host=evil.example;proto=http', Authorization: `Bearer ${ADMIN_TOKEN}` };
  beforeAll(async () => {
    s = await startTestService({ seed: true, env: { ACCORD_PUBLIC_URL: `${PUBLIC}/` }, clock: () => new Date('2026-11-27T12:00:00Z') });
    base = await s.listen();
    const dep = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/deprecation', { body: JSON.stringify({ sunset: '2027-06-30', successor: '2.0.0', reason: 'Use 2.0.0' }), type: 'application/json' });
    expect(dep.status).toBe(201);
  });
  afterAll(async () => await s.cleanup());

  it('the Atom feed links itself and its entries on the public URL', async () => {
    const res = await raw(base, 'GET', '/v1/notices.atom', evil);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`<link rel="self" type="application/atom+xml" href="${PUBLIC}/v1/notices.atom"/>`);
    const related = [...res.body.matchAll(/<link rel="related" href="([^"]+)"/g)].map((m) => m[1]);
    expect(related.length).toBeGreaterThan(0);
    for (const href of related) expect(href).toMatch(new RegExp(`^${PUBLIC}/v1/contracts/`));
    expect(res.body).not.toContain('evil.example');
  });

  it('Location headers of /v1 writes are on the public URL', async () => {
    const registered = await raw(base, 'POST', '/v1/contracts/acme/member-api/versions?version=1.0.0', { ...evil, 'Content-Type': 'application/yaml' }, networkSpec());
    expect(registered.status).toBe(201);
    expect(registered.headers.location).toBe(`${PUBLIC}/v1/contracts/acme/member-api/versions/1.0.0`);
    const matrixEntry = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/member-match.yaml'), 'utf8');
    const put = await raw(base, 'PUT', '/v1/control-matrix/member-match', { ...evil, 'Content-Type': 'application/yaml' }, matrixEntry.replace(/^title: .*$/m, 'title: Member match (edited)'));
    expect([200, 201]).toContain(put.status);
    // A proposal (ADR 0018): Location is the proposal.
    expect(put.headers.location).toMatch(new RegExp(`^${PUBLIC}/v1/control-matrix/member-match/proposals/\\d+$`));
    const change = await raw(base, 'POST', '/v1/changes', { ...evil, 'Content-Type': 'application/json' }, JSON.stringify({ partner: 'acme', api: 'member-api', version: '1.0.0', summary: 'first version' }));
    expect(change.status, change.body).toBe(201);
    expect(change.headers.location).toMatch(new RegExp(`^${PUBLIC}/v1/changes/`));
  });

  it('a transaction and its replay carry the same Location, on the public URL', async () => {
    const body = JSON.stringify({ flow: 'member-match', partner: 'northwind-health', input: { memberMatch: example('/Patient/$member-match') } });
    const headers = { ...evil, 'Content-Type': 'application/json', 'Idempotency-Key': 'hdr-txn-1' };
    const first = await raw(base, 'POST', '/v1/transactions', headers, body);
    expect(first.status, first.body).toBe(202);
    expect(first.headers.location).toMatch(new RegExp(`^${PUBLIC}/v1/transactions/txn_`));
    const replay = await raw(base, 'POST', '/v1/transactions', headers, body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers.location).toBe(first.headers.location);
    expect(replay.body).toBe(first.body);
  });

  it('links inside JSON answers and webhook events are on the public URL too', async () => {
    const body = JSON.stringify({ flow: 'member-match', partner: 'northwind-health', input: { memberMatch: example('/Patient/$member-match') } });
    const started = await raw(base, 'POST', '/v1/transactions', { ...evil, 'Content-Type': 'application/json', 'Idempotency-Key': 'hdr-txn-links' }, body);
    const id = JSON.parse(started.body).id as string;
    expect(JSON.parse(started.body).links.self).toBe(`${PUBLIC}/v1/transactions/${id}`);
    const view = JSON.parse((await raw(base, 'GET', `/v1/transactions/${id}`, evil)).body);
    expect(view.links).toEqual({ self: `${PUBLIC}/v1/transactions/${id}`, retry: `${PUBLIC}/v1/transactions/${id}/retry`, compensate: `${PUBLIC}/v1/transactions/${id}/compensate` });
    const listed = JSON.parse((await raw(base, 'GET', '/v1/transactions?state=initiated,accepted,in-progress,completed', evil)).body);
    for (const t of listed.transactions ?? listed) expect(t.link).toMatch(new RegExp(`^${PUBLIC}/v1/transactions/`));
    // the transaction outbox publishes its events with the same absolute link
    expect((await raw(base, 'POST', '/v1/webhooks', { ...evil, 'Content-Type': 'application/json' }, JSON.stringify({ url: 'https://1.1.1.1/accord', secret: '0123456789abcdef', events: ['transaction.state-changed', 'transaction.recorded'] }))).status).toBe(201);
    await publishTransactionEvents(s.deps);
    const payloads = ((await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type LIKE 'transaction.%'")) as string[]).map((p) => JSON.parse(p));
    expect(payloads.length).toBeGreaterThan(0);
    for (const p of payloads) expect(p.data.link).toMatch(new RegExp(`^${PUBLIC}/v1/transactions/txn_`));
  });

  it('the exchange runtime writes Location and deprecation Links on the public URL; a replay answers the stored Location byte for byte', async () => {
    const consent = JSON.stringify(example('/Consent'));
    const headers = { ...evil, 'Content-Type': 'application/fhir+json', 'Idempotency-Key': 'hdr-consent-1' };
    const first = await raw(base, 'POST', '/exchange/northwind-health/p2p-exchange/v2/Consent', headers, consent);
    expect(first.status, first.body).toBe(201);
    expect(first.headers.location).toMatch(new RegExp(`^${PUBLIC}/exchange/northwind-health/p2p-exchange/v2/Consent/consent-[0-9a-f]{8}$`));
    // Even if the public URL changes later, a replay answers what was stored.
    const configured = s.deps.config.publicUrl;
    s.deps.config.publicUrl = 'https://moved.example.org';
    try {
      const replay = await raw(base, 'POST', '/exchange/northwind-health/p2p-exchange/v2/Consent', headers, consent);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.headers.location).toBe(first.headers.location);
      expect(replay.body).toBe(first.body);
    } finally {
      s.deps.config.publicUrl = configured;
    }

    const deprecated = await raw(base, 'POST', '/exchange/northwind-health/p2p-exchange/v1/Patient/$member-match', { ...evil, 'Content-Type': 'application/fhir+json', 'Idempotency-Key': 'hdr-dep-1' }, JSON.stringify(example('/Patient/$member-match')));
    expect(deprecated.status, deprecated.body).toBe(200);
    const links = String(deprecated.headers.link).split(/,\s*/);
    expect(links).toEqual([
      `<${PUBLIC}/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/release-notes>; rel="deprecation"`,
      `<${PUBLIC}/v1/notices>; rel="sunset"`,
      `<${PUBLIC}/exchange/northwind-health/p2p-exchange/v2>; rel="successor-version"`,
    ]);
  });
});

describe('accord serve with PORT=0 and no ACCORD_PUBLIC_URL', () => {
  let child: ReturnType<typeof spawn> | undefined;
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-public-url-'));
  });
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('links on the port it really listens on', async () => {
    child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/accord.js'), 'serve'], {
      env: { PATH: process.env.PATH ?? '', ACCORD_DATA_DIR: dataDir, PORT: '0', ACCORD_SEED_DIR: '', ACCORD_ADMIN_TOKEN: ADMIN_TOKEN, ACCORD_LOG_LEVEL: 'warn' },
      cwd: os.tmpdir(),
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.stderr!.on('data', (d) => (out += d));
      child!.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const feed = await raw(url, 'GET', '/v1/notices.atom', { Host: 'evil.example', Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(feed.status).toBe(200);
    expect(feed.body).toContain(`href="${url}/v1/notices.atom"`);
  });
});
