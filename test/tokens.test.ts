import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ADMIN_TOKEN, runCli, startTestService, type TestService } from './harness.ts';

describe('tokens', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => await s.cleanup());

  const post = (body: unknown, token?: string) => s.call('POST', '/v1/tokens', { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  it('creates a token shown once, stores only its hash and lists it without secrets', async () => {
    const res = await post({ role: 'partner', partner: 'bluestem-mutual', name: 'Bluestem CI' });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toMatchObject({ role: 'partner', partner: 'bluestem-mutual', name: 'Bluestem CI', id: expect.stringMatching(/^tok_/) });
    expect(created.token).toMatch(/^acc_[A-Za-z0-9_-]{43}$/);

    const stored = (await s.deps.db.$sql.get('SELECT * FROM tokens WHERE id = ?', [created.id])) as Record<string, string>;
    expect(JSON.stringify(stored)).not.toContain(created.token);

    const listText = await (await s.call('GET', '/v1/tokens')).text();
    expect(listText).not.toContain(created.token);
    expect(listText).not.toContain(stored.secret_hash);
    const list = JSON.parse(listText);
    expect(list).toHaveLength(2);
    expect(list.find((t: { id: string }) => t.id === created.id)).toEqual({
      id: created.id,
      name: 'Bluestem CI',
      role: 'partner',
      partner: 'bluestem-mutual',
      createdAt: expect.any(String),
      createdBy: 'initial admin',
      revokedAt: null,
      expiresAt: null,
      scopes: null,
    });

    // the new token works, and only for what its role allows
    expect((await s.call('GET', '/v1/contracts', { token: created.token })).status).toBe(200);
    expect((await s.call('GET', '/v1/tokens', { token: created.token })).status).toBe(403);
  });

  it('revokes a token: it stops working at once', async () => {
    const created = await (await post({ role: 'author', name: 'Temp author' })).json();
    expect((await s.call('GET', '/v1/contracts', { token: created.token })).status).toBe(200);
    expect((await s.call('DELETE', `/v1/tokens/${created.id}`)).status).toBe(204);
    expect((await s.call('GET', '/v1/contracts', { token: created.token })).status).toBe(401);
    const listed = (await (await s.call('GET', '/v1/tokens')).json()).find((t: { id: string }) => t.id === created.id);
    expect(listed.revokedAt).toEqual(expect.any(String));
    expect((await s.call('DELETE', '/v1/tokens/tok_doesnotexist')).status).toBe(404);
  });

  it('never revokes the last active admin token', async () => {
    const adminId = (await (await s.call('GET', '/v1/tokens')).json())[0].id;
    const res = await s.call('DELETE', `/v1/tokens/${adminId}`);
    expect(res.status).toBe(409);
    expect((await s.call('GET', '/v1/contracts', { token: ADMIN_TOKEN })).status).toBe(200);
    const second = await (await post({ role: 'admin', name: 'Second admin' })).json();
    expect((await s.call('DELETE', `/v1/tokens/${adminId}`, { token: second.token })).status).toBe(204);
    expect((await s.call('GET', '/v1/contracts', { token: ADMIN_TOKEN })).status).toBe(401);
  });

  it.each([
    [{ role: 'superuser', name: 'x' }, '/role'],
    [{ role: 'partner', name: 'x' }, '/partner'],
    [{ role: 'partner', partner: 'Not Valid', name: 'x' }, '/partner'],
    [{ role: 'author', partner: 'acme', name: 'x' }, '/partner'],
    [{ role: 'author' }, '/name'],
    [{ role: 'author', name: '' }, '/name'],
  ])('refuses an invalid token request %j with 422 at %s and creates nothing', async (body, location) => {
    const res = await post(body);
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors.map((e: { location: string }) => e.location)).toContain(location);
    expect(await (await s.call('GET', '/v1/tokens')).json()).toHaveLength(1);
  });

  it('refuses a body that is not a JSON object', async () => {
    expect((await s.call('POST', '/v1/tokens', { body: 'role=admin', type: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await s.call('POST', '/v1/tokens', { body: '{"role":', type: 'application/json' })).status).toBe(400);
    expect((await s.call('POST', '/v1/tokens', { body: '[]', type: 'application/json' })).status).toBe(400);
  });
});

describe('token names', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => await s.cleanup());

  const post = (body: unknown) => s.call('POST', '/v1/tokens', { body: JSON.stringify(body), type: 'application/json' });
  const count = async () => (await s.deps.db.$sql.value('SELECT count(*) FROM tokens'));

  it.each([
    ['NUL', 'ci\u0000bot', 'U+0000'],
    ['a bell (control)', 'ci\u0007bot', 'U+0007'],
    ['a tab (control)', 'ci\tbot', 'U+0009'],
    ['DEL (control)', 'ci\u007fbot', 'U+007F'],
    ['a C1 control', 'ci\u0085bot', 'U+0085'],
    ['a zero-width space', 'alice\u200b-author', 'U+200B'],
    ['a zero-width joiner', 'alice\u200d', 'U+200D'],
    ['a byte-order mark', '\ufeffalice', 'U+FEFF'],
    ['a soft hyphen (format)', 'al\u00adice', 'U+00AD'],
    ['a right-to-left override', 'alice\u202egpj.exe', 'U+202E'],
    ['a left-to-right embedding', 'alice\u202a', 'U+202A'],
    ['a right-to-left isolate', 'alice\u2067x\u2069', 'U+2067'],
    ['a combining grapheme joiner (default-ignorable)', 'ali\u034fce', 'U+034F'],
    ['a Hangul filler (default-ignorable)', 'alice\u3164', 'U+3164'],
    ['a variation selector (default-ignorable)', 'alice\ufe0f', 'U+FE0F'],
    ['a line separator', 'alice\u2028bob', 'U+2028'],
    ['a paragraph separator', 'alice\u2029bob', 'U+2029'],
    ['a private-use character', 'alice\ue000', 'U+E000'],
    ['an unassigned code point', 'alice\u0378', 'U+0378'],
    ['a lone surrogate', 'alice\ud800', 'U+D800'],
  ])('refuses a name with %s over HTTP: 422 at /name, nothing written', async (_, name, codePoint) => {
    const before = await count();
    const res = await post({ role: 'author', name });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(problem.errors).toEqual([{ location: '/name', message: expect.stringContaining(codePoint) }]);
    expect(await count()).toBe(before);
  });

  it('accepts names in any script, with accents, emoji and inner spaces', async () => {
    for (const name of ['Zoë Müller', 'CI 日本 ビルド', 'Ünïcödé ⚙ deploy 🚀', 'Équipe d’intégration (prod)']) {
      const res = await post({ role: 'author', name });
      expect(res.status, name).toBe(201);
      expect((await res.json()).name).toBe(name);
    }
  });

  it('refuses the same names in `accord token create`: exit 1, the reason on stderr, nothing written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-token-cli-'));
    try {
      const env = { ACCORD_DATA_DIR: dir, ACCORD_SEED_DIR: '' };
      const bad = await runCli(['token', 'create', '--role', 'author', '--name', 'alice\u200b-author'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('/name');
      expect(bad.stderr).toContain('U+200B');
      expect(bad.stdout).not.toMatch(/acc_/);
      const good = await runCli(['token', 'create', '--role', 'author', '--name', 'alice-author'], env);
      expect(good.code).toBe(0);
      const { openDb } = await import('../src/db/index.ts');
      const db = openDb(path.join(dir, 'accord.db'));
      try {
        expect((await db.$sql.column('SELECT name FROM tokens'))).toEqual(['alice-author']);
      } finally {
        await db.$close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ACCORD_TOKEN_DEFAULT_TTL', () => {
  it('longer than a hundred years is refused at start (a date past year 275760 made every token creation a 500)', () => {
    expect(() => loadConfig({ ACCORD_TOKEN_DEFAULT_TTL: 'P99999999D' })).toThrow('ACCORD_TOKEN_DEFAULT_TTL must be at most P36500D, got "P99999999D"');
    expect(loadConfig({ ACCORD_TOKEN_DEFAULT_TTL: 'P36500D' }).tokenDefaultTtlMs).toBe(36_500 * 86_400_000);
  });
});

describe('token expiry and scopes', () => {
  let s: TestService;
  let now: number;
  const start = async (env: Record<string, string> = {}) => {
    now = Date.parse('2026-11-27T12:00:00Z');
    s = await startTestService({ clock: () => new Date(now), env });
  };
  afterEach(async () => await s.cleanup());

  const post = (body: unknown, token?: string) => s.call('POST', '/v1/tokens', { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const count = async () => (await s.deps.db.$sql.value('SELECT count(*) FROM tokens'));

  it('a token with expiresIn works until then and answers 401 "expired" after', async () => {
    await start();
    const res = await post({ role: 'ci', name: 'nightly', expiresIn: 'P30D' });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created.expiresAt).toBe('2026-12-27T12:00:00.000Z');
    const listed = (await (await s.call('GET', '/v1/tokens')).json()).find((t: { id: string }) => t.id === created.id);
    expect(listed.expiresAt).toBe('2026-12-27T12:00:00.000Z');

    now = Date.parse('2026-12-27T11:59:59Z');
    expect((await s.call('GET', '/v1/contracts', { token: created.token })).status).toBe(200);
    now = Date.parse('2026-12-27T12:00:00Z');
    const late = await s.call('GET', '/v1/contracts', { token: created.token });
    expect(late.status).toBe(401);
    expect(late.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await late.json()).detail).toMatch(/expired/);
  });

  it('tokens created without expiresIn live ACCORD_TOKEN_DEFAULT_TTL; the first admin token never expires', async () => {
    await start({ ACCORD_TOKEN_DEFAULT_TTL: 'P7D' });
    const created = await (await post({ role: 'author', name: 'weekly' })).json();
    expect(created.expiresAt).toBe('2026-12-04T12:00:00.000Z');
    const longer = await (await post({ role: 'author', name: 'monthly', expiresIn: 'P30D' })).json();
    expect(longer.expiresAt).toBe('2026-12-27T12:00:00.000Z');
    const admin = (await (await s.call('GET', '/v1/tokens')).json()).find((t: { name: string }) => t.name === 'initial admin');
    expect(admin.expiresAt).toBeNull();
  });

  it.each([['30 days'], ['P0D'], ['PT0S'], ['P1Y'], ['P36501D'], [30], [null]])('refuses expiresIn %j with 422 at /expiresIn, nothing written', async (expiresIn) => {
    await start();
    const before = await count();
    const res = await post({ role: 'author', name: 'x', expiresIn });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { location: string }) => e.location)).toEqual(['/expiresIn']);
    expect(await count()).toBe(before);
  });

  it('an expired admin token does not count as the one left to manage tokens', async () => {
    await start();
    const adminId = (await (await s.call('GET', '/v1/tokens')).json())[0].id;
    await post({ role: 'admin', name: 'short admin', expiresIn: 'PT1H' });
    await post({ role: 'admin', name: 'audit reader', scopes: ['audit:read'] });
    now += 2 * 3_600_000;
    expect((await s.call('DELETE', `/v1/tokens/${adminId}`)).status).toBe(409);
    expect((await s.call('GET', '/v1/contracts')).status).toBe(200);
  });

  it('a token limited to scopes may call only the operations needing them (403 naming the missing scope)', async () => {
    await start();
    const reader = await (await post({ role: 'partner', partner: 'acme', name: 'feed reader', scopes: ['notices:read'] })).json();
    expect(reader.scopes).toEqual(['notices:read']);
    expect((await s.call('GET', '/v1/notices.atom', { token: reader.token })).status).toBe(200);
    expect((await s.call('GET', '/v1/notices', { token: reader.token })).status).toBe(200);
    const refused = await s.call('GET', '/v1/contracts', { token: reader.token });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    const problem = await refused.json();
    expect(problem).toMatchObject({ code: 'forbidden', missingScope: 'contracts:read' });
    expect(problem.detail).toContain('"contracts:read"');
    // The exchange runtime needs the `exchange` scope (the route does not exist: past authentication it is a 404).
    const exchange = await s.call('GET', '/exchange/acme/member-api/v1/members/1', { token: reader.token });
    expect(exchange.status).toBe(403);
    expect((await exchange.json()).missingScope).toBe('exchange');
    const caller = await (await post({ role: 'partner', partner: 'acme', name: 'exchange caller', scopes: ['exchange'] })).json();
    expect((await s.call('GET', '/exchange/acme/member-api/v1/members/1', { token: caller.token })).status).toBe(404);
    expect((await s.call('GET', '/v1/notices', { token: caller.token })).status).toBe(403);
  });

  it.each([
    [{ role: 'partner', partner: 'acme', name: 'x', scopes: ['tokens'] }, '/scopes/0', /role "partner" cannot use scope "tokens"/],
    [{ role: 'ci', name: 'x', scopes: ['audit:read'] }, '/scopes/0', /cannot use/],
    [{ role: 'author', name: 'x', scopes: ['contracts:read', 'everything'] }, '/scopes/1', /unknown scope/],
    [{ role: 'author', name: 'x', scopes: [] }, '/scopes', /non-empty array/],
    [{ role: 'author', name: 'x', scopes: 'contracts:read' }, '/scopes', /non-empty array/],
    [{ role: 'author', name: 'x', scopes: ['contracts:read', 'contracts:read'] }, '/scopes/1', /twice/],
  ])('refuses scopes in %j with 422 at %s, nothing written', async (body, location, message) => {
    await start();
    const before = await count();
    const res = await post(body);
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem.errors).toEqual([{ location, message: expect.stringMatching(message) }]);
    expect(await count()).toBe(before);
  });

  it('a token limited to scopes creates tokens only within its own scopes', async () => {
    await start();
    const manager = await (await post({ role: 'admin', name: 'token manager', scopes: ['tokens'] })).json();
    expect((await post({ role: 'admin', name: 'everything' }, manager.token)).status).toBe(422);
    expect((await post({ role: 'admin', name: 'auditor', scopes: ['audit:read'] }, manager.token)).status).toBe(422);
    const ok = await post({ role: 'admin', name: 'another manager', scopes: ['tokens'] }, manager.token);
    expect(ok.status).toBe(201);
  });

  it('`accord token create --expires-in --scopes` stores both; a scope the role cannot use exits 1', async () => {
    await start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-token-cli-'));
    try {
      const env = { ACCORD_DATA_DIR: dir, ACCORD_SEED_DIR: '' };
      const run = await runCli(['token', 'create', '--role', 'partner', '--partner', 'acme', '--name', 'acme feed', '--expires-in', 'P30D', '--scopes', 'notices:read,exchange'], env);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Expires: \d{4}-\d{2}-\d{2}T/);
      expect(run.stdout).toContain('Scopes: notices:read, exchange');
      const refused = await runCli(['token', 'create', '--role', 'partner', '--partner', 'acme', '--scopes', 'tokens'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('/scopes/0');
      const badTtl = await runCli(['token', 'create', '--role', 'author', '--expires-in', 'tomorrow'], env);
      expect(badTtl.code).toBe(1);
      expect(badTtl.stderr).toContain('/expiresIn');
      const { openDb } = await import('../src/db/index.ts');
      const db = openDb(path.join(dir, 'accord.db'));
      try {
        const rows = (await db.$sql.all('SELECT created_at AS "createdAt", expires_at AS "expiresAt", scopes FROM tokens')) as Array<{ createdAt: string; expiresAt: string; scopes: string }>;
        expect(rows).toHaveLength(1);
        expect(Date.parse(rows[0]!.expiresAt) - Date.parse(rows[0]!.createdAt)).toBe(30 * 86_400_000);
        expect(JSON.parse(rows[0]!.scopes)).toEqual(['notices:read', 'exchange']);
      } finally {
        await db.$close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a token never creates a token that outlives it, and full admins stay', () => {
  let s: TestService;
  let now: number;
  const T0 = Date.parse('2026-11-27T12:00:00Z');
  const start = async (env: Record<string, string> = {}) => {
    now = T0;
    s = await startTestService({ clock: () => new Date(now), env });
  };
  afterEach(async () => await s.cleanup());

  const post = (body: unknown, token?: string) => s.call('POST', '/v1/tokens', { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  const create = async (body: unknown, token?: string) => {
    const res = await post(body, token);
    expect(res.status, JSON.stringify(body)).toBe(201);
    return (await res.json()) as { id: string; token: string; expiresAt: string | null };
  };
  const revoke = (id: string, token?: string) => s.call('DELETE', `/v1/tokens/${id}`, token ? { token } : {});
  const initialAdminId = async () => (await (await s.call('GET', '/v1/tokens')).json()).find((t: { name: string }) => t.name === 'initial admin').id as string;
  const count = async () => (await s.deps.db.$sql.value('SELECT count(*) FROM tokens'));

  it('a token created by an expiring token expires with it at the latest: by default, and a longer expiresIn gets 422 naming that expiry', async () => {
    await start();
    const short = await create({ role: 'admin', name: 'short admin', expiresIn: 'PT20S' });
    expect(short.expiresAt).toBe('2026-11-27T12:00:20.000Z');
    const child = await create({ role: 'admin', name: 'child admin' }, short.token);
    expect(child.expiresAt).toBe(short.expiresAt);
    const shorter = await create({ role: 'ci', name: 'shorter', expiresIn: 'PT10S' }, short.token);
    expect(shorter.expiresAt).toBe('2026-11-27T12:00:10.000Z');

    const before = await count();
    for (const expiresIn of ['PT21S', 'P30D', 'never']) {
      const res = await post({ role: 'author', name: 'longer', expiresIn }, short.token);
      expect(res.status, expiresIn).toBe(422);
      const problem = await res.json();
      expect(problem.errors).toEqual([{ location: '/expiresIn', message: expect.stringContaining('2026-11-27T12:00:20.000Z') }]);
    }
    expect(await count()).toBe(before);

    now += 20_000;
    expect((await s.call('GET', '/v1/contracts', { token: child.token })).status).toBe(401);
  });

  it('the default lifetime (ACCORD_TOKEN_DEFAULT_TTL) is capped by the creator\'s expiry too; "never" asks for a token that does not expire', async () => {
    await start({ ACCORD_TOKEN_DEFAULT_TTL: 'P7D' });
    const hour = await create({ role: 'admin', name: 'hour admin', expiresIn: 'PT1H' });
    expect((await create({ role: 'author', name: 'capped' }, hour.token)).expiresAt).toBe('2026-11-27T13:00:00.000Z');
    expect((await create({ role: 'author', name: 'weekly' })).expiresAt).toBe('2026-12-04T12:00:00.000Z');
    expect((await create({ role: 'admin', name: 'second full admin', expiresIn: 'never' })).expiresAt).toBeNull();
  });

  it('an expiring or scope-limited admin token cannot revoke a full admin (403): the initial admin survives them', async () => {
    await start();
    const adminId = await initialAdminId();
    const short = await create({ role: 'admin', name: 'short admin', expiresIn: 'PT15S' });
    const manager = await create({ role: 'admin', name: 'token manager', scopes: ['tokens'] });
    await create({ role: 'admin', name: 'second full admin' });
    for (const token of [short.token, manager.token]) {
      const res = await revoke(adminId, token);
      expect(res.status).toBe(403);
      expect((await res.json()).detail).toMatch(/full admin/);
    }
    now += 15_000;
    expect((await s.call('GET', '/v1/contracts', { token: ADMIN_TOKEN })).status).toBe(200);
    // They may still revoke what is not a full admin, themselves included.
    const ci = await create({ role: 'ci', name: 'ci' });
    expect((await revoke(ci.id, manager.token)).status).toBe(204);
    expect((await revoke(manager.id, manager.token)).status).toBe(204);
  });

  it('revoking a full admin needs another unrevoked, never-expiring, unscoped admin (409 otherwise)', async () => {
    await start();
    const adminId = await initialAdminId();
    await create({ role: 'admin', name: 'hour admin', expiresIn: 'PT1H' });
    await create({ role: 'admin', name: 'token manager', scopes: ['tokens'] });
    const refused = await revoke(adminId);
    expect(refused.status).toBe(409);
    expect((await refused.json()).detail).toMatch(/full admin/);
    expect((await s.call('GET', '/v1/contracts', { token: ADMIN_TOKEN })).status).toBe(200);

    const second = await create({ role: 'admin', name: 'second full admin' });
    expect((await revoke(adminId, second.token)).status).toBe(204);
    expect((await revoke(second.id, second.token)).status).toBe(409);
    expect((await s.call('GET', '/v1/contracts', { token: second.token })).status).toBe(200);
  });
});

describe('`accord token create --expires-in never`', () => {
  it('creates a never-expiring token even when ACCORD_TOKEN_DEFAULT_TTL is set (how an operator adds a second full admin)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-token-cli-'));
    try {
      const run = await runCli(['token', 'create', '--role', 'admin', '--name', 'second full admin', '--expires-in', 'never'], { ACCORD_DATA_DIR: dir, ACCORD_SEED_DIR: '', ACCORD_TOKEN_DEFAULT_TTL: 'P7D' });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Expires: never.');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
