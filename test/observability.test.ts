import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import parsePrometheus from 'parse-prometheus-text-format';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpYaml, parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

const doc = (partner: string, version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const example = (partner = 'northwind-health', version = '2.0.0') => structuredClone(doc(partner, version).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';

describe('SLA monitor: breach → throttle and release freeze → recovery', () => {
  let s: TestService;
  let now = Date.parse('2026-11-27T12:00:00Z');
  beforeAll(async () => {
    // Time scale 0.01: member-match's 10 s timeout becomes 100 ms, so an 80 ms answer is slow but not a timeout.
    s = await startTestService({ seed: true, clock: () => new Date(now), env: { ACCORD_SAGA_TIME_SCALE: '0.01', ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => await s.cleanup());

  it('injected slowness breaches p95 time-to-acknowledge; new requests get 429, the gate fails for the partner; recovery lifts both', async () => {
    // The member-match owner tightens the SLA: p95 above 50 ms over 5 minutes, for 1 minute → throttle, freeze releases, page the owner.
    const entry = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/member-match.yaml'), 'utf8'), { maxAliases: 0 }) as any;
    entry.sla.interventions[0] = { metric: 'timeToAcknowledge', percentile: 95, above: 'PT0.05S', window: 'PT5M', for: 'PT1M', actions: ['throttle', 'freeze-releases', 'page-owner'] };
    await putApprovedMatrixEntry(s, 'member-match', dumpYaml(entry));
    const hook = await s.call('POST', '/v1/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'a-very-long-webhook-secret-123', events: ['sla.page-owner', 'sla.recovered'] }), type: 'application/json' });
    expect(hook.status).toBe(201);
    expect((await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'match-member', kind: 'delayed-event', delayMs: 80 }), type: 'application/json' })).status).toBe(201);
    let n = 0;
    const match = () => s.call('POST', MATCH, { body: JSON.stringify(example()), type: 'application/fhir+json', headers: { 'Idempotency-Key': `sla-match-${++n}-key` } });
    for (let i = 0; i < 10; i++) expect((await match()).status).toBe(200);
    const gate = async () => (await (await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0', environment: 'production' }), type: 'application/json' })).json()).reasons.find((r: any) => r.rule === 'release-freeze');

    await s.runtime.sla.evaluate();
    let sla = await (await s.call('GET', '/v1/sla')).json();
    let status = sla.flows.find((f: any) => f.flow === 'member-match').partners.find((p: any) => p.partner === 'northwind-health');
    expect(status.current.timeToAcknowledge.value).toBeGreaterThan(0.05);
    expect(status.breaches).toEqual([expect.objectContaining({ rule: 0, metric: 'timeToAcknowledge' })]);
    expect(status.interventions).toEqual([]); // breached, but not yet for a minute
    expect((await match()).status).toBe(200);

    now += 61_000;
    await s.runtime.sla.evaluate();
    sla = await (await s.call('GET', '/v1/sla')).json();
    status = sla.flows.find((f: any) => f.flow === 'member-match').partners.find((p: any) => p.partner === 'northwind-health');
    expect(status.interventions).toEqual([expect.objectContaining({ metric: 'timeToAcknowledge', actions: ['throttle', 'freeze-releases', 'page-owner'] })]);
    const throttled = await match();
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await throttled.json()).resourceType).toBe('OperationOutcome');
    // Other partners and flows are not throttled.
    expect((await s.call('POST', '/exchange/bluestem-mutual/p2p-exchange/v1/Patient/$member-match', { body: JSON.stringify(example('bluestem-mutual', '1.1.0')), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'sla-bluestem-0001' } })).status).toBe(200);
    const frozen = await gate();
    expect(frozen.status).toBe('failed');
    expect(frozen.message).toContain('SLA breach: member-match at northwind-health');
    const paged = (await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type = 'sla.page-owner'")) as string[];
    expect(JSON.parse(paged[0]!).data.owner).toEqual({ team: 'member-identity', contact: 'member-identity@accord-network.example' });

    // Recovery: the partner is fast again and the slow samples leave the window.
    const faults = (await (await s.call('GET', '/v1/faults')).json()).faults;
    for (const f of faults) await s.call('DELETE', `/v1/faults/${f.id}`);
    now += 5 * 60_000;
    await s.runtime.sla.evaluate();
    expect((await match()).status).toBe(200);
    expect((await gate()).status).toBe('met');
    const audit = (await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'sla.%'"));
    expect(audit).toEqual(['sla.intervention-applied', 'sla.intervention-lifted']);
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM webhook_deliveries WHERE event_type = 'sla.recovered'"))).toBe(1);
  });

  it('pause-retries makes the saga engine give up at the first retryable failure', async () => {
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    now += 5 * 60_000 + 1000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();
    now += 5 * 60_000;
    s.runtime.sla.record('payer-data-export', 'bluestem-mutual', 'errorRate', 1);
    await s.runtime.sla.evaluate();
    expect(s.runtime.sla.retriesPaused('payer-data-export', 'bluestem-mutual')).toBe(true);
    await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'bluestem-mutual', step: 'capture-consent', kind: 'error-status', status: 503, remaining: 1 }), type: 'application/json' });
    const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'bluestem-mutual', input: { memberMatch: example('bluestem-mutual', '1.1.0') } }), type: 'application/json', headers: { 'Idempotency-Key': 'paused-retries-1' } });
    expect(res.status).toBe(202);
    await s.runtime.engine.idle();
    const view = await (await s.call('GET', `/v1/transactions/${(await res.json()).id}`)).json();
    expect(view.state).toBe('compensated');
    expect(view.steps[1].attempts).toBe(1);
    expect(view.failure.detail).toContain('retries paused by an SLA intervention');
  });
});

