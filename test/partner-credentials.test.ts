import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerAuthorization } from '../src/partners/credentials.ts';
import { startTestService, type TestService } from './harness.ts';

/** A partner's OAuth2 token endpoint (a remote party: ours, in the test) that knows one public key of Accord's. */
function tokenEndpoint(publicKey: () => KeyObject) {
  const seen: Array<{ form: Record<string, string>; claims: Record<string, unknown>; kid: unknown }> = [];
  const app = new Hono();
  app.post('/token', async (c) => {
    const form = Object.fromEntries(new URLSearchParams(await c.req.text())) as Record<string, string>;
    try {
      const { payload } = await jwtVerify(form.client_assertion!, publicKey(), { issuer: 'accord-registry', subject: 'accord-registry', audience: `${url}/token` });
      seen.push({ form, claims: payload, kid: decodeProtectedHeader(form.client_assertion!).kid });
    } catch {
      return c.json({ error: 'invalid_client' }, 401);
    }
    return c.json({ access_token: `access-${seen.length}`, token_type: 'Bearer', expires_in: 300 });
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  let url = '';
  const ready = new Promise<void>((resolve) => server.once('listening', () => ((url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`), resolve())));
  return { seen, ready, url: () => url, close: () => server.close() };
}

describe('calling a partner with its stored credential (issue 20)', () => {
  let s: TestService;
  const accordKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let partnerKnows = accordKey.publicKey;
  const partner = tokenEndpoint(() => partnerKnows);
  const put = (environments: unknown) => s.call('PUT', '/v1/partners/northwind-health/endpoints', { body: JSON.stringify({ environments }), type: 'application/json' });

  beforeAll(async () => {
    await partner.ready;
    // The partner checks the assertion's times against its own clock: Accord's is the real one here.
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SECRETS_KEY: randomBytes(32).toString('hex'), ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    const privateKey = accordKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const res = await put({
      production: { baseUrl: `${partner.url()}/fhir`, auth: { type: 'private_key_jwt', tokenUrl: `${partner.url()}/token`, clientId: 'accord-registry', scope: 'system/*.read', keyId: 'accord-1', alg: 'RS384', privateKey } },
      sandbox: { baseUrl: `${partner.url()}/sandbox`, auth: { type: 'bearer', token: 'sandbox-token-0123456789' } },
      demo: { baseUrl: `${partner.url()}/demo`, auth: { type: 'none' } },
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    partner.close();
    await s.cleanup();
  });

  it('exchanges a private_key_jwt client assertion for an access token at the partner’s token endpoint, and keeps it until it nearly expires', async () => {
    expect(await partnerAuthorization(s.deps, 'northwind-health', 'production')).toEqual({ Authorization: 'Bearer access-1' });
    expect(await partnerAuthorization(s.deps, 'northwind-health', 'production')).toEqual({ Authorization: 'Bearer access-1' });
    expect(partner.seen).toHaveLength(1);
    const [{ form, claims, kid }] = partner.seen as [(typeof partner.seen)[0]];
    expect(form).toMatchObject({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', scope: 'system/*.read' });
    expect(kid).toBe('accord-1');
    expect(typeof claims.jti).toBe('string');
    expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
  });

  it('says plainly when the partner refuses the assertion (it knows another key)', async () => {
    partnerKnows = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    try {
      // A PUT stores the endpoint again: the cached access token no longer applies.
      expect((await put({ production: { baseUrl: `${partner.url()}/fhir`, auth: { type: 'private_key_jwt', tokenUrl: `${partner.url()}/token`, clientId: 'accord-registry', alg: 'RS384' } } })).status).toBe(200);
      await expect(partnerAuthorization(s.deps, 'northwind-health', 'production')).rejects.toThrow(/token endpoint of northwind-health\/production .* answered 401: \{"error":"invalid_client"\}/);
    } finally {
      partnerKnows = accordKey.publicKey;
    }
  });

  it('sends a stored bearer token as it is, nothing for `none`, and refuses an environment the partner has not registered', async () => {
    expect((await put({ sandbox: { baseUrl: `${partner.url()}/sandbox`, auth: { type: 'bearer', token: 'sandbox-token-0123456789' } }, demo: { baseUrl: `${partner.url()}/demo`, auth: { type: 'none' } } })).status).toBe(200);
    expect(await partnerAuthorization(s.deps, 'northwind-health', 'sandbox')).toEqual({ Authorization: 'Bearer sandbox-token-0123456789' });
    expect(await partnerAuthorization(s.deps, 'northwind-health', 'demo')).toEqual({});
    await expect(partnerAuthorization(s.deps, 'northwind-health', 'production')).rejects.toThrow(/has no endpoint for production/);
  });
});
