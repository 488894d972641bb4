import { eq } from 'drizzle-orm';
import semver from 'semver';
import type { Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { transactions } from '../../db/index.ts';
import type { FlowEntry, Step } from '../../matrix/checks.ts';
import type { SlaMonitor } from '../../observability/sla.ts';
import type { TransactionFault } from '../faults.ts';
import { stepOutputs, type FlowContext } from '../flow-requests.ts';
import { lookupPartnerRequest } from '../handlers.ts';
import { IdempotencyStore } from '../idempotency.ts';
import { appendEvent } from '../outbox.ts';
import type { Route, RouteTable } from '../route-table.ts';
import { observeFlow } from '../telemetry.ts';
import { newSpanId } from '../trace-context.ts';
import { anyStillRunning, handedToOperatorAt, type CallInProgress, type TransactionRow } from '../transaction-views.ts';
import { onSignal } from '../../db/signals.ts';
import { approvedToRun, awaitApproval, needsApproval } from '../compensation-approvals.ts';
import { SagaLeases } from './leases.ts';
import { Waits } from './waits.ts';
import { callStep } from './partner-call.ts';
import { acknowledgingStep, compensationOutcome, decide, failureAction, isCompensable, type Decision } from './policy.ts';
import { startTransaction, type StartRequest, type Started } from './start.ts';
import { TERMINAL_STATES, type TransactionState } from './states.ts';
import { ensureStep, readStep, resetRetryBudget, saveAttempt, skipPendingSteps, skipStep, transition, type Tx } from './timeline.ts';

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
  private readonly waits = new Waits();
  private readonly calls = new Map<string, CallInProgress>();
  private stopped = false;
  private readonly leases: SagaLeases;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly stopListening: () => void;

  constructor(
    private readonly deps: Deps,
    private readonly routes: RouteTable,
    private readonly sla: SlaMonitor,
  ) {
    this.idempotency = new IdempotencyStore(deps);
    this.leases = new SagaLeases(deps);
    // The sagas driven here keep their leases while they run (a third of the lease, so two renewals may fail before another replica may take over).
    this.heartbeat = setInterval(() => void this.leases.renew([...this.running.keys()]).catch((error) => deps.logger.error({ err: error }, 'saga lease renewal failed')), Math.max(100, deps.config.leaseMs / 3));
    this.heartbeat.unref();
    // An operator acted on a transaction, perhaps on another replica: wake it if it is driven here, or take it if nobody drives it.
    this.stopListening = onSignal('saga-kick', (id) => {
      if (id) void this.kick(id, { signalled: true }).catch((error) => deps.logger.error({ err: error, transactionId: id }, 'saga kick failed'));
    });
  }

  /**
   * Starts a flow for a partner (see startTransaction) and runs it; repeats replay the first
   * answer and start nothing.
   */
  async start(principal: Principal, request: StartRequest, options: { timeScale?: number; faults?: TransactionFault[] } = {}): Promise<Started> {
    const started = await startTransaction(this.deps, { routes: this.routes, sla: this.sla, idempotency: this.idempotency, ...options }, principal, request);
    if (!started.replayed) await this.kick(started.id!);
    return started;
  }

  /**
   * Continues every unfinished transaction no live replica drives (start-up after a stop or a
   * crash; the jobs loop calls it on every replica, so the sagas of a replica that died are taken
   * over once their leases have passed). Returns how many it took.
   */
  async resume({ startUp = false }: { startUp?: boolean } = {}): Promise<number> {
    if (this.stopped) return 0;
    const ids = (await this.leases.claimOrphans({ own: startUp })).filter((id) => !this.running.has(id));
    // One saga that cannot start must not leave the others of the sweep leased and idle.
    for (const id of ids) await this.kick(id).catch((error) => this.deps.logger.error({ err: error, transactionId: id }, 'saga kick failed'));
    if (ids.length > 0) this.deps.logger.info({ count: ids.length, replica: this.deps.config.replicaId }, 'continuing unfinished transactions');
    return ids.length;
  }

  /**
   * Runs (or wakes) the transaction's driver, once this replica holds its lease. If another
   * replica holds it, that one is told (a signal) unless this kick came from one.
   */
  async kick(id: string, { signalled = false }: { signalled?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (this.running.has(id)) {
      this.waits.kick(id);
      return;
    }
    if (!(await this.leases.claim(id))) {
      if (!signalled) await this.deps.db.$signal('saga-kick', id);
      return;
    }
    if (this.running.has(id) || this.stopped) return;
    let failed = false;
    const run = this.drive(id)
      .catch((error) => {
        failed = true;
        this.deps.logger.error({ err: error, transactionId: id }, 'saga driver failed');
      })
      .finally(async () => {
        // Waiting for a person, finished, or stopping: nobody needs to wait for this lease to pass.
        // A driver that failed keeps it until it passes, so the saga is tried again after the lease,
        // not at every jobs tick. Released before the driver is forgotten: a kick meanwhile finds it
        // still running rather than claiming a lease this release would then clear.
        if (!failed) await this.leases.release(id).catch((error) => this.deps.logger.error({ err: error, transactionId: id }, 'saga lease release failed'));
        this.running.delete(id);
      });
    this.running.set(id, run);
  }

  /** Waits until each transaction is finished or waiting for an operator, or `timeoutMs` has passed. */
  async settled(ids: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.length > 0 && await anyStillRunning(this.deps.db, ids) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Waits until no transaction is being driven (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Stops driving: sleeping transactions stay where they are (resume() continues them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopListening();
    clearInterval(this.heartbeat);
    this.waits.wakeAll();
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

  private async load(id: string): Promise<TransactionRow | undefined> {
    return await this.deps.db.select().from(transactions).where(eq(transactions.id, id)).get();
  }

  private async drive(id: string): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const transaction = await this.load(id);
      if (!transaction || TERMINAL_STATES.includes(transaction.state as TransactionState)) return;
      // Another replica took the saga over (this one stalled past its lease): it drives it now.
      if (transaction.leaseOwner !== this.deps.config.replicaId) return;
      if (transaction.state === 'needs-attention' && !transaction.operatorAction) return;
      // A compensation waits for a person: nothing runs until one decides (approve kicks it again).
      if (transaction.state === 'awaiting-approval') return;
      const flowEntry = JSON.parse(transaction.plan) as FlowEntry;
      if (transaction.operatorAction === 'retry' || transaction.operatorAction === 'compensate') {
        await this.applyOperatorAction(transaction, flowEntry);
        continue;
      }
      if (transaction.state === 'initiated') {
        await this.commit(transaction, async (dbTx, row) => await transition(dbTx, row, { type: 'accept' }, this.deps, this.onState));
        continue;
      }
      const wait = this.waits.remaining(id, transaction.nextRunAt, this.deps.clock());
      if (wait > 0) {
        await this.waits.untilDue(id, wait);
        continue;
      }
      if (transaction.phase === 'forward') {
        if (transaction.cursor >= flowEntry.steps.length) {
          await this.commit(transaction, async (dbTx, row) => await transition(dbTx, row, { type: 'steps-completed' }, this.deps, this.onState));
          continue;
        }
        await this.forward(transaction, flowEntry, flowEntry.steps[transaction.cursor]!);
      } else {
        if (transaction.cursor < 0) {
          await this.commit(transaction, async (dbTx, row) => {
            await skipPendingSteps(dbTx, row.id);
            await transition(dbTx, row, { type: 'compensations-completed' }, this.deps, this.onState);
          });
          continue;
        }
        await this.compensate(transaction, flowEntry, flowEntry.steps[transaction.cursor]!);
      }
    }
  }

  /**
   * Runs `fn` in one database transaction on the row as it is now. The guard is a write (it
   * renews the lease), so on PostgreSQL it locks the row until the commit: a concurrent change (an
   * operator) or a lost lease (another replica took the saga over) makes the write do nothing
   * instead of overwriting it.
   */
  private async commit(transaction: TransactionRow, fn: (dbTx: Tx, row: TransactionRow) => Promise<void>): Promise<void> {
    await this.deps.db.transaction(async (dbTx) => {
      if (!(await this.leases.hold(transaction))) return;
      const row = await dbTx.select().from(transactions).where(eq(transactions.id, transaction.id)).get();
      if (!row) return;
      await fn(dbTx, row);
    });
  }

  private async applyOperatorAction(transaction: TransactionRow, flowEntry: FlowEntry): Promise<void> {
    await this.commit(transaction, async (dbTx, row) => {
      const action = row.operatorAction;
      // In needs-attention the operator's work runs in that state: mark it in progress until it stops or ends.
      const working = row.state === 'needs-attention' ? (action === 'retry' ? 'retrying' : 'compensating') : null;
      await dbTx.update(transactions).set({ operatorAction: working, nextRunAt: null, updatedAt: this.deps.clock().toISOString() }).where(eq(transactions.id, row.id)).run();
      row.operatorAction = working;
      // Compensating a transaction that stopped while compensating means: run the stopped compensation again.
      if (action === 'retry' || row.phase === 'compensating') {
        // A fresh retry budget for the step that stopped.
        const kind = row.phase === 'forward' ? 'forward' : 'compensation';
        const step = flowEntry.steps[row.cursor];
        if (step) await resetRetryBudget(dbTx, row.id, kind, step.id);
        // While compensating the failure stays: it names the forward step that failed, whose own undo depends on it.
        if (row.phase === 'forward') await dbTx.update(transactions).set({ failure: null }).where(eq(transactions.id, row.id)).run();
        if (row.state === 'needs-attention') await transition(dbTx, row, { type: action === 'retry' ? 'operator-retry' : 'operator-compensate' }, this.deps, this.onState);
      } else if (action === 'compensate' && row.phase === 'forward') {
        const cursor = row.cursor - 1;
        await dbTx.update(transactions).set({ phase: 'compensating', cursor }).where(eq(transactions.id, row.id)).run();
        Object.assign(row, { phase: 'compensating', cursor });
        await transition(dbTx, row, { type: 'operator-compensate' }, this.deps, this.onState);
      }
    });
  }

  /** The route of an operation in the newest served version of the transaction's contract line. */
  private async route(transaction: TransactionRow, flowEntry: FlowEntry, operationId: string): Promise<Route | undefined> {
    return (await this.routes.forFlow(flowEntry, transaction.partner, semver.major(transaction.version)))?.operations.get(operationId);
  }

  /** One attempt of forward step `step`. */
  private async forward(transaction: TransactionRow, flowEntry: FlowEntry, step: Step): Promise<void> {
    const context = JSON.parse(transaction.context) as FlowContext;
    const route = await this.route(transaction, flowEntry, step.operationId);
    const call = await this.calling(transaction.id, { stepId: step.id, operation: step.operationId, compensation: false }, async () =>
      await callStep(this.deps, transaction, flowEntry, { step, operationId: step.operationId, route, requestKey: `${transaction.id}.${step.id}`, context }, (ms) => this.waits.sleep(transaction.id, ms, false)),
    );
    const labels = { partner: transaction.partner, flow: transaction.flow, step: step.id };
    let decided: Decision | undefined;
    await this.commit(transaction, async (dbTx, row) => {
      const now = this.deps.clock().toISOString();
      if (row.state === 'accepted') await transition(dbTx, row, { type: 'step-started' }, this.deps, this.onState);
      await call.effect?.();
      const current = await ensureStep(dbTx, row, 'forward', step.id, row.cursor, step.operationId);
      const { final, delay } = (decided = decide(call.outcome, current.roundAttempts + 1, step, row.timeScale, this.sla.retriesPaused(row.flow, row.partner)));
      await saveAttempt(dbTx, current, call.record, final);
      if (final.kind === 'succeeded') {
        const merged = { ...context, ...stepOutputs(step.operationId, call.result!) };
        await dbTx.update(transactions).set({ context: JSON.stringify(merged), cursor: row.cursor + 1, nextRunAt: null, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.step-succeeded', { step: step.id, data: { operationId: step.operationId, status: call.record.status, attempt: call.record.n, acknowledging: step.id === acknowledgingStep(flowEntry).id } });
      } else if (final.kind === 'retry') {
        await dbTx.update(transactions).set({ nextRunAt: new Date(Date.parse(now) + delay).toISOString(), updatedAt: now }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.step-retry-scheduled', { step: step.id, data: { status: call.record.status, result: final.result, attempt: call.record.n, delayMs: Math.round(delay) } });
      } else {
        const mode = flowEntry.failureModes[final.failureMode ?? ''];
        const action = failureAction(flowEntry, final.failureMode);
        const failure = { step: step.id, operationId: step.operationId, failureMode: final.failureMode, status: final.status, detail: final.detail ?? final.result, action: mode?.action ?? 'compensate', supportOwner: mode?.supportOwner };
        // The failed step itself is compensated too when the partner may have acted (timeout, partial write).
        const cursor = final.mayHaveActed && isCompensable(step) ? row.cursor : row.cursor - 1;
        // During an operator's retry a failure that compensates goes on compensating; one that needs a human waits again.
        const operatorAction = row.state === 'needs-attention' && action === 'compensate' ? 'compensating' : null;
        await dbTx.update(transactions)
          .set({ failure: JSON.stringify(failure), nextRunAt: null, updatedAt: now, operatorAction, ...(action === 'compensate' ? { phase: 'compensating', cursor } : {}) })
          .where(eq(transactions.id, row.id))
          .run();
        await appendEvent(dbTx, row, now, 'transaction.step-failed', { step: step.id, data: failure });
        if (action === 'compensate') Object.assign(row, { phase: 'compensating', cursor });
        await transition(dbTx, row, { type: 'step-failed', action }, this.deps, this.onState);
      }
    });
    if (!decided) return;
    this.deps.metrics.stepDuration.observe({ ...labels, outcome: decided.final.kind }, call.record.latencyMs / 1000);
    const { final } = decided;
    observeFlow(this.deps, this.sla, {
      flow: transaction.flow,
      partner: transaction.partner,
      answer: { step: step.id, operationId: step.operationId, status: final.status, accepted: final.kind === 'succeeded' },
      ...(final.kind === 'succeeded' && step.id === acknowledgingStep(flowEntry).id ? { acknowledgedAfter: this.secondsSince(transaction.createdAt) } : {}),
    });
    if (decided.final.kind === 'retry') {
      this.deps.metrics.retries.inc(labels);
      this.waits.retryIn(transaction.id, decided.delay);
    }
  }

  /** Telemetry of a state change: time to finalise, the error rate and the remediation time the SLA monitor watches. */
  private readonly onState = async (row: TransactionRow, to: TransactionState): Promise<void> => {
    const ended = to === 'completed' || to === 'compensated';
    // One error-rate sample per transaction: when it ends, or when it is handed to a human (not again when resolved).
    const sampled = (ended || to === 'needs-attention') && row.state !== 'needs-attention';
    // From handing the transaction to a human until it was resolved: the remediationResponse SLA.
    const handedOver = row.state === 'needs-attention' && ended ? await handedToOperatorAt(this.deps.db, row.id) : undefined;
    observeFlow(this.deps, this.sla, {
      flow: row.flow,
      partner: row.partner,
      ...(to === 'completed' ? { finalizedAfter: this.secondsSince(row.createdAt) } : {}),
      ...(sampled ? { failed: to !== 'completed' } : {}),
      ...(handedOver ? { remediatedAfter: this.secondsSince(handedOver) } : {}),
    });
  };

  private secondsSince(iso: string): number {
    return (this.deps.clock().getTime() - Date.parse(iso)) / 1000;
  }

  /** One attempt of the compensation of completed step `step` (reverse order is the cursor's). */
  private async compensate(transaction: TransactionRow, flowEntry: FlowEntry, step: Step): Promise<void> {
    const forwardRow = await readStep(this.deps.db, transaction.id, 'forward', step.id);
    const failure = transaction.failure ? (JSON.parse(transaction.failure) as { step?: string }) : {};
    const needed = forwardRow?.state === 'succeeded' || (failure.step === step.id && (forwardRow?.attempts ?? 0) > 0);
    const operation = step.compensation.operationId ?? step.compensation.strategy ?? 'none';
    const labels = { partner: transaction.partner, flow: transaction.flow, step: step.id };
    if (!needed || !isCompensable(step)) {
      await this.skipCompensation(transaction, step, operation, needed ? 'no compensation needed (matrix: none)' : 'step did not run');
      return;
    }
    let context = JSON.parse(transaction.context) as FlowContext;
    if (forwardRow?.state !== 'succeeded') {
      // The step's answer was lost (timeout, partial write): ask the partner what it did under the step's request key.
      const earlier = await lookupPartnerRequest(this.deps, transaction.partner, `${transaction.id}.${step.id}`, { partner: transaction.callerPartner, tokenId: transaction.callerTokenId });
      if (!earlier || earlier.status < 200 || earlier.status >= 300) {
        await this.skipCompensation(transaction, step, operation, 'the partner never acted on the step');
        return;
      }
      context = { ...context, ...stepOutputs(step.operationId, earlier) };
    }
    if (needsApproval(step) && !(await approvedToRun(this.deps.db, transaction.id, step.id))) {
      await this.commit(transaction, async (dbTx, row) => {
        await ensureStep(dbTx, row, 'compensation', step.id, row.cursor, operation);
        await awaitApproval(dbTx, row, step, operation, this.deps, this.onState);
      });
      return;
    }
    if (!step.compensation.operationId) {
      // reversal-event: the compensation is an event partners act on.
      await this.commit(transaction, async (dbTx, row) => {
        const now = this.deps.clock().toISOString();
        const current = await ensureStep(dbTx, row, 'compensation', step.id, row.cursor, operation);
        await saveAttempt(dbTx, current, { n: 1, startedAt: now, endedAt: now, latencyMs: 0, status: null, result: 'event emitted', spanId: newSpanId() }, { kind: 'succeeded', status: null, result: 'event emitted' });
        await dbTx.update(transactions).set({ cursor: row.cursor - 1, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.reversal-event', { step: step.id, data: { note: (step.compensation as { note?: string }).note ?? `Reverse ${step.id}`, context } });
      });
      this.deps.metrics.compensations.inc({ ...labels, outcome: 'succeeded' });
      return;
    }
    const route = await this.route(transaction, flowEntry, step.compensation.operationId);
    const operationId = step.compensation.operationId;
    const call = await this.calling(transaction.id, { stepId: step.id, operation: operationId, compensation: true }, async () =>
      await callStep(this.deps, transaction, flowEntry, { step, operationId, route, requestKey: `${transaction.id}.${step.id}.compensate`, context }, (ms) => this.waits.sleep(transaction.id, ms, false)),
    );
    let decided: Decision | undefined;
    await this.commit(transaction, async (dbTx, row) => {
      const now = this.deps.clock().toISOString();
      const current = await ensureStep(dbTx, row, 'compensation', step.id, row.cursor, operation);
      await call.effect?.();
      const { final, delay } = (decided = decide(compensationOutcome(call.outcome), current.roundAttempts + 1, step, row.timeScale));
      await saveAttempt(dbTx, current, call.record, final);
      if (final.kind === 'succeeded') {
        await dbTx.update(transactions).set({ cursor: row.cursor - 1, nextRunAt: null, updatedAt: now }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.compensation-succeeded', { step: step.id, data: { operationId: operation, status: final.status, result: final.result } });
      } else if (final.kind === 'retry') {
        await dbTx.update(transactions).set({ nextRunAt: new Date(Date.parse(now) + delay).toISOString(), updatedAt: now }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.compensation-retry-scheduled', { step: step.id, data: { status: final.status, result: final.result, delayMs: Math.round(delay) } });
      } else {
        const detail = { step: step.id, operationId: operation, status: final.status, detail: final.detail ?? final.result, compensation: true };
        await dbTx.update(transactions).set({ failure: JSON.stringify(detail), nextRunAt: null, updatedAt: now, operatorAction: null }).where(eq(transactions.id, row.id)).run();
        await appendEvent(dbTx, row, now, 'transaction.compensation-failed', { step: step.id, data: detail });
        await transition(dbTx, row, { type: 'compensation-failed' }, this.deps, this.onState);
      }
    });
    if (!decided) return;
    this.deps.metrics.stepDuration.observe({ ...labels, outcome: `compensation-${decided.final.kind}` }, call.record.latencyMs / 1000);
    if (decided.final.kind === 'retry') this.waits.retryIn(transaction.id, decided.delay);
    else this.deps.metrics.compensations.inc({ ...labels, outcome: decided.final.kind });
  }

  /** Moves past a step that needs no compensation, recording why. */
  private async skipCompensation(transaction: TransactionRow, step: Step, operation: string, reason: string): Promise<void> {
    await this.commit(transaction, async (dbTx, row) => {
      const now = this.deps.clock().toISOString();
      await ensureStep(dbTx, row, 'compensation', step.id, row.cursor, operation);
      await skipStep(dbTx, row.id, 'compensation', step.id, reason);
      await dbTx.update(transactions).set({ cursor: row.cursor - 1, updatedAt: now }).where(eq(transactions.id, row.id)).run();
      await appendEvent(dbTx, row, now, 'transaction.compensation-skipped', { step: step.id, data: { strategy: operation, reason } });
    });
  }
}
