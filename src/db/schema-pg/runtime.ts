import { sql } from 'drizzle-orm';
import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { contractVersionColumns, rowidColumn, text } from './columns.ts';

/**
 * Idempotency records of the exchange runtime (IETF Idempotency-Key): one row per key and
 * scope (caller + route). An in-flight row holds a lease so a crash never leaves endless 409s.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** in-flight | completed */
    status: text('status').notNull(),
    leaseExpiresAt: text('lease_expires_at').notNull(),
    responseStatus: bigint('response_status', { mode: 'number' }),
    responseHeaders: text('response_headers'),
    responseBody: text('response_body'),
    createdAt: text('created_at').notNull(),
    /** End of the dedupe window: after it the key may be used again. */
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_expires').on(t.expiresAt)],
);

/** What the reference partners keep: consents, export jobs, acknowledgements, finalisations. */
export const partnerRecords = pgTable(
  'partner_records',
  {
    partner: text('partner').notNull(),
    kind: text('kind').notNull(),
    id: text('id').notNull(),
    data: text('data').notNull(),
    status: text('status').notNull(),
    polls: bigint('polls', { mode: 'number' }).notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    // Last, where SQLite's ALTER TABLE put it: `SELECT *` and positional INSERTs see one order.
    /** The caller whose request made the record (its partner, else `token:<id>`); only it may use it. '' = from before owners (anyone). */
    owner: text('owner').notNull().default(''),
  },
  (t) => [primaryKey({ columns: [t.partner, t.kind, t.id] })],
);

/**
 * Saga transactions of the exchange runtime: one row per run of a control-matrix flow. `state`
 * only moves forward (src/runtime/saga/states.ts); `phase` and `cursor` say which step runs next.
 */
export const transactions = pgTable(
  'transactions',
  {
    id: text('id').primaryKey(),
    flow: text('flow').notNull(),
    ...contractVersionColumns(),
    /** initiated | accepted | in-progress | compensating | awaiting-approval | needs-attention | completed | compensated */
    state: text('state').notNull(),
    /** forward | compensating */
    phase: text('phase').notNull(),
    /** Index of the next forward step, or of the next step to compensate (counting down). */
    cursor: bigint('cursor', { mode: 'number' }).notNull(),
    /** An operator's request: retry | compensate (pending), retrying | compensating (under way while needs-attention). */
    operatorAction: text('operator_action'),
    correlationId: text('correlation_id').notNull(),
    idempotencyKey: text('idempotency_key'),
    traceId: text('trace_id').notNull(),
    tracestate: text('tracestate'),
    callerTokenId: text('caller_token_id').notNull(),
    callerPartner: text('caller_partner'),
    /** sync: one exchange request recorded as it was answered; saga: run by the engine. */
    mode: text('mode').notNull(),
    input: text('input').notNull(),
    /** The flow's control-matrix entry when the transaction started (steps, retries, failure modes; JSON). */
    plan: text('plan').notNull(),
    /** Outputs of completed steps that later steps and compensations need (JSON). */
    context: text('context').notNull(),
    /**
     * sync mode only: the one step, as a timeline entry (JSON). A sync record is its own outbox
     * record: the outbox publisher reads new sync rows by rowid (outbox_cursors).
     */
    syncStep: text('sync_step'),
    /** Why it stopped going forward: { step, failureMode, status, detail } (JSON). */
    failure: text('failure'),
    /** Multiplies backoff delays and step timeouts (1 in production; tests and experiments shrink it). */
    timeScale: bigint('time_scale_ppm', { mode: 'number' }).notNull(),
    nextRunAt: text('next_run_at'),
    /** The replica driving the saga now (its lease), and until when (epoch ms): another takes over once it has passed. */
    leaseOwner: text('lease_owner'),
    leaseUntil: bigint('lease_until', { mode: 'number' }),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    finishedAt: text('finished_at'),
    ...rowidColumn(),
    /** The flow's business key (e.g. member-match: the member's identifiers, normalised), for operators' search. */
    businessKey: text('business_key'),
    /** The control-matrix version (number) and content hash that governed the transaction. */
    matrixVersion: bigint('matrix_version', { mode: 'number' }),
    matrixSha256: text('matrix_sha256'),
  },
  (t) => [
    index('transactions_correlation').on(t.correlationId),
    index('transactions_business_key').on(t.businessKey),
    // Observed consumer usage reads a provider API's recent transactions (src/changes/usage.ts).
    index('transactions_provider_created').on(t.partner, t.api, t.createdAt),
    index('transactions_idempotency_key').on(t.idempotencyKey),
    // Only unfinished transactions are looked up by state and age (stuck lists, resume): finished
    // ones (nearly every direct request) stay out of this index.
    index('transactions_unfinished').on(t.state, t.updatedAt).where(sql`state NOT IN ('completed', 'compensated')`),
  ],
);