describe('metrics, logs, scorecards, synthetic checks, operator views', () => {
  let s: TestService;
  const lines: any[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001' }, logger: pino({ level: 'info' }, sink) });
  });
  afterAll(async () => await s.cleanup());
  const post = (url: string, body: unknown, headers: Record<string, string>) => s.call('POST', url, { body: JSON.stringify(body), type: 'application/fhir+json', headers });

  it('/metrics parses as Prometheus text and has every listed series after a reference flow; no ids as labels', async () => {
    await post(MATCH, example(), { 'Idempotency-Key': 'metrics-match-1' });
    await post(MATCH, example(), { 'Idempotency-Key': 'metrics-match-1' }); // a duplicate
    await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'request-export', kind: 'error-status', status: 503, remaining: 1 }), type: 'application/json' });
    await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'finalise', kind: 'validation-error', remaining: 1 }), type: 'application/json' });
    const start = (key: string) => s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: example() } }), type: 'application/json', headers: { 'Idempotency-Key': key } });
    await start('metrics-flow-1'); // retried once, then compensated at finalise
    await s.runtime.engine.idle();
    await start('metrics-flow-2'); // completes
    await s.runtime.engine.idle();
    const nobody = example();
    nobody.parameter[0].resource.name[0].family = 'Nobody';
    const stuck = await (await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: nobody } }), type: 'application/json', headers: { 'Idempotency-Key': 'metrics-flow-3' } })).json();
    await s.runtime.engine.idle();
    await s.call('POST', `/v1/transactions/${stuck.id}/compensate`);
    await s.runtime.engine.idle();
    const stuck2 = await (await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: nobody } }), type: 'application/json', headers: { 'Idempotency-Key': 'metrics-flow-4' } })).json();
    await s.runtime.engine.idle();

    const res = await s.call('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const families = parsePrometheus(text) as Array<{ name: string; type: string; metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: object }> }>;
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const name of [
      'http_server_request_duration_seconds',
      'accord_requests_initiated_total',
      'accord_duplicate_requests_total',
      'accord_partner_responses_total',
      'accord_member_match_total',
      'accord_time_to_acknowledge_seconds',
      'accord_time_to_finalize_seconds',
      'accord_compensations_total',
      'accord_manual_interventions_total',
      'accord_transactions_in_flight',
      'accord_retries_total',
      'accord_step_duration_seconds',
      // prom-client's defaults: what operators expect of any Node service
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(byName.get(name)?.metrics.length, name).toBeGreaterThan(0);
    }
    expect(byName.get('http_server_request_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(text).toMatch(/http_server_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/v1\/transactions\/:ref\/compensate"\}/);
    expect(text).toMatch(/http_server_requests_total\{method="POST",route="\/v1\/transactions\/:ref\/compensate",status="202"\} 1/);
    // Exchange requests are labelled by the contract operation they reached (bounded by the served contracts), not /exchange/*.
    expect(text).toMatch(/http_server_requests_total\{method="POST",route="northwind-health\/p2p-exchange\/v2 memberMatch",status="200"\} 2/);
    // Timed per API operation across partners and lines (each partner's own latency: accord_step_duration_seconds).
    expect(text).toMatch(/http_server_request_duration_seconds_count\{method="POST",route="\/exchange\/\*",operation="p2p-exchange memberMatch"\} \d+/);
    expect(lines.find((l) => l.msg === 'request' && l.path === MATCH)).toMatchObject({ route: 'northwind-health/p2p-exchange/v2 memberMatch', status: 200 });
    expect(byName.get('accord_member_match_total')!.metrics.map((m) => m.labels?.outcome).sort()).toEqual(['matched', 'not-matched']);
    expect(byName.get('accord_transactions_in_flight')!.metrics.find((m) => m.labels?.flow === 'payer-data-export')?.value).toBe('1'); // the needs-attention one
    expect(stuck2.id).toBeDefined();
    // The SLA monitor sampled every target: the duplicate's answer, the operator's remediation.
    const sla = await (await s.call('GET', '/v1/sla')).json();
    const current = (flow: string) => sla.flows.find((f: any) => f.flow === flow).partners.find((p: any) => p.partner === 'northwind-health').current;
    expect(current('member-match').duplicateResolution.samples).toBe(1);
    expect(current('payer-data-export').remediationResponse.samples).toBe(1);
    expect(current('payer-data-export').timeToFinalize.samples).toBe(1);
    expect(current('payer-data-export').errorRate.value).toBeCloseTo(3 / 4, 5); // compensated, completed, compensated (operator), needs-attention
    const labelNames = new Set([...text.matchAll(/[{,]([a-zA-Z_]+)="/g)].map((m) => m[1]));
    expect(labelNames).toContain('partner');
    for (const forbidden of ['id', 'transaction', 'transactionId', 'correlationId', 'idempotencyKey', 'traceId']) expect(labelNames.has(forbidden)).toBe(false);
  });

  it('every log line that concerns a transaction carries its correlation id, trace id and transaction id', () => {
    const concerning = lines.filter((l) => l.transactionId);
    expect(concerning.length).toBeGreaterThan(10);
    for (const line of concerning) {
      expect(line.correlationId, line.msg).toBeTruthy();
      expect(line.traceId, line.msg).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(concerning.some((l) => l.msg === 'transaction state changed' && l.to === 'compensated')).toBe(true);
  });

  it('scorecard numbers match a scripted traffic mix computed by hand', async () => {
    // bluestem-mutual, a fresh window: 10 original requests + 3 repeats.
    const url = '/exchange/bluestem-mutual/p2p-exchange/v1/Patient/$member-match';
    const trace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const none = example('bluestem-mutual', '1.1.0');
    none.parameter[0].resource.name[0].family = 'Nobody';
    const sent: Array<[unknown, Record<string, string>]> = [];
    for (let i = 0; i < 6; i++) sent.push([example('bluestem-mutual', '1.1.0'), { 'Idempotency-Key': `card-key-${i}-x`, 'X-Correlation-Id': `card-${i}`, traceparent: trace }]); // both
    for (let i = 6; i < 8; i++) sent.push([example('bluestem-mutual', '1.1.0'), { 'Idempotency-Key': `card-key-${i}-x`, 'X-Correlation-Id': `card-${i}` }]); // correlation only
    for (let i = 8; i < 10; i++) sent.push([none, { 'Idempotency-Key': `card-key-${i}-x` }]); // neither; no match → 422
    sent.push([example('bluestem-mutual', '1.1.0'), { 'Idempotency-Key': 'card-key-0-x' }]); // replay
    sent.push([example('bluestem-mutual', '1.1.0'), { 'Idempotency-Key': 'card-key-1-x' }]); // replay
    sent.push([none, { 'Idempotency-Key': 'card-key-2-x' }]); // same key, other body → 422
    const statuses = [];
    for (const [body, headers] of sent) statuses.push((await post(url, body, headers)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 422, 422, 200, 200, 422]);
    const card = await (await s.call('GET', '/v1/scorecards/bluestem-mutual?window=PT1H')).json();
    // 13 requests: 10 originals (8 matched, 2 not) and 3 duplicates (2 replayed, 1 refused).
    expect(card.acceptance).toMatchObject({ transactions: 10, rate: 0.8 });
    expect(card.acceptance.latencyMs.p95).toBeGreaterThanOrEqual(card.acceptance.latencyMs.p50);
    expect(card.duplicates).toEqual({ requests: 13, duplicates: 3, rate: 0.2308, replayed: 2, handledByReplay: 0.6667 });
    // errors: 2 no-match 422 + 1 key-reuse 422, all with clear codes
    expect(card.errorTaxonomy).toEqual({ errors: 3, withClearCode: 3, share: 1 });
    // correlation id on 6 + 2 = 8 of 13, traceparent on 6 of 13, both on 6 of 13
    expect(card.observability).toEqual({ requests: 13, correlationId: 0.6154, traceparent: 0.4615, complete: 0.4615 });
    expect(card.releaseHygiene).toEqual({ releases: 0, evidenceComplete: null, breakingReleases: 0, breakingWithoutNotice: 0 });
    expect((await s.call('GET', '/v1/scorecards/bluestem-mutual', { token: await s.token('partner', 'northwind-health') })).status).toBe(404);
    expect((await s.call('GET', '/v1/scorecards/bluestem-mutual?window=forever')).status).toBe(400);
    expect(await (await s.call('GET', '/v1/scorecards/bluestem-mutual?window=forever')).json()).toMatchObject({
      code: 'bad_request',
      detail: 'window must be an ISO 8601 duration such as P7D or PT1H',
      errors: [{ location: 'window', message: 'not a duration' }],
    });
  });

  it('synthetic transactions store synthetic-check evidence and count in metrics; a failure after a release raises a drift notice', async () => {
    const invalid = await s.call('POST', '/v1/synthetic/run', { body: JSON.stringify({ flow: 7 }), type: 'application/json' });
    expect(await invalid.json()).toMatchObject({ status: 400, code: 'bad_request', errors: [{ location: '/flow', message: 'must name a control-matrix flow' }] });
    expect((await s.call('POST', '/v1/synthetic/run', { body: JSON.stringify({ flow: 'no-such-flow' }), type: 'application/json' })).status).toBe(404);
    const run = await (await s.call('POST', '/v1/synthetic/run', { body: JSON.stringify({ flow: 'payer-data-export' }), type: 'application/json' })).json();
    expect(run.results.map((r: any) => [r.partner, r.result])).toEqual([
      ['bluestem-mutual', 'pass'],
      ['northwind-health', 'pass'],
    ]);
    const card = await (await s.call('GET', '/v1/scorecards/northwind-health?window=PT1H')).json();
    expect(card.synthetic).toEqual({ checks: 1, passed: 1, successRate: 1 });
    // bluestem releases 1.2.0 (the version it serves) to production, then its finalise breaks.
    await s.deps.db.$sql.run("INSERT INTO releases (id, partner, api, version, environment, content_sha256, decision_id, created_at, created_by) VALUES ('rel_test', 'bluestem-mutual', 'p2p-exchange', '1.2.0', 'production', 'x', 'dec_x', ?, 'test')", [new Date().toISOString()]);
    await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'bluestem-mutual', step: 'finalise', kind: 'error-status', status: 500 }), type: 'application/json' });
    const failed = await (await s.call('POST', '/v1/synthetic/run', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'bluestem-mutual' }), type: 'application/json' })).json();
    expect(failed.results).toEqual([expect.objectContaining({ partner: 'bluestem-mutual', result: 'fail', state: 'compensated', driftNoticeId: expect.stringMatching(/^ntc_/) })]);
    const notices = await (await s.call('GET', '/v1/notices', { token: await s.token('partner', 'bluestem-mutual') })).json();
    expect(notices.some((n: any) => n.kind === 'synthetic-drift' && n.version === '1.2.0')).toBe(true);
    const metrics = await (await s.call('GET', '/metrics', { token: null })).text();
    expect(metrics).toContain('accord_synthetic_checks_total{partner="bluestem-mutual",flow="payer-data-export",outcome="fail"} 1');
  });

  it('operator views list degraded routes, stuck types, retries and pending compensations with links', async () => {
    const views = await (await s.call('GET', '/v1/operator/views')).json();
    expect(views.degradedRoutes.some((d: any) => d.partner === 'bluestem-mutual' && d.step === 'finalise' && d.transactions.startsWith(`${s.config.publicUrl}/v1/transactions?`))).toBe(true);
    expect(Array.isArray(views.stuckTransactionTypes)).toBe(true);
    expect(Array.isArray(views.accumulatingRetries)).toBe(true);
    // metrics-flow-4 waits for an operator in the forward phase; nothing is mid-compensation
    expect(views.pendingCompensations).toEqual([]);
    expect((await s.call('GET', '/v1/operator/views', { token: await s.token('partner', 'bluestem-mutual') })).status).toBe(403);
  });
});
