import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const memberMatch = () =>
  (parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example;

describe('a served version without operations', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001' } });
    // Another partner's first version has no paths at all; one approval serves it in the sandbox.
    expect((await s.call('POST', '/v1/contracts/acme/empty-api/versions', { body: 'openapi: 3.1.0\ninfo: {title: Empty, version: 1.0.0}\npaths: {}\nsecurity: [{bearerAuth: []}]\ncomponents: {securitySchemes: {bearerAuth: {type: http, scheme: bearer}}}\n', type: 'application/yaml' })).status).toBe(201);
    const change = await (await s.call('POST', '/v1/changes', { token: await s.token('author'), body: JSON.stringify({ partner: 'acme', api: 'empty-api', version: '1.0.0', summary: 'an empty API' }), type: 'application/json' })).json();
    expect((await s.call('POST', `/v1/changes/${change.id}/reviews`, { token: await s.token('approver'), body: JSON.stringify({ decision: 'approve' }), type: 'application/json' })).status).toBe(201);
    expect((await (await s.call('GET', '/v1/contracts/acme/empty-api/versions/1.0.0')).json()).state).toBe('approved');
  });
  afterAll(async () => await s.cleanup());

  it('does not stop other partners\' flows from starting (was a 500)', async () => {
    const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: memberMatch() } }), type: 'application/json', headers: { 'Idempotency-Key': 'empty-line-1' } });
    expect(res.status).toBe(202);
    expect((await s.call('POST', '/v1/synthetic/run', { body: '{}', type: 'application/json' })).status).toBe(200);
  });

  it('answers 404 on its own line', async () => {
    const res = await s.call('GET', '/exchange/acme/empty-api/v1/anything');
    expect(res.status).toBe(404);
  });
});

describe('large documents and bodies stay bounded', () => {
  let s: TestService;
  const served = async (api: string, spec: object) => {
    expect((await s.call('POST', `/v1/contracts/acme/${api}/versions`, { body: JSON.stringify(spec), type: 'application/json' })).status).toBe(201);
    const change = await (await s.call('POST', '/v1/changes', { token: await s.token('author'), body: JSON.stringify({ partner: 'acme', api, version: '1.0.0', summary: 'large' }), type: 'application/json' })).json();
    expect((await s.call('POST', `/v1/changes/${change.id}/reviews`, { token: await s.token('approver'), body: JSON.stringify({ decision: 'approve' }), type: 'application/json' })).status).toBe(201);
  };
  const spec = (schema: object) => ({
    openapi: '3.1.0',
    info: { title: 'Large', version: '1.0.0' },
    paths: { '/items': { post: { operationId: 'postItems', requestBody: { required: true, content: { 'application/json': { schema } } }, responses: { '200': { description: 'ok' } } } } },
  });
  const post = (api: string, body: string) => s.call('POST', `/exchange/acme/${api}/v1/items`, { body, type: 'application/json' });

  beforeAll(async () => {
    s = await startTestService({ env: { ACCORD_BODY_LIMIT: String(8 * 1024 * 1024) } });
    // 250,000 examples: walking the schema used to spread them into one push() (RangeError, every exchange request a 500)
    await served('examples-api', spec({ type: 'array', items: { type: 'string' }, examples: [Array.from({ length: 250_000 }, () => 'x')] }));
    await served('strings-api', spec({ type: 'array', items: { type: 'string' } }));
  });
  afterAll(async () => await s.cleanup());

  it('a contract whose schema carries a huge examples array is served', async () => {
    // valid: through validation to the reference partners, which have no handler for acme (501)
    expect((await post('examples-api', '["a", "b"]')).status).toBe(501);
    expect((await post('examples-api', '[1]')).status).toBe(400);
  });

  it('a large invalid body is refused at its first problem (listing every one took minutes and a gigabyte)', async () => {
    const res = await post('strings-api', `[${Array(2_400_000).fill('0').join(',')}]`);
    expect(res.status).toBe(400);
    expect((await res.json()).errors).toEqual([{ location: 'body/0', message: 'must be string' }]);
  });

  it('a small invalid body lists its problems, at most 100 and a count of the rest', async () => {
    const res = await post('strings-api', `[${Array(5000).fill('0').join(',')}]`);
    expect(res.status).toBe(400);
    const errors = (await res.json()).errors as Array<{ location: string; message: string }>;
    expect(errors).toHaveLength(101);
    expect(errors[1]).toEqual({ location: 'body/1', message: 'must be string' });
    expect(errors[100]).toEqual({ location: '', message: 'and 4900 more problems' });
  });
});
