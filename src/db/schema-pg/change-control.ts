import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { contractVersionColumns, rowidColumn, text } from './columns.ts';

/** A proposed release of one contract version, with the diff it was judged on. */
export const changeRequests = pgTable(
  'change_requests',
  {
    id: text('id').primaryKey(),
    ...contractVersionColumns(),
    contentSha256: text('content_sha256').notNull(),
    baseVersion: text('base_version'),
    /** The diff snapshot (JSON) and the hash approvals are bound to. */
    diff: text('diff').notNull(),
    diffHash: text('diff_hash').notNull(),
    /** 0 or 1, as SQLite stores drizzle's boolean mode. */
    breaking: bigint('breaking', { mode: 'number' }).notNull(),
    summary: text('summary').notNull(),
    flows: text('flows').notNull(),
    requiredApprovals: bigint('required_approvals', { mode: 'number' }).notNull(),
    requiredAcks: text('required_acks').notNull(),
    requiredEvidence: text('required_evidence').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    createdByToken: text('created_by_token').notNull(),
    /** Per consumer, the breaking findings touching the operations it uses (JSON); null before impact was computed. */
    impact: text('impact'),
    ...rowidColumn(),
  },
  (t) => [index('change_requests_version').on(t.partner, t.api, t.version, t.createdAt)],
);

export const changeReviews = pgTable(
  'change_reviews',
  {
    id: text('id').primaryKey(),
    changeId: text('change_id').notNull(),
    decision: text('decision').notNull(),
    comment: text('comment').notNull(),
    diffHash: text('diff_hash').notNull(),
    reviewer: text('reviewer').notNull(),
    reviewerToken: text('reviewer_token').notNull(),
    createdAt: text('created_at').notNull(),
    ...rowidColumn(),
  },
  (t) => [index('change_reviews_change').on(t.changeId)],
);

export const changeAcks = pgTable(
  'change_acks',
  {
    id: text('id').primaryKey(),
    changeId: text('change_id').notNull(),
    partner: text('partner').notNull(),
    diffHash: text('diff_hash').notNull(),
    comment: text('comment').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    ...rowidColumn(),
  },
  (t) => [index('change_acks_change').on(t.changeId)],
);

/** Who consumes an API (explicit); without rows, every other partner implementing the same API id does. */
export const apiConsumers = pgTable('api_consumers', {
  provider: text('provider').notNull(),
  api: text('api').notNull(),
  consumer: text('consumer').notNull(),
}, (t) => [primaryKey({ columns: [t.provider, t.api, t.consumer] })]);

