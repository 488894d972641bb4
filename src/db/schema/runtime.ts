import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Idempotency records of the exchange runtime (IETF Idempotency-Key): one row per key and
 * scope (caller + route). An in-flight row holds a lease so a crash never leaves endless 409s.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    fingerprint: text('fingerprint').notNull(),
    /** in-flight | completed */
    status: text('status').notNull(),
    leaseExpiresAt: text('lease_expires_at').notNull(),
    responseStatus: integer('response_status'),
    responseHeaders: text('response_headers'),
    responseBody: text('response_body'),
    createdAt: text('created_at').notNull(),
    /** End of the dedupe window: after it the key may be used again. */
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_expires').on(t.expiresAt)],
);

/** What the reference partners keep: consents, export jobs, acknowledgements, finalisations. */
export const partnerRecords = sqliteTable(
  'partner_records',
  {
    partner: text('partner').notNull(),
    kind: text('kind').notNull(),
    id: text('id').notNull(),
    data: text('data').notNull(),
    status: text('status').notNull(),
    polls: integer('polls').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.partner, t.kind, t.id] })],
);
