import type { Deps } from '../../deps.ts';
import { changesOf } from '../../db/index.ts';
import type { TransactionRow } from '../transaction-views.ts';

/** Most sagas one sweep takes over (the rest wait for the next); at start-up a replica takes all of its own and the orphans at once. */
const SWEEP_LIMIT = 200;
/** Most ids one renewal statement names. */
const RENEW_CHUNK = 500;

/**
 * Which replica drives which saga (ADR 0016): a lease on the transaction row (`lease_owner`,
 * `lease_until`), taken when the saga starts or is taken over, renewed while it runs, released
 * when its driver stops. Every write of a step re-checks it in the same database transaction,
 * so a replica that stalled past its lease cannot commit over the one that took the saga over.
 * The queue is the transactions table itself: a sweep claims unleased or expired sagas with
 * `FOR UPDATE SKIP LOCKED` on PostgreSQL (replicas sweeping together take different rows); on
 * SQLite one process owns the file and the same statement runs without it.
 */
export class SagaLeases {
  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'config'>) {}

  private get owner(): string {
    return this.deps.config.replicaId;
  }

  private times(): { now: number; until: number } {
    const now = this.deps.clock().getTime();
    return { now, until: now + this.deps.config.leaseMs };
  }

  /** Takes the saga's lease if nobody else holds a live one; whether this replica holds it now. */
  async claim(id: string): Promise<boolean> {
    const { now, until } = this.times();
    const result = await this.deps.db.$sql.run(
      `UPDATE transactions SET lease_owner = @owner, lease_until = @until
       WHERE id = @id AND mode = 'saga' AND state NOT IN ('completed', 'compensated')
         AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until < @now)`,
      { owner: this.owner, until, now, id },
    );
    return changesOf(result) === 1;
  }

  /**
   * Inside a step's transaction: renews the lease if this replica still holds it and the saga is
   * where the driver last read it (state, phase, cursor); whether the step may commit.
   */
  async hold(transaction: Pick<TransactionRow, 'id' | 'state' | 'phase' | 'cursor'>): Promise<boolean> {
    const { until } = this.times();
    const result = await this.deps.db.$sql.run(
      'UPDATE transactions SET lease_until = @until WHERE id = @id AND state = @state AND phase = @phase AND cursor = @cursor AND lease_owner = @owner',
      { until, id: transaction.id, state: transaction.state, phase: transaction.phase, cursor: transaction.cursor, owner: this.owner },
    );
    return changesOf(result) === 1;
  }

  /** Renews the leases of the sagas this replica is driving. */
  async renew(ids: string[]): Promise<void> {
    const { until } = this.times();
    for (let i = 0; i < ids.length; i += RENEW_CHUNK) {
      const chunk = ids.slice(i, i + RENEW_CHUNK);
      await this.deps.db.$sql.run(`UPDATE transactions SET lease_until = ? WHERE lease_owner = ? AND id IN (${chunk.map(() => '?').join(', ')})`, [until, this.owner, ...chunk]);
    }
  }

  /** Gives the lease up (the driver stopped: finished, waiting for a person, or shutting down). */
  async release(id: string): Promise<void> {
    await this.deps.db.$sql.run('UPDATE transactions SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?', [id, this.owner]);
  }

  /**
   * Claims sagas that should run and that no live replica drives: no lease, or one that has
   * passed, or (`own`: at start-up) this replica's own, left by its previous run under the same
   * ACCORD_REPLICA_ID. Sagas waiting for a person are left alone until an operator acts. Returns the ids claimed,
   * oldest change first.
   */
  async claimOrphans({ own }: { own: boolean }): Promise<string[]> {
    const { now, until } = this.times();
    const lock = this.deps.db.$dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    const ids = (await this.deps.db.$sql.column(
      `UPDATE transactions SET lease_owner = @owner, lease_until = @until
       WHERE id IN (
         SELECT id FROM transactions
         WHERE state NOT IN ('completed', 'compensated') AND mode = 'saga'
           AND (state <> 'needs-attention' OR operator_action IS NOT NULL) AND state <> 'awaiting-approval'
           AND (lease_owner IS NULL OR lease_until < @now${own ? ' OR lease_owner = @owner' : ''})
         ORDER BY updated_at, id ${own ? '' : `LIMIT ${SWEEP_LIMIT}`} ${lock})
       RETURNING id`,
      { owner: this.owner, until, now },
    )) as string[];
    return ids;
  }
}