export const evidence = pgTable(
  'evidence',
  {
    id: text('id').primaryKey(),
    ...contractVersionColumns(),
    kind: text('kind').notNull(),
    result: text('result').notNull(),
    /** sha256 of the contract content the evidence was produced for. */
    sha256: text('sha256').notNull(),
    uri: text('uri').notNull(),
    environment: text('environment').notNull(),
    commit: text('commit').notNull(),
    producedAt: text('produced_at').notNull(),
    expiresAt: text('expires_at'),
    /** JUnit counts, when the evidence came from a report. */
    report: text('report'),
    reportSha256: text('report_sha256'),
    /** Who produced it: `accord` (a certification run or synthetic check of Accord's own), `caller` (posted by a CI job or a person). */
    producedBy: text('produced_by').notNull().default('caller'),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [index('evidence_version_kind').on(t.partner, t.api, t.version, t.kind, t.createdAt)],
);

export const gateDecisions = pgTable(
  'gate_decisions',
  {
    id: text('id').primaryKey(),
    ...contractVersionColumns(),
    environment: text('environment').notNull(),
    contentSha256: text('content_sha256').notNull(),
    verdict: text('verdict').notNull(),
    /** The full answer (reasons, whatChanged, detection, recovery) as JSON. */
    answer: text('answer').notNull(),
    /** The facts the verdict was derived from, and their hash. */
    inputs: text('inputs').notNull(),
    inputsHash: text('inputs_hash').notNull(),
    breakGlassReason: text('break_glass_reason'),
    createdAt: text('created_at').notNull(),
    requestedBy: text('requested_by').notNull(),
  },
  (t) => [index('gate_decisions_version').on(t.partner, t.api, t.version, t.environment, t.createdAt)],
);

export const releases = pgTable(
  'releases',
  {
    id: text('id').primaryKey(),
    ...contractVersionColumns(),
    environment: text('environment').notNull(),
    contentSha256: text('content_sha256').notNull(),
    decisionId: text('decision_id').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [index('releases_api_env').on(t.partner, t.api, t.environment, t.createdAt)],
);

export const releaseFreezes = pgTable(
  'release_freezes',
  {
    id: text('id').primaryKey(),
    partner: text('partner').notNull(),
    reason: text('reason').notNull(),
    source: text('source').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    liftedAt: text('lifted_at'),
  },
  (t) => [index('release_freezes_partner').on(t.partner, t.liftedAt)],
);

/** Follow-ups opened by break-glass releases. */
export const reviewItems = pgTable('review_items', {
  id: text('id').primaryKey(),
  decisionId: text('decision_id').notNull(),
  ...contractVersionColumns(),
  reason: text('reason').notNull(),
  status: text('status').notNull(),
  createdAt: text('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

export const deprecations = pgTable(
  'deprecations',
  {
    ...contractVersionColumns(),
    deprecatedAt: text('deprecated_at').notNull(),
    sunset: text('sunset').notNull(),
    successor: text('successor'),
    reason: text('reason').notNull(),
    sunsetNoticeAt: text('sunset_notice_at'),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.partner, t.api, t.version] })],
);

export const notices = pgTable(
  'notices',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    ...contractVersionColumns(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    /** Partners the notice concerns (JSON array): the provider and its consumers. */
    audience: text('audience').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('notices_created').on(t.createdAt)],
);

export const webhooks = pgTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** Needed in clear to sign deliveries; never returned by the API. */
  secret: text('secret').notNull(),
  events: text('events').notNull(),
  /** Set for a partner's webhook: it receives only what concerns that partner. */
  partner: text('partner'),
  createdAt: text('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  deletedAt: text('deleted_at'),
  /** Set when Accord stopped delivering to it (sustained failure, or a destination no longer allowed). */
  disabledAt: text('disabled_at'),
  disabledReason: text('disabled_reason'),
  /** Delivery attempts that failed in a row, and since when (reset by any success). */
  consecutiveFailures: bigint('consecutive_failures', { mode: 'number' }).notNull().default(0),
  failingSince: text('failing_since'),
});

/** The durable outbox and delivery log of webhook events. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: text('payload').notNull(),
    status: text('status').notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull(),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastStatus: bigint('last_status', { mode: 'number' }),
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    deliveredAt: text('delivered_at'),
    ...rowidColumn(),
  },
  (t) => [index('webhook_deliveries_due').on(t.status, t.nextAttemptAt), index('webhook_deliveries_hook').on(t.webhookId, t.createdAt)],
);

/** Append-only, hash-chained audit log. */
export const auditLog = pgTable('audit_log', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  at: text('at').notNull(),
  actor: text('actor').notNull(),
  role: text('role').notNull(),
  action: text('action').notNull(),
  target: text('target').notNull(),
  outcome: text('outcome').notNull(),
  detail: text('detail').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
  /** How `hash` was computed: `sha256` (unkeyed, rows from before the keyed chain) or `hmac-sha256`. */
  chain: text('chain').notNull().default('sha256'),
});

/**
 * The operationIds a consumer declares it calls on a provider's API (JSON array). Without a row
 * the consumer's declared usage is unknown; observed usage comes from the exchange runtime.
 */
export const consumerUsage = pgTable(
  'consumer_usage',
  {
    provider: text('provider').notNull(),
    api: text('api').notNull(),
    consumer: text('consumer').notNull(),
    operations: text('operations').notNull(),
    declaredAt: text('declared_at').notNull(),
    declaredBy: text('declared_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.api, t.consumer] })],
);
