import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffMatrixEntries } from '../src/diff/matrix-diff.ts';
import { OpsRollups } from '../src/observability/ops-rollups.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { checkFlow, type FlowEntry } from '../src/matrix/checks.ts';
import { STATE_RANK, EQUAL_RANK_MOVES, type TransactionState } from '../src/runtime/saga/states.ts';
import { approvalFlowYaml, approvalSeedDir, matchExample } from './approval-helpers.ts';
import { signIn } from './console-helpers.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const entry = () => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/payer-data-export.yaml'), 'utf8'), { maxAliases: 0 }) as FlowEntry & Record<string, any>;

describe('control matrix: compensation.approval', () => {
  it('accepts required and none on a compensation, refuses anything else', async () => {
    const approved = parseYaml(approvalFlowYaml(), { maxAliases: 0 }) as any;
    expect(await checkFlow(approved, undefined, 'payer-data-export')).toEqual([]);
    const none = entry() as any;
    none.steps[1].compensation.approval = 'none';
    expect(await checkFlow(none, undefined)).toEqual([]);
    const wrong = entry() as any;
    wrong.steps[1].compensation.approval = 'maybe';
    const findings = await checkFlow(wrong, undefined);
    expect(findings).toContainEqual(expect.objectContaining({ rule: 'matrix/schema', location: '/steps/1/compensation/approval' }));
  });

  it('flags approval asked for a compensation that runs nothing (strategy none or mark-inactive)', async () => {
    for (const compensation of [{ strategy: 'none', justification: 'Matching creates no state at the previous payer.', approval: 'required' }, { strategy: 'mark-inactive', approval: 'required' }]) {
      const e = entry() as any;
      e.steps[0].compensation = compensation;
      const findings = await checkFlow(e, undefined);
      expect(findings.map((f) => f.rule), JSON.stringify(compensation)).toEqual(['matrix/approval-without-compensation']);
      expect(findings[0]).toMatchObject({ location: '/steps/0/compensation/approval', message: expect.stringContaining('match-member') });
    }
    // A reversal event is a compensation: a person may be asked to approve it.
    const reversal = entry() as any;
    reversal.steps[4].compensation.approval = 'required';
    expect(await checkFlow(reversal, undefined)).toEqual([]);
  });

  it('the SLA rules may watch compensationApprovalWait (a duration)', async () => {
    const e = entry() as any;
    e.sla.interventions.push({ metric: 'compensationApprovalWait', above: 0.5, window: 'PT5M', for: 'PT0S', actions: ['page-owner'] });
    expect((await checkFlow(e, undefined)).map((f) => f.rule)).toEqual(['matrix/intervention-threshold']);
    e.sla.interventions.at(-1).above = 'PT10M';
    expect(await checkFlow(e, undefined)).toEqual([]);
  });

  it('diff: adding an approval is a warning, removing it is breaking (it weakens a guarantee)', () => {
    const base = entry();
    const withApproval = parseYaml(approvalFlowYaml(), { maxAliases: 0 }) as FlowEntry;
    const added = diffMatrixEntries(base, withApproval).changes.filter((c) => c.rule.startsWith('matrix-compensation'));
    expect(added.map((c) => `${c.rule}:${c.level}:${c.location}`)).toEqual(['matrix-compensation-approval-added:warning:/steps/1/compensation/approval']);
    const removed = diffMatrixEntries(withApproval, base).changes.filter((c) => c.rule.startsWith('matrix-compensation'));
    expect(removed.map((c) => `${c.rule}:${c.level}`)).toEqual(['matrix-compensation-approval-removed:breaking']);
    expect(diffMatrixEntries(base, withApproval).summary.breaking).toBe(0);
    expect(diffMatrixEntries(withApproval, base).summary.breaking).toBeGreaterThan(0);
    // approval: none is the default: writing it out changes nothing
    const explicitNone = entry() as any;
    explicitNone.steps[1].compensation.approval = 'none';
    expect(diffMatrixEntries(base, explicitNone).changes.filter((c) => c.rule.startsWith('matrix-compensation'))).toEqual([]);
  });
});

