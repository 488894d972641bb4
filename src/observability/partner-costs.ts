import type { Deps } from '../deps.ts';
import { currentPolicy } from '../matrix/policy.ts';

/** One month of what a partner's unreliability cost: counts and their price under the policy's unit costs. */
export interface PartnerCostMonth {
  /** YYYY-MM (UTC). */
  month: string;
  compensations: number;
  manualInterventions: number;
  duplicates: number;
  cost: number;
  currency: string;
}

/** The first day of the month `back` months before `now`'s (UTC), as YYYY-MM. */
function monthOf(now: Date, back: number): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
  return d.toISOString().slice(0, 7);
}

/**
 * A partner's cost view per calendar month (UTC), the current month last: saga transactions against it
 * that ended compensated, manual interventions (operator retries and compensations, and
 * compensation approval decisions), duplicate requests handled, and their cost under the policy's
 * `costs` (counts × unit costs, rounded to cents).
 */
export async function partnerCosts(deps: Pick<Deps, 'db' | 'registry' | 'config' | 'clock'>, partner: string, months = 6): Promise<PartnerCostMonth[]> {
  const { costs } = await currentPolicy(deps);
  const now = deps.clock();
  const list = Array.from({ length: months }, (_, i) => monthOf(now, months - 1 - i));
  const since = `${list[0]}-01T00:00:00.000Z`;
  const db = deps.db.$sql;
  const byMonth = (rows: unknown[]) => new Map((rows as Array<{ month: string; n: number | string }>).map((r) => [r.month, Number(r.n)]));
  // Saga transactions that ended compensated in the month (by the engine or after an operator's compensate);
  // a direct request closed after review had no effect to undo and is not counted.
  const compensations = byMonth(
    await db.all(
      `SELECT substr(e.created_at, 1, 7) AS month, count(DISTINCT e.transaction_id) AS n FROM transaction_events e JOIN transactions t ON t.id = e.transaction_id
       WHERE t.partner = ? AND t.mode = 'saga' AND e.type = 'transaction.state-changed' AND e.to_state = 'compensated' AND e.created_at >= ? GROUP BY substr(e.created_at, 1, 7)`,
      [partner, since],
    ),
  );
  const operatorActions = byMonth(
    await db.all(
      `SELECT substr(e.created_at, 1, 7) AS month, count(*) AS n FROM transaction_events e JOIN transactions t ON t.id = e.transaction_id
       WHERE t.partner = ? AND e.type IN ('transaction.operator-retry', 'transaction.operator-compensate') AND e.created_at >= ? GROUP BY substr(e.created_at, 1, 7)`,
      [partner, since],
    ),
  );
  const approvals = byMonth(
    await db.all(`SELECT substr(decided_at, 1, 7) AS month, count(*) AS n FROM compensation_approvals WHERE partner = ? AND decided_at IS NOT NULL AND decided_at >= ? GROUP BY substr(decided_at, 1, 7)`, [partner, since]),
  );
  const duplicates = byMonth(await db.all(`SELECT substr(minute, 1, 7) AS month, coalesce(sum(duplicates), 0) AS n FROM partner_stats WHERE partner = ? AND minute >= ? GROUP BY substr(minute, 1, 7)`, [partner, since]));
  return list.map((month) => {
    const c = compensations.get(month) ?? 0;
    const m = (operatorActions.get(month) ?? 0) + (approvals.get(month) ?? 0);
    const d = duplicates.get(month) ?? 0;
    const cost = Math.round((c * costs.compensation + m * costs.manualIntervention + d * costs.duplicate) * 100) / 100;
    return { month, compensations: c, manualInterventions: m, duplicates: d, cost, currency: costs.currency };
  });
}
