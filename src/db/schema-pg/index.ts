/**
 * The PostgreSQL schema: the same tables, columns, keys and indexes as the SQLite schema
 * (src/db/schema), so that the app's SQL runs unchanged on either. SQLite `integer` is `bigint`
 * (booleans stay 0/1, times in milliseconds fit), text is byte-ordered (see columns.ts), and the
 * tables whose SQL reads SQLite's `rowid` have an explicit `rowid` column. migrations-pg/ is made
 * from it by drizzle-kit (drizzle.pg.config.ts); test/schema-parity.test.ts compares the two.
 */
export * from './contract-versions.ts';
export * from './tokens.ts';
export * from './matrix-versions.ts';
export * from './change-control.ts';
export * from './runtime.ts';
export * from './sessions.ts';
export * from './coordination.ts';
export * from './operations.ts';
export * from './incidents.ts';
export * from './partners.ts';
