import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { publishTransactionEvents } from '../src/runtime/outbox.ts';
import { STATE_RANK, type TransactionState } from '../src/runtime/saga/states.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const doc = (partner: string, version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const matchExample = () => structuredClone(doc('northwind-health', '2.0.0').paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
const STEPS = ['match-member', 'capture-consent', 'request-export', 'poll-export', 'acknowledge', 'finalise'];

/** Starts services whose saga backoff and timeouts are scaled down 10,000× (1 s → 0.1 ms). */
async function sagaService(env: Record<string, string> = {}): Promise<TestService> {
  return startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001', ...env } });
}

describe('saga engine: the payer-data-export flow', () => {
  let s: TestService;
  let n = 0;
  beforeAll(async () => {
    // The outbox test subscribes a webhook on 127.0.0.1: private targets need the operator's opt-in.
    s = await sagaService({ ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' });
  });
  afterAll(async () => await s.cleanup());

  const start = (body: unknown, headers: Record<string, string> = {}, token?: string) =>
    s.call('POST', '/v1/transactions', { body: JSON.stringify(body), type: 'application/json', headers: { 'Idempotency-Key': `saga-key-${++n}`, ...headers }, ...(token ? { token } : {}) });
  const get = async (ref: string) => (await s.call('GET', `/v1/transactions/${encodeURIComponent(ref)}`)).json();
  const exportBody = (input: object = { memberMatch: matchExample() }) => ({ flow: 'payer-data-export', partner: 'northwind-health', input });
  const records = async (kind: string) => (await s.deps.db.$sql.all('SELECT * FROM partner_records WHERE kind = ? ORDER BY created_at', [kind])) as Array<{ id: string; status: string; data: string }>;
  const inject = async (fault: object) => {
    const res = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', flow: 'payer-data-export', ...fault }), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()).id as string;
  };
  const clearFaults = async () => {
    for (const f of (await (await s.call('GET', '/v1/faults')).json()).faults) await s.call('DELETE', `/v1/faults/${f.id}`);
  };
  /** Runs one flow to its end and returns its view. */
  const run = async (input?: object) => {
    const res = await start(exportBody(input));
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = await res.json();
    await s.runtime.engine.idle();
    return get(id);
  };
  /** Every recorded state change moves forward. */
  const expectForwardOnly = (view: any) => {
    const changes = view.events.filter((e: any) => e.type === 'transaction.state-changed');
    for (const e of changes) expect(STATE_RANK[e.to as TransactionState], `${e.from} → ${e.to}`).toBeGreaterThan(STATE_RANK[e.from as TransactionState]);
  };

  it('runs the six steps in order to completed, with a timeline, events and one effect per step', async () => {
    const before = { consent: (await records('consent')).length, export: (await records('export')).length, ack: (await records('acknowledgement')).length, fin: (await records('finalization')).length };
    const res = await start(exportBody(), { 'X-Correlation-Id': 'corr-saga-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:8080\/v1\/transactions\/txn_/);
    expect(res.headers.get('x-correlation-id')).toBe('corr-saga-1');
    const accepted = await res.json();
    expect(accepted.state).toBe('initiated');
    await s.runtime.engine.idle();
    const view = await get(accepted.id);
    expect(view.state).toBe('completed');
    expect(view.where).toMatch(/^completed at/);
    expect(view.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(view.steps.map((x: any) => [x.id, x.state])).toEqual(STEPS.map((id) => [id, 'succeeded']));
    for (const step of view.steps) {
      expect(step.startedAt <= step.endedAt).toBe(true);
      expect(step.latencyMs).toBeGreaterThanOrEqual(0);
      expect(step.attemptLog[0].spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    // The export is asynchronous: the first poll answers 202, the second 200.
    expect(view.steps[3].attempts).toBe(2);
    expect(view.steps[3].attemptLog.map((a: any) => a.status)).toEqual([202, 200]);
    expect(view.events.filter((e: any) => e.type === 'transaction.state-changed').map((e: any) => e.to)).toEqual(['accepted', 'in-progress', 'completed']);
    expectForwardOnly(view);
    expect((await records('consent')).length - before.consent).toBe(1);
    expect((await records('export')).length - before.export).toBe(1);
    expect((await records('acknowledgement')).length - before.ack).toBe(1);
    expect((await records('finalization')).length - before.fin).toBe(1);
    // Found by correlation id and by idempotency key too.
    expect((await get('corr-saga-1')).id).toBe(accepted.id);
    expect((await get(accepted.idempotencyKey)).id).toBe(accepted.id);
    // Correlation id on every step row and event.
    const rows = (await s.deps.db.$sql.column('SELECT correlation_id FROM transaction_steps WHERE transaction_id = ? UNION SELECT correlation_id FROM transaction_events WHERE transaction_id = ?', [accepted.id, accepted.id]));
    expect(rows).toEqual(['corr-saga-1']);
  });

  it('starting is idempotent: a repeat replays the first answer byte for byte, another body with the key is 422', async () => {
    const body = JSON.stringify(exportBody());
    const headers = { 'Idempotency-Key': 'start-once-0001' };
    const first = await s.call('POST', '/v1/transactions', { body, type: 'application/json', headers });
    const firstText = await first.text();
    const again = await s.call('POST', '/v1/transactions', { body, type: 'application/json', headers });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
    const other = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ ...exportBody(), partner: 'bluestem-mutual' }), type: 'application/json', headers });
    expect(other.status).toBe(422);
    await s.runtime.engine.idle();
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM transactions WHERE idempotency_key = 'start-once-0001'"))).toBe(1);
  });

  it('refuses bad requests with 4xx and stores nothing', async () => {
    const count = async () => (await s.deps.db.$sql.value('SELECT count(*) FROM transactions'));
    const before = await count();
    const noKey = await s.call('POST', '/v1/transactions', { body: JSON.stringify(exportBody()), type: 'application/json' });
    expect(noKey.status).toBe(400);
    expect((await noKey.json()).detail).toContain('Idempotency-Key');
    expect((await start({ flow: 'nope', partner: 'northwind-health', input: {} })).status).toBe(404);
    expect((await start({ flow: 'payer-data-export', partner: 'nobody-here', input: {} })).status).toBe(404);
    const missing = await start({ partner: 'northwind-health' });
    expect(missing.status).toBe(400);
    const problem = await missing.json();
    expect(problem.errors.map((e: any) => e.location)).toEqual(['/flow', '/input']);
    expect(problem).toMatchObject({ code: 'bad_request', detail: 'The transaction request is invalid' });
    const wrongType = await s.call('POST', '/v1/transactions', { body: JSON.stringify(exportBody()), type: 'text/plain', headers: { 'Idempotency-Key': 'text-body-0001' } });
    expect(wrongType.status).toBe(415);
    const oversizedKey = await start(exportBody(), { 'Idempotency-Key': 'k'.repeat(256) });
    expect(oversizedKey.status).toBe(400);
    expect((await oversizedKey.json()).detail).toBe('Send an Idempotency-Key header (at most 255 characters): starting a flow is idempotent');
    const bad = matchExample();
    bad.parameter[0].resource.birthDate = 12;
    const invalid = await start(exportBody({ memberMatch: bad }));
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).errors[0].location).toMatch(/^\/input\/body\/parameter\/0/);
    // A later step's path parameter from the input (the export's group) is checked before anything runs.
    const badGroup = await start(exportBody({ memberMatch: matchExample(), groupId: '../../x y' }));
    expect(badGroup.status).toBe(400);
    expect((await badGroup.json()).errors.map((e: any) => e.location)).toEqual(['/input/request-export/path.groupId']);
    expect((await s.call('POST', '/v1/transactions', { body: 'not json', type: 'application/json', headers: { 'Idempotency-Key': 'bad-json-0001' } })).status).toBe(400);
    expect((await start(exportBody(), {}, await s.token('approver'))).status).toBe(403);
    expect(await count()).toBe(before);
  });

  it('answers with the correlation id: the caller\'s on refusals, the transaction\'s when it is read', async () => {
    const refused = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export' }), type: 'application/json', headers: { 'X-Correlation-Id': 'corr-refused-1', 'Idempotency-Key': 'refused-key-0001' } });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.headers.get('x-correlation-id')).toBe('corr-refused-1');
    const view = await run();
    const read = await s.call('GET', `/v1/transactions/${view.id}`);
    expect(read.headers.get('x-correlation-id')).toBe(view.correlationId);
  });

  it('a step that fails for good compensates steps n−1…1 once each, in reverse order', async () => {
    for (let failing = 2; failing <= STEPS.length; failing++) {
      await clearFaults();
      await inject({ step: STEPS[failing - 1], kind: 'error-status', status: 503 });
      const before = { revoked: (await records('consent')).filter((r) => r.status === 'inactive').length, cancelled: (await records('export')).filter((r) => r.status === 'cancelled').length };
      const view = await run();
      expect(view.state, `failing at step ${failing}`).toBe('compensated');
      expectForwardOnly(view);
      const failed = view.steps[failing - 1];
      expect(failed.state).toBe('failed');
      // error-status 503 is retried per the matrix before giving up
      expect(failed.attempts).toBeGreaterThanOrEqual(3);
      expect(view.failure).toMatchObject({ step: STEPS[failing - 1], failureMode: 'partner-timeout', status: 503 });
      // Compensations, in the order they ran: n−1 down to 1.
      const ran = view.events.filter((e: any) => /^transaction\.(compensation-(succeeded|skipped)|reversal-event)$/.test(e.type)).map((e: any) => e.step);
      expect(ran).toEqual(STEPS.slice(0, failing - 1).reverse());
      expect(view.compensations.map((c: any) => c.forStep)).toEqual(STEPS.slice(0, failing - 1).reverse());
      for (const c of view.compensations) {
        const expected = c.forStep === 'capture-consent' || c.forStep === 'request-export' || c.forStep === 'acknowledge' ? 'succeeded' : 'skipped';
        expect(c.state, `${c.forStep} when failing at ${failing}`).toBe(expected);
        if (expected === 'succeeded') expect(c.attempts).toBe(1);
      }
      // Each compensating operation took effect exactly once.
      expect((await records('consent')).filter((r) => r.status === 'inactive').length - before.revoked).toBe(failing > 2 ? 1 : 0);
      expect((await records('export')).filter((r) => r.status === 'cancelled').length - before.cancelled).toBe(failing > 3 ? 1 : 0);
      if (failing > 5) expect(view.events.some((e: any) => e.type === 'transaction.reversal-event' && e.step === 'acknowledge')).toBe(true);
      expect(view.steps.slice(failing).every((x: any) => x.state === 'skipped')).toBe(true);
    }
    await clearFaults();
  });

  it('recovers from transient faults without a second effect: timeout, partial write, duplicate delivery, delayed event', async () => {
    const cases: Array<[object, string]> = [
      [{ step: 'request-export', kind: 'timeout', remaining: 1 }, 'timeout'],
      [{ step: 'request-export', kind: 'partial-write', remaining: 1 }, 'partial-write'],
      [{ step: 'capture-consent', kind: 'duplicate-delivery', remaining: 1 }, 'answered'],
      // the step timeout is 1 ms here (PT10S scaled): a 5 ms delay is an answer that came too late
      [{ step: 'acknowledge', kind: 'delayed-event', delayMs: 5, remaining: 1 }, 'timeout'],
    ];
    for (const [fault, firstResult] of cases) {
      await clearFaults();
      await inject(fault);
      const before = { consent: (await records('consent')).length, export: (await records('export')).length, ack: (await records('acknowledgement')).length };
      const view = await run();
      expect(view.state, JSON.stringify(fault)).toBe('completed');
      const step = view.steps.find((x: any) => x.id === (fault as { step: string }).step);
      expect(step.attemptLog[0], JSON.stringify(step)).toMatchObject({ fault: (fault as { kind: string }).kind, result: firstResult });
      if (firstResult !== 'answered') {
        expect(step.attempts).toBe(2);
        // the retry is answered from the partner's record of the first call when the partner had acted
        if (firstResult === 'partial-write' || (fault as { kind: string }).kind === 'delayed-event') expect(step.attemptLog[1].replayed).toBe(true);
      }
      expect((await records('consent')).length - before.consent).toBe(1);
      expect((await records('export')).length - before.export).toBe(1);
      expect((await records('acknowledgement')).length - before.ack).toBe(1);
    }
    await clearFaults();
  });

  it('a partial write that never heals compensates the step itself (the partner kept the export)', async () => {
    await inject({ step: 'request-export', kind: 'partial-write' });
    const before = (await records('export')).filter((r) => r.status === 'cancelled').length;
    const view = await run();
    await clearFaults();
    expect(view.state, JSON.stringify(view, null, 1)).toBe('compensated');
    expect(view.failure.failureMode).toBe('partial-write');
    expect(view.compensations.map((c: any) => [c.forStep, c.state])).toEqual([
      ['request-export', 'succeeded'],
      ['capture-consent', 'succeeded'],
      ['match-member', 'skipped'],
    ]);
    expect((await records('export')).filter((r) => r.status === 'cancelled').length - before).toBe(1);
  });

  it('an acknowledgement whose answer is lost for good is reversed too (the partner kept it): a reversal event', async () => {
    await inject({ step: 'acknowledge', kind: 'partial-write', remaining: 10 });
    const view = await run();
    expect(view.state).toBe('compensated');
    const reversal = view.events.filter((e: any) => e.type === 'transaction.reversal-event');
    expect(reversal).toHaveLength(1);
    expect(reversal[0].step).toBe('acknowledge');
    expect(reversal[0].data.context.acknowledgementId).toMatch(/^ack-/);
    expect(view.compensations.map((c: any) => `${c.forStep}:${c.state}`)).toEqual(expect.arrayContaining(['acknowledge:succeeded', 'request-export:succeeded', 'capture-consent:succeeded']));
  });

  it('a validation error is not retried; a member mismatch goes to an operator, who compensates', async () => {
    await inject({ step: 'acknowledge', kind: 'validation-error', remaining: 1 });
    const rejected = await run();
    expect(rejected.state).toBe('compensated');
    expect(rejected.steps[4]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(rejected.failure).toMatchObject({ failureMode: 'downstream-validation-error', action: 'reject' });

    const nobody = matchExample();
    nobody.parameter[0].resource.name[0].family = 'Nobody';
    const stuck = await run({ memberMatch: nobody });
    expect(stuck.state).toBe('needs-attention');
    expect(stuck.failure).toMatchObject({ failureMode: 'member-mismatch', action: 'manual-review', supportOwner: 'member-services' });
    expect(stuck.where).toContain('waiting for an operator');
    const listed = await (await s.call('GET', '/v1/transactions?state=needs-attention&flow=payer-data-export')).json();
    expect(listed.transactions.map((t: any) => t.id)).toContain(stuck.id);
    expect((await s.call('POST', `/v1/transactions/${stuck.id}/compensate`, { token: await s.token('ci') })).status).toBe(403);
    const compensate = await s.call('POST', `/v1/transactions/${stuck.id}/compensate`);
    expect(compensate.status).toBe(202);
    await s.runtime.engine.idle();
    const done = await get(stuck.id);
    expect(done.state, JSON.stringify(done, null, 1)).toBe('compensated');
    expectForwardOnly(done);
    expect((await s.call('POST', `/v1/transactions/${stuck.id}/retry`)).status).toBe(409);
    const audit = (await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'POST /v1/transactions/%'"));
    expect(audit).toContain('POST /v1/transactions/:ref/compensate');
  });

  // Compensate on a transaction that stopped while compensating runs the stopped compensation again, like retry.
  it.each(['retry', 'compensate'] as const)('a compensation that keeps failing needs an operator; %s after the fault is gone finishes it', async (action) => {
    await inject({ step: 'acknowledge', kind: 'error-status', status: 500 });
    await inject({ step: 'cancelExport', kind: 'error-status', status: 502 });
    const view = await run();
    expect(view.state).toBe('needs-attention');
    expect(view.failure).toMatchObject({ step: 'request-export', compensation: true, status: 502 });
    expect(view.compensations.find((c: any) => c.forStep === 'request-export').state).toBe('failed');
    await clearFaults();
    const res = await s.call('POST', `/v1/transactions/${view.id}/${action}`);
    expect(res.status).toBe(202);
    await s.runtime.engine.idle();
    const done = await get(view.id);
    expect(done.state).toBe('compensated');
    expect(done.compensations.filter((c: any) => c.state === 'succeeded').map((c: any) => c.forStep)).toEqual(['request-export', 'capture-consent']);
    expect(done.events.some((e: any) => e.type === `transaction.operator-${action}`)).toBe(true);
    expectForwardOnly(done);
  });

  it.each(['retry', 'compensate'] as const)('after an operator %s, a failed step the partner acted on is still undone (its failure is kept while compensating)', async (action) => {
    await inject({ step: 'request-export', kind: 'partial-write', remaining: 20 });
    await inject({ step: 'cancelExport', kind: 'error-status', status: 502 });
    const view = await run();
    expect(view.state).toBe('needs-attention');
    const job = JSON.parse((await records('export')).at(-1)!.data).jobId;
    await clearFaults();
    expect((await s.call('POST', `/v1/transactions/${view.id}/${action}`)).status).toBe(202);
    await s.runtime.engine.idle();
    const done = await get(view.id);
    expect(done.state).toBe('compensated');
    expect(done.compensations.find((c: any) => c.forStep === 'request-export').state).toBe('succeeded');
    expect((await records('export')).find((r) => JSON.parse(r.data).jobId === job)!.status).toBe('cancelled');
  });

  it('records direct exchange requests as transactions found by correlation id or idempotency key', async () => {
    const res = await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'direct-match-0001', 'X-Correlation-Id': 'corr-direct-1' } });
    expect(res.status).toBe(200);
    const view = await get('corr-direct-1');
    expect(view).toMatchObject({ mode: 'sync', flow: 'member-match', state: 'completed', idempotencyKey: 'direct-match-0001' });
    expect(view.steps).toHaveLength(1);
    expect(view.steps[0]).toMatchObject({ id: 'match-member', state: 'succeeded', attempts: 1 });
    expect((await get('direct-match-0001')).id).toBe(view.id);
    // a replay is not a second transaction
    await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'direct-match-0001' } });
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM transactions WHERE idempotency_key = 'direct-match-0001'"))).toBe(1);
    expect((await s.call('POST', `/v1/transactions/${view.id}/retry`)).status).toBe(409);
    expect((await s.call('GET', '/v1/transactions/nothing-like-this')).status).toBe(404);
  });

  it('an operator closes a direct request that failed into needs-attention (it had no effect); retry is the caller\'s', async () => {
    const nobody = matchExample();
    nobody.parameter[0].resource.name[0].family = 'Nobody';
    const res = await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(nobody), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'direct-mismatch-0001' } });
    expect(res.status).toBe(422);
    const view = await get('direct-mismatch-0001');
    expect(view).toMatchObject({ mode: 'sync', state: 'needs-attention' });
    expect(view.where).toContain('/compensate closes it');
    expect((await s.call('POST', `/v1/transactions/${view.id}/retry`)).status).toBe(409);
    const closed = await s.call('POST', `/v1/transactions/${view.id}/compensate`);
    expect(closed.status).toBe(202);
    const after = await get(view.id);
    expect(after.state).toBe('compensated');
    expect(after.finishedAt).not.toBeNull();
    expect((await (await s.call('GET', '/v1/transactions')).json()).transactions.map((t: { id: string }) => t.id)).not.toContain(view.id);
    expect((await s.call('POST', `/v1/transactions/${view.id}/compensate`)).status).toBe(409);
  });

  it('partners see only their own transactions', async () => {
    const view = await run();
    const bluestem = await s.token('partner', 'bluestem-mutual');
    expect((await s.call('GET', `/v1/transactions/${view.id}`, { token: bluestem })).status).toBe(404);
    expect((await s.call('GET', `/v1/transactions/${view.id}`, { token: await s.token('partner', 'northwind-health') })).status).toBe(200);
    const list = await (await s.call('GET', '/v1/transactions?state=completed', { token: bluestem })).json();
    expect(list.transactions.some((t: any) => t.partner === 'northwind-health')).toBe(false);
  });

  it('lists by state, partner, flow and olderThan, and refuses bad filters', async () => {
    const all = await (await s.call('GET', '/v1/transactions?state=completed,compensated&partner=northwind-health&flow=payer-data-export')).json();
    expect(all.transactions.length).toBeGreaterThan(5);
    expect(all.transactions.every((t: any) => ['completed', 'compensated'].includes(t.state))).toBe(true);
    const old = await (await s.call('GET', '/v1/transactions?state=completed&olderThan=P1D')).json();
    expect(old.transactions).toEqual([]);
    expect((await s.call('GET', '/v1/transactions?state=done')).status).toBe(400);
    expect((await s.call('GET', '/v1/transactions?olderThan=yesterday')).status).toBe(400);
    const refused = await s.call('GET', '/v1/transactions?state=done,completed&olderThan=yesterday&limit=0');
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(await refused.json()).toMatchObject({
      status: 400,
      code: 'bad_request',
      detail: 'Invalid transaction query',
      errors: [
        { location: 'state', message: 'unknown state done; states are initiated, accepted, in-progress, compensating, awaiting-approval, needs-attention, completed, compensated' },
        { location: 'olderThan', message: 'must be an ISO 8601 duration (PT10M) or timestamp' },
        { location: 'limit', message: 'must be an integer 1–1000' },
      ],
    });
  });

  it('publishes the outbox to subscribed webhooks, once', async () => {
    const hook = await s.call('POST', '/v1/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'a-very-long-webhook-secret-123', events: ['transaction.state-changed'] }), type: 'application/json' });
    expect(hook.status, await hook.clone().text()).toBe(201);
    await publishTransactionEvents(s.deps, 100_000);
    const view = await run();
    const published = await publishTransactionEvents(s.deps, 100_000);
    expect(published).toBe(view.events.length);
    expect(await publishTransactionEvents(s.deps)).toBe(0);
    const deliveries = (await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type = 'transaction.state-changed'")) as string[];
    expect(deliveries.filter((p) => JSON.parse(p).data.transactionId === view.id).map((p) => JSON.parse(p).data.to)).toEqual(['accepted', 'in-progress', 'completed']);
    // A direct exchange request's record is its own outbox entry.
    await s.call('POST', '/v1/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'a-very-long-webhook-secret-123', events: ['transaction.recorded'] }), type: 'application/json' });
    await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'outbox-direct-0001', 'X-Correlation-Id': 'corr-outbox-1' } });
    expect(await publishTransactionEvents(s.deps)).toBe(1);
    expect(await publishTransactionEvents(s.deps)).toBe(0);
    const recorded = (await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type = 'transaction.recorded'")) as string[];
    expect(recorded.map((p) => JSON.parse(p).data)).toEqual([expect.objectContaining({ correlationId: 'corr-outbox-1', flow: 'member-match', to: 'completed', operationId: 'memberMatch', status: 200 })]);
  });
});

