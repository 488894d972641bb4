import { and, desc, eq, inArray } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { sameActor } from '../changes/separation.ts';
import type { Deps } from '../deps.ts';
import { changesOf, compensationApprovals, transactionEvents, transactions } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import type { Step } from '../matrix/checks.ts';
import { appendEvent } from './outbox.ts';
import { transition, type Tx } from './saga/timeline.ts';
import type { TransactionState } from './saga/states.ts';
import { findTransaction, type TransactionRow } from './transaction-views.ts';

/**
 * Compensations that need a person (issue 18, ADR 0023). A step whose matrix entry says
 * `compensation.approval: required` does not compensate on its own: when the engine comes to
 * it, the transaction waits (awaiting-approval, or needs-attention when an operator's action led
 * there) with a `compensation_approvals` row `awaiting`, written in the same database
 * transaction, until an operator approves (the compensation runs) or rejects it (the step's
 * effect stays; the transaction needs attention). When an operator's retry or compensate led to
 * it, that person may not decide it (four eyes).
 */

export const APPROVAL_STATUSES = ['awaiting', 'approved', 'rejected'] as const;
export const APPROVAL_CAUSES = ['engine', 'operator'] as const;
export type ApprovalRow = typeof compensationApprovals.$inferSelect;

/** Whether a step's compensation waits for a person's approval (matrix: compensation.approval required). */
export function needsApproval(step: Step): boolean {
  return step.compensation.approval === 'required';
}

/** The latest approval row of one compensation (transaction and step), if any. */
export async function latestApproval(db: Pick<Deps['db'], 'select'>, transactionId: string, stepId: string): Promise<ApprovalRow | undefined> {
  return await db
    .select()
    .from(compensationApprovals)
    .where(and(eq(compensationApprovals.transactionId, transactionId), eq(compensationApprovals.stepId, stepId)))
    .orderBy(desc(compensationApprovals.requestedAt), desc(compensationApprovals.id))
    .limit(1)
    .get();
}

/** Whether the compensation may run: its latest approval row says approved. */
export async function approvedToRun(db: Pick<Deps['db'], 'select'>, transactionId: string, stepId: string): Promise<boolean> {
  return (await latestApproval(db, transactionId, stepId))?.status === 'approved';
}

/** The person whose retry or compensate acted last on the transaction, if one did (what led to the compensation). */
async function lastOperator(dbTx: Tx, transactionId: string): Promise<{ name: string; token: string | null } | undefined> {
  const event = await dbTx
    .select({ data: transactionEvents.data })
    .from(transactionEvents)
    .where(and(eq(transactionEvents.transactionId, transactionId), inArray(transactionEvents.type, ['transaction.operator-retry', 'transaction.operator-compensate'])))
    .orderBy(desc(transactionEvents.seq))
    .limit(1)
    .get();
  if (!event) return undefined;
  const data = JSON.parse(event.data) as { by?: string; byToken?: string };
  return data.by ? { name: data.by, token: data.byToken ?? null } : undefined;
}

/**
 * Inside the engine's step transaction: parks the compensation of `step` until a person decides.
 * Writes the awaiting row, the outbox event and the state change (compensating → awaiting-approval;
 * a transaction in needs-attention stays there, its operator work stopped) together.
 */
export async function awaitApproval(
  dbTx: Tx,
  row: TransactionRow,
  step: Step,
  operation: string,
  deps: Pick<Deps, 'clock' | 'metrics' | 'logger'>,
  onState?: (row: TransactionRow, to: TransactionState) => Promise<void>,
): Promise<ApprovalRow | undefined> {
  const latest = await latestApproval(dbTx, row.id, step.id);
  if (latest?.status === 'awaiting' || latest?.status === 'approved') return undefined;
  const now = deps.clock().toISOString();
  const operator = await lastOperator(dbTx, row.id);
  const approval: ApprovalRow = {
    id: `cap_${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`,
    transactionId: row.id,
    stepId: step.id,
    flow: row.flow,
    partner: row.partner,
    status: 'awaiting',
    cause: operator ? 'operator' : 'engine',
    causedBy: operator?.name ?? null,
    causedByToken: operator?.token ?? null,
    requestedAt: now,
    decidedBy: null,
    decidedByToken: null,
    decidedAt: null,
    reason: null,
  };
  await dbTx.insert(compensationApprovals).values(approval).run();
  await dbTx.update(transactions).set({ nextRunAt: null, updatedAt: now, ...(row.state === 'needs-attention' ? { operatorAction: null } : {}) }).where(eq(transactions.id, row.id)).run();
  await appendEvent(dbTx, row, now, 'transaction.compensation-awaiting-approval', { step: step.id, data: { approvalId: approval.id, operationId: operation, cause: approval.cause, causedBy: approval.causedBy } });
  await transition(dbTx, row, { type: 'approval-required' }, deps, onState);
  deps.logger.info({ transactionId: row.id, correlationId: row.correlationId, step: step.id, cause: approval.cause }, 'compensation awaits an operator\'s approval');
  return approval;
}

