import pg from 'pg';

// PostgreSQL type ids (pg_type.oid) of the numbers SQLite hands back as JS numbers.
const INT8 = 20;
const NUMERIC = 1700;

/**
 * bigint (int8: every SQLite integer column, count(*)) and numeric (sum() of bigints) come back
 * from `pg` as strings unless told otherwise; the app's SQL expects numbers, as better-sqlite3
 * gives them. Accord's integers (counts, ids, epoch milliseconds) stay far below 2^53, where
 * Number is exact.
 */
const parsers: Partial<Record<number, (value: string) => unknown>> = { [INT8]: Number, [NUMERIC]: Number };

/**
 * Type parsers for one pool: `new pg.Pool({ connectionString, types: postgresTypes })` returns
 * int8 and numeric values as JS numbers and everything else as `pg` does by default.
 */
export const postgresTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (format !== 'binary' && parsers[oid]) || pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Makes every `pg` client of this process return int8 and numeric values as JS numbers (for
 * pools made without `types: postgresTypes`). Calling it again changes nothing.
 */
export function setupPostgresTypes(): void {
  for (const [oid, parse] of Object.entries(parsers)) pg.types.setTypeParser(Number(oid), parse!);
}