describe('saga engine and API: compensations awaiting approval', () => {
  let s: TestService;
  let seedDir: string;
  let offsetMs = 0;
  let n = 0;
  let operatorA: string;
  let operatorB: string;
  beforeAll(async () => {
    seedDir = approvalSeedDir();
    s = await startTestService({ seed: true, clock: () => new Date(Date.now() + offsetMs), env: { ACCORD_SAGA_TIME_SCALE: '0.0001', ACCORD_SEED_DIR: seedDir } });
    operatorA = await s.token('operator');
    operatorB = await s.token('operator');
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(seedDir, { recursive: true, force: true });
  });

  const get = async (ref: string) => (await s.call('GET', `/v1/transactions/${encodeURIComponent(ref)}`)).json();
  const inject = async (fault: object) => {
    const res = await s.call('POST', '/v1/faults', { body: JSON.stringify({ partner: 'northwind-health', flow: 'payer-data-export', ...fault }), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const clearFaults = async () => {
    for (const f of (await (await s.call('GET', '/v1/faults')).json()).faults) await s.call('DELETE', `/v1/faults/${f.id}`);
  };
  const run = async () => {
    const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: matchExample() } }), type: 'application/json', headers: { 'Idempotency-Key': `approval-key-${++n}` } });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = await res.json();
    await s.runtime.engine.idle();
    return get(id);
  };
  const decide = (id: string, decision: 'approve' | 'reject', token: string, body?: object, step = 'capture-consent') =>
    s.call('POST', `/v1/transactions/${id}/compensations/${step}/${decision}`, { token, ...(body ? { body: JSON.stringify(body), type: 'application/json' } : {}) });
  const revoked = async () => (await s.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent' AND status = 'inactive'")) as number;
  const approvals = async (id: string) => (await s.deps.db.$sql.all('SELECT * FROM compensation_approvals WHERE transaction_id = ? ORDER BY requested_at', [id])) as any[];
  const expectForwardOnly = (view: any) => {
    for (const e of view.events.filter((x: any) => x.type === 'transaction.state-changed')) {
      const equal = EQUAL_RANK_MOVES.some(([from, to]) => from === e.from && to === e.to);
      if (!equal) expect(STATE_RANK[e.to as TransactionState], `${e.from} → ${e.to}`).toBeGreaterThan(STATE_RANK[e.from as TransactionState]);
    }
  };
  const gauge = async () => {
    const text = await (await s.call('GET', '/metrics', { token: null })).text();
    const line = text.split('\n').find((l) => l.startsWith('accord_compensations_awaiting_approval{') && l.includes('flow="payer-data-export"') && l.includes('partner="northwind-health"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('a compensation that needs approval waits in awaiting-approval with nothing run; approving runs it to compensated', async () => {
    await inject({ step: 'acknowledge', kind: 'error-status', status: 500 });
    const before = await revoked();
    const view = await run();
    await clearFaults();
    expect(view.state, JSON.stringify(view.events.map((e: any) => e.type))).toBe('awaiting-approval');
    expect(view.phase).toBe('compensating');
    expect(view.where).toContain('capture-consent awaits an operator\'s approval');
    // request-export was compensated; capture-consent waits, its compensation never ran.
    expect(view.compensations.map((c: any) => `${c.forStep}:${c.state}`)).toEqual(['poll-export:skipped', 'request-export:succeeded', 'capture-consent:pending']);
    expect(await revoked()).toBe(before);
    const [row] = await approvals(view.id);
    expect(row).toMatchObject({ step_id: 'capture-consent', status: 'awaiting', cause: 'engine', caused_by: null, flow: 'payer-data-export', partner: 'northwind-health' });
    expect(view.events.filter((e: any) => e.type === 'transaction.compensation-awaiting-approval')).toEqual([expect.objectContaining({ step: 'capture-consent', data: expect.objectContaining({ cause: 'engine' }) })]);
    expectForwardOnly(view);

    // Listed for staff; the gauge counts it; partners may not list.
    const listed = await (await s.call('GET', '/v1/compensations?status=awaiting', { token: await s.token('approver') })).json();
    expect(listed.compensations).toContainEqual(expect.objectContaining({ transactionId: view.id, step: 'capture-consent', status: 'awaiting', cause: 'engine', waitingSeconds: expect.any(Number) }));
    expect(JSON.stringify(listed)).not.toContain('causedByToken');
    expect((await s.call('GET', '/v1/compensations', { token: await s.token('partner', 'northwind-health') })).status).toBe(403);
    expect(await gauge()).toBe(1);

    // The engine leaves it alone: kicks and sweeps run nothing.
    await s.runtime.engine.kick(view.id);
    await s.runtime.engine.resume({ startUp: true });
    await s.runtime.engine.idle();
    expect((await get(view.id)).state).toBe('awaiting-approval');
    // An operator's retry or compensate must wait for the decision; roles without operator may not decide.
    expect((await s.call('POST', `/v1/transactions/${view.id}/compensate`, { token: operatorA })).status).toBe(409);
    expect((await decide(view.id, 'approve', await s.token('approver'))).status).toBe(403);
    expect((await decide(view.id, 'approve', operatorA, {}, 'request-export')).status).toBe(409);

    const approved = await decide(view.id, 'approve', operatorA, { reason: 'partner confirmed the consent is void' });
    expect(approved.status, await approved.clone().text()).toBe(200);
    expect(await approved.json()).toMatchObject({ approval: { status: 'approved', decidedBy: expect.stringMatching(/^operator-/), reason: 'partner confirmed the consent is void' }, transaction: { id: view.id, state: 'compensating' } });
    await s.runtime.engine.idle();
    const done = await get(view.id);
    expect(done.state).toBe('compensated');
    expect(done.compensations.find((c: any) => c.forStep === 'capture-consent').state).toBe('succeeded');
    expect(await revoked()).toBe(before + 1);
    expect(done.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(['transaction.compensation-awaiting-approval', 'transaction.compensation-approved']));
    expect(done.events.filter((e: any) => e.type === 'transaction.state-changed').map((e: any) => e.to)).toEqual(['accepted', 'in-progress', 'compensating', 'awaiting-approval', 'compensating', 'compensated']);
    expectForwardOnly(done);
    expect(await gauge()).toBe(0);
    // Decided once: a second decision is a conflict.
    expect((await decide(view.id, 'approve', operatorB)).status).toBe(409);
    const audit = (await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'POST /v1/transactions/%/approve'")) as string[];
    expect(audit).toContain('POST /v1/transactions/:ref/compensations/:step/approve');
    // The overview counts one compensation (compensating → awaiting-approval → compensating is one) and one manual intervention.
    const ops = new OpsRollups(s.deps);
    await ops.fold();
    await ops.fold();
    const overview = await (await s.call('GET', '/v1/operator/overview?window=PT1H&flow=payer-data-export&partner=northwind-health')).json();
    const total = (metric: string) => overview.charts.find((c: { metric: string }) => c.metric === metric).total.value;
    expect(total('compensations')).toBe(1);
    expect(total('manualInterventions')).toBe(1);
  });

  it('rejecting needs a reason, leaves the step\'s effect in place and hands the transaction to a human', async () => {
    await inject({ step: 'acknowledge', kind: 'error-status', status: 500 });
    const before = await revoked();
    const view = await run();
    await clearFaults();
    expect(view.state).toBe('awaiting-approval');
    const noReason = await decide(view.id, 'reject', operatorA, {});
    expect(noReason.status).toBe(400);
    expect((await noReason.json()).errors).toContainEqual(expect.objectContaining({ location: '/reason' }));
    // Rejecting takes a body: none at all is refused as for every required body.
    expect((await s.call('POST', `/v1/transactions/${view.id}/compensations/capture-consent/reject`, { token: operatorA })).status).toBe(415);
    expect((await approvals(view.id))[0].status).toBe('awaiting');

    const rejected = await decide(view.id, 'reject', operatorA, { reason: 'the member asked to keep the consent' });
    expect(rejected.status, await rejected.clone().text()).toBe(200);
    expect((await rejected.json()).transaction.state).toBe('needs-attention');
    await s.runtime.engine.idle();
    const after = await get(view.id);
    expect(after.state).toBe('needs-attention');
    expect(after.failure).toMatchObject({ step: 'capture-consent', compensation: true, reason: 'the member asked to keep the consent', rejectedBy: expect.stringMatching(/^operator-/) });
    expect(after.where).toContain('rejected');
    expect(await revoked()).toBe(before);
    expect(after.compensations.find((c: any) => c.forStep === 'capture-consent').state).toBe('pending');
    expect(after.events.find((e: any) => e.type === 'transaction.compensation-rejected').data).toMatchObject({ reason: 'the member asked to keep the consent', rejectedBy: expect.stringMatching(/^operator-/) });
    expect((await approvals(view.id))[0]).toMatchObject({ status: 'rejected', reason: 'the member asked to keep the consent' });
    expect((await decide(view.id, 'approve', operatorB)).status).toBe(409);
    expectForwardOnly(after);
  });

  it('four eyes: when an operator\'s compensate led to it, that person may not approve; a second operator does', async () => {
    // acknowledge fails → compensating; cancelExport fails → needs-attention; the operator compensates again.
    await inject({ step: 'acknowledge', kind: 'error-status', status: 500 });
    await inject({ step: 'cancelExport', kind: 'error-status', status: 502 });
    const before = await revoked();
    const view = await run();
    await clearFaults();
    expect(view.state).toBe('needs-attention');
    expect((await s.call('POST', `/v1/transactions/${view.id}/compensate`, { token: operatorA })).status).toBe(202);
    await s.runtime.engine.idle();
    const waiting = await get(view.id);
    // Already in needs-attention (rank above compensating): it waits there, its operator work stopped.
    expect(waiting.state).toBe('needs-attention');
    expect(waiting.compensations.find((c: any) => c.forStep === 'request-export').state).toBe('succeeded');
    const [row] = await approvals(view.id);
    expect(row).toMatchObject({ status: 'awaiting', cause: 'operator', caused_by: expect.stringMatching(/^operator-/) });
    expect(row.caused_by_token).toMatch(/^tok_/);
    // The operator's token id is kept for the check, never shown.
    expect(JSON.stringify(waiting)).not.toContain(row.caused_by_token);
    // Where it is says what to do: decide the compensation (retry and compensate answer 409 until then).
    expect(waiting.where).toBe(`compensation of ${row.step_id} awaits an operator's approval (POST /v1/transactions/${view.id}/compensations/${row.step_id}/approve or /reject); retry and compensate wait for that decision`);
    const listed = (await (await s.call('GET', '/v1/compensations')).json()).compensations.find((c: any) => c.transactionId === view.id);
    expect(listed).toMatchObject({ cause: 'operator', causedBy: row.caused_by });
    expect((await s.call('POST', `/v1/transactions/${view.id}/retry`, { token: operatorB })).status).toBe(409);
    // The console's page says so too, and offers the decision, not retry and compensate (they would answer 409).
    const page = await (await (await signIn(s, operatorB)).get(`/console/operations/transactions/${view.id}`)).text();
    expect(page).toContain('awaits an operator&#39;s approval');
    expect(page).toContain('href="/console/operations/compensations"');
    expect(page).not.toContain('Retry the step that stopped');
    expect(page).not.toContain(`action="/console/operations/transactions/${view.id}/compensate"`);

    const self = await decide(view.id, 'approve', operatorA);
    expect(self.status).toBe(403);
    const problem = await self.json();
    expect(problem.code).toBe('forbidden');
    expect(problem.detail).toContain('a different operator must approve it');
    expect((await decide(view.id, 'reject', operatorA, { reason: 'never mind' })).status).toBe(403);
    expect((await approvals(view.id))[0].status).toBe('awaiting');
    expect(await revoked()).toBe(before);

    const second = await decide(view.id, 'approve', operatorB);
    expect(second.status, await second.clone().text()).toBe(200);
    await s.runtime.engine.idle();
    const done = await get(view.id);
    expect(done.state).toBe('compensated');
    expect(await revoked()).toBe(before + 1);
    expect((await approvals(view.id))[0]).toMatchObject({ status: 'approved', decided_by: expect.stringMatching(/^operator-/) });
    expect((await approvals(view.id))[0].decided_by).not.toBe(row.caused_by);
    expectForwardOnly(done);
  });

  it('an operator\'s compensate of a transaction in flight leads to awaiting-approval caused by that operator', async () => {
    // The export request is slow: the operator asks for compensation while it is out. Its 5 s (the
    // step's timeout is 30 s) leave room for a loaded machine to notice it is out, and the fault is
    // not limited to one call: with `remaining: 1` another call on the step (a compensation of the
    // previous test's transaction) could use it up first, and this transaction completed → 409.
    await inject({ step: 'request-export', kind: 'delayed-event', delayMs: 5000 });
    const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: matchExample() } }), type: 'application/json', headers: { 'Idempotency-Key': `approval-key-${++n}` } });
    const { id } = await res.json();
    for (let i = 0; i < 400 && (await get(id)).steps.find((x: any) => x.id === 'capture-consent').state !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 10));
    const compensate = await s.call('POST', `/v1/transactions/${id}/compensate`, { token: operatorA });
    expect(compensate.status, await compensate.clone().text()).toBe(202);
    await s.runtime.engine.idle();
    await clearFaults();
    const view = await get(id);
    expect(view.state).toBe('awaiting-approval');
    expect((await approvals(id))[0]).toMatchObject({ status: 'awaiting', cause: 'operator', step_id: 'capture-consent' });
    expect((await decide(id, 'approve', operatorA)).status).toBe(403);
    expect((await decide(id, 'approve', operatorB)).status).toBe(200);
    await s.runtime.engine.idle();
    const done = await get(id);
    expect(done.state).toBe('compensated');
    expectForwardOnly(done);
  });

  it('answers 404 for an unknown transaction and 409 when nothing awaits approval', async () => {
    expect((await decide('txn_nope', 'approve', operatorA)).status).toBe(404);
    const completed = await run();
    expect(completed.state).toBe('completed');
    const res = await decide(completed.id, 'approve', operatorA);
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('conflict');
    expect(await approvals(completed.id)).toEqual([]);
  });

  it('an SLA rule on compensationApprovalWait pages the owner once one waits too long', async () => {
    await inject({ step: 'acknowledge', kind: 'error-status', status: 500 });
    const view = await run();
    await clearFaults();
    expect(view.state).toBe('awaiting-approval');
    const applied = async () => (await s.deps.db.$sql.all("SELECT * FROM sla_interventions WHERE metric = 'compensationApprovalWait' AND lifted_at IS NULL")) as any[];
    await s.runtime.sla.evaluate();
    expect(await applied()).toEqual([]);
    offsetMs += 2 * 60_000;
    await s.runtime.sla.evaluate();
    const [intervention] = await applied();
    expect(intervention).toMatchObject({ flow: 'payer-data-export', partner: 'northwind-health' });
    expect(Number(intervention.value)).toBeGreaterThan(60);
    expect(await gauge(), JSON.stringify(await s.deps.db.$sql.all("SELECT * FROM compensation_approvals WHERE status = 'awaiting'"))).toBe(1);
    // Decided: the wait is over and the page is lifted.
    expect((await decide(view.id, 'approve', operatorB)).status).toBe(200);
    await s.runtime.engine.idle();
    await s.runtime.sla.evaluate();
    expect(await applied()).toEqual([]);
    expect(await gauge()).toBe(0);
  });
});