describe('fault injection: API and configuration', () => {
  let s: TestService;
  let file: string;
  beforeAll(async () => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'accord-faults-')), 'faults.yaml');
    fs.writeFileSync(file, '- {partner: northwind-health, step: match-member, kind: error-status, status: 503, remaining: 1}\n');
    s = await sagaService({ ACCORD_FAULTS: file });
  });
  afterAll(async () => await s.cleanup());

  it('loads faults from ACCORD_FAULTS and applies them to direct exchange requests too', async () => {
    const faults = (await (await s.call('GET', '/v1/faults')).json()).faults;
    expect(faults).toMatchObject([{ partner: 'northwind-health', step: 'match-member', kind: 'error-status', status: 503, source: 'config', remaining: 1 }]);
    const url = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';
    const call = () => s.call('POST', url, { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'fault-direct-0001' } });
    const failed = await call();
    expect(failed.status).toBe(503);
    expect((await failed.json()).resourceType).toBe('OperationOutcome');
    // used up: the retry with the same key is the first real request
    const ok = await call();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a partial write on a direct request stores the effect; the client retry gets the stored answer', async () => {
    const created = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'captureConsent', kind: 'partial-write', remaining: 1 }), type: 'application/json' });
    expect(created.status).toBe(201);
    const consent = matchExample().parameter[3].resource;
    const call = () => s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Consent', { body: JSON.stringify(consent), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'fault-consent-0001' } });
    const before = (await s.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent'")) as number;
    expect((await call()).status).toBe(500);
    const retry = await call();
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent'"))).toBe(before + 1);
  });

  it('a direct answer delayed beyond the step timeout is a 504 timeout; the effect is kept for the retry', async () => {
    const created = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'memberMatch', kind: 'delayed-event', delayMs: 600000, remaining: 1 }), type: 'application/json' });
    expect(created.status).toBe(201);
    const call = () => s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'fault-late-0001' } });
    const late = await call(); // waits the scaled step timeout, not the ten-minute delay (the test would time out)
    expect(late.status).toBe(504);
    const retry = await call();
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses invalid faults, and fault injection outside the sandbox', async () => {
    const bad = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'x', kind: 'meteor' }), type: 'application/json' });
    expect(bad.status).toBe(400);
    const problem = await bad.json();
    expect(problem.errors[0].location).toBe('/kind');
    expect(problem).toMatchObject({ code: 'bad_request', detail: 'The fault is invalid' });
    expect((await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'x', kind: 'delayed-event' }), type: 'application/json' })).status).toBe(400);
    expect((await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'x', kind: 'timeout' }), type: 'application/json', token: await s.token('author') })).status).toBe(403);
    expect((await s.call('DELETE', '/v1/faults/flt_nothing')).status).toBe(404);
    const production = await startTestService({ seed: false, env: { ACCORD_RUNTIME_ENV: 'production' } });
    try {
      expect((await production.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', step: 'x', kind: 'timeout' }), type: 'application/json' })).status).toBe(409);
    } finally {
      await production.cleanup();
    }
  });

  it('refuses an invalid ACCORD_FAULTS file at start-up', async () => {
    const bad = path.join(path.dirname(file), 'bad.yaml');
    fs.writeFileSync(bad, '- {partner: northwind-health, kind: nothing}\n');
    await expect(startTestService({ env: { ACCORD_FAULTS: bad } })).rejects.toThrow(/ACCORD_FAULTS.*\/0\/step/);
  });
});

