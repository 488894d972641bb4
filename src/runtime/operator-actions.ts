import { and, eq } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { transactions, changesOf } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { appendEvent } from './outbox.ts';
import { TERMINAL_STATES, type TransactionState } from './saga/states.ts';
import { awaitingApprovalStep, findTransaction, type TransactionRow } from './transaction-views.ts';

/**
 * Records an operator's request (retry the step that stopped, or compensate) on a saga
 * transaction; the engine acts on it. A direct request that failed into
 * needs-attention (e.g. a member mismatch for manual review) was answered at once and had no
 * effect: compensate closes it (→ compensated); retrying it is the caller's, by sending it
 * again. Terminal transactions refuse with 409.
 */
export async function requestOperatorAction(deps: Pick<Deps, 'db' | 'clock' | 'metrics' | 'logger'>, principal: Principal, ref: string, action: 'retry' | 'compensate'): Promise<TransactionRow> {
  const row = await findTransaction(deps, principal, ref);
  if (TERMINAL_STATES.includes(row.state as TransactionState)) throw new AccordError('conflict', `${row.id} is ${row.state}; a finished transaction cannot be ${action === 'retry' ? 'retried' : 'compensated'}`);
  // Waiting in needs-attention after a compensation failed, compensate runs it again; while the engine compensates, there is nothing to ask.
  if (action === 'compensate' && row.state === 'compensating') throw new AccordError('conflict', `${row.id} is already compensating`);
  // A compensation waiting for a person's decision: approve or reject it first.
  if (row.state === 'awaiting-approval' || (row.state === 'needs-attention' && (await awaitingApprovalStep(deps.db, row.id)) !== undefined)) {
    throw new AccordError('conflict', `${row.id} has a compensation awaiting approval; approve or reject it (POST /v1/transactions/${row.id}/compensations/{step}/approve|reject) first`);
  }
  const close = row.mode !== 'saga';
  if (close && action === 'retry') throw new AccordError('conflict', `${row.id} was a single exchange request answered at once; the caller retries by sending it again (POST …/compensate closes it)`);
  if (row.operatorAction) throw new AccordError('conflict', `${row.id} already has an operator ${row.operatorAction.startsWith('retr') ? 'retry' : 'compensation'} under way`);
  const now = deps.clock().toISOString();
  const change = close ? { state: 'compensated', finishedAt: now } : { operatorAction: action, nextRunAt: null };
  await deps.db.transaction(async (dbTx) => {
    const changed = changesOf(await dbTx
      .update(transactions)
      .set({ ...change, updatedAt: now })
      .where(and(eq(transactions.id, row.id), eq(transactions.state, row.state)))
      .run());
    if (changed === 0) throw new AccordError('conflict', `${row.id} changed state meanwhile; read it again`);
    await appendEvent(dbTx, row, now, `transaction.operator-${action}`, { from: row.state, to: row.state, data: { by: principal.name, byToken: principal.tokenId } });
    if (close) await appendEvent(dbTx, row, now, 'transaction.state-changed', { from: row.state, to: 'compensated', data: { reason: 'closed after review: the request had no effect to undo' } });
  });
  deps.metrics.manualInterventions.inc({ partner: row.partner, flow: row.flow, action });
  if (close) deps.metrics.transactionsFinished.inc({ partner: row.partner, flow: row.flow, state: 'compensated' });
  deps.logger.info({ transactionId: row.id, correlationId: row.correlationId, traceId: row.traceId, action, by: principal.name }, close ? 'operator closed a reviewed exchange request' : 'operator action on transaction');
  return { ...row, ...change, updatedAt: now };
}
