import { asc, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../context.ts';
import { transactionEvents } from '../db/index.ts';
import { enqueueEvent, TRANSACTION_EVENT_TYPES } from '../notices/webhooks.ts';

// Webhooks get these; step-level detail stays in the timeline.
const PUBLISHED = new Set<string>(TRANSACTION_EVENT_TYPES);

/**
 * Publishes the transaction outbox: every unpublished event becomes a webhook delivery for
 * the hooks subscribed to its type (staff hooks), and is marked published in the same SQLite
 * transaction. Returns how many events were handled.
 */
export function publishTransactionEvents(deps: Pick<Deps, 'db' | 'clock'>, limit = 500): number {
  return deps.db.transaction((tx) => {
    const events = tx.select().from(transactionEvents).where(isNull(transactionEvents.publishedAt)).orderBy(asc(transactionEvents.seq)).limit(limit).all();
    const now = deps.clock();
    for (const e of events) {
      if (PUBLISHED.has(e.type)) {
        enqueueEvent(tx, now, e.type, { transactionId: e.transactionId, correlationId: e.correlationId, from: e.fromState, to: e.toState, step: e.stepId, ...(JSON.parse(e.data) as object), link: `/v1/transactions/${e.transactionId}` }, 'all');
      }
      tx.update(transactionEvents).set({ publishedAt: now.toISOString() }).where(eq(transactionEvents.seq, e.seq)).run();
    }
    return events.length;
  });
}
