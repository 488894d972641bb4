import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Database } from 'better-sqlite3';
import semver from 'semver';
import { requireRole, type Principal } from '../../auth/principal.ts';
import type { Deps } from '../../context.ts';
import { transactions, transactionSteps } from '../../db/index.ts';
import { AccordError, type FieldError } from '../../errors.ts';
import { isObject, nestedDeeperThan, ownValue, type Json } from '../../lib/json.ts';
import { absoluteUrl } from '../../lib/public-url.ts';
import { MAX_DEPTH } from '../../lib/yaml.ts';
import type { FlowEntry, Step } from '../../matrix/checks.ts';
import { durationMs } from '../../matrix/durations.ts';
import { exchangeId, newTransactionId, timeOrderedUuid } from '../ids.ts';
import { newSpanId, traceContext, validCorrelation } from '../trace-context.ts';
import { bodyErrors, parameterErrors, responseErrors } from '../contract-check.ts';
import { insertFault, takeFault, type FaultInput } from '../faults.ts';
import { planRequest, stepOutputs, type FlowContext } from '../flow-requests.ts';
import { callPartner, lookupPartnerRequest, type HandlerResult } from '../handlers.ts';
import { IdempotencyStore } from '../idempotency.ts';
import type { SlaMonitor } from '../../observability/sla.ts';
import type { Route, RouteTable } from '../route-table.ts';
import { acknowledgingStep, classify, compensationOutcome, decide, failureAction, isCompensable, type Decision, type Outcome } from './policy.ts';
import { nextState, TERMINAL_STATES, type SagaEvent, type TransactionState } from './states.ts';
import { event, loadTransactionView, type CallInProgress, type TransactionRow } from '../transaction-views.ts';

type Tx = Parameters<Parameters<Deps['db']['transaction']>[0]>[0];
type StepRow = typeof transactionSteps.$inferSelect;

/** A prepared partner call: `effect` makes the call inside the attempt's SQLite transaction and fills in outcome, record and result. */
interface StepCall {
  outcome: Outcome;
  record: AttemptRecord;
  result?: HandlerResult;
  effect?: () => void;
}

/** One attempt as recorded in the step's attempt log. */
interface AttemptRecord {
  /** Attempt number, set when the attempt is saved. */
  n: number;
  startedAt: string;
  endedAt: string;
  latencyMs: number;
  status: number | null;
  result: string;
  spanId: string;
  fault?: string;
  replayed?: boolean;
  drift?: FieldError[];
}

/** A new saga transaction's request (POST /v1/transactions). */
export interface StartRequest {
  body: Record<string, unknown>;
  rawBody: string;
  idempotencyKey: string | undefined;
  correlationId: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

const ACTIVE_STATES: TransactionState[] = ['initiated', 'accepted', 'in-progress', 'compensating'];

/**
 * The saga engine: runs a control-matrix flow's steps in order against the reference partners,
 * retrying per the matrix with backoff and jitter; when a step fails for good it runs the
 * compensations of the completed steps in reverse order (each idempotent: a per-step request
 * key the partner deduplicates), or hands the transaction to an operator when the flow's
 * failure mode says so. Each attempt's partner effect, step timeline, state change and outbox
 * event commit in one SQLite transaction, so a crash loses or doubles nothing; `resume()`
 * continues every unfinished transaction after a restart.
 */
export class SagaEngine {
  private readonly idempotency: IdempotencyStore;
  private readonly running = new Map<string, Promise<void>>();
  /** How to end a sleeping transaction's wait; `byKick` false for a partner's (injected) slowness, which only a stop cuts short. */
  private readonly wakers = new Map<string, { wake: () => void; byKick: boolean }>();
  private readonly calls = new Map<string, CallInProgress>();
  private readonly due = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly deps: Deps,
    private readonly routes: RouteTable,
    private readonly sla: SlaMonitor,
  ) {
    this.idempotency = new IdempotencyStore(deps);
  }

