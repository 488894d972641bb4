import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle as drizzleSync } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle, type SqliteRemoteDatabase } from 'drizzle-orm/sqlite-proxy';
import { PACKAGE_ROOT } from '../config.ts';
import * as schema from './schema/index.ts';
import { currentTransaction } from './context.ts';
import { LOCKS } from './locks.ts';
import { dispatchSignal, encodeSignal, SIGNAL_CHANNEL, type Topic } from './signals.ts';
import { type Dialect, type Executor, type Sql, sqlOf } from './sql.ts';
import { SqliteExecutor } from './sqlite.ts';
import { PostgresExecutor } from './postgres.ts';

/**
 * The database: drizzle's query builder (async; the same SQL runs on SQLite and PostgreSQL),
 * raw SQL (`$sql`), transactions and the group commit.
 */
export type Db = Omit<SqliteRemoteDatabase<typeof schema>, 'transaction'> & {
  /**
   * Runs `work` in one transaction (a savepoint inside another). Every statement of the async
   * context runs in it, through `tx` or not; await nothing but storage inside (no partner calls,
   * no Git, no timers): on SQLite an open transaction holds the one connection.
   */
  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T>;
  /** Runs `work` in the next group commit (SQLite) or its own transaction (PostgreSQL); see SqliteExecutor. */
  unit<T>(work: () => Promise<T>): Promise<T>;
  readonly $sql: Sql;
  readonly $dialect: Dialect;
  /** The SQLite connection, for what only SQLite has (online backup, WAL checkpoints, pragmas); undefined on PostgreSQL. */
  readonly $sqlite: Database.Database | undefined;
  /**
   * Inside a transaction: waits until no other transaction holding `key` is open, and holds it
   * until this one ends (PostgreSQL `pg_advisory_xact_lock`; on SQLite an open transaction
   * already holds the only connection). For check-then-write sequences replicas must not
   * interleave, such as appending to the audit log's hash chain.
   */
  $serialize(key: number): Promise<void>;
  /**
   * Runs `done` once the transaction this async context is in has committed (at once outside
   * one; never if it rolls back): invalidating a cache before the commit would let another
   * connection reload it without the change.
   */
  $afterCommit(done: () => void): void;
  /**
   * Signals that shared data behind an in-memory cache changed (see signals.ts): this process's
   * handlers run once the transaction commits (at once outside one); on PostgreSQL every other
   * replica's run when NOTIFY delivers it, which is at the same commit.
   */
  $signal(topic: Topic, payload?: string): Promise<void>;
  /**
   * Whether this process leads the singleton duties (sunsets, SLA evaluation, purges, the outbox,
   * audit anchoring): always on SQLite (one process owns the file); on PostgreSQL the holder of a
   * session advisory lock, taken over by another replica when the holder's connection dies.
   */
  $lead(): Promise<boolean>;
  /**
   * Runs `work` while holding the session advisory lock `key` on PostgreSQL (replicas wait for
   * each other; `work` runs its statements as usual, not in one transaction); at once on SQLite.
   * For start-up work two replicas must not do together, such as seeding an empty database.
   */
  $exclusively<T>(key: number, work: () => Promise<T>): Promise<T>;
  /** Starts receiving other replicas' signals (PostgreSQL LISTEN; nothing to do on SQLite, one process owns the file). */
  $listen(): Promise<void>;
  /** Waits for the transactions in progress and closes the connection(s). */
  $close(): Promise<void>;
};

/** How many rows a drizzle `.run()` changed. */
export function changesOf(result: unknown): number {
  return (result as { changes: number }).changes;
}

/** A `Db` over an executor. */
export function dbOf(executor: Executor, sqlite?: Database.Database): Db {
  const base = drizzle(
    async (text, params, method) => {
      const { rows, changes } = await executor.query(text, params, method === 'run' ? 'run' : method === 'get' ? 'array' : 'arrays');
      return { rows: (method === 'get' ? rows[0] : rows) as any[], changes };
    },
    { schema },
  );
  const db = base as unknown as Db & { transaction: unknown };
  Object.assign(db, {
    transaction: async <T>(work: (tx: Db) => Promise<T>) => await executor.transaction(() => work(db)),
    unit: async <T>(work: () => Promise<T>) => await executor.unit(work),
    $sql: sqlOf(executor),
    $dialect: executor.dialect,
    $sqlite: sqlite,
    $close: () => executor.close(),
    $afterCommit: (done: () => void) => {
      const tx = currentTransaction(executor);
      if (tx) tx.committed.push(done);
      else done();
    },
    $signal: async (topic: Topic, payload?: string) => {
      db.$afterCommit(() => dispatchSignal(topic, payload));
      if (executor.dialect === 'postgres') await executor.query('SELECT pg_notify(?, ?)', [SIGNAL_CHANNEL, encodeSignal(topic, payload)], 'run');
    },
    $lead: async () => (executor instanceof PostgresExecutor ? await executor.lead(LOCKS.leader) : true),
    $exclusively: async <T>(key: number, work: () => Promise<T>) => (executor instanceof PostgresExecutor ? await executor.exclusively(key, work) : await work()),
    $listen: async () => {
      if (executor instanceof PostgresExecutor) await executor.listen();
    },
    $serialize: async (key: number) => {
      if (executor.dialect === 'postgres') await executor.query('SELECT pg_advisory_xact_lock(?)', [key], 'run');
    },
  });
  return db;
}

/**
 * Opens (or creates) the SQLite database, switches a file database to WAL and applies the
 * drizzle-kit migrations from migrations/.
 * @param file a path, or ':memory:'
 * @param options.durability `normal` (WAL with synchronous=NORMAL: a commit is safe from a
 *   process crash at once and from a power failure after the next WAL sync) or `full`
 *   (synchronous=FULL: every commit is fsynced before it returns); see ADR 0012
 * @param options.migrate false to open the file as it is (a restore checks what a backup holds)
 */
export function openDb(file: string, { durability = 'normal', migrate: migrations = true }: { durability?: 'normal' | 'full'; migrate?: boolean } = {}): Db {
  // The database holds webhook secrets and token hashes: other local users may not read it (a
  // database made by an earlier release is tightened too, where the file is ours to change).
  if (file !== ':memory:' && migrations) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new Database(file, { fileMustExist: !migrations });
  if (file !== ':memory:' && migrations) {
    // SQLite gives the -wal and -shm files it creates the database's mode; ones left by an
    // earlier release are tightened here too.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try {
        fs.chmodSync(f, 0o600);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOENT') throw error;
      }
    }
    sqlite.pragma('journal_mode = WAL');
  }
  if (migrations) {
    sqlite.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    migrate(drizzleSync(sqlite), { migrationsFolder: path.join(PACKAGE_ROOT, 'migrations') });
  }
  return dbOf(new SqliteExecutor(sqlite), sqlite);
}
