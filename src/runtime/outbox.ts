import { eq } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { LOCKS, transactionEvents } from '../db/index.ts';
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
 * The highest transactions rowid below which every row is final (committed or rolled back).
 * SQLite commits one transaction at a time, so that is the highest visible. On PostgreSQL a
 * smaller rowid can commit after a larger one: direct-request inserts hold the fence shared
 * until they commit (record.ts), so once the publisher holds it exclusively, in a transaction
 * of its own that ends at once, no insert that drew a rowid is still open.
 */
export async function settledRowid(db: Deps['db']): Promise<number> {
  const read = async () => Number(((await db.$sql.value('SELECT max(rowid) FROM transactions')) as number | null) ?? 0);
  if (db.$dialect !== 'postgres') return await read();
  return await db.transaction(async () => {
    await db.$sql.run(`SELECT pg_advisory_xact_lock(${LOCKS.outboxFence})`);
    return await read();
  });
}

/**
 * Publishes the transaction outbox: every unpublished saga event, and every new direct-exchange
 * record (a sync transaction row is its own outbox record, read by rowid up to the settled
 * rowid), becomes a webhook delivery for the hooks subscribed to its type (staff hooks);
 * marking them published, and moving the cursor, happens in the same transaction. On
 * PostgreSQL the events are claimed with SKIP LOCKED and the cursor row is locked, so two
 * publishers (a leader change) never publish one record twice. Returns how many records were
 * handled.
 */
export async function publishTransactionEvents(deps: Pick<Deps, 'db' | 'clock' | 'config'>, limit = 5000): Promise<number> {
  const sqlite = deps.db.$sql;
  const postgres = deps.db.$dialect === 'postgres';
  const settled = await settledRowid(deps.db);
  return await deps.db.transaction(async (dbTx) => {
    const now = deps.clock();
    // Only types some webhook subscribes to become deliveries; the rest are just marked published.
    const subscribed = new Set(
      ((await sqlite.column('SELECT events FROM webhooks WHERE deleted_at IS NULL')) as string[]).flatMap((e) => JSON.parse(e) as string[]),
    );
    const events = (await sqlite.all(
      `SELECT seq, transaction_id AS "transactionId", type, from_state AS "fromState", to_state AS "toState", step_id AS "stepId", correlation_id AS "correlationId", data
       FROM transaction_events WHERE published_at IS NULL ORDER BY seq LIMIT ? ${postgres ? 'FOR UPDATE SKIP LOCKED' : ''}`,
      [limit],
    )) as Array<{ seq: number; transactionId: string; type: string; fromState: string | null; toState: string | null; stepId: string | null; correlationId: string; data: string }>;
    for (const e of events) {
      if (PUBLISHED.has(e.type) && subscribed.has(e.type)) {
        await enqueueEvent(dbTx, now, e.type, { transactionId: e.transactionId, correlationId: e.correlationId, from: e.fromState, to: e.toState, step: e.stepId, ...(JSON.parse(e.data) as object), link: absoluteUrl(deps.config, `/v1/transactions/${e.transactionId}`) }, 'all');
      }
      await dbTx.update(transactionEvents).set({ publishedAt: now.toISOString() }).where(eq(transactionEvents.seq, e.seq)).run();
    }
    // The cursor row is created once and then locked by each publisher in turn.
    await sqlite.run("INSERT INTO outbox_cursors (name, position) VALUES ('sync-transactions', 0) ON CONFLICT (name) DO NOTHING");
    const cursor = (await sqlite.value(`SELECT position FROM outbox_cursors WHERE name = 'sync-transactions' ${postgres ? 'FOR UPDATE' : ''}`)) as number;
    if (!subscribed.has('transaction.recorded')) {
      // Nobody listens: move the cursor past everything settled without reading the rows.
      if (settled > cursor) await sqlite.run("UPDATE outbox_cursors SET position = ? WHERE name = 'sync-transactions'", [settled]);
      return events.length;
    }
    const records = (await sqlite.all(`SELECT rowid, id, flow, partner, state, correlation_id AS "correlationId", sync_step AS step FROM transactions WHERE rowid > ? AND rowid <= ? AND mode = 'sync' ORDER BY rowid LIMIT ?`, [cursor, settled, limit])) as Array<{ rowid: number; id: string; flow: string; partner: string; state: string; correlationId: string; step: string }>;
    for (const r of records) {
      const step = JSON.parse(r.step) as { id: string; operation: string; outcome: { status: number } };
      await enqueueEvent(dbTx, now, 'transaction.recorded', { transactionId: r.id, correlationId: r.correlationId, flow: r.flow, partner: r.partner, to: r.state, step: step.id, operationId: step.operation, status: step.outcome.status, link: absoluteUrl(deps.config, `/v1/transactions/${r.id}`) }, 'all');
    }
    // Past the last record read, or (fewer than the limit: none left up to the settled rowid) past every settled row.
    const position = records.length === limit ? records.at(-1)!.rowid : settled;
    if (position > cursor) await sqlite.run("UPDATE outbox_cursors SET position = ? WHERE name = 'sync-transactions'", [position]);
    return events.length + records.length;
  });
}
