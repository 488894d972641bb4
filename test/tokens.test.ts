import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

describe('tokens', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(() => s.cleanup());

  const post = (body: unknown, token?: string) => s.call('POST', '/v1/tokens', { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  it('creates a token shown once, stores only its hash and lists it without secrets', async () => {
    const res = await post({ role: 'partner', partner: 'bluestem-mutual', name: 'Bluestem CI' });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toMatchObject({ role: 'partner', partner: 'bluestem-mutual', name: 'Bluestem CI', id: expect.stringMatching(/^tok_/) });
    expect(created.token).toMatch(/^acc_[A-Za-z0-9_-]{43}$/);

    const stored = s.deps.db.$client.prepare('SELECT * FROM tokens WHERE id = ?').get(created.id) as Record<string, string>;
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
