import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server the tests make their databases in. */
    postgresUrl: string;
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
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.ACCORD_TEST_DATABASE_URL;
  if (external) {
    await checkReachable(external);
    project.provide('postgresUrl', external);
    return undefined;
  }
  const cluster = await startPostgresCluster();
  project.provide('postgresUrl', cluster.adminUrl);
  return () => cluster.stop();
}
