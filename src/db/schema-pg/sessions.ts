import { index, pgTable } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/**
 * Console sessions. Only the SHA-256 of the cookie's secret is stored; the session acts as its
 * token (revoking or expiring the token ends it) and dies after ACCORD_SESSION_IDLE without use
 * or ACCORD_SESSION_MAX after sign-in.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    tokenId: text('token_id').notNull(),
    /** The session's CSRF token: every form posts it back. */
    csrf: text('csrf').notNull(),
    createdAt: text('created_at').notNull(),
    lastSeenAt: text('last_seen_at').notNull(),
    /** Absolute end (createdAt + ACCORD_SESSION_MAX). */
    expiresAt: text('expires_at').notNull(),
  },
  (t) => [index('console_sessions_token').on(t.tokenId), index('console_sessions_expiry').on(t.expiresAt)],
);
