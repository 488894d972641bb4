export { changesOf, lockKey, openDb, type Db } from './client.ts';
export type { Sql, SqlParams } from './sql.ts';
export * from './schema/index.ts';
