import { primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

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
    updatedAt: text('updated_at').notNull(),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.partner, t.environment] })],
);
