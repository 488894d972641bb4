import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTypes } from '../src/db/postgres-types.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { openChange, postJson, registerVersion } from './change-fixtures.ts';
import { REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

/**
 * `accord db copy --to postgres://…` (issue 15, item 5): a real embedded data dir, made by a
 * service through its API, copied by the real CLI into a real PostgreSQL database, then served
 * from there by a service in PostgreSQL mode.
 */
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';
const memberMatch = () =>
  structuredClone(
    (parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example,
  );
const EXCHANGE_REQUESTS = 200;
const SAGAS = 150;
const TOKENS = 60;

/** Starts a payer-data-export saga with the contract's example member. */
const startSaga = (s: TestService, key: string) =>
  s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: memberMatch() } }), type: 'application/json', headers: { 'Idempotency-Key': key } });

/** Waits until the engine has finished every saga (at most 30 s). */
async function untilSagasFinish(s: TestService): Promise<void> {
  const deadline = Date.now() + 30_000;
  const unfinished = async () => (await s.deps.db.$sql.value<number>("SELECT count(*) FROM transactions WHERE state NOT IN ('completed', 'compensated')"))!;
  while ((await unfinished()) > 0) {
    if (Date.now() > deadline) throw new Error(`${await unfinished()} sagas still unfinished`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `use` with a client on the database at `url` (int8 as numbers, as the app reads them). */
async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, types: postgresTypes });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Rows per table of the app's tables in a PostgreSQL database (none when it is not migrated). */
const postgresCounts = (url: string) =>
  withClient(url, async (client) => {
    const names = (await client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name")).rows.map((r) => r.table_name);
    const counts: Record<string, number> = {};
    for (const name of names) counts[name] = Number((await client.query(`SELECT count(*) AS n FROM "${name}"`)).rows[0].n);
    return counts;
  });

describe('accord db copy --to postgres://…', () => {
  let work: string;
  let dataDir: string;
  let sourceCounts: Record<string, number>;
  let keyHex: string;
  const seen: { contracts?: unknown; change?: any; transactions: Record<string, any> } = { transactions: {} };
  const databases: PostgresDatabase[] = [];
  const database = async (migrated = false) => {
    const db = await freshPostgresDatabase({ migrated });
    databases.push(db);
    return db;
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-db-copy-'));
    dataDir = path.join(work, 'data');
    const s: TestService = await startTestService({ seed: true, dir: dataDir, env: { ACCORD_AUDIT_ANCHOR_EVERY: '25' } });
    try {
      // Contracts, a change request with a review, evidence, a gate decision, tokens, exchange requests and a saga: every kind of row.
      await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '2.2.0', (doc) => (doc.info.description = 'A clarified description.'));
      const change = await openChange(s, 'northwind-health', 'p2p-exchange', '2.2.0', 'clarify the description');
      expect((await postJson(s, `/v1/changes/${change.id}/reviews`, { decision: 'approve', comment: 'fine' }, await s.token('approver'))).status).toBe(201);
      const sha = (await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/2.2.0')).json()).sha256;
      const evidence = { partner: 'northwind-health', api: 'p2p-exchange', version: '2.2.0', kind: 'contract-test', result: 'pass', sha256: sha, uri: 'https://ci.example/runs/1', environment: 'staging', commit: 'a1b2c3d', producedAt: '2026-11-27T11:00:00Z' };
      expect((await postJson(s, '/v1/evidence', evidence)).status).toBe(201);
      expect((await postJson(s, '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version: '2.2.0', environment: 'staging' })).status).toBe(200);
      // Tokens made through the API: each one is an audit entry too (anchored every 25).
      for (let i = 0; i < TOKENS; i++) expect((await postJson(s, '/v1/tokens', { role: 'ci', name: `pipeline ${i}` })).status).toBe(201);
      for (let i = 0; i < EXCHANGE_REQUESTS; i++) {
        const res = await s.call('POST', MATCH, { body: JSON.stringify(memberMatch()), type: 'application/fhir+json', headers: { 'Idempotency-Key': `copy-key-${i}` } });
        expect(res.status, await res.clone().text()).toBe(200);
      }
      for (let i = 0; i < SAGAS; i++) expect((await startSaga(s, `copy-saga-${i}`)).status).toBe(202);
      await untilSagasFinish(s);

      seen.contracts = await (await s.call('GET', '/v1/contracts')).json();
      seen.change = await (await s.call('GET', `/v1/changes/${change.id}`)).json();
      const ids = (await s.deps.db.$sql.column<string>('SELECT id FROM transactions ORDER BY rowid')) as string[];
      for (const id of [ids[0]!, ids[Math.floor(ids.length / 2)]!, ids.at(-1)!]) seen.transactions[id] = await (await s.call('GET', `/v1/transactions/${id}`)).json();
    } finally {
      await s.close();
    }
    const sqlite = new Database(path.join(dataDir, 'accord.db'), { readonly: true });
    const names = (sqlite.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '__drizzle_migrations'").pluck().all() as string[]).sort();
    sourceCounts = Object.fromEntries(names.map((name) => [name, sqlite.prepare(`SELECT count(*) FROM "${name}"`).pluck().get() as number]));
    sqlite.close();
    keyHex = fs.readFileSync(path.join(dataDir, 'audit.key'), 'utf8').trim();
  });

  afterAll(async () => {
    for (const db of databases) await db.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('has a realistic source: thousands of rows in every kind of table', () => {
    const total = Object.values(sourceCounts).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(1500);
    for (const table of ['contract_versions', 'change_requests', 'change_reviews', 'evidence', 'gate_decisions', 'tokens', 'transactions', 'transaction_events', 'idempotency_keys', 'audit_log']) expect(sourceCounts[table], table).toBeGreaterThan(0);
  });

  it('refuses an ACCORD_AUDIT_KEY that is not the data dir\'s key before touching the target', async () => {
    const target = await database();
    const run = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: dataDir, ACCORD_AUDIT_KEY: 'b2'.repeat(32) });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^accord: ACCORD_AUDIT_KEY \(key id [0-9a-f]{16}\) is not the data dir's audit key .*audit\.key \(key id [0-9a-f]{16}\).*Nothing was copied/);
    expect(run.stdout).toBe('');
    expect(await postgresCounts(target.url)).toEqual({});
  });

  it('refuses an ACCORD_AUDIT_KEY the log was not written with when the data dir has no key file', async () => {
    const keyless = path.join(work, 'keyless');
    fs.cpSync(dataDir, keyless, { recursive: true });
    fs.rmSync(path.join(keyless, 'audit.key'));
    const target = await database();
    const run = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: keyless, ACCORD_AUDIT_KEY: 'b2'.repeat(32) });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^accord: The data dir's audit log does not verify with ACCORD_AUDIT_KEY \(key id [0-9a-f]{16}\): .*Nothing was copied/);
    expect(await postgresCounts(target.url)).toEqual({});
  });

  it('refuses without --to, with a URL that is not postgres://, and when ACCORD_DATABASE_URL is set', async () => {
    const missing = await runCli(['db', 'copy'], { ACCORD_DATA_DIR: dataDir });
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringContaining('accord: Usage: accord db copy --to postgres://…') });
    const mysql = await runCli(['db', 'copy', '--to', 'mysql://localhost/accord'], { ACCORD_DATA_DIR: dataDir });
    expect(mysql).toMatchObject({ code: 3, stderr: 'accord: --to must be a postgres:// URL, got a mysql:// one\n' });
    const target = await database();
    const both = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: dataDir, ACCORD_DATABASE_URL: target.url, ACCORD_AUDIT_KEY: keyHex });
    expect(both).toMatchObject({ code: 3, stderr: expect.stringContaining('unset ACCORD_DATABASE_URL') });
  });

  it('a failure mid-copy rolls everything back: the target\'s tables stay empty', async () => {
    // A migrated target (migrations insert no rows, so it is accepted) whose transaction_events refuse their 150th row.
    const target = await database(true);
    await withClient(target.url, async (client) => {
      await client.query('CREATE SEQUENCE copy_test_rows');
      await client.query(`CREATE FUNCTION copy_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF nextval('copy_test_rows') = 150 THEN RAISE EXCEPTION 'refused row % by the test', NEW.seq; END IF; RETURN NEW; END $$`);
      await client.query('CREATE TRIGGER copy_test_refuse BEFORE INSERT ON transaction_events FOR EACH ROW EXECUTE FUNCTION copy_test_refuse()');
    });
    expect(sourceCounts.transaction_events).toBeGreaterThan(150);
    const run = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: dataDir });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^accord: Copying table transaction_events failed: refused row \d+ by the test.*Rolled back: the PostgreSQL database holds none of the copy/);
    const counts = await postgresCounts(target.url);
    expect(Object.keys(counts).sort()).toEqual(Object.keys(sourceCounts));
    for (const [table, n] of Object.entries(counts)) expect(n, table).toBe(0);
  });

  describe('into an empty database', () => {
    let target: PostgresDatabase;
    let run: Awaited<ReturnType<typeof runCli>>;
    beforeAll(async () => {
      target = await database();
      run = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: dataDir });
    });

    it('copies every table, verifies counts and the audit chain, and says how to move the key and the registry', async () => {
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const total = Object.values(sourceCounts).reduce((a, b) => a + b, 0);
      expect(run.stdout).toContain(`${Object.keys(sourceCounts).length} tables, ${total.toLocaleString('en-US')} rows in`);
      expect(run.stdout).toContain('Row counts: every table has as many rows in PostgreSQL as in the data dir.');
      expect(run.stdout).toMatch(/Audit log in PostgreSQL: intact, [\d,]+ entries, head entry \d+ [0-9a-f]{64} \(anchor covers entries up to \d+/);
      expect(run.stdout).toContain(`export ACCORD_AUDIT_KEY="$(cat ${path.join(dataDir, 'audit.key')})"`);
      expect(run.stdout).toContain(`git -C ${path.join(dataDir, 'registry')} push --mirror <remote>`);
      expect(run.stdout).not.toContain(keyHex);
      expect(await postgresCounts(target.url)).toEqual(sourceCounts);
    });

    it('copies the rows as they are: the same values, ids and SQLite rowids', async () => {
      const sqlite = new Database(path.join(dataDir, 'accord.db'), { readonly: true });
      try {
        await withClient(target.url, async (client) => {
          for (const [table, order] of [['audit_log', 'seq'], ['contract_versions', 'tag'], ['tokens', 'id'], ['evidence', 'id'], ['gate_decisions', 'id']] as const) {
            expect((await client.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows, table).toEqual(sqlite.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all());
          }
          for (const table of ['transactions', 'change_requests', 'change_reviews']) {
            const rowids = sqlite.prepare(`SELECT id, rowid FROM ${table} ORDER BY rowid`).all();
            expect((await client.query(`SELECT id, rowid FROM ${table} ORDER BY rowid`)).rows, table).toEqual(rowids);
          }
        });
      } finally {
        sqlite.close();
      }
    });

    it('refuses to copy again into it (no merging), changing nothing', async () => {
      const before = await postgresCounts(target.url);
      const again = await runCli(['db', 'copy', '--to', target.url], { ACCORD_DATA_DIR: dataDir });
      expect(again.code).toBe(3);
      expect(again.stderr).toMatch(/^accord: The PostgreSQL database is not empty: .*audit_log.* have rows\. accord db copy fills an empty database and never merges/);
      expect(await postgresCounts(target.url)).toEqual(before);
    });

    it('refuses a target with a single row in one table, naming it', async () => {
      const other = await database(true);
      await withClient(other.url, (client) => client.query("INSERT INTO outbox_cursors (name, position) VALUES ('elsewhere', 7)"));
      const refused = await runCli(['db', 'copy', '--to', other.url], { ACCORD_DATA_DIR: dataDir });
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('The PostgreSQL database is not empty: outbox_cursors has rows.');
      const counts = await postgresCounts(other.url);
      expect(counts.outbox_cursors).toBe(1);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
    });

    it('serves the copy from PostgreSQL: same contracts, change and transactions, audit verify passes, new rows get new ids', async () => {
      // The replica's data dir: the registry moved along (a copy of it), no SQLite file.
      const replicaDir = path.join(work, 'replica');
      fs.cpSync(dataDir, replicaDir, { recursive: true });
      for (const name of fs.readdirSync(replicaDir)) if (name.startsWith('accord.db')) fs.rmSync(path.join(replicaDir, name));
      const env = { ACCORD_DATABASE_URL: target.url, ACCORD_AUDIT_KEY: keyHex };
      const replica = await startTestService({ dir: replicaDir, env });
      try {
        expect(await (await replica.call('GET', '/v1/contracts')).json()).toEqual(seen.contracts);
        expect(await (await replica.call('GET', `/v1/changes/${seen.change.id}`)).json()).toEqual(seen.change);
        for (const [id, view] of Object.entries(seen.transactions)) {
          const now = await (await replica.call('GET', `/v1/transactions/${id}`)).json();
          expect({ ...now, idleMs: undefined }, id).toEqual({ ...view, idleMs: undefined });
        }
        const maxRowid = await withClient(target.url, async (c) => (await c.query('SELECT max(rowid) AS m FROM transactions')).rows[0].m as number);
        const maxEvent = await withClient(target.url, async (c) => (await c.query('SELECT max(seq) AS m FROM transaction_events')).rows[0].m as number);
        const res = await replica.call('POST', MATCH, { body: JSON.stringify(memberMatch()), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'after-copy-1' } });
        expect(res.status).toBe(200);
        expect((await startSaga(replica, 'after-copy-saga')).status).toBe(202);
        await untilSagasFinish(replica);
        await registerVersion(replica, 'northwind-health', 'p2p-exchange', '2.1.0', '2.3.0', (doc) => (doc.info.description = 'Registered on PostgreSQL.'));
        await withClient(target.url, async (c) => {
          expect((await c.query('SELECT min(rowid) AS m FROM transactions WHERE rowid > $1', [maxRowid])).rows[0].m).toBe(maxRowid + 1);
          expect((await c.query('SELECT count(*) AS n FROM transaction_events WHERE seq > $1', [maxEvent])).rows[0].n).toBeGreaterThan(0);
        });
        await replica.expectIndexMatchesTags();
      } finally {
        await replica.close();
      }
      const verify = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: replicaDir, ...env });
      expect(verify.stdout).toContain('Audit log intact');
      expect(verify.code).toBe(0);
    });
  });
});
