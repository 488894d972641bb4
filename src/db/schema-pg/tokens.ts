import { index, pgTable } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/** API tokens. Only the SHA-256 of the secret is stored. */
export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** admin | author | approver | ci | partner */
    role: text('role').notNull(),
    /** Set only for partner tokens: the one partner the token speaks for. */
    partner: text('partner'),
    secretHash: text('secret_hash').notNull().unique(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    revokedAt: text('revoked_at'),
    /** When the token stops working (ISO 8601); null = never. */
    expiresAt: text('expires_at'),
    /** Scopes the token is limited to (JSON array); null = everything its role allows. */
    scopes: text('scopes'),
  },
  (t) => [index('tokens_role').on(t.role)],
);