describe('schema drift: answers are checked against the contract', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await sagaService();
  });
  afterAll(async () => await s.cleanup());

  it('counts and logs an answer that does not match the served contract as schema-drift, and still answers', async () => {
    // 3.0.0 promises a matchedAt field in the $member-match answer that the partner does not send.
    const v3 = doc('northwind-health', '2.1.0');
    v3.info.version = '3.0.0';
    v3.components.schemas.MemberMatchResponse.required = [...(v3.components.schemas.MemberMatchResponse.required ?? []), 'matchedAt'];
    v3.components.schemas.MemberMatchResponse.properties = { ...v3.components.schemas.MemberMatchResponse.properties, matchedAt: { type: 'string' } };
    expect((await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: JSON.stringify(v3), type: 'application/json' })).status).toBe(201);
    await s.deps.db.$sql.run("UPDATE contract_versions SET state = 'approved' WHERE version = '3.0.0'");
    const { markContractsChanged } = await import('../src/contracts/versions.ts');
    await markContractsChanged(s.deps.db);
    const drift = async () => (await s.deps.metrics.registry.getSingleMetric('accord_schema_drift_total')!.get()).values.find((v) => v.labels.partner === 'northwind-health' && v.labels.operation === 'memberMatch')?.value ?? 0;
    const ok = await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'drift-check-0001' } });
    expect(ok.status).toBe(200);
    expect(await drift()).toBe(0);
    const res = await s.call('POST', '/exchange/northwind-health/p2p-exchange/v3/Patient/$member-match', { body: JSON.stringify(matchExample()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'drift-check-0002' } });
    expect(res.status).toBe(200);
    expect(await drift()).toBe(1);
  });
});

