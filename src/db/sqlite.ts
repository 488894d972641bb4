import type Database from 'better-sqlite3';
import { currentTransaction, inTransaction, runCommitted, type TransactionContext, withSavepoint } from './context.ts';
import type { Executor, RowMode, SqlParams } from './sql.ts';

type Unit = { work: () => Promise<unknown>; resolve: (value: any) => void; reject: (error: unknown) => void };
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs statements on one better-sqlite3 connection. better-sqlite3 answers synchronously; the
 * interface is async so the same code runs on PostgreSQL. A transaction holds the connection
 * across its awaits: statements from any other async context wait until it commits (they would
 * otherwise join it), so nothing but storage calls may be awaited inside one.
 *
 * `unit` is the group commit for hot write paths (ADR 0006/0007): units queued in the same
 * event-loop turn run one after another in ONE transaction, and each caller's promise settles
 * only after the commit. The batch runs optimistically; if a unit throws, the batch is rolled
 * back and run again with each unit in its own savepoint, so a failing unit rolls back alone. A
 * unit may therefore run twice: it must touch nothing but the database.
 */
export class SqliteExecutor implements Executor {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement>();
  private holder: TransactionContext | undefined;
  private waiting: Array<() => void> = [];
  private queue: Unit[] = [];
  private scheduled = false;

  // Prepared once: exec() would parse them again for every transaction on the hot path.
  private readonly control: Record<'BEGIN' | 'COMMIT' | 'ROLLBACK', Database.Statement>;

  constructor(
    readonly sqlite: Database.Database,
    private readonly maxBatch = 256,
  ) {
    this.control = { BEGIN: sqlite.prepare('BEGIN'), COMMIT: sqlite.prepare('COMMIT'), ROLLBACK: sqlite.prepare('ROLLBACK') };
  }

  async query(text: string, params: SqlParams | undefined, mode: RowMode): Promise<{ rows: unknown[]; changes: number }> {
    // Checked again after each wake-up, in the same synchronous run as the statement itself.
    while (this.holder && !currentTransaction(this)) await this.released();
    return this.execute(text, params, mode);
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    const open = currentTransaction(this);
    if (open) return withSavepoint(open, (text) => this.sqlite.exec(text), work);
    return this.exclusive(async (tx) => {
      this.control.BEGIN.run();
      try {
        const result = await inTransaction(tx, work);
        this.control.COMMIT.run();
        runCommitted(tx);
        return result;
      } catch (error) {
        if (this.sqlite.inTransaction) this.control.ROLLBACK.run();
        throw error;
      }
    });
  }

  unit<T>(work: () => Promise<T>): Promise<T> {
    if (currentTransaction(this)) return this.transaction(work);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (this.queue.length >= this.maxBatch) void this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) await this.flush();
    while (this.holder) await this.released();
    this.sqlite.close();
  }

  private execute(text: string, params: SqlParams | undefined, mode: RowMode): { rows: unknown[]; changes: number } {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.sqlite.prepare(text);
      if (this.statements.size >= 1000) this.statements.clear();
      this.statements.set(text, statement);
    }
    const args = params === undefined ? [] : Array.isArray(params) ? params : [params];
    if (mode === 'run' || !statement.reader) return { rows: [], changes: statement.run(...args).changes };
    statement.raw(mode === 'arrays' || mode === 'array');
    if (mode === 'get' || mode === 'array') {
      const row = statement.get(...args);
      return { rows: row === undefined ? [] : [row], changes: 0 };
    }
    return { rows: statement.all(...args), changes: 0 };
  }

  private released(): Promise<void> {
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    this.holder = undefined;
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  /** Runs `body` holding the connection, with a transaction context of its own. */
  private async exclusive<T>(body: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const tx: TransactionContext = { owner: this, connection: this.sqlite, open: true, savepoints: 0, committed: [] };
    while (this.holder) await this.released();
    this.holder = tx;
    try {
      return await body(tx);
    } finally {
      tx.open = false;
      this.release();
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    await this.exclusive(async (tx) => {
      try {
        this.control.BEGIN.run();
        const values: unknown[] = [];
        for (const unit of batch) values.push(await inTransaction(tx, unit.work));
        this.control.COMMIT.run();
        runCommitted(tx);
        batch.forEach((unit, i) => unit.resolve(values[i]));
        return;
      } catch {
        if (this.sqlite.inTransaction) this.control.ROLLBACK.run();
        tx.committed.length = 0;
      }
      let outcomes: Outcome[];
      try {
        this.control.BEGIN.run();
        outcomes = [];
        for (const unit of batch) {
          try {
            outcomes.push({ ok: true, value: await withSavepoint(tx, (text) => this.sqlite.exec(text), () => inTransaction(tx, unit.work)) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        this.control.COMMIT.run();
        runCommitted(tx);
      } catch (error) {
        if (this.sqlite.inTransaction) this.control.ROLLBACK.run();
        for (const unit of batch) unit.reject(error);
        return;
      }
      batch.forEach((unit, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) unit.resolve(outcome.value);
        else unit.reject(outcome.error);
      });
    });
  }
}
