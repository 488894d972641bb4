import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/auth/principal.ts';
import { SCOPE_NAMES, type Scope } from '../src/auth/scopes.ts';
import { createToken } from '../src/auth/tokens.ts';
import { ACCORD_API_DOCUMENT, servedDocument } from '../src/http/api.ts';
import { minimalSpec, networkSpec, startTestService, type TestService } from './harness.ts';

/**
 * The shared security suite: every operation Accord's OpenAPI document marks as secured is
 * called without a token, with a malformed, unknown, revoked and expired token, with every role
 * the document does not allow, and with a token of an allowed role that lacks the operation's
 * scope. Adding a route to the document adds it here.
 */

interface SecuredOperation {
  method: string;
  path: string;
  roles: Role[];
  scope: Scope;
  hasBody: boolean;
}

const SAMPLE_PARAMS: Record<string, string> = { partner: 'acme', api: 'member-api', version: '1.0.0', id: 'tok_0000000000000000', flow: 'member-match', consumer: 'other-payer' };

function securedOperations(): SecuredOperation[] {
  const ops: SecuredOperation[] = [];
  for (const [template, item] of Object.entries(ACCORD_API_DOCUMENT.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, any>)) {
      if (method === 'parameters' || !op.security?.length) continue;
      ops.push({ method: method.toUpperCase(), path: template.replace(/\{(\w+)\}/g, (_, n) => SAMPLE_PARAMS[n]!), roles: op['x-accord-roles'], scope: op['x-accord-scope'], hasBody: !!op.requestBody });
    }
  }
  return ops;
}

