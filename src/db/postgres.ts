import pg from 'pg';
import { decodeSignal, dispatchSignal, SIGNAL_CHANNEL } from './signals.ts';
import { currentTransaction, inTransaction, runCommitted, type TransactionContext, withSavepoint } from './context.ts';
import type { Executor, RowMode, SqlParams } from './sql.ts';
import { toPostgres } from './sql.ts';

/** How long the listening connection may take to answer the leader's check before it is given up as dead. */
const LIVENESS_TIMEOUT_MS = 5_000;

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs statements on a PostgreSQL pool. A transaction holds one pooled connection for its
 * lifetime; every statement of its async context runs there. There is no group commit:
 * concurrent requests run concurrent transactions and the server shares their WAL flushes.
 */
export class PostgresExecutor implements Executor {
  readonly dialect = 'postgres' as const;

  constructor(readonly pool: pg.Pool) {}

  async query(text: string, params: SqlParams | undefined, mode: RowMode): Promise<{ rows: unknown[]; changes: number }> {
    const tx = currentTransaction<pg.PoolClient>(this);
    const statement = toPostgres(text);
    // Named parameters in the order of their numbers; an object for a text without names binds nothing, as on SQLite.
    const values = statement.names ? statement.names.map((name) => (params as Record<string, unknown>)[name] ?? null) : Array.isArray(params) ? params : [];
    const arrays = mode === 'arrays' || mode === 'array';
    const result = await (tx?.connection ?? this.pool).query({ text: statement.text, values: values as unknown[], ...(arrays ? { rowMode: 'array' as const } : {}) });
    const rows = mode === 'run' ? [] : mode === 'get' || mode === 'array' ? result.rows.slice(0, 1) : result.rows;
    return { rows, changes: result.rowCount ?? 0 };
  }

  async transaction<T>(work: () => Promise<T>): Promise<T> {
    const open = currentTransaction<pg.PoolClient>(this);
    if (open) return withSavepoint(open, (text) => open.connection.query(text), work);
    const client = await this.pool.connect();
    const tx: TransactionContext<pg.PoolClient> = { owner: this, connection: client, open: true, savepoints: 0, committed: [] };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await inTransaction(tx, work);
      await client.query('COMMIT');
      runCommitted(tx);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      throw error;
    } finally {
      tx.open = false;
      // A connection whose rollback failed is in an unknown state: close it rather than reuse it.
      client.release(broken);
    }
  }

  unit<T>(work: () => Promise<T>): Promise<T> {
    return this.transaction(work);
  }

  private closing: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private listening = false;
  /** Whether the listening connection holds the leader lock (a session lock: it goes with the connection). */
  private leading = false;

  /** See Db.$exclusively: the session lock is held on a pooled connection of its own while `work` runs. */
  async exclusively<T>(key: number, work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // Idle while `work` runs on other connections: a session the server ends meanwhile must not crash the process (the pool listens only to idle clients).
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await client.query('SELECT pg_advisory_lock($1)', [key]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch((error: Error) => (broken = error));
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * Whether this process is the leader of the singleton duties: it holds the session advisory
   * lock `key` on its own listening connection (taken here if free). When that connection dies,
   * so does the lock, and another replica's next call takes it (fail-over within its jobs interval).
   */
  async lead(key: number): Promise<boolean> {
    await this.listen();
    const client = this.listener;
    if (!client) return false;
    try {
      // Every tick asks the connection (a check, or the lock): one that died silently (a dropped
      // NAT entry, a partition) holds neither the lock nor the LISTEN any more; ended, it reconnects.
      const result = await withTimeout(
        this.leading ? client.query<{ locked: boolean }>('SELECT true AS locked') : client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]),
        LIVENESS_TIMEOUT_MS,
      );
      // The connection may have been replaced meanwhile: the lock belongs to the one it was taken on.
      this.leading = this.listener === client && result.rows[0]!.locked;
    } catch {
      // Given up at once (ending a hung socket may hang too): a new connection follows in a second.
      this.leading = false;
      if (this.listener === client) {
        this.listener = undefined;
        void client.end().catch(() => undefined);
        setTimeout(() => void this.connectListener(true).catch(() => undefined), 1000).unref();
      }
    }
    return this.leading;
  }

  /**
   * Listens for other replicas' signals on a connection of its own (LISTEN), dispatching each to
   * this process's handlers. A lost connection is re-established after a second, and then every
   * topic is dispatched once without a payload: signals sent meanwhile were missed.
   */
  async listen(): Promise<void> {
    if (this.listening) return;
    this.listening = true;
    await this.connectListener(false);
  }

  private async connectListener(reconnect: boolean): Promise<void> {
    if (this.closing) return;
    // Keep-alive: a connection dropped without a FIN is noticed by TCP too, not only by the next check.
    const client = new pg.Client({ ...this.pool.options, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    client.on('notification', (message) => {
      const signal = message.payload === undefined ? undefined : decodeSignal(message.payload);
      if (signal) dispatchSignal(signal.topic, signal.payload);
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.listener !== client || this.closing) return;
      this.listener = undefined;
      this.leading = false;
      setTimeout(() => void this.connectListener(true).catch(() => undefined), 1000).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNAL_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      if (!reconnect) throw error;
      setTimeout(() => void this.connectListener(true).catch(() => undefined), 1000).unref();
      return;
    }
    this.listener = client;
    if (reconnect) dispatchSignal(undefined, undefined);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const listener = this.listener;
      this.listener = undefined;
      await listener?.end().catch(() => undefined);
      await this.pool.end();
    })();
    return this.closing;
  }
}