  /**
   * Starts a flow for a partner (Idempotency-Key required, IETF semantics as on the exchange):
   * checks the flow, the partner's served contract and the first step's request, stores the
   * transaction as `initiated` and answers 202. Repeats replay the first answer.
   */
  async start(principal: Principal, request: StartRequest, options: { timeScale?: number; faults?: FaultInput[] } = {}): Promise<{ status: number; body: string; replayed: boolean; id: string | undefined }> {
    requireRole(principal, ['admin', 'ci', 'partner'], 'start exchange flows');
    const { body } = request;
    const errors: FieldError[] = [];
    if (typeof body.flow !== 'string') errors.push({ location: '/flow', message: 'must name a control-matrix flow' });
    if (typeof body.partner !== 'string') errors.push({ location: '/partner', message: 'must name the partner the flow runs against' });
    if (!isObject(body.input)) errors.push({ location: '/input', message: 'must be the flow input object (for the reference flow: the $member-match Parameters as memberMatch, optional groupId)' });
    else if (nestedDeeperThan(body.input, MAX_DEPTH)) errors.push({ location: '/input', message: `is nested deeper than ${MAX_DEPTH} levels` });
    if (body.major !== undefined && (!Number.isInteger(body.major) || (body.major as number) < 0)) errors.push({ location: '/major', message: 'must be a major version number' });
    if (errors.length > 0) throw new AccordError('bad_request', 'The transaction request is invalid', { errors });
    const plan = await this.routes.flow(body.flow as string);
    if (!plan) throw new AccordError('not_found', `No control-matrix flow "${String(body.flow)}"`);
    const partner = body.partner as string;
    const retryAfter = this.sla.throttled(plan.flow, partner);
    if (retryAfter !== undefined) throw new AccordError('too_many_requests', `${plan.flow} at ${partner} is throttled by an SLA intervention (GET /v1/sla); retry later`, { retryAfterSeconds: retryAfter });
    const served = await this.routes.forFlow(plan, partner, body.major as number | undefined);
    if (!served) throw new AccordError('not_found', `${partner} serves no ${plan.contract.api} version in ${plan.contract.versions}${body.major !== undefined ? ` with major ${String(body.major)}` : ''} for flow ${plan.flow}`);
    const missing = plan.steps.flatMap((s) => [s.operationId, s.compensation.operationId]).filter((op): op is string => Boolean(op) && !served.operations.has(op!));
    if (missing.length > 0) throw new AccordError('invalid_document', `${partner}/${plan.contract.api} ${served.version} lacks operations the flow needs: ${missing.join(', ')}`);
    const input = body.input as Json;
    const first = plan.steps[0]!;
    const firstRequest = planRequest(first.operationId, input, {}, 'xch-check', this.deps.clock());
    if (!firstRequest) throw new AccordError('invalid_document', `The reference runtime cannot run flow ${plan.flow}: it has no request for ${first.operationId}`);
    const invalid = requestErrors(served.operations.get(first.operationId)!, firstRequest, 'check');
    if (invalid.length > 0) throw new AccordError('bad_request', `The input does not make a valid ${first.operationId} request for ${partner}/${plan.contract.api} ${served.version}`, { errors: invalid.map((e) => ({ ...e, location: `/input/${e.location}` })) });
    const later = laterInputErrors(plan, served.operations, input, this.deps.clock());
    if (later.length > 0) throw new AccordError('bad_request', `The input does not make valid requests for the flow's later steps at ${partner}/${plan.contract.api} ${served.version}`, { errors: later });
    const headerName = plan.idempotency.keySource.header ?? 'Idempotency-Key';
    const key = request.idempotencyKey;
    if (!key || key.length > 255) throw new AccordError('bad_request', `Send an ${headerName} header (at most 255 characters): starting a flow is idempotent`);

    const now = this.deps.clock();
    const id = newTransactionId();
    const scope = `${principal.tokenId}|POST /v1/transactions`;
    const fingerprint = createHash('sha256').update(request.rawBody).digest('hex');
    const correlationId = validCorrelation(request.correlationId) ?? timeOrderedUuid();
    const trace = traceContext(request.traceparent);
    const outcome = this.deps.db.transaction((tx) => {
      const claim = this.idempotency.claim(scope, key, fingerprint, durationMs(plan.idempotency.dedupeWindow), 30_000);
      if (claim.kind !== 'proceed') return claim;
      const row: TransactionRow = {
        id,
        flow: plan.flow,
        partner,
        api: plan.contract.api,
        version: served.version,
        state: 'initiated',
        phase: 'forward',
        cursor: 0,
        operatorAction: null,
        correlationId,
        idempotencyKey: key,
        traceId: trace.traceId,
        tracestate: trace.valid ? (request.tracestate ?? null) : null,
        callerTokenId: principal.tokenId,
        callerPartner: principal.partner,
        mode: 'saga',
        input: JSON.stringify(input),
        plan: JSON.stringify(plan),
        context: '{}',
        syncStep: null,
        failure: null,
        timeScale: Math.round((options.timeScale ?? this.deps.config.sagaTimeScale) * 1_000_000),
        nextRunAt: null,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        finishedAt: null,
      };
      tx.insert(transactions).values(row).run();
      plan.steps.forEach((s, position) => tx.insert(transactionSteps).values(stepRow(row, 'forward', s.id, position, s.operationId)).run());
      // Faults for this transaction only (fault experiments), in place before its first step.
      for (const fault of options.faults ?? []) insertFault(tx, principal, { ...fault, partner, transactionId: id }, this.deps.clock());
      event(tx, row, row.createdAt, 'transaction.initiated', { to: 'initiated', data: { flow: plan.flow, partner, version: served.version, idempotencyKey: key } });
      const view = loadTransactionView(tx, this.deps.config, row);
      const responseBody = JSON.stringify(view);
      this.idempotency.complete(scope, key, { status: 202, headers: { Location: absoluteUrl(this.deps.config, `/v1/transactions/${id}`), 'X-Correlation-Id': correlationId }, body: responseBody });
      return { kind: 'created' as const, body: responseBody };
    });
    if (outcome.kind === 'mismatch') throw new AccordError('invalid_document', `This ${headerName} was used with a different request`);
    if (outcome.kind === 'in-flight') throw new AccordError('conflict', `A request with this ${headerName} is still being processed; retry later`);
    if (outcome.kind === 'replay') return { status: outcome.status, body: outcome.body, replayed: true, id: (JSON.parse(outcome.body) as { id?: string }).id };
    this.deps.metrics.requestsInitiated.inc({ partner, flow: plan.flow });
    this.deps.logger.info({ transactionId: id, correlationId, traceId: trace.traceId, flow: plan.flow, partner }, 'transaction initiated');
    this.kick(id);
    return { status: 202, body: outcome.body, replayed: false, id };
  }

  /** Continues every unfinished transaction (start-up after a stop or a crash). Returns how many. */
  resume(): number {
    const rows = this.deps.db
      .select({ id: transactions.id })
      .from(transactions)
      .where(and(sql`state NOT IN ('completed', 'compensated')`, eq(transactions.mode, 'saga'), or(inArray(transactions.state, ACTIVE_STATES), and(eq(transactions.state, 'needs-attention'), isNotNull(transactions.operatorAction)))))
      .all();
    for (const { id } of rows) this.kick(id);
    if (rows.length > 0) this.deps.logger.info({ count: rows.length }, 'resuming unfinished transactions');
    return rows.length;
  }

