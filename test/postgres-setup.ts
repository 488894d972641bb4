import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migratePostgres } from '../src/db/postgres-migrate.ts';
import { startPostgresCluster } from './postgres-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server the tests make their databases in. */
    postgresUrl: string;
    /** A database with Accord's migrations applied, to copy (CREATE DATABASE … TEMPLATE) instead of migrating each time. */
    postgresTemplate: string;
  }
}

/** Fails early, naming the variable, when the server it points at cannot be reached. */
async function checkReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(`ACCORD_TEST_DATABASE_URL does not answer: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * vitest globalSetup: one PostgreSQL server for the whole run, shared by every worker. The
 * server named by ACCORD_TEST_DATABASE_URL (an admin URL) when set, otherwise a throwaway
 * cluster started here and stopped at teardown. PostgreSQL is required: the PostgreSQL paths
 * are part of what `npm test` proves, so a missing install fails the run with how to install it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.ACCORD_TEST_DATABASE_URL;
  if (external) await checkReachable(external);
  const cluster = external ? undefined : await startPostgresCluster();
  const adminUrl = external ?? cluster!.adminUrl;
  project.provide('postgresUrl', adminUrl);
  const template = await migratedTemplate(adminUrl);
  project.provide('postgresTemplate', template.name);
  return async () => {
    await template.drop();
    await cluster?.stop();
  };
}

/** Creates a database and applies Accord's migrations to it once per run. */
async function migratedTemplate(adminUrl: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `accord_template_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString() });
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
  return { name, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
