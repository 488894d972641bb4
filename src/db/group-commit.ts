import type Database from 'better-sqlite3';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Unit = { work: () => unknown; resolve: (value: any) => void; reject: (error: unknown) => void };

/**
 * Group commit for hot write paths: units of work queued in the same event-loop turn run in
 * ONE SQLite transaction, and every caller's promise settles only after the commit, so nothing
 * is answered before it is durable. Sharing the commit (and the B-tree pages it writes) is what
 * makes the exchange runtime's per-request writes cheap under concurrency.
 *
 * The batch runs optimistically without a savepoint per unit. If a unit throws, the whole batch
 * is rolled back and run again with each unit in its own savepoint, so a failing unit rolls back
 * alone. A unit may therefore run twice: it must touch nothing but the database (count metrics,
 * log and answer after its promise settles).
 */
export class GroupCommit {
  private queue: Unit[] = [];
  private scheduled = false;
  private readonly optimistic: (batch: Unit[]) => unknown[];
  private readonly isolated: (batch: Unit[]) => Outcome[];

  constructor(
    db: Database.Database,
    private readonly maxBatch = 256,
  ) {
    // Built once: better-sqlite3 nests a transaction function as a savepoint.
    this.optimistic = db.transaction((batch: Unit[]) => batch.map((unit) => unit.work()));
    const savepoint = db.transaction((work: () => unknown) => work());
    this.isolated = db.transaction((batch: Unit[]) =>
      batch.map((unit): Outcome => {
        try {
          return { ok: true, value: savepoint(unit.work) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

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
    let values: unknown[];
    try {
      values = this.optimistic(batch);
    } catch {
      let outcomes: Outcome[];
      try {
        outcomes = this.isolated(batch);
      } catch (error) {
        for (const unit of batch) unit.reject(error);
        return;
      }
      batch.forEach((unit, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) unit.resolve(outcome.value);
        else unit.reject(outcome.error);
      });
      return;
    }
    batch.forEach((unit, i) => unit.resolve(values[i]));
  }
}