describe('fault-injection experiments produce failure-injection evidence', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date() });
  });
  afterAll(async () => await s.cleanup());

  it('runs one saga per fault kind against the served version, checks recovery and stores evidence bound to its content', async () => {
    const res = await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0' }), type: 'application/json', token: await s.token('ci') });
    const text = await res.clone().text();
    expect(res.status, text).toBe(201);
    const experiment = await res.json();
    expect(experiment.result, text).toBe('pass');
    expect(experiment.scenarios.map((x: any) => [x.name, x.state, x.passed])).toEqual([
      ['timeout', 'completed', true],
      ['error-status', 'completed', true],
      ['partial-write', 'completed', true],
      ['delayed-event', 'completed', true],
      ['duplicate-delivery', 'completed', true],
      ['validation-error', 'compensated', true],
    ]);
    expect(experiment.evidence).toMatchObject({ kind: 'failure-injection', result: 'pass', version: '2.1.0', boundToContent: true });
    const listed = await (await s.call('GET', '/v1/evidence?partner=northwind-health&api=p2p-exchange&version=2.1.0')).json();
    expect(listed.some((e: any) => e.id === experiment.evidence.id)).toBe(true);
    // the faults were scoped to the experiment's transactions and are used up
    expect((await (await s.call('GET', '/v1/faults')).json()).faults).toEqual([]);
  });

  it('runs experiments for a flow that starts with consent capture, and says which flows cannot start standalone', async () => {
    const consent = await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', flow: 'consent-capture' }), type: 'application/json' });
    const text = await consent.clone().text();
    expect(consent.status, text).toBe(201);
    expect((await consent.json()).result, text).toBe('pass');
    const ack = await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0', flow: 'acknowledgement' }), type: 'application/json' });
    expect(ack.status).toBe(422);
    expect((await ack.json()).detail).toContain('needs the outputs of earlier steps');
  });

  it('refuses a version the sandbox does not serve, and callers without the role', async () => {
    const old = await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0' }), type: 'application/json' });
    expect(old.status).toBe(409);
    expect((await old.json()).detail).toContain('serves 1.1.0');
    expect((await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '9.0.0' }), type: 'application/json' })).status).toBe(404);
    expect((await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0' }), type: 'application/json', token: await s.token('author') })).status).toBe(403);
    const invalid = await s.call('POST', '/v1/fault-experiments', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version: 'latest' }), type: 'application/json' });
    expect(await invalid.json()).toMatchObject({ status: 400, code: 'bad_request', detail: 'Invalid experiment', errors: [{ location: '/version', message: 'must be a semantic version' }] });
    const count = (await s.deps.db.$sql.value("SELECT count(*) FROM evidence WHERE kind = 'failure-injection' AND version = '1.0.0'"));
    expect(count).toBe(0);
  });
});

