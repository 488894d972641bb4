import { bigint, customType } from 'drizzle-orm/pg-core';

/**
 * SQLite's `text`: PostgreSQL `text` with the "C" collation. The app compares and sorts text the
 * way SQLite's BINARY collation does, byte by byte: `version_key` holds control characters
 * (\x01, \x02, \x7f) whose byte order is semver precedence, and ISO timestamps are compared as
 * strings. A linguistic collation (a database made with en_US.UTF-8, say) would order those
 * differently, so every text column says "C" whatever the database's default is.
 */
export const text = customType<{ data: string; driverData: string }>({
  dataType: () => 'text COLLATE "C"',
});

/** The columns naming one contract version (partner, api, version), shared by the tables about a version. */
export function contractVersionColumns() {
  return {
    partner: text('partner').notNull(),
    api: text('api').notNull(),
    version: text('version').notNull(),
  };
}

/**
 * SQLite's implicit `rowid`, made explicit: the tables whose SQL reads `rowid` (cursors, order of
 * insertion, joins by row) get a column of that name, numbered as rows are inserted. Unlike
 * SQLite's, a smaller number may commit after a larger one (sequences are not transactional).
 */
export function rowidColumn() {
  return { rowid: bigint('rowid', { mode: 'number' }).generatedByDefaultAsIdentity().unique() };
}
