import pg from 'pg';
import { currentTransaction, inTransaction, runCommitted, type TransactionContext, withSavepoint } from './context.ts';
import type { Executor, RowMode, SqlParams } from './sql.ts';
import { toPostgres } from './sql.ts';

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

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}
