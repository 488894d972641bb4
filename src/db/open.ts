import pg from 'pg';
import type { Config } from '../config.ts';
import { dbOf, openDb, type Db } from './client.ts';
import { PostgresExecutor } from './postgres.ts';
import { migratePostgres } from './postgres-migrate.ts';
import { postgresTypes } from './postgres-types.ts';

/**
 * Opens the configured storage: PostgreSQL when ACCORD_DATABASE_URL is set (migrated at start-up
 * under an advisory lock, so replicas may start together), otherwise the SQLite file `file`.
 */
export async function openStorage(config: Pick<Config, 'databaseUrl' | 'durability' | 'replicaId'>, file: string): Promise<Db> {
  if (!config.databaseUrl) return openDb(file, { durability: config.durability });
  // The replica's name on every connection: pg_stat_activity (and pg_locks joined to it) says which replica holds what.
  const pool = new pg.Pool({ connectionString: config.databaseUrl, types: postgresTypes, application_name: `accord ${config.replicaId}` });
  // An idle client's error (the server restarted, a connection was killed) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return dbOf(new PostgresExecutor(pool));
}