export const CompensationDecision = z
  .object({ reason: z.string().trim().min(1).max(2000).optional().meta({ description: 'Why (required to reject)' }) })
  .strict();

/** One compensation approval as the API and the console show it (no tokens). */
export function approvalView(config: Pick<Deps['config'], 'publicUrl'>, row: ApprovalRow, now: Date) {
  const transaction = absoluteUrl(config, `/v1/transactions/${row.transactionId}`);
  return {
    id: row.id,
    transactionId: row.transactionId,
    step: row.stepId,
    flow: row.flow,
    partner: row.partner,
    status: row.status as (typeof APPROVAL_STATUSES)[number],
    cause: row.cause as (typeof APPROVAL_CAUSES)[number],
    causedBy: row.causedBy,
    requestedAt: row.requestedAt,
    waitingSeconds: row.status === 'awaiting' ? Math.max(0, Math.round((now.getTime() - Date.parse(row.requestedAt)) / 1000)) : null,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt,
    reason: row.reason,
    links: { transaction, approve: `${transaction}/compensations/${row.stepId}/approve`, reject: `${transaction}/compensations/${row.stepId}/reject` },
  };
}
export type ApprovalView = ReturnType<typeof approvalView>;

export const ApprovalQuery = z
  .object({
    status: z.enum(APPROVAL_STATUSES).optional().meta({ description: 'Default awaiting' }),
    flow: z.string().max(200).optional().meta({ description: 'Only this flow' }),
    partner: z.string().max(200).optional().meta({ description: 'Only this partner' }),
  })
  .strict();

/** GET /v1/compensations: compensation approvals (default: those awaiting), oldest first. */
export async function listApprovals(deps: Pick<Deps, 'db' | 'clock' | 'config'>, query: z.infer<typeof ApprovalQuery> = {}, page: Page = { limit: 500 }): Promise<Paged<ApprovalView>> {
  const status = query.status ?? 'awaiting';
  // Awaiting: the longest waiting first; decided ones newest first (ties by id).
  const newest = status !== 'awaiting';
  const order: KeyPart<ApprovalRow>[] = [
    { column: compensationApprovals.requestedAt, desc: newest, of: (r) => r.requestedAt },
    { column: compensationApprovals.id, desc: newest, of: (r) => r.id },
  ];
  const rows = await deps.db
    .select()
    .from(compensationApprovals)
    .where(and(eq(compensationApprovals.status, status), query.flow ? eq(compensationApprovals.flow, query.flow) : undefined, query.partner ? eq(compensationApprovals.partner, query.partner) : undefined, keyAfter(order, page.after)))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  const now = deps.clock();
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map((r) => approvalView(deps.config, r, now)) };
}

/**
 * Approves or rejects the compensation of `stepId` awaiting approval on a transaction. 404 when
 * the transaction is not found, 409 when no compensation of that step awaits approval, 403 when
 * the decider is the person whose action led to it; nothing changes then. Approving moves the
 * transaction back to compensating (the caller kicks the engine); rejecting leaves the step's
 * effect in place and hands the transaction to a human (needs-attention) with the reason.
 */
