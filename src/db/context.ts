import { AsyncLocalStorage } from 'node:async_hooks';

/** An open transaction: which engine it is on, and the connection it holds there. */
export interface TransactionContext<Connection = unknown> {
  owner: object;
  connection: Connection;
  open: boolean;
  savepoints: number;
  /** Run once the outermost transaction has committed (see Db.$afterCommit); dropped on rollback. */
  committed: Array<() => void>;
}

const context = new AsyncLocalStorage<TransactionContext>();

/**
 * The transaction this async context runs in on `owner`'s engine, if one is open. Every statement
 * issued under `db.transaction(...)` — by the callback or anything it calls, with `tx` or with
 * `deps.db` — runs in that transaction; work that outlives it (a timer set inside) does not.
 */
export function currentTransaction<C>(owner: object): TransactionContext<C> | undefined {
  const tx = context.getStore();
  return tx && tx.open && tx.owner === owner ? (tx as TransactionContext<C>) : undefined;
}

/** Runs `work` as part of the transaction `tx`. */
export function inTransaction<T>(tx: TransactionContext, work: () => Promise<T>): Promise<T> {
  return context.run(tx, work);
}

/** Runs `work` in a savepoint of the open transaction `tx` (`exec` sends a statement on its connection). */
export async function withSavepoint<T>(tx: TransactionContext, exec: (text: string) => Promise<unknown> | unknown, work: () => Promise<T>): Promise<T> {
  const name = `accord_sp${++tx.savepoints}`;
  await exec(`SAVEPOINT ${name}`);
  try {
    const result = await work();
    await exec(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (error) {
    await exec(`ROLLBACK TO SAVEPOINT ${name}`);
    await exec(`RELEASE SAVEPOINT ${name}`);
    throw error;
  }
}

/** Runs what waited for `tx` to commit. */
export function runCommitted(tx: TransactionContext): void {
  for (const done of tx.committed.splice(0)) done();
}
