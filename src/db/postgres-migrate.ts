import { LOCKS } from './locks.ts';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type pg from 'pg';
import { PACKAGE_ROOT } from '../config.ts';

/**
 * Applies the drizzle-kit migrations in migrations-pg/ (schema, then the SQLite-compatible
 * functions) to the database. Replicas starting together do not race: each takes the same
 * advisory lock on one connection first, so one migrates while the others wait, and those then
 * find nothing left to apply. The database must be UTF-8 (the functions use Unicode
 * normalization) on a server built with ICU, as Debian's is.
 */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    const encoding = (await client.query<{ server_encoding: string }>('SHOW server_encoding')).rows[0]?.server_encoding;
    if (encoding !== 'UTF8') throw new Error(`The PostgreSQL database must be UTF8 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0); it is ${encoding}`);
    await client.query('SELECT pg_advisory_lock($1)', [LOCKS.migrations]);
    await migrate(drizzle({ client }), { migrationsFolder: path.join(PACKAGE_ROOT, 'migrations-pg') });
    await client.query('SELECT pg_advisory_unlock($1)', [LOCKS.migrations]);
    client.release();
  } catch (error) {
    // Closing the connection ends its session, which frees the lock whatever state it is in.
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
