export { openDb, type Db } from './client.ts';
export * from './schema/index.ts';