export async function decideCompensation(
  deps: Pick<Deps, 'db' | 'clock' | 'metrics' | 'logger' | 'config'>,
  principal: Principal,
  ref: string,
  stepId: string,
  decision: 'approve' | 'reject',
  input: z.infer<typeof CompensationDecision>,
): Promise<{ approval: ApprovalView; transaction: TransactionRow }> {
  if (decision === 'reject' && !input.reason) throw new AccordError('bad_request', 'Say why the compensation is rejected', { errors: [{ location: '/reason', message: 'is required to reject' }] });
  const found = await findTransaction(deps, principal, ref);
  const result = await deps.db.transaction(async (dbTx) => {
    const approval = await latestApproval(dbTx, found.id, stepId);
    if (!approval || approval.status !== 'awaiting') throw new AccordError('conflict', `No compensation of step "${stepId}" of ${found.id} awaits approval${approval ? ` (it was ${approval.status} by ${approval.decidedBy})` : ''}`);
    if (approval.cause === 'operator' && approval.causedBy && sameActor({ name: principal.name, token: principal.tokenId }, { name: approval.causedBy, ...(approval.causedByToken ? { token: approval.causedByToken } : {}) })) {
      throw new AccordError('forbidden', `${approval.causedBy}'s own retry or compensate led to this compensation: a different operator must ${decision} it (four eyes)`);
    }
    const now = deps.clock().toISOString();
    const decided = changesOf(
      await dbTx
        .update(compensationApprovals)
        .set({ status: decision === 'approve' ? 'approved' : 'rejected', decidedBy: principal.name, decidedByToken: principal.tokenId, decidedAt: now, reason: input.reason ?? null })
        .where(and(eq(compensationApprovals.id, approval.id), eq(compensationApprovals.status, 'awaiting')))
        .run(),
    );
    if (decided === 0) throw new AccordError('conflict', `The compensation of "${stepId}" was decided meanwhile; read it again`);
    const row = (await dbTx.select().from(transactions).where(eq(transactions.id, found.id)).get())!;
    if (row.state !== 'awaiting-approval' && row.state !== 'needs-attention') throw new AccordError('conflict', `${row.id} is ${row.state}; it is not waiting for this approval`);
    let change: Partial<TransactionRow>;
    if (decision === 'approve') {
      // Back to compensating; in needs-attention the operator's compensation goes on there.
      change = { nextRunAt: null, updatedAt: now, ...(row.state === 'needs-attention' ? { operatorAction: 'compensating' } : {}) };
    } else {
      const previous = row.failure ? (JSON.parse(row.failure) as Record<string, unknown>) : {};
      const failure = { ...previous, step: stepId, compensation: true, detail: `compensation rejected by ${principal.name}: ${input.reason}`, reason: input.reason, rejectedBy: principal.name };
      change = { failure: JSON.stringify(failure), nextRunAt: null, operatorAction: null, updatedAt: now };
    }
    const guarded = changesOf(await dbTx.update(transactions).set(change).where(and(eq(transactions.id, row.id), eq(transactions.state, row.state))).run());
    if (guarded === 0) throw new AccordError('conflict', `${row.id} changed state meanwhile; read it again`);
    Object.assign(row, change);
    await appendEvent(dbTx, row, now, `transaction.compensation-${decision === 'approve' ? 'approved' : 'rejected'}`, {
      step: stepId,
      data: decision === 'approve' ? { approvalId: approval.id, approvedBy: principal.name, ...(input.reason ? { reason: input.reason } : {}) } : { approvalId: approval.id, reason: input.reason, rejectedBy: principal.name },
    });
    await transition(dbTx, row, { type: decision === 'approve' ? 'compensation-approved' : 'compensation-rejected' }, deps);
    const stored = (await dbTx.select().from(compensationApprovals).where(eq(compensationApprovals.id, approval.id)).get())!;
    return { approval: approvalView(deps.config, stored, deps.clock()), transaction: row };
  });
  deps.metrics.manualInterventions.inc({ partner: found.partner, flow: found.flow, action: decision === 'approve' ? 'approve-compensation' : 'reject-compensation' });
  deps.logger.info({ transactionId: found.id, correlationId: found.correlationId, step: stepId, decision, by: principal.name }, `compensation ${decision === 'approve' ? 'approved' : 'rejected'}`);
  return result;
}

/**
 * Compensations awaiting approval per partner and flow: how many, and since when the oldest
 * waits (the accord_compensations_awaiting_approval gauge, the compensationApprovalWait SLA
 * metric and the overview's count).
 */
export async function awaitingApprovals(db: Deps['db']): Promise<Array<{ partner: string; flow: string; count: number; oldest: string }>> {
  const rows = (await db.$sql.all("SELECT partner, flow, count(*) AS count, min(requested_at) AS oldest FROM compensation_approvals WHERE status = 'awaiting' GROUP BY partner, flow")) as Array<{ partner: string; flow: string; count: number | string; oldest: string }>;
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}