describe("saga engine: an operator's action does not cut a partner's slowness short", () => {
  let s: TestService;
  beforeAll(async () => {
    s = await sagaService({ ACCORD_SAGA_TIME_SCALE: '0.05' }); // request-export's 30 s timeout → 1.5 s
  });
  afterAll(async () => await s.cleanup());

  /** Starts a saga whose export request the partner answers `delayMs` late; resolves once consent is captured (the call is out). */
  async function slowExport(delayMs: number, key: string) {
    const fault = { partner: 'northwind-health', flow: 'payer-data-export', step: 'request-export', kind: 'delayed-event', delayMs, remaining: 1 };
    expect((await s.call('POST', '/v1/faults', { body: JSON.stringify(fault), type: 'application/json' })).status).toBe(201);
    const started = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: matchExample() } }), type: 'application/json', headers: { 'Idempotency-Key': key } });
    const { id } = await started.json();
    const view = async () => (await s.call('GET', `/v1/transactions/${id}`)).json();
    for (let i = 0; i < 200 && (await view()).steps.find((x: any) => x.id === 'capture-consent').state !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 10));
    return { id, view };
  }

  it('the delayed export request goes out after its delay, even when compensation is asked for meanwhile', async () => {
    const { id, view } = await slowExport(400, 'slow-partner-0001');
    expect((await s.call('POST', `/v1/transactions/${id}/compensate`)).status).toBe(202);
    await s.runtime.engine.idle();
    const done = await view();
    const exportStep = done.steps.find((x: any) => x.id === 'request-export');
    expect(exportStep.attemptLog[0].latencyMs).toBeGreaterThanOrEqual(400); // the call waited out the partner's delay
    expect(done.state).toBe('compensated');
  });

  it('shows the step whose partner call is out as running, and says so in where', async () => {
    const { view } = await slowExport(1200, 'slow-partner-0002');
    const seen = await view();
    expect(seen.where).toMatch(/^step 3\/6 request-export: attempt 1 waiting for northwind-health's answer since /);
    expect(seen.steps.find((x: any) => x.id === 'request-export')).toMatchObject({ state: 'running', startedAt: expect.any(String) });
    await s.runtime.engine.idle();
  });
});
