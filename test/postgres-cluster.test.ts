import fs from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startPostgresCluster } from './postgres-cluster.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

/** Runs one query on a fresh connection and closes it. */
async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the PostgreSQL test harness', () => {
  const made: PostgresDatabase[] = [];
  const fresh = async () => {
    const db = await freshPostgresDatabase();
    made.push(db);
    return db;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((db) => db.drop()));
  });

  it('gives each caller its own database', async () => {
    const [a, b] = await Promise.all([fresh(), fresh()]);
    expect(a.url).not.toBe(b.url);
    await query(a.url, 'CREATE TABLE only_in_a (id bigint PRIMARY KEY)');
    await query(a.url, 'INSERT INTO only_in_a VALUES (1)');
    expect(await query(a.url, 'SELECT id FROM only_in_a')).toEqual([{ id: '1' }]);
    expect(await query(b.url, "SELECT to_regclass('only_in_a') AS t")).toEqual([{ t: null }]);
  });

  it('drop() removes the database, even with a connection still open to it', async () => {
    const db = await fresh();
    const name = new URL(db.url).pathname.slice(1);
    const open = new pg.Client({ connectionString: db.url });
    open.on('error', () => {}); // the forced drop terminates it
    await open.connect();
    await db.drop();
    const left = await query(inject('postgresUrl'), `SELECT datname FROM pg_database WHERE datname = '${name}'`);
    expect(left).toEqual([]);
    await expect(query(db.url, 'SELECT 1')).rejects.toThrow(/does not exist/);
    await open.end().catch(() => {});
  });

  it('sorts text byte-wise (C collation), as SQLite does', async () => {
    const db = await fresh();
    expect(await query(db.url, 'SHOW lc_collate')).toEqual([{ lc_collate: 'C' }]);
    const rows = await query<{ v: string }>(db.url, "SELECT v FROM (VALUES ('a'), ('B'), ('_'), ('é'), ('Z')) AS t(v) ORDER BY v");
    expect(rows.map((r) => r.v)).toEqual(['B', 'Z', '_', 'a', 'é']);
  });

  it('starts a throwaway cluster of its own and stop() removes it', async () => {
    const started = Date.now();
    const cluster = await startPostgresCluster();
    const startMs = Date.now() - started;
    expect(await query(cluster.adminUrl, 'SHOW lc_collate')).toEqual([{ lc_collate: 'C' }]);
    expect(await query(cluster.adminUrl, 'SHOW max_connections')).toEqual([{ max_connections: '300' }]);
    const [row] = await query<{ data_directory: string }>(cluster.adminUrl, 'SHOW data_directory');
    expect(fs.existsSync(row!.data_directory)).toBe(true);
    await cluster.stop();
    expect(fs.existsSync(row!.data_directory)).toBe(false);
    await expect(query(cluster.adminUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    console.log(`throwaway PostgreSQL cluster started in ${startMs} ms`);
  });
});
