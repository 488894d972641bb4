export { changesOf, openDb, type Db } from './client.ts';
export { LOCKS, lockKey } from './locks.ts';
export type { Sql, SqlParams } from './sql.ts';
export * from './schema/index.ts';
