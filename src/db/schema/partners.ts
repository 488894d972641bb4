import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Where a partner's API answers, per environment, and how Accord authenticates to it (partner
 * certification). The credential (a bearer token or a private key) is stored sealed with
 * ACCORD_SECRETS_KEY (src/lib/secrets.ts), never in clear.
 */
export const partnerEndpoints = sqliteTable(
  'partner_endpoints',
  {
    partner: text('partner').notNull(),
    environment: text('environment').notNull(),
    baseUrl: text('base_url').notNull(),
    /** none | bearer | private_key_jwt */
    authType: text('auth_type').notNull(),
    /** private_key_jwt: the token endpoint, client id, requested scope, key id and algorithm. */
    tokenUrl: text('token_url'),
    clientId: text('client_id'),
    scope: text('scope'),
    keyId: text('key_id'),
    alg: text('alg'),
    /** The sealed credential (bearer token or PKCS#8 private key); null for `none`. */
    secret: text('secret'),
    /** How often Accord certifies the APIs released to this environment (ISO 8601 duration); null = only on request. */
    certifyEvery: text('certify_every'),
    updatedAt: text('updated_at').notNull(),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.partner, t.environment] })],
);

/**
 * Certification runs (issue 20): Accord's suite, generated from a contract version and its
 * control-matrix flows, run against a partner's endpoint (or Accord's own reference partner).
 * `report` holds every case with its requests and answers (secrets redacted), `summary` the
 * small part lists and scorecards read, both as JSON.
 */
export const certificationRuns = sqliteTable(
  'certification_runs',
  {
    id: text('id').primaryKey(),
    partner: text('partner').notNull(),
    api: text('api').notNull(),
    version: text('version').notNull(),
    environment: text('environment').notNull(),
    /** endpoint (the partner's registered endpoint) | reference (Accord's own reference partner) */
    target: text('target').notNull(),
    contentSha256: text('content_sha256').notNull(),
    seed: integer('seed').notNull(),
    /** running | passed | failed | error */
    status: text('status').notNull(),
    total: integer('total').notNull(),
    done: integer('done').notNull(),
    failures: integer('failures').notNull(),
    /** Every case with its requests, answers and verdict (JSON): read for one run, never for lists. */
    report: text('report').notNull(),
    /** What lists show of it (JSON): the evidence it recorded, its notes, its drift notice. */
    summary: text('summary').notNull().default('{"evidence":[],"notes":[]}'),
    error: text('error'),
    /** request | schedule */
    trigger: text('trigger').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    heartbeatAt: text('heartbeat_at').notNull(),
    finishedAt: text('finished_at'),
  },
  (t) => [index('certification_runs_target').on(t.partner, t.environment, t.api, t.createdAt)],
);
