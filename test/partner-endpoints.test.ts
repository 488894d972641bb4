import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSecret, sealSecret } from '../src/lib/secrets.ts';
import { endpointCredential } from '../src/partners/endpoints.ts';
import { startTestService, type TestService } from './harness.ts';

const SECRETS_KEY = randomBytes(32).toString('hex');
const pkcs8 = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA_KEY = pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
const EC_KEY = pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey);
const TOKEN = 'sandbox-token-0123456789abcdef';
const PATH = '/v1/partners/northwind-health/endpoints';

function endpoints(overrides: Record<string, unknown> = {}) {
  return {
    environments: {
      sandbox: { baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'bearer', token: TOKEN } },
      production: { baseUrl: 'http://127.0.0.1:9/prod', auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'accord', scope: 'system/*.read', keyId: 'accord-1', alg: 'RS384', privateKey: RSA_KEY } },
      ...overrides,
    },
  };
}

describe('partner endpoints (issue 20, item 1)', () => {
  let s: TestService;
  const put = (body: unknown, token?: string | null, service = s) => service.call('PUT', PATH, { body: JSON.stringify(body), type: 'application/json', token });
  const stored = async (service = s) => await service.deps.db.$sql.all('SELECT * FROM partner_endpoints ORDER BY partner, environment');

  beforeAll(async () => {
    s = await startTestService({ seed: true, env: { ACCORD_SECRETS_KEY: SECRETS_KEY, ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => await s.cleanup());

  it('stores a partner’s environments with their credentials sealed: never returned, never in clear in the database, opened back for the runs', async () => {
    const res = await put(endpoints());
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('PRIVATE KEY');
    expect(JSON.parse(text).environments).toMatchObject({
      sandbox: { baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'bearer', credentialStored: true }, updatedBy: 'initial admin' },
      production: { auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'accord', keyId: 'accord-1', alg: 'RS384', credentialStored: true } },
    });
    const read = await (await s.call('GET', PATH)).json();
    expect(read).toEqual(JSON.parse(text));
    const rows = JSON.stringify(await stored());
    expect(rows).not.toContain(TOKEN);
    expect(rows).not.toContain(RSA_KEY.split('\n')[1]);
    expect((await endpointCredential(s.deps, 'northwind-health', 'sandbox'))!.secret).toBe(TOKEN);
    expect((await endpointCredential(s.deps, 'northwind-health', 'production'))!.secret).toBe(RSA_KEY);
  });

  it('keeps a stored credential when it is left out, replaces the set, and refuses a missing one of another kind', async () => {
    expect((await put(endpoints())).status).toBe(200);
    const kept = await put({ environments: { sandbox: { baseUrl: 'http://127.0.0.1:9/v2', auth: { type: 'bearer' } } } });
    expect(kept.status).toBe(200);
    expect(Object.keys((await kept.json()).environments)).toEqual(['sandbox']);
    expect((await endpointCredential(s.deps, 'northwind-health', 'sandbox'))!.secret).toBe(TOKEN);
    expect(await endpointCredential(s.deps, 'northwind-health', 'production')).toBeUndefined();
    const before = await stored();
    const res = await put({ environments: { sandbox: { baseUrl: 'http://127.0.0.1:9/v2', auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'accord', alg: 'ES384' } } } });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([{ location: '/environments/sandbox/auth/privateKey', message: 'is required: no private key is stored for sandbox to keep' }]);
    expect(await stored()).toEqual(before);
  });

  it('refuses bad input with 422 listing every problem, and writes nothing', async () => {
    expect((await put(endpoints())).status).toBe(200);
    const before = await stored();
    const cases: Array<[unknown, string]> = [
      [endpoints({ sandbox: { baseUrl: 'ftp://127.0.0.1/x', auth: { type: 'none' } } }), '/environments/sandbox/baseUrl'],
      [endpoints({ production: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'a', alg: 'ES384', privateKey: RSA_KEY } } }), '/environments/production/auth/privateKey'],
      [endpoints({ production: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'a', alg: 'RS384', privateKey: 'not a key' } } }), '/environments/production/auth/privateKey'],
      [endpoints({ Production: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'none' } } }), '/environments/Production'],
      [endpoints({ sandbox: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'bearer', token: 'short' } } }), '/environments/sandbox/auth/token'],
      [endpoints({ sandbox: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'basic' } } }), '/environments/sandbox/auth/type'],
    ];
    for (const [body, location] of cases) {
      const res = await put(body);
      expect(res.status, location).toBe(422);
      const problem = await res.json();
      expect(problem.errors.map((e: { location: string }) => e.location), JSON.stringify(problem)).toContain(location);
    }
    const ec = await put(endpoints({ production: { baseUrl: 'http://127.0.0.1:9/p', auth: { type: 'private_key_jwt', tokenUrl: 'http://127.0.0.1:9/t', clientId: 'a', alg: 'ES384', privateKey: EC_KEY } } }));
    expect(ec.status).toBe(200);
    expect((await stored()).length).toBe(before.length);
  });

  it('lets a partner manage its own endpoints only; an unknown partner is 404', async () => {
    const northwind = await s.token('partner', 'northwind-health');
    const bluestem = await s.token('partner', 'bluestem-mutual');
    expect((await put(endpoints(), northwind)).status).toBe(200);
    expect((await (await s.call('GET', PATH, { token: northwind })).json()).environments.sandbox.updatedBy).toMatch(/^partner-northwind-health/);
    expect((await put(endpoints(), bluestem)).status).toBe(403);
    expect((await s.call('GET', PATH, { token: bluestem })).status).toBe(403);
    expect((await s.call('GET', PATH, { token: await s.token('approver') })).status).toBe(403);
    expect((await s.call('GET', '/v1/partners/nobody/endpoints')).status).toBe(404);
  });

  it('follows the outbound address rules of webhooks: a private address is refused unless the opt-ins allow it', async () => {
    const strict = await startTestService({ seed: true, env: { ACCORD_SECRETS_KEY: SECRETS_KEY } });
    try {
      const res = await put(endpoints(), undefined, strict);
      expect(res.status).toBe(422);
      expect((await res.json()).errors.map((e: { location: string }) => e.location)).toEqual(['/environments/sandbox/baseUrl', '/environments/production/baseUrl', '/environments/production/auth/tokenUrl']);
      expect(await stored(strict)).toEqual([]);
    } finally {
      await strict.cleanup();
    }
  });

  it('without ACCORD_SECRETS_KEY stores no credential (503, nothing written) but endpoints without one', async () => {
    const keyless = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    try {
      const res = await put(endpoints(), undefined, keyless);
      expect(res.status).toBe(503);
      expect((await res.json()).detail).toContain('ACCORD_SECRETS_KEY');
      expect(await stored(keyless)).toEqual([]);
      expect((await put({ environments: { sandbox: { baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'none' } } } }, undefined, keyless)).status).toBe(200);
    } finally {
      await keyless.cleanup();
    }
  });
});

describe('sealed secrets', () => {
  const key = randomBytes(32);
  it('open only with the key and at the place they were sealed for', () => {
    const sealed = sealSecret(key, 'a credential', 'partner-endpoint:a:sandbox');
    expect(sealed).not.toContain('credential');
    expect(openSecret(key, sealed, 'partner-endpoint:a:sandbox')).toBe('a credential');
    expect(() => openSecret(key, sealed, 'partner-endpoint:b:sandbox')).toThrow(/altered or belongs to another row/);
    expect(() => openSecret(randomBytes(32), sealed, 'partner-endpoint:a:sandbox')).toThrow(/another ACCORD_SECRETS_KEY/);
    const [v, id, iv, tag, data] = sealed.split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => openSecret(key, [v, id, iv, tag, flipped.toString('base64url')].join('.'), 'partner-endpoint:a:sandbox')).toThrow(/altered/);
  });
});
