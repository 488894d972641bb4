import { asc, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { transactionEvents } from '../db/index.ts';
import { enqueueEvent, TRANSACTION_EVENT_TYPES } from '../notices/webhooks.ts';
import { absoluteUrl } from '../lib/public-url.ts';

/** Appends an event of a business transaction to the outbox, in the database transaction of the change it reports. */
export async function appendEvent(dbTx: Pick<Deps['db'], 'insert'>, transaction: { id: string; correlationId: string }, at: string, type: string, e: { step?: string; from?: string; to?: string; data?: unknown }): Promise<void> {
  await dbTx
    .insert(transactionEvents)
    .values({ transactionId: transaction.id, type, fromState: e.from ?? null, toState: e.to ?? null, stepId: e.step ?? null, correlationId: transaction.correlationId, data: JSON.stringify(e.data ?? {}), createdAt: at })
    .run();
}

// Webhooks get these; step-level detail stays in the timeline.
const PUBLISHED = new Set<string>(TRANSACTION_EVENT_TYPES);

/**
 * Publishes the transaction outbox: every unpublished saga event, and every new direct-exchange
 * record (a sync transaction row is its own outbox record, read by rowid), becomes a webhook
 * delivery for the hooks subscribed to its type (staff hooks); marking them published happens
 * in the same SQLite transaction. Returns how many records were handled.
 */
export async function publishTransactionEvents(deps: Pick<Deps, 'db' | 'clock' | 'config'>, limit = 5000): Promise<number> {
  const sqlite = deps.db.$sql;
  return await deps.db.transaction(async (dbTx) => {
    const now = deps.clock();
    // Only types some webhook subscribes to become deliveries; the rest are just marked published.
    const subscribed = new Set(
      ((await sqlite.column('SELECT events FROM webhooks WHERE deleted_at IS NULL')) as string[]).flatMap((e) => JSON.parse(e) as string[]),
    );
    const events = await dbTx.select().from(transactionEvents).where(isNull(transactionEvents.publishedAt)).orderBy(asc(transactionEvents.seq)).limit(limit).all();
    for (const e of events) {
      if (PUBLISHED.has(e.type) && subscribed.has(e.type)) {
        await enqueueEvent(dbTx, now, e.type, { transactionId: e.transactionId, correlationId: e.correlationId, from: e.fromState, to: e.toState, step: e.stepId, ...(JSON.parse(e.data) as object), link: absoluteUrl(deps.config, `/v1/transactions/${e.transactionId}`) }, 'all');
      }
      await dbTx.update(transactionEvents).set({ publishedAt: now.toISOString() }).where(eq(transactionEvents.seq, e.seq)).run();
    }
    const cursor = ((await sqlite.value("SELECT position FROM outbox_cursors WHERE name = 'sync-transactions'")) as number | undefined) ?? 0;
    if (!subscribed.has('transaction.recorded')) {
      // Nobody listens: move the cursor past everything without reading the rows.
      const last = (await sqlite.value('SELECT max(rowid) FROM transactions')) as number | null;
      if (last !== null && last > cursor) (await sqlite.run("INSERT INTO outbox_cursors (name, position) VALUES ('sync-transactions', ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position", [last]));
      return events.length;
    }
    const records = (await sqlite.all(`SELECT rowid, id, flow, partner, state, correlation_id AS "correlationId", sync_step AS step FROM transactions WHERE rowid > ? AND mode = 'sync' ORDER BY rowid LIMIT ?`, [cursor, limit])) as Array<{ rowid: number; id: string; flow: string; partner: string; state: string; correlationId: string; step: string }>;
    for (const r of records) {
      const step = JSON.parse(r.step) as { id: string; operation: string; outcome: { status: number } };
      await enqueueEvent(dbTx, now, 'transaction.recorded', { transactionId: r.id, correlationId: r.correlationId, flow: r.flow, partner: r.partner, to: r.state, step: step.id, operationId: step.operation, status: step.outcome.status, link: absoluteUrl(deps.config, `/v1/transactions/${r.id}`) }, 'all');
    }
    if (records.length > 0) {
      await sqlite.run("INSERT INTO outbox_cursors (name, position) VALUES ('sync-transactions', ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position", [records.at(-1)!.rowid]);
    }
    return events.length + records.length;
  });
}