  /** Runs (or wakes) the transaction's driver. */
  kick(id: string): void {
    if (this.stopped) return;
    const waker = this.wakers.get(id);
    if (this.running.has(id)) {
      if (waker?.byKick) waker.wake();
      return;
    }
    const run = this.drive(id)
      .catch((error) => this.deps.logger.error({ err: error, transactionId: id }, 'saga driver failed'))
      .finally(() => this.running.delete(id));
    this.running.set(id, run);
  }

  /** Waits until each transaction is finished or waiting for an operator, or `timeoutMs` has passed. */
  async settled(ids: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const open = () =>
      this.deps.db
        .select({ state: transactions.state, action: transactions.operatorAction })
        .from(transactions)
        .where(inArray(transactions.id, ids))
        .all()
        .some((r) => !TERMINAL_STATES.includes(r.state as TransactionState) && !(r.state === 'needs-attention' && !r.action));
    while (ids.length > 0 && open() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Waits until no transaction is being driven (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Stops driving: sleeping transactions stay where they are (resume() continues them). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waker of this.wakers.values()) waker.wake();
    await Promise.all([...this.running.values()]);
  }

  /** The partner call a transaction has out right now, if any (GET /v1/transactions shows it as running). */
  inCall(id: string): CallInProgress | undefined {
    return this.calls.get(id);
  }

  private async calling<T>(id: string, call: Omit<CallInProgress, 'since'>, run: () => Promise<T>): Promise<T> {
    this.calls.set(id, { ...call, since: this.deps.clock().toISOString() });
    try {
      return await run();
    } finally {
      this.calls.delete(id);
    }
  }

  /**
   * Sleeps `ms`, or until kick() wakes the transaction (an operator acted) or the engine stops.
   * A partner's slowness (`byKick` false) is not cut short by an operator: the call is still out.
   */
  private sleep(id: string, ms: number, byKick = true): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(id, {
        byKick,
        wake: () => {
          this.due.delete(id);
          done();
        },
      });
    }).finally(() => this.wakers.delete(id));
  }

  private load(id: string): TransactionRow | undefined {
    return this.deps.db.select().from(transactions).where(eq(transactions.id, id)).get();
  }

  private async drive(id: string): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const tx = this.load(id);
      if (!tx || TERMINAL_STATES.includes(tx.state as TransactionState)) return;
      if (tx.state === 'needs-attention' && !tx.operatorAction) return;
      const plan = JSON.parse(tx.plan) as FlowEntry;
      if (tx.operatorAction === 'retry' || tx.operatorAction === 'compensate') {
        this.applyOperatorAction(tx, plan);
        continue;
      }
      if (tx.state === 'initiated') {
        this.commit(tx, (db, row) => transition(db, row, { type: 'accept' }, this.deps, this.onState));
        continue;
      }
      const wait = this.waitMs(tx);
      if (wait > 0) {
        await this.sleep(id, wait);
        this.due.delete(id);
        continue;
      }
      if (tx.phase === 'forward') {
        if (tx.cursor >= plan.steps.length) {
          this.commit(tx, (db, row) => transition(db, row, { type: 'steps-completed' }, this.deps, this.onState));
          continue;
        }
        await this.forward(tx, plan, plan.steps[tx.cursor]!);
      } else {
        if (tx.cursor < 0) {
          this.commit(tx, (db, row) => {
            db.update(transactionSteps).set({ state: 'skipped' }).where(and(eq(transactionSteps.transactionId, row.id), eq(transactionSteps.kind, 'forward'), eq(transactionSteps.state, 'pending'))).run();
            transition(db, row, { type: 'compensations-completed' }, this.deps, this.onState);
          });
          continue;
        }
        await this.compensate(tx, plan, plan.steps[tx.cursor]!);
      }
    }
  }

  /** How long to wait before the next attempt: the in-memory backoff, or (after a restart) the stored next-run time. */
  private waitMs(tx: TransactionRow): number {
    const due = this.due.get(tx.id);
    if (due !== undefined) return due - performance.now();
    if (!tx.nextRunAt) return 0;
    return Math.min(Date.parse(tx.nextRunAt) - this.deps.clock().getTime(), 3_600_000);
  }

  /**
   * Runs `fn` in one SQLite transaction on the row as it is now; the state guard makes a
   * concurrent change (an operator) fail the write instead of being overwritten.
   */
  private commit(tx: TransactionRow, fn: (db: Tx, row: TransactionRow) => void): void {
    this.deps.db.transaction((db) => {
      const row = db.select().from(transactions).where(and(eq(transactions.id, tx.id), eq(transactions.state, tx.state), eq(transactions.cursor, tx.cursor), eq(transactions.phase, tx.phase))).get();
      if (!row) return;
      fn(db, row);
    });
  }

  private applyOperatorAction(tx: TransactionRow, plan: FlowEntry): void {
    this.commit(tx, (db, row) => {
      const action = row.operatorAction;
      // In needs-attention the operator's work runs in that state: mark it in progress until it stops or ends.
      const working = row.state === 'needs-attention' ? (action === 'retry' ? 'retrying' : 'compensating') : null;
      db.update(transactions).set({ operatorAction: working, nextRunAt: null, updatedAt: this.deps.clock().toISOString() }).where(eq(transactions.id, row.id)).run();
      row.operatorAction = working;
      // Compensating a transaction that stopped while compensating means: run the stopped compensation again.
      if (action === 'retry' || row.phase === 'compensating') {
        // A fresh retry budget for the step that stopped.
        const kind = row.phase === 'forward' ? 'forward' : 'compensation';
        const step = plan.steps[row.cursor];
        if (step) db.update(transactionSteps).set({ roundAttempts: 0 }).where(and(eq(transactionSteps.transactionId, row.id), eq(transactionSteps.kind, kind), eq(transactionSteps.stepId, step.id))).run();
        // While compensating the failure stays: it names the forward step that failed, whose own undo depends on it.
        if (row.phase === 'forward') db.update(transactions).set({ failure: null }).where(eq(transactions.id, row.id)).run();
        if (row.state === 'needs-attention') transition(db, row, { type: action === 'retry' ? 'operator-retry' : 'operator-compensate' }, this.deps, this.onState);
      } else if (action === 'compensate' && row.phase === 'forward') {
        const cursor = row.cursor - 1;
        db.update(transactions).set({ phase: 'compensating', cursor }).where(eq(transactions.id, row.id)).run();
        Object.assign(row, { phase: 'compensating', cursor });
        transition(db, row, { type: 'operator-compensate' }, this.deps, this.onState);
      }
    });
  }

  /** The route of an operation in the newest served version of the transaction's contract line. */
  private async route(tx: TransactionRow, plan: FlowEntry, operationId: string): Promise<Route | undefined> {
    return (await this.routes.forFlow(plan, tx.partner, semver.major(tx.version)))?.operations.get(operationId);
  }

  /** One attempt of forward step `step`. */
  private async forward(tx: TransactionRow, plan: FlowEntry, step: Step): Promise<void> {
    const context = JSON.parse(tx.context) as FlowContext;
    const route = await this.route(tx, plan, step.operationId);
    const call = await this.calling(tx.id, { stepId: step.id, operation: step.operationId, compensation: false }, () => this.callStep(tx, plan, step, step.operationId, route, `${tx.id}.${step.id}`, context));
    const labels = { partner: tx.partner, flow: tx.flow, step: step.id };
    let decided: Decision | undefined;
    this.commit(tx, (db, row) => {
      const now = this.deps.clock().toISOString();
      if (row.state === 'accepted') transition(db, row, { type: 'step-started' }, this.deps, this.onState);
      call.effect?.();
      const current = ensureStep(db, row, 'forward', step.id, row.cursor, step.operationId);
      const { final, delay } = (decided = decide(call.outcome, current.roundAttempts + 1, step, row.timeScale, this.sla.retriesPaused(row.flow, row.partner)));
      saveAttempt(db, current, call.record, final);
      if (final.kind === 'succeeded') {
        const merged = { ...context, ...stepOutputs(step.operationId, call.result!) };
        db.update(transactions).set({ context: JSON.stringify(merged), cursor: row.cursor + 1, nextRunAt: null, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.step-succeeded', { step: step.id, data: { operationId: step.operationId, status: call.record.status, attempt: call.record.n } });
      } else if (final.kind === 'retry') {
        db.update(transactions).set({ nextRunAt: new Date(Date.parse(now) + delay).toISOString(), updatedAt: now }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.step-retry-scheduled', { step: step.id, data: { status: call.record.status, result: final.result, attempt: call.record.n, delayMs: Math.round(delay) } });
      } else {
        const mode = plan.failureModes[final.failureMode ?? ''];
        const action = failureAction(plan, final.failureMode);
        const failure = { step: step.id, operationId: step.operationId, failureMode: final.failureMode, status: final.status, detail: final.detail ?? final.result, action: mode?.action ?? 'compensate', supportOwner: mode?.supportOwner };
        // The failed step itself is compensated too when the partner may have acted (timeout, partial write).
        const cursor = final.mayHaveActed && isCompensable(step) ? row.cursor : row.cursor - 1;
        // During an operator's retry a failure that compensates goes on compensating; one that needs a human waits again.
        const operatorAction = row.state === 'needs-attention' && action === 'compensate' ? 'compensating' : null;
        db.update(transactions)
          .set({ failure: JSON.stringify(failure), nextRunAt: null, updatedAt: now, operatorAction, ...(action === 'compensate' ? { phase: 'compensating', cursor } : {}) })
          .where(eq(transactions.id, row.id))
          .run();
        event(db, row, now, 'transaction.step-failed', { step: step.id, data: failure });
        if (action === 'compensate') Object.assign(row, { phase: 'compensating', cursor });
        transition(db, row, { type: 'step-failed', action }, this.deps, this.onState);
      }
    });
    if (!decided) return;
    this.deps.metrics.stepDuration.observe({ ...labels, outcome: decided.final.kind }, call.record.latencyMs / 1000);
    this.observeAnswer(tx, plan, step, decided.final);
    if (decided.final.kind === 'retry') {
      this.deps.metrics.retries.inc(labels);
      this.due.set(tx.id, performance.now() + decided.delay);
    }
  }

  /** Telemetry of a state change: time to finalise and the error rate the SLA monitor watches. */
  private readonly onState = (row: TransactionRow, to: TransactionState): void => {
    if (to === 'completed') {
      const seconds = (this.deps.clock().getTime() - Date.parse(row.createdAt)) / 1000;
      this.deps.metrics.timeToFinalize.observe({ partner: row.partner, flow: row.flow }, seconds);
      this.sla.record(row.flow, row.partner, 'timeToFinalize', seconds);
    }
    // One error-rate sample per transaction: when it ends, or when it is handed to a human (not again when resolved).
    if ((to === 'completed' || to === 'compensated' || to === 'needs-attention') && row.state !== 'needs-attention') this.sla.record(row.flow, row.partner, 'errorRate', to === 'completed' ? 0 : 1);
    if (row.state === 'needs-attention' && (to === 'completed' || to === 'compensated')) {
      // From handing the transaction to a human until it was resolved: the remediationResponse SLA.
      const since = this.deps.db.$client.prepare("SELECT max(created_at) FROM transaction_events WHERE transaction_id = ? AND type = 'transaction.state-changed' AND to_state = 'needs-attention'").pluck().get(row.id) as string | null;
      if (since) this.sla.record(row.flow, row.partner, 'remediationResponse', (this.deps.clock().getTime() - Date.parse(since)) / 1000);
    }
  };

  /** Telemetry of a forward step's answer: acceptance, member matches, time to acknowledge. */
  private observeAnswer(tx: TransactionRow, plan: FlowEntry, step: Step, outcome: Outcome): void {
    const { metrics } = this.deps;
    if (outcome.status !== null) countPartnerAnswer(metrics, { partner: tx.partner, flow: tx.flow, step: step.id, operationId: step.operationId, status: outcome.status, accepted: outcome.kind === 'succeeded' });
    if (outcome.kind === 'succeeded' && step.id === acknowledgingStep(plan).id) {
      const seconds = (this.deps.clock().getTime() - Date.parse(tx.createdAt)) / 1000;
      metrics.timeToAcknowledge.observe({ partner: tx.partner, flow: tx.flow }, seconds);
      this.sla.record(tx.flow, tx.partner, 'timeToAcknowledge', seconds);
    }
  }

  /** One attempt of the compensation of completed step `step` (reverse order is the cursor's). */
  private async compensate(tx: TransactionRow, plan: FlowEntry, step: Step): Promise<void> {
    const forwardRow = this.stepRow(tx.id, 'forward', step.id);
    const failure = tx.failure ? (JSON.parse(tx.failure) as { step?: string }) : {};
    const needed = forwardRow?.state === 'succeeded' || (failure.step === step.id && (forwardRow?.attempts ?? 0) > 0);
    const operation = step.compensation.operationId ?? step.compensation.strategy ?? 'none';
    const labels = { partner: tx.partner, flow: tx.flow, step: step.id };
    if (!needed || !isCompensable(step)) {
      this.skipCompensation(tx, step, operation, needed ? 'no compensation needed (matrix: none)' : 'step did not run');
      return;
    }
    let context = JSON.parse(tx.context) as FlowContext;
    if (forwardRow?.state !== 'succeeded') {
      // The step's answer was lost (timeout, partial write): ask the partner what it did under the step's request key.
      const earlier = lookupPartnerRequest(this.deps, tx.partner, `${tx.id}.${step.id}`, { partner: tx.callerPartner, tokenId: tx.callerTokenId });
      if (!earlier || earlier.status < 200 || earlier.status >= 300) {
        this.skipCompensation(tx, step, operation, 'the partner never acted on the step');
        return;
      }
      context = { ...context, ...stepOutputs(step.operationId, earlier) };
    }
    if (!step.compensation.operationId) {
      // reversal-event: the compensation is an event partners act on.
      this.commit(tx, (db, row) => {
        const now = this.deps.clock().toISOString();
        const current = ensureStep(db, row, 'compensation', step.id, row.cursor, operation);
        saveAttempt(db, current, { n: 1, startedAt: now, endedAt: now, latencyMs: 0, status: null, result: 'event emitted', spanId: newSpanId() }, { kind: 'succeeded', status: null, result: 'event emitted' });
        db.update(transactions).set({ cursor: row.cursor - 1, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.reversal-event', { step: step.id, data: { note: (step.compensation as { note?: string }).note ?? `Reverse ${step.id}`, context } });
      });
      this.deps.metrics.compensations.inc({ ...labels, outcome: 'succeeded' });
      return;
    }
    const route = await this.route(tx, plan, step.compensation.operationId);
    const operationId = step.compensation.operationId;
    const call = await this.calling(tx.id, { stepId: step.id, operation: operationId, compensation: true }, () => this.callStep(tx, plan, step, operationId, route, `${tx.id}.${step.id}.compensate`, context));
    let decided: Decision | undefined;
    this.commit(tx, (db, row) => {
      const now = this.deps.clock().toISOString();
      const current = ensureStep(db, row, 'compensation', step.id, row.cursor, operation);
      call.effect?.();
      const { final, delay } = (decided = decide(compensationOutcome(call.outcome), current.roundAttempts + 1, step, row.timeScale));
      saveAttempt(db, current, call.record, final);
      if (final.kind === 'succeeded') {
        db.update(transactions).set({ cursor: row.cursor - 1, nextRunAt: null, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.compensation-succeeded', { step: step.id, data: { operationId: operation, status: final.status, result: final.result } });
      } else if (final.kind === 'retry') {
        db.update(transactions).set({ nextRunAt: new Date(Date.parse(now) + delay).toISOString(), updatedAt: now }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.compensation-retry-scheduled', { step: step.id, data: { status: final.status, result: final.result, delayMs: Math.round(delay) } });
      } else {
        const detail = { step: step.id, operationId: operation, status: final.status, detail: final.detail ?? final.result, compensation: true };
        db.update(transactions).set({ failure: JSON.stringify(detail), nextRunAt: null, updatedAt: now, operatorAction: null }).where(eq(transactions.id, row.id)).run();
        event(db, row, now, 'transaction.compensation-failed', { step: step.id, data: detail });
        transition(db, row, { type: 'compensation-failed' }, this.deps, this.onState);
      }
    });
    if (!decided) return;
    this.deps.metrics.stepDuration.observe({ ...labels, outcome: `compensation-${decided.final.kind}` }, call.record.latencyMs / 1000);
    if (decided.final.kind === 'retry') this.due.set(tx.id, performance.now() + decided.delay);
    else this.deps.metrics.compensations.inc({ ...labels, outcome: decided.final.kind });
  }

  /** Moves past a step that needs no compensation, recording why. */
  private skipCompensation(tx: TransactionRow, step: Step, operation: string, reason: string): void {
    this.commit(tx, (db, row) => {
      const now = this.deps.clock().toISOString();
      ensureStep(db, row, 'compensation', step.id, row.cursor, operation);
      db.update(transactionSteps).set({ state: 'skipped', outcome: JSON.stringify({ result: reason }) }).where(stepKey(row.id, 'compensation', step.id)).run();
      db.update(transactions).set({ cursor: row.cursor - 1, updatedAt: now }).where(eq(transactions.id, row.id)).run();
      event(db, row, now, 'transaction.compensation-skipped', { step: step.id, data: { strategy: operation, reason } });
    });
  }

  private stepRow(transactionId: string, kind: string, stepId: string): StepRow | undefined {
    return this.deps.db.select().from(transactionSteps).where(stepKey(transactionId, kind, stepId)).get();
  }

  /**
   * Calls one partner operation for a step, with any injected fault applied. The partner's
   * write is returned as `effect`, to run inside the attempt's SQLite transaction.
   */
  private async callStep(
    tx: TransactionRow,
    plan: FlowEntry,
    step: Step,
    operationId: string,
    route: Route | undefined,
    requestKey: string,
    context: FlowContext,
  ): Promise<StepCall> {
    const startedAt = this.deps.clock();
    const t0 = performance.now();
    const spanId = newSpanId();
    const finish = (outcome: Outcome, extra: Partial<AttemptRecord> = {}): StepCall => ({
      outcome,
      record: { n: 0, startedAt: startedAt.toISOString(), endedAt: this.deps.clock().toISOString(), latencyMs: Math.round(performance.now() - t0), status: outcome.status, result: outcome.result, spanId, ...extra },
    });
    if (!route) return finish({ kind: 'failed', status: null, result: 'not-served', failureMode: 'downstream-validation-error', detail: `${tx.partner} no longer serves ${operationId} in ${plan.contract.api} v${semver.major(tx.version)}` });
    const request = planRequest(operationId, JSON.parse(tx.input) as Json, context, exchangeId(tx.id), startedAt);
    const invalid = request ? requestErrors(route, request, requestKey) : [{ location: '', message: `no request builder for ${operationId}` }];
    if (invalid.length > 0) return finish({ kind: 'failed', status: null, result: 'invalid-request', failureMode: 'downstream-validation-error', detail: `The request does not match the contract: ${invalid.map((e) => `${e.location} ${e.message}`).join('; ')}` });
    // A compensation is addressed by its operation (cancelExport), a forward step by its id or operation.
    const fault = takeFault(this.deps, { partner: tx.partner, flow: tx.flow, step: operationId === step.operationId ? step.id : undefined, operationId, transactionId: tx.id });
    const timeoutMs = durationMs(step.timeout) * (tx.timeScale / 1_000_000);
    const extra = { ...(fault ? { fault: fault.kind } : {}) };
    if (fault?.kind === 'timeout') {
      await this.sleep(tx.id, timeoutMs, false);
      return finish({ kind: 'retry', status: null, result: 'timeout', failureMode: 'partner-timeout', detail: `no answer within ${step.timeout}`, mayHaveActed: true }, extra);
    }
    if (fault?.kind === 'error-status' || fault?.kind === 'validation-error') {
      const status = fault.status ?? 503;
      return finish(classify(operationId, route.method, status, `injected ${fault.kind} ${status}`), extra);
    }
    let timedOut = false;
    if (fault?.kind === 'delayed-event') {
      timedOut = fault.delayMs! > timeoutMs;
      await this.sleep(tx.id, Math.min(fault.delayMs!, timeoutMs), false);
    }
    const partnerCall = { partner: tx.partner, operationId, params: request!.params, body: request!.body ?? {}, base: absoluteUrl(this.deps.config, `/exchange/${tx.partner}/${tx.api}/v${semver.major(tx.version)}`), caller: { partner: tx.callerPartner, tokenId: tx.callerTokenId }, requestKey: route.method === 'GET' || route.method === 'HEAD' ? undefined : requestKey };
    let result: HandlerResult & { replayed: boolean } = { status: 0, body: null, replayed: false };
    const effect = () => {
      const now = this.deps.clock();
      result = callPartner(this.deps, { ...partnerCall, now });
      // The partner receives the same request twice; its request key makes the second a replay.
      if (fault?.kind === 'duplicate-delivery') result = callPartner(this.deps, { ...partnerCall, now });
    };
    // The effect runs in the attempt's transaction; classify lazily once it has run.
    const record: AttemptRecord = { n: 0, startedAt: startedAt.toISOString(), endedAt: '', latencyMs: 0, status: null, result: '', spanId, ...extra };
    const outcome: Outcome = { kind: 'failed', status: null, result: '' };
    const resolve = () => {
      const drift = result.body !== null || result.status ? responseErrors(route, result.status, result.body) : [];
      if (drift.length > 0) {
        this.deps.metrics.schemaDrift.inc({ partner: tx.partner, operation: operationId });
        this.deps.logger.warn({ failureMode: 'schema-drift', transactionId: tx.id, correlationId: tx.correlationId, traceId: tx.traceId, partner: tx.partner, flow: tx.flow, step: step.id, operationId, status: result.status, errors: drift.slice(0, 5) }, 'partner answer does not match the contract');
      }
      let o: Outcome;
      if (timedOut) o = { kind: 'retry', status: null, result: 'timeout', failureMode: 'partner-timeout', detail: `the answer came after ${step.timeout}`, mayHaveActed: true };
      else if (fault?.kind === 'partial-write') o = { kind: 'retry', status: 500, result: 'partial-write', failureMode: 'partial-write', detail: 'the partner wrote but answered 500', mayHaveActed: true };
      else o = classify(operationId, route.method, result.status, 'answered');
      Object.assign(outcome, o);
      Object.assign(record, { endedAt: this.deps.clock().toISOString(), latencyMs: Math.round(performance.now() - t0), status: o.status, result: o.result, ...(result.replayed ? { replayed: true } : {}), ...(drift.length > 0 ? { drift: drift.slice(0, 5) } : {}) });
    };
    const call: StepCall = {
      outcome,
      record,
      effect: () => {
        effect();
        call.result = result;
        resolve();
      },
    };
    return call;
  }
}

/** Counts a partner's answer to a step: acceptance (accepted / rejected / error) and, for $member-match, matched or not. */
export function countPartnerAnswer(metrics: Deps['metrics'], a: { partner: string; flow: string; step: string; operationId: string | undefined; status: number; accepted: boolean }): void {
  metrics.partnerResponses.inc({ partner: a.partner, flow: a.flow, step: a.step, outcome: a.accepted ? 'accepted' : a.status >= 500 || a.status === 429 ? 'error' : 'rejected' });
  if (a.operationId === 'memberMatch' && (a.status === 200 || a.status === 422)) metrics.memberMatches.inc({ partner: a.partner, outcome: a.status === 200 ? 'matched' : 'not-matched' });
}

/** Contract errors of a planned request: path parameters, headers the engine sends, body. */
/**
 * Path parameters of later steps that come from the input (e.g. the export's groupId), checked
 * before anything runs. A parameter comes from the input when it is the same whatever the
 * earlier steps answered (planned with two different stand-in contexts).
 */
function laterInputErrors(plan: FlowEntry, operations: Map<string, Route>, input: Json, now: Date): FieldError[] {
  const standIn = (v: string): FlowContext => ({ memberId: v, memberSystem: v, consentId: v, jobId: v });
  return plan.steps.slice(1).flatMap((step) => {
    const route = operations.get(step.operationId);
    const a = planRequest(step.operationId, input, standIn('stand-in-a'), 'xch-a', now);
    const b = planRequest(step.operationId, input, standIn('stand-in-b'), 'xch-b', now);
    if (!route || !a || !b) return [];
    const fromInput = Object.keys(a.params).filter((name) => a.params[name] === b.params[name]);
    return parameterErrors(route, (where, name) => (where === 'path' && fromInput.includes(name) ? (ownValue(a.params, name) as string | undefined) : undefined))
      .filter((e) => fromInput.some((name) => e.location === `path.${name}` || e.location.startsWith(`path.${name}/`)))
      .map((e) => ({ location: `/input/${step.id}/${e.location}`, message: e.message }));
  });
}

function requestErrors(route: Route, request: { params: Record<string, string>; body: Json | undefined }, requestKey: string): FieldError[] {
  const headers: Record<string, string> = { 'idempotency-key': requestKey.padEnd(8, '-') };
  const errors = parameterErrors(route, (where, name) => (where === 'path' ? ownValue(request.params, name) : where === 'header' ? ownValue(headers, name.toLowerCase()) : undefined) as string | undefined);
  const content = route.op.operation.requestBody?.content as Json | undefined;
  if (content) {
    const media = Object.keys(content)[0]!;
    if (request.body === undefined) errors.push({ location: 'body', message: 'is required' });
    else for (const e of bodyErrors(route, media, request.body)) errors.push(e);
  }
  return errors;
}

function stepKey(transactionId: string, kind: string, stepId: string) {
  return and(eq(transactionSteps.transactionId, transactionId), eq(transactionSteps.kind, kind), eq(transactionSteps.stepId, stepId));
}

function stepRow(tx: TransactionRow, kind: 'forward' | 'compensation', stepId: string, position: number, operation: string): StepRow {
  return { transactionId: tx.id, kind, stepId, position, operation, state: 'pending', attempts: 0, roundAttempts: 0, startedAt: null, endedAt: null, latencyMs: null, outcome: null, attemptLog: '[]', correlationId: tx.correlationId };
}

/** The timeline row of a step (a compensation row is created on first use), read once per attempt. */
function ensureStep(db: Tx, tx: TransactionRow, kind: 'forward' | 'compensation', stepId: string, position: number, operation: string): StepRow {
  db.insert(transactionSteps).values(stepRow(tx, kind, stepId, position, operation)).onConflictDoNothing().run();
  return db.select().from(transactionSteps).where(stepKey(tx.id, kind, stepId)).get()!;
}

/** Appends an attempt (numbered after the row's) to a step's timeline and sets its state from the outcome. */
function saveAttempt(db: Tx, row: StepRow, record: AttemptRecord, outcome: Outcome): void {
  record.n = row.attempts + 1;
  const log = JSON.parse(row.attemptLog) as AttemptRecord[];
  log.push(record);
  const startedAt = row.startedAt ?? record.startedAt;
  db.update(transactionSteps)
    .set({
      state: outcome.kind === 'succeeded' ? 'succeeded' : outcome.kind === 'failed' ? 'failed' : 'running',
      attempts: row.attempts + 1,
      roundAttempts: row.roundAttempts + 1,
      startedAt,
      endedAt: outcome.kind === 'retry' ? null : record.endedAt,
      latencyMs: outcome.kind === 'retry' ? null : Date.parse(record.endedAt) - Date.parse(startedAt),
      outcome: JSON.stringify({ status: outcome.status, result: outcome.result, ...(outcome.failureMode ? { failureMode: outcome.failureMode } : {}), ...(outcome.detail ? { detail: outcome.detail } : {}) }),
      attemptLog: JSON.stringify(log.slice(-50)),
    })
    .where(stepKey(row.transactionId, row.kind, row.stepId))
    .run();
}


/**
 * Applies a state-machine event to a transaction row (refusing what the machine does not allow)
 * and writes the change with its outbox event.
 */
export function transition(db: Tx, row: TransactionRow, e: SagaEvent, deps: Pick<Deps, 'clock' | 'metrics' | 'logger'>, onState?: (row: TransactionRow, to: TransactionState) => void): void {
  const from = row.state as TransactionState;
  const to = nextState(from, e);
  if (!to) throw new AccordError('conflict', `Transaction ${row.id} cannot take "${e.type}" in state ${from}`);
  const now = deps.clock().toISOString();
  const finished = TERMINAL_STATES.includes(to);
  db.update(transactions).set({ state: to, updatedAt: now, ...(finished ? { finishedAt: now, nextRunAt: null, operatorAction: null } : {}) }).where(eq(transactions.id, row.id)).run();
  if (from !== to) {
    event(db, row, now, 'transaction.state-changed', { from, to, data: { reason: e.type } });
    if (finished || to === 'needs-attention') deps.metrics.transactionsFinished.inc({ partner: row.partner, flow: row.flow, state: to });
    deps.logger.info({ transactionId: row.id, correlationId: row.correlationId, traceId: row.traceId, flow: row.flow, partner: row.partner, from, to }, 'transaction state changed');
    onState?.(row, to);
  }
  row.state = to;
}

/** One exchange request answered at once, recorded as a one-step transaction (see recordExchange). */
export interface ExchangeRecord {
  flow: FlowEntry;
  step: Step;
  partner: string;
  api: string;
  version: string;
  operationId: string;
  status: number;
  correlationId: string;
  idempotencyKey: string | undefined;
  traceId: string;
  spanId: string;
  tracestate: string | undefined;
  principal: Principal;
  startedAt: Date;
  latencyMs: number;
  fault: string | undefined;
}

/**
 * Records a direct exchange request of a flow's operation as a transaction in its final state
 * (completed on 2xx; otherwise what the flow's failure mode says), with its one step and an
 * outbox event. Runs inside the request's SQLite transaction, so the record exists exactly
 * when the effect does; `GET /v1/transactions/{correlation id or key}` finds it.
 */
export function recordExchange(deps: Pick<Deps, 'db' | 'clock'>, r: ExchangeRecord): { state: TransactionState; stepOutcome: string } {
  const outcome = classify(r.operationId, 'POST', r.status, 'answered');
  const state: TransactionState = outcome.kind === 'succeeded' ? 'completed' : failureAction(r.flow, outcome.failureMode) === 'needs-attention' ? 'needs-attention' : 'compensated';
  const now = deps.clock().toISOString();
  const id = newTransactionId();
  const failure = outcome.kind === 'succeeded' ? null : JSON.stringify({ step: r.step.id, operationId: r.operationId, failureMode: outcome.failureMode, status: r.status, detail: outcome.detail, action: r.flow.failureModes[outcome.failureMode ?? '']?.action });
  const attempt: AttemptRecord = { n: 1, startedAt: r.startedAt.toISOString(), endedAt: now, latencyMs: Math.round(r.latencyMs), status: r.status, result: 'answered', spanId: r.spanId, ...(r.fault ? { fault: r.fault } : {}) };
  const syncStep = {
    id: r.step.id,
    operation: r.operationId,
    state: outcome.kind === 'succeeded' ? 'succeeded' : 'failed',
    attempts: 1,
    startedAt: attempt.startedAt,
    endedAt: now,
    latencyMs: attempt.latencyMs,
    outcome: { status: r.status, result: outcome.kind === 'succeeded' ? 'answered' : outcome.result, ...(outcome.failureMode ? { failureMode: outcome.failureMode } : {}) },
    attemptLog: [attempt],
  };
  // One row: the transaction, its step and (read by rowid) its outbox record.
  exchangeStatement(deps.db).run({
    id,
    flow: r.flow.flow,
    partner: r.partner,
    api: r.api,
    version: r.version,
    state,
    correlationId: r.correlationId,
    idempotencyKey: r.idempotencyKey ?? null,
    traceId: r.traceId,
    tracestate: r.tracestate ?? null,
    caller: r.principal.tokenId,
    callerPartner: r.principal.partner,
    syncStep: JSON.stringify(syncStep),
    failure,
    now,
    finishedAt: state === 'needs-attention' ? null : now,
  });
  return { state, stepOutcome: outcome.kind === 'retry' ? 'failed' : outcome.kind };
}

/** Counts a recorded exchange request (after its commit: recording may run twice, counting must not). */
export function countExchange(metrics: Deps['metrics'], r: Pick<ExchangeRecord, 'partner' | 'flow' | 'step' | 'latencyMs'>, recorded: ReturnType<typeof recordExchange>): void {
  metrics.requestsInitiated.inc({ partner: r.partner, flow: r.flow.flow });
  metrics.transactionsFinished.inc({ partner: r.partner, flow: r.flow.flow, state: recorded.state });
  metrics.stepDuration.observe({ partner: r.partner, flow: r.flow.flow, step: r.step.id, outcome: recorded.stepOutcome }, r.latencyMs / 1000);
}

const exchangeStatements = new WeakMap<object, ReturnType<Database['prepare']>>();

function exchangeStatement(db: Deps['db']) {
  let statement = exchangeStatements.get(db.$client);
  if (!statement) {
    statement = db.$client.prepare(
      `INSERT INTO transactions (id, flow, partner, api, version, state, phase, cursor, correlation_id, idempotency_key, trace_id, tracestate, caller_token_id, caller_partner, mode, input, plan, context, sync_step, failure, time_scale_ppm, created_at, updated_at, finished_at)
       VALUES (@id, @flow, @partner, @api, @version, @state, 'forward', 1, @correlationId, @idempotencyKey, @traceId, @tracestate, @caller, @callerPartner, 'sync', '{}', '{}', '{}', @syncStep, @failure, 1000000, @now, @now, @finishedAt)`,
    );
    exchangeStatements.set(db.$client, statement);
  }
  return statement;
}
