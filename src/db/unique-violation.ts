/**
 * Whether `error` (or an error it wraps, as drizzle's query errors do) is a unique or primary key
 * violation, on either engine: SQLite's `SQLITE_CONSTRAINT_UNIQUE` / `_PRIMARYKEY`, PostgreSQL's
 * SQLSTATE 23505. Lets an insert that lost a race (another replica inserted the same key first)
 * be answered as such instead of as a 500.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  }
  return false;
}
