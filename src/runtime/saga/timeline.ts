import { and, eq } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { transactions, transactionSteps } from '../../db/index.ts';
import { AccordError, type FieldError } from '../../errors.ts';
import { appendEvent } from '../outbox.ts';
import type { TransactionRow } from '../transaction-views.ts';
import type { Outcome } from './policy.ts';
import { nextState, TERMINAL_STATES, type SagaEvent, type TransactionState } from './states.ts';

/** A database transaction (drizzle's), as opposed to the business transaction it writes. */
export type Tx = Parameters<Parameters<Deps['db']['transaction']>[0]>[0];
export type StepRow = typeof transactionSteps.$inferSelect;
export type StepKind = 'forward' | 'compensation';

/** One attempt as recorded in the step's attempt log. */
export interface AttemptRecord {
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

function stepKey(transactionId: string, kind: string, stepId: string) {
  return and(eq(transactionSteps.transactionId, transactionId), eq(transactionSteps.kind, kind), eq(transactionSteps.stepId, stepId));
}

/** A step's timeline row before its first attempt. */
export function pendingStep(transaction: TransactionRow, kind: StepKind, stepId: string, position: number, operation: string): StepRow {
  return { transactionId: transaction.id, kind, stepId, position, operation, state: 'pending', attempts: 0, roundAttempts: 0, startedAt: null, endedAt: null, latencyMs: null, outcome: null, attemptLog: '[]', correlationId: transaction.correlationId };
}

/** The timeline row of a step, if it has one. */
export async function readStep(db: Pick<Deps['db'], 'select'>, transactionId: string, kind: StepKind, stepId: string): Promise<StepRow | undefined> {
  return await db.select().from(transactionSteps).where(stepKey(transactionId, kind, stepId)).get();
}

/** The timeline row of a step (a compensation row is created on first use), read once per attempt. */
export async function ensureStep(dbTx: Tx, transaction: TransactionRow, kind: StepKind, stepId: string, position: number, operation: string): Promise<StepRow> {
  await dbTx.insert(transactionSteps).values(pendingStep(transaction, kind, stepId, position, operation)).onConflictDoNothing().run();
  return (await readStep(dbTx, transaction.id, kind, stepId))!;
}

/** Appends an attempt (numbered after the row's) to a step's timeline and sets its state from the outcome. */
export async function saveAttempt(dbTx: Tx, row: StepRow, record: AttemptRecord, outcome: Outcome): Promise<void> {
  record.n = row.attempts + 1;
  const log = JSON.parse(row.attemptLog) as AttemptRecord[];
  log.push(record);
  const startedAt = row.startedAt ?? record.startedAt;
  await dbTx
    .update(transactionSteps)
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

/** Marks a step skipped, with the reason as its outcome. */
export async function skipStep(dbTx: Tx, transactionId: string, kind: StepKind, stepId: string, reason: string): Promise<void> {
  await dbTx.update(transactionSteps).set({ state: 'skipped', outcome: JSON.stringify({ result: reason }) }).where(stepKey(transactionId, kind, stepId)).run();
}

/** Marks the forward steps that never ran skipped (the transaction was compensated before reaching them). */
export async function skipPendingSteps(dbTx: Tx, transactionId: string): Promise<void> {
  await dbTx.update(transactionSteps).set({ state: 'skipped' }).where(and(eq(transactionSteps.transactionId, transactionId), eq(transactionSteps.kind, 'forward'), eq(transactionSteps.state, 'pending'))).run();
}

/** Gives a step a fresh retry budget (an operator's retry). */
export async function resetRetryBudget(dbTx: Tx, transactionId: string, kind: StepKind, stepId: string): Promise<void> {
  await dbTx.update(transactionSteps).set({ roundAttempts: 0 }).where(stepKey(transactionId, kind, stepId)).run();
}

/**
 * Applies a state-machine event to a transaction row (refusing what the machine does not allow)
 * and writes the change with its outbox event.
 */
export async function transition(dbTx: Tx, row: TransactionRow, e: SagaEvent, deps: Pick<Deps, 'clock' | 'metrics' | 'logger'>, onState?: (row: TransactionRow, to: TransactionState) => Promise<void>): Promise<void> {
  const from = row.state as TransactionState;
  const to = nextState(from, e);
  if (!to) throw new AccordError('conflict', `Transaction ${row.id} cannot take "${e.type}" in state ${from}`);
  const now = deps.clock().toISOString();
  const finished = TERMINAL_STATES.includes(to);
  await dbTx.update(transactions).set({ state: to, updatedAt: now, ...(finished ? { finishedAt: now, nextRunAt: null, operatorAction: null } : {}) }).where(eq(transactions.id, row.id)).run();
  if (from !== to) {
    await appendEvent(dbTx, row, now, 'transaction.state-changed', { from, to, data: { reason: e.type } });
    if (finished || to === 'needs-attention') deps.metrics.transactionsFinished.inc({ partner: row.partner, flow: row.flow, state: to });
    deps.logger.info({ transactionId: row.id, correlationId: row.correlationId, traceId: row.traceId, flow: row.flow, partner: row.partner, from, to }, 'transaction state changed');
    await onState?.(row, to);
  }
  row.state = to;
}
