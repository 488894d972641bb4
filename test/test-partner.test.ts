import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT } from './harness.ts';
import { startTestPartner, type TestPartner, type TestPartnerOptions } from './partner/start.ts';

/**
 * The test partner (test/partner/test-partner.mts, issue 20): a separate process that serves a
 * contract as Accord's exchange does, and its fault variants, each started for real.
 */
const CONTRACT = 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml';
const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, CONTRACT), 'utf8'), { maxAliases: 100 }) as Record<string, any>;
const MATCH = JSON.stringify(doc.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
const CONSENT = JSON.stringify(doc.paths['/Consent'].post.requestBody.content['application/fhir+json'].example);
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

let seq = 0;
const newKey = () => `test-key-${process.pid}-${++seq}`;

function post(partner: TestPartner, pathname: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${partner.url}${pathname}`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json', ...headers }, body });
}
const matchOf = (partner: TestPartner, headers: Record<string, string> = {}, body = MATCH) => post(partner, '/Patient/$member-match', body, headers);

/** Starts a partner for the enclosing describe and stops it after. */
function withPartner(options: Omit<TestPartnerOptions, 'contract'>): { current: TestPartner } {
  const ref = {} as { current: TestPartner };
  beforeAll(async () => {
    ref.current = await startTestPartner({ contract: CONTRACT, ...options });
  });
  afterAll(async () => {
    await ref.current?.stop();
  });
  return ref;
}

describe('test partner, correct variant', () => {
  const p = withPartner({ latencyMs: 100 });

  it("answers the contract's $member-match example with a MemberIdentifier, and a repeat byte for byte", async () => {
    const key = newKey();
    const first = await matchOf(p.current, { 'Idempotency-Key': key });
    const text = await first.text();
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/fhir+json');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.parse(text).parameter).toEqual([{ name: 'MemberIdentifier', valueIdentifier: { system: 'https://northwind-health.example/member-id', value: 'NWH-100234' } }]);
    const again = await matchOf(p.current, { 'Idempotency-Key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(text);
  });

  it('refuses another body with the same key (422), a missing key and an invalid body (400) as OperationOutcomes', async () => {
    const key = newKey();
    expect((await matchOf(p.current, { 'Idempotency-Key': key })).status).toBe(200);
    // The same request in other bytes (pretty-printed): it would match, but it is not the key's request.
    const mismatch = await matchOf(p.current, { 'Idempotency-Key': key }, JSON.stringify(JSON.parse(MATCH), null, 2));
    expect(mismatch.status).toBe(422);
    expect(await mismatch.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict', diagnostics: 'This Idempotency-Key was used with a different request' }] });

    const noKey = await matchOf(p.current);
    expect(noKey.status).toBe(400);
    expect((await noKey.json()).issue[0].expression).toEqual(['header.Idempotency-Key']);

    const invalid = await matchOf(p.current, { 'Idempotency-Key': newKey() }, JSON.stringify({ resourceType: 'Parameters', parameter: 'nope' }));
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toBe('application/fhir+json');
    expect((await invalid.json()).resourceType).toBe('OperationOutcome');
  });

  it('answers 409 to the same key while the first request is in flight, then replays', async () => {
    const key = newKey();
    const [first, second] = await Promise.all([matchOf(p.current, { 'Idempotency-Key': key }), new Promise((r) => setTimeout(r, 30)).then(() => matchOf(p.current, { 'Idempotency-Key': key }))]);
    expect([first.status, second.status]).toEqual([200, 409]);
    expect((await matchOf(p.current, { 'Idempotency-Key': key })).headers.get('idempotent-replayed')).toBe('true');
  });

  it('makes one consent per key: a repeat replays its Location', async () => {
    const key = newKey();
    const first = await post(p.current, '/Consent', CONSENT, { 'Idempotency-Key': key });
    const again = await post(p.current, '/Consent', CONSENT, { 'Idempotency-Key': key });
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(first.headers.get('location')).toMatch(new RegExp(`^${p.current.url}/Consent/consent-`));
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect((await fetch(first.headers.get('location')!)).status).toBe(200);
  });

  it('continues the trace and echoes X-Correlation-Id, on refusals too; starts a trace when none came', async () => {
    for (const response of [await matchOf(p.current, { 'Idempotency-Key': newKey(), traceparent: TRACEPARENT, 'X-Correlation-Id': 'corr-1' }), await matchOf(p.current, { traceparent: TRACEPARENT, 'X-Correlation-Id': 'corr-1' })]) {
      expect(response.headers.get('x-correlation-id')).toBe('corr-1');
      const [version, trace, span] = response.headers.get('traceparent')!.split('-');
      expect([version, trace]).toEqual(['00', TRACE_ID]);
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(span).not.toBe('b7ad6b7169203331');
    }
    const fresh = await fetch(`${p.current.url}/Consent/none`);
    expect(fresh.status).toBe(404);
    expect(fresh.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(fresh.headers.get('traceparent')).not.toContain(TRACE_ID);
    expect(fresh.headers.get('x-correlation-id')).toBeTruthy();
  });
});

describe('test partner, ignores-idempotency-key', () => {
  const p = withPartner({ variant: 'ignores-idempotency-key', latencyMs: 100 });

  it('processes every request afresh: no replay, no 409, no 422, a second consent', async () => {
    const key = newKey();
    const [a, b] = await Promise.all([matchOf(p.current, { 'Idempotency-Key': key }), matchOf(p.current, { 'Idempotency-Key': key })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    // Another body (the same request, pretty-printed) with the key: processed, not 422.
    expect((await matchOf(p.current, { 'Idempotency-Key': key }, JSON.stringify(JSON.parse(MATCH), null, 2))).status).toBe(200);
    const consentKey = newKey();
    const first = await post(p.current, '/Consent', CONSENT, { 'Idempotency-Key': consentKey });
    const again = await post(p.current, '/Consent', CONSENT, { 'Idempotency-Key': consentKey });
    expect(again.headers.get('location')).not.toBe(first.headers.get('location'));
  });
});

describe('test partner, undocumented-status', () => {
  const p = withPartner({ variant: 'undocumented-status' });

  it("answers $member-match's success with 203, which the contract does not document", async () => {
    expect(Object.keys(doc.paths['/Patient/$member-match'].post.responses)).not.toContain('203');
    const response = await matchOf(p.current, { 'Idempotency-Key': newKey() });
    expect(response.status).toBe(203);
    expect((await response.json()).parameter[0].name).toBe('MemberIdentifier');
  });
});

describe('test partner, drops-traceparent', () => {
  const p = withPartner({ variant: 'drops-traceparent' });

  it('sends no traceparent on any answer, but still the correlation id', async () => {
    for (const response of [await matchOf(p.current, { 'Idempotency-Key': newKey(), traceparent: TRACEPARENT, 'X-Correlation-Id': 'corr-2' }), await matchOf(p.current, { traceparent: TRACEPARENT, 'X-Correlation-Id': 'corr-2' })]) {
      expect(response.status).toBeLessThan(500);
      expect(response.headers.get('traceparent')).toBeNull();
      expect(response.headers.get('x-correlation-id')).toBe('corr-2');
    }
  });
});

describe('test partner, violates-response-schema', () => {
  const p = withPartner({ variant: 'violates-response-schema' });

  it("answers $member-match's 200 with parameter as a string", async () => {
    const response = await matchOf(p.current, { 'Idempotency-Key': newKey() });
    expect(response.status).toBe(200);
    expect(typeof (await response.json()).parameter).toBe('string');
  });
});

describe('test partner, --bearer and --deprecated-sunset', () => {
  const sunset = '2027-06-30T00:00:00Z';
  const p = withPartner({ bearer: 'secret-token-1', deprecatedSunset: sunset });

  it('refuses calls without the token (401, with the ids) and answers with it, deprecated', async () => {
    const missing = await matchOf(p.current, { 'Idempotency-Key': newKey(), 'X-Correlation-Id': 'corr-3' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('x-correlation-id')).toBe('corr-3');
    expect(missing.headers.get('traceparent')).toBeTruthy();
    expect((await matchOf(p.current, { 'Idempotency-Key': newKey(), Authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await matchOf(p.current, { 'Idempotency-Key': newKey(), Authorization: 'Bearer secret-token-1' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(ok.headers.get('sunset')).toBe(new Date(sunset).toUTCString());
  });
});

describe('test partner, --public-key client assertions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-partner-'));
  const client = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKey = path.join(dir, 'client.pem');
  fs.writeFileSync(publicKey, client.publicKey.export({ type: 'spki', format: 'pem' }));
  const p = withPartner({ publicKey, clientId: 'bluestem-mutual' });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tokenWith = async (key: typeof client.privateKey, audience = p.current.tokenUrl) => {
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS384' }).setIssuer('bluestem-mutual').setSubject('bluestem-mutual').setAudience(audience).setIssuedAt().setExpirationTime('60s').setJti(newKey()).sign(key);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
    return await fetch(p.current.tokenUrl, { method: 'POST', body: form });
  };

  it('issues a token for a valid assertion; API calls need it', async () => {
    const response = await tokenWith(client.privateKey);
    expect(response.status).toBe(200);
    const token = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
    expect((await matchOf(p.current, { 'Idempotency-Key': newKey() })).status).toBe(401);
    expect((await matchOf(p.current, { 'Idempotency-Key': newKey(), Authorization: `Bearer ${token.access_token}` })).status).toBe(200);
  });

  it('refuses an assertion signed with another key or for another audience (401 invalid_client)', async () => {
    for (const response of [await tokenWith(stranger.privateKey), await tokenWith(client.privateKey, 'http://127.0.0.1:1/token')]) {
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'invalid_client' });
    }
  });
});
