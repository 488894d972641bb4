import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './harness.ts';

/**
 * A document or body with millions of problems is refused as quickly as one with a single
 * problem: validation stops at the first problem unless the input is small, and a problem body
 * lists at most 100 findings. (With every problem collected, one such document kept the server
 * busy for minutes.)
 */
describe('bounded validation of documents', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ env: { ACCORD_BODY_LIMIT: String(8 * 1024 * 1024) } });
  });
  afterAll(async () => await s.cleanup());

  const huge = JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: {}, tags: Array(2_000_000).fill(0) });

  it('a registration with two million invalid tags is refused at its first problem, nothing stored', async () => {
    const res = await s.call('POST', '/v1/contracts/acme/huge/versions', { body: huge, type: 'application/json' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([{ location: '/tags/0', message: expect.stringContaining('must be object') }]);
    expect((await s.call('GET', '/v1/contracts/acme/huge/versions')).status).toBe(404);
  });

  it('a small document still gets every problem listed', async () => {
    const res = await s.call('POST', '/v1/contracts/acme/small/versions', { body: JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: {}, tags: [0, { name: 'ok' }, 'x'] }), type: 'application/json' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { location: string }) => e.location)).toEqual(['/tags/0', '/tags/2']);
  });

  it('a problem body lists at most 100 findings and counts the rest', async () => {
    const paths = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`/p${i}`, { $ref: `https://elsewhere.example/p${i}.yaml` }]));
    const res = await s.call('POST', '/v1/contracts/acme/refs/versions', { body: JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths }), type: 'application/json' });
    expect(res.status).toBe(422);
    const errors = (await res.json()).errors as Array<{ location: string; message: string }>;
    expect(errors).toHaveLength(101);
    expect(errors[100]).toEqual({ location: '', message: 'and 50 more problems' });
  });
});