/** The step timeline: one row per forward step and per compensation of a transaction. */
export const transactionSteps = pgTable(
  'transaction_steps',
  {
    transactionId: text('transaction_id').notNull(),
    /** forward | compensation */
    kind: text('kind').notNull(),
    stepId: text('step_id').notNull(),
    position: bigint('position', { mode: 'number' }).notNull(),
    /** Operation called, or the compensation strategy (reversal-event, none). */
    operation: text('operation').notNull(),
    /** pending | running | succeeded | failed | skipped */
    state: text('state').notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull(),
    /** Attempts since the last operator retry (the retry budget counts these). */
    roundAttempts: bigint('round_attempts', { mode: 'number' }).notNull(),
    startedAt: text('started_at'),
    endedAt: text('ended_at'),
    latencyMs: bigint('latency_ms', { mode: 'number' }),
    /** Last outcome: { status, result, failureMode, detail } (JSON). */
    outcome: text('outcome'),
    /** Every attempt: [{ n, startedAt, endedAt, latencyMs, status, result, spanId, fault }] (JSON). */
    attemptLog: text('attempt_log').notNull(),
    correlationId: text('correlation_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.transactionId, t.kind, t.stepId] })],
);

/**
 * Outbox of transaction events, written in the same SQLite transaction as the state change and
 * step timeline they describe; a background job publishes them to webhooks.
 */
export const transactionEvents = pgTable(
  'transaction_events',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    transactionId: text('transaction_id').notNull(),
    type: text('type').notNull(),
    fromState: text('from_state'),
    toState: text('to_state'),
    stepId: text('step_id'),
    correlationId: text('correlation_id').notNull(),
    data: text('data').notNull(),
    createdAt: text('created_at').notNull(),
    publishedAt: text('published_at'),
  },
  (t) => [index('transaction_events_tx').on(t.transactionId), index('transaction_events_unpublished').on(t.publishedAt)],
);

/**
 * Injected faults (sandbox): per partner and step (step id or operationId), optionally one flow
 * or one transaction; `remaining` null means until deleted.
 */
export const faultInjections = pgTable('fault_injections', {
  id: text('id').primaryKey(),
  partner: text('partner').notNull(),
  step: text('step').notNull(),
  flow: text('flow'),
  transactionId: text('transaction_id'),
  /** timeout | error-status | validation-error | partial-write | delayed-event | duplicate-delivery */
  kind: text('kind').notNull(),
  status: bigint('status', { mode: 'number' }),
  delayMs: bigint('delay_ms', { mode: 'number' }),
  remaining: bigint('remaining', { mode: 'number' }),
  /** api | config */
  source: text('source').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: text('created_at').notNull(),
});

/** How far a publisher has read an append-only source (the sync transactions' rowid). */
export const outboxCursors = pgTable('outbox_cursors', {
  name: text('name').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
});

/**
 * SLA interventions the monitor applied (src/observability/sla.ts): one row per breach of one
 * control-matrix intervention rule for one flow and partner, lifted on recovery.
 */
export const slaInterventions = pgTable(
  'sla_interventions',
  {
    id: text('id').primaryKey(),
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    /** Index of the rule in the flow's sla.interventions. */
    rule: bigint('rule', { mode: 'number' }).notNull(),
    metric: text('metric').notNull(),
    actions: text('actions').notNull(),
    value: text('value').notNull(),
    threshold: text('threshold').notNull(),
    freezeId: text('freeze_id'),
    startedAt: text('started_at').notNull(),
    liftedAt: text('lifted_at'),
  },
  (t) => [index('sla_interventions_active').on(t.liftedAt)],
);

/** Per-partner exchange counters by minute (scorecards): flushed from memory by the jobs loop. */
export const partnerStats = pgTable(
  'partner_stats',
  {
    partner: text('partner').notNull(),
    /** Start of the minute, ISO 8601. */
    minute: text('minute').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull(),
    accepted: bigint('accepted', { mode: 'number' }).notNull(),
    errors: bigint('errors', { mode: 'number' }).notNull(),
    errorsCoded: bigint('errors_coded', { mode: 'number' }).notNull(),
    duplicates: bigint('duplicates', { mode: 'number' }).notNull(),
    duplicatesReplayed: bigint('duplicates_replayed', { mode: 'number' }).notNull(),
    withCorrelation: bigint('with_correlation', { mode: 'number' }).notNull(),
    withTraceparent: bigint('with_traceparent', { mode: 'number' }).notNull(),
    /** Requests carrying both a correlation id and a traceparent. */
    withBoth: bigint('with_both', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.partner, t.minute] })],
);
