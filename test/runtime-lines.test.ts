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
    expect((await s.call('POST', '/v1/contracts/acme/empty-api/versions', { body: 'openapi: 3.1.0\ninfo: {title: Empty, version: 1.0.0}\npaths: {}\n', type: 'application/yaml' })).status).toBe(201);
    const change = await (await s.call('POST', '/v1/changes', { token: s.token('author'), body: JSON.stringify({ partner: 'acme', api: 'empty-api', version: '1.0.0', summary: 'an empty API' }), type: 'application/json' })).json();
    expect((await s.call('POST', `/v1/changes/${change.id}/reviews`, { token: s.token('approver'), body: JSON.stringify({ decision: 'approve' }), type: 'application/json' })).status).toBe(201);
    expect((await (await s.call('GET', '/v1/contracts/acme/empty-api/versions/1.0.0')).json()).state).toBe('approved');
  });
  afterAll(() => s.cleanup());

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
