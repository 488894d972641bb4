import type Database from 'better-sqlite3';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for hot write paths: units of work queued in the same event-loop turn run in
 * ONE SQLite transaction, each inside its own savepoint (a unit that throws rolls back alone),
 * and every caller's promise settles only after the commit, so nothing is answered before it
 * is durable. Sharing the commit (and the B-tree pages it writes) is what makes the exchange
 * runtime's per-request writes cheap under concurrency.
 */
export class GroupCommit {
  private queue: Array<{ work: () => unknown; resolve: (value: any) => void; reject: (error: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly db: Database.Database,
    private readonly maxBatch = 256,
  ) {}

  /** Runs `work` inside the next group transaction; resolves with its result after the commit. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(item.work)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
