import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/**
 * Compensations that need a person (issue 18): one row per time a compensation of a step whose
 * matrix entry says `compensation.approval: required` waited for an operator. The transaction
 * stays in `awaiting-approval` while its row is `awaiting`.
 */
export const compensationApprovals = pgTable(
  'compensation_approvals',
  {
    id: text('id').primaryKey(),
    transactionId: text('transaction_id').notNull(),
    stepId: text('step_id').notNull(),
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    /** awaiting | approved | rejected */
    status: text('status').notNull(),
    /** What led to the compensation: the engine (a failure) or an operator's action (retry, compensate). */
    cause: text('cause').notNull(),
    /** The person (principal name) and token whose action led to it; null when the engine did. */
    causedBy: text('caused_by'),
    causedByToken: text('caused_by_token'),
    requestedAt: text('requested_at').notNull(),
    decidedBy: text('decided_by'),
    decidedByToken: text('decided_by_token'),
    decidedAt: text('decided_at'),
    reason: text('reason'),
  },
  (t) => [index('compensation_approvals_status').on(t.status, t.requestedAt), index('compensation_approvals_tx').on(t.transactionId)],
);

/**
 * Operations rollups (issue 18): counters and latency histograms per time bucket, flow and
 * partner, made from the transaction outbox by one replica (the leader's job) and downsampled
 * minute → hour → day; `flow`/`partner` '*' hold the totals. They survive restarts.
 */
export const opsRollups = pgTable(
  'ops_rollups',
  {
    /** minute | hour | day */
    tier: text('tier').notNull(),
    /** Start of the bucket, ISO 8601 (UTC). */
    bucket: text('bucket').notNull(),
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    /** Counters (JSON object: initiated, duplicates, accepted, rejected, identityAttempts, identityMatched, compensations, manualInterventions, …). */
    counts: text('counts').notNull(),
    /** Latency histograms (JSON object: timeToAcknowledge, timeToFinalise → bucket counts). */
    histograms: text('histograms').notNull(),
    /** Transactions still in flight at the end of the bucket. */
    inFlight: bigint('in_flight', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tier, t.bucket, t.flow, t.partner] }), index('ops_rollups_partner').on(t.tier, t.partner, t.bucket)],
);