describe('security suite (every secured route)', () => {
  let s: TestService;
  const tokens = {} as Record<Role, string>;
  /** Per role, a token limited to the `exchange` scope, which no /v1 operation needs. */
  const exchangeOnly = {} as Record<Role, string>;
  let revoked: string;
  let expired: string;
  let now = Date.parse('2026-11-27T12:00:00Z');

  beforeAll(async () => {
    // Hundreds of failed authentications come from the one in-process address here; the abuse
    // limits have their own tests (test/abuse.test.ts).
    s = await startTestService({ clock: () => new Date(now), env: { ACCORD_AUTH_FAILURE_LIMIT: '1000000' } });
    for (const role of ROLES) tokens[role] = role === 'partner' ? await s.token('partner', 'other-payer') : await s.token(role);
    for (const role of ROLES) exchangeOnly[role] = (await createToken(s.deps, 'test', { role, partner: role === 'partner' ? 'other-payer' : undefined, name: `${role} exchange only`, scopes: ['exchange'] })).token;
    expired = (await createToken(s.deps, 'test', { role: 'admin', name: 'short-lived admin', expiresIn: 'PT1H' })).token;
    now += 2 * 3_600_000;
    revoked = await s.token('author');
    const id = (await s.deps.db.$sql.value("SELECT id FROM tokens WHERE role = 'author' ORDER BY created_at DESC LIMIT 1")) as string;
    expect((await s.call('DELETE', `/v1/tokens/${id}`)).status).toBe(204);
    // a draft of partner "acme" that another partner must never see
    expect((await s.call('POST', '/v1/contracts/acme/member-api/versions?version=1.0.0', { body: minimalSpec(), type: 'application/yaml' })).status).toBe(201);
  });
  afterAll(async () => await s.cleanup());

  const operations = securedOperations();

  it('covers every secured operation in the document: one per /v1 route the app serves', () => {
    const v1Routes = new Set(s.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/')).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    expect(operations.length).toBe(v1Routes.size);
    expect(operations.length).toBeGreaterThan(60);
  });

  for (const op of operations) {
    describe(`${op.method} ${op.path}`, () => {
      const send = (token: string | null, raw?: string) =>
        s.call(op.method, op.path, { token, ...(op.hasBody ? { body: '{}', type: 'application/json' } : {}), ...(raw ? { headers: { Authorization: raw } } : {}) });

      it('answers 401 problem+json with WWW-Authenticate without a token', async () => {
        const res = await send(null);
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      });

      it('answers 401 for a malformed, unknown, revoked or expired token', async () => {
        expect((await send(null, 'Basic YWRtaW46YWRtaW4=')).status).toBe(401);
        expect((await send('acc_not-a-real-token-at-all-000000')).status).toBe(401);
        expect((await send(revoked)).status).toBe(401);
        const late = await send(expired);
        expect(late.status).toBe(401);
        expect((await late.json()).detail).toMatch(/expired/);
      });

      it(`answers 403 naming the scope "${op.scope}" to a token of an allowed role without it`, async () => {
        for (const role of op.roles) {
          const res = await send(exchangeOnly[role]);
          expect(res.status, role).toBe(403);
          const problem = await res.json();
          expect(problem.missingScope, role).toBe(op.scope);
          expect(problem.detail, role).toContain(`"${op.scope}"`);
          const limitedToIt = await send((await createToken(s.deps, 'test', { role, partner: role === 'partner' ? 'other-payer' : undefined, name: `${role} ${op.scope}`, scopes: [op.scope] })).token);
          if (limitedToIt.status === 403) expect((await limitedToIt.json()).missingScope, `${role} with "${op.scope}"`).toBeUndefined();
        }
      });

      // Every read of one partner's material answers another partner's token as if it did not exist.
      if (op.method === 'GET' && op.path.startsWith('/v1/contracts/acme/') && !op.path.endsWith('/consumers')) {
        it("never shows another partner's draft", async () => {
          const res = await s.call('GET', `${op.path}${op.path.endsWith('/diff') ? '?from=1.0.0&to=1.0.0' : ''}`, { token: tokens.partner });
          expect(res.status).toBe(404);
          const own = await s.call('GET', `${op.path}${op.path.endsWith('/diff') ? '?from=1.0.0&to=1.0.0' : ''}`, { token: await s.token('partner', 'acme') });
          expect(own.status).toBe(200);
        });
      }

      const forbidden = ROLES.filter((r) => !op.roles.includes(r));
      if (forbidden.length > 0) {
        it(`answers 403 for ${forbidden.join(', ')}`, async () => {
          for (const role of forbidden) {
            const res = await send(tokens[role]);
            expect(res.status, role).toBe(403);
            expect((await res.json()).code).toBe('forbidden');
          }
        });
      }
    });
  }
});

describe('partner isolation', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    expect((await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions?version=3.0.0-draft.1', { body: networkSpec(), type: 'application/yaml' })).status).toBe(201);
  });
  afterAll(async () => await s.cleanup());

  it("a partner reads its own drafts but never another partner's", async () => {
    const own = await s.token('partner', 'northwind-health');
    const other = await s.token('partner', 'bluestem-mutual');
    const draft = '/v1/contracts/northwind-health/p2p-exchange/versions/3.0.0-draft.1';
    expect((await s.call('GET', draft, { token: own })).status).toBe(200);
    expect((await s.call('GET', `${draft}/document`, { token: own })).status).toBe(200);
    for (const url of [draft, `${draft}/document`]) {
      const res = await s.call('GET', url, { token: other });
      expect(res.status).toBe(404);
    }
    const otherList = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions', { token: other })).json();
    expect(otherList.map((v: { version: string }) => v.version)).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.1.0']);
    const ownList = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions', { token: own })).json();
    expect(ownList.map((v: { version: string }) => v.version)).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.1.0', '3.0.0-draft.1']);
    const summary = await (await s.call('GET', '/v1/contracts', { token: other })).json();
    expect(summary.find((c: { partner: string }) => c.partner === 'northwind-health')).toEqual({ partner: 'northwind-health', api: 'p2p-exchange', latestVersion: '2.1.0', versionCount: 4 });
    const history = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/history', { token: other })).json();
    expect(history.some((h: { message: string }) => h.message.includes('3.0.0-draft.1'))).toBe(false);
    const ownHistory = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/history', { token: own })).json();
    expect(ownHistory[0].message).toContain('3.0.0-draft.1');
  });

  it('any valid token reads released material; only authors and admins register', async () => {
    for (const role of ['approver', 'ci'] as const) {
      expect((await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.1.0/document', { token: await s.token(role) })).status).toBe(200);
    }
    const partner = await s.token('partner', 'northwind-health');
    const res = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions?version=9.0.0', { token: partner, body: minimalSpec(), type: 'application/yaml' });
    expect(res.status).toBe(403);
  });
});

describe("Accord's own OpenAPI document", () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => await s.cleanup());

  it('describes every API route the app serves (the console\'s HTML pages under /console, / that redirects there, and the reference at /docs are not API)', () => {
    const documented = new Set<string>();
    for (const [template, item] of Object.entries(ACCORD_API_DOCUMENT.paths ?? {})) {
      for (const method of Object.keys(item)) if (method !== 'parameters') documented.add(`${method.toUpperCase()} ${template}`);
    }
    const served = s.app.routes
      .filter((r) => r.method !== 'ALL' && r.path !== '/' && !/^\/(console|docs)(\/|$)/.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1')}`);
    expect(served.length).toBeGreaterThan(5);
    for (const route of served) expect(documented, `${route} is served but not documented`).toContain(route);
    for (const route of documented) expect(served, `${route} is documented but not served`).toContain(route);
  });

  it('declares a scope of the vocabulary next to the roles of every secured operation', () => {
    const operations = securedOperations();
    expect(operations.length).toBeGreaterThan(50);
    for (const op of operations) {
      expect(SCOPE_NAMES, `${op.method} ${op.path} needs x-accord-scope`).toContain(op.scope);
      expect(op.roles.length, `${op.method} ${op.path} needs x-accord-roles`).toBeGreaterThan(0);
    }
  });

  it('is served at /openapi.json and is valid OpenAPI 3.1', async () => {
    const res = await s.call('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const { validateOpenApi } = await import('../src/contracts/document.ts');
    await expect(validateOpenApi(doc)).resolves.toBeTruthy();
    // The suites above read the document the app serves (with this deployment's URL as its server).
    expect(doc).toEqual(JSON.parse(JSON.stringify(servedDocument(s.config.publicUrl))));
    expect(doc.servers).toEqual([{ url: s.config.publicUrl, description: 'This registry' }]);
  });

  it('gives every operation a unique operationId, tags, a summary and a description', () => {
    const ids = new Set<string>();
    let count = 0;
    for (const [template, item] of Object.entries(ACCORD_API_DOCUMENT.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, any>)) {
        if (method === 'parameters') continue;
        count++;
        const name = `${method.toUpperCase()} ${template}`;
        expect(op.operationId, name).toMatch(/^[a-z][A-Za-z0-9]+$/);
        expect(ids.has(op.operationId), `${name}: operationId ${op.operationId} used twice`).toBe(false);
        ids.add(op.operationId);
        expect(op.tags?.length, `${name} needs tags`).toBeGreaterThan(0);
        expect(op.summary, `${name} needs a summary`).toBeTruthy();
        expect(op.description, `${name} needs a description`).toBeTruthy();
      }
    }
    expect(count).toBeGreaterThan(60);
  });
});
