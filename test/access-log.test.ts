import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startTestService, type TestService } from './harness.ts';

/** What operators read: one access-log line per request, and log lines for people or for collectors. */

/** A pino destination keeping every line, parsed. */
function capture(): { lines: Array<Record<string, unknown>>; sink: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, sink };
}

describe('access log', () => {
  let s: TestService;
  const { lines, sink } = capture();
  const requests = () => lines.filter((l) => l.msg === 'request');

  beforeAll(async () => {
    s = await startTestService({ logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => await s.cleanup());

  it('writes one line per request with method, route, status, duration, request id, correlation id and principal', async () => {
    lines.length = 0;
    const listed = await s.call('GET', '/v1/contracts?limit=5', { headers: { 'X-Request-Id': 'req-1', 'X-Correlation-Id': 'corr-1' } });
    expect(listed.status).toBe(200);
    const refused = await s.call('GET', '/v1/contracts', { token: null, headers: { 'X-Request-Id': 'req-2' } });
    expect(refused.status).toBe(401);
    const exchange = await s.call('GET', '/exchange/acme/member-api/v1/x', { token: null, headers: { 'X-Request-Id': 'req-3', 'X-Correlation-Id': 'corr-3' } });
    expect(exchange.status).toBe(401);
    await new Promise((resolve) => setImmediate(resolve));

    expect(requests().map((l) => l.requestId)).toEqual(['req-1', 'req-2', 'req-3']);
    const [first, second, third] = requests();
    expect(first).toMatchObject({ level: 30, method: 'GET', route: '/v1/contracts', path: '/v1/contracts', status: 200, requestId: 'req-1', correlationId: 'corr-1', principalName: 'initial admin' });
    expect(typeof first!.principal).toBe('string');
    expect(typeof first!.durationMs).toBe('number');
    // No query string: a feed token passed as ?token= never reaches the log.
    expect(JSON.stringify(first)).not.toContain('limit=5');
    expect(second).toMatchObject({ status: 401, requestId: 'req-2' });
    expect(second!.principal).toBeUndefined();
    expect(third).toMatchObject({ status: 401, correlationId: 'corr-3' });
  });
});

describe('governance decisions are logged as well as audited', () => {
  let s: TestService;
  const { lines, sink } = capture();
  beforeAll(async () => {
    s = await startTestService({ seed: true, logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => await s.cleanup());
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  it('a gate decision, a release and a change review each write a log line', async () => {
    const target = { partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', environment: 'production' };
    const decision = await (await json('POST', '/v1/gate/check', { ...target, breakGlass: 'restore the known-good baseline' })).json();
    const release = await json('POST', '/v1/releases', target);
    expect(release.status).toBe(201);
    const change = await (await json('POST', '/v1/changes', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', summary: 'exchangeId required' })).json();
    const review = await json('POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve', comment: 'read it' }, await s.token('approver'));
    expect(review.status).toBe(201);

    expect(lines.find((l) => l.msg === 'gate decision')).toMatchObject({ ...target, decisionId: decision.decisionId, verdict: 'pass', evaluated: expect.any(String), breakGlass: true, by: 'initial admin' });
    expect(lines.find((l) => l.msg === 'release recorded')).toMatchObject({ ...target, decisionId: decision.decisionId, releaseId: (await release.json()).id });
    expect(lines.find((l) => l.msg === 'change review')).toMatchObject({ changeId: change.id, decision: 'approve', by: expect.stringMatching(/^approver/) });
  });
});

describe('log format', () => {
  it('is JSON for collectors or pretty for people; auto picks JSON when stdout is not a terminal', () => {
    expect(loadConfig({ ACCORD_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ ACCORD_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBe(process.stdout.isTTY ? 'pretty' : 'json');
    expect(() => loadConfig({ ACCORD_LOG_FORMAT: 'xml' })).toThrow(/ACCORD_LOG_FORMAT must be auto, json or pretty; got "xml"/);
  });
});
