import type { Deps } from '../deps.ts';
import type { Runtime } from '../runtime/index.ts';
import { absoluteUrl } from '../lib/public-url.ts';

const STUCK_AFTER_MS = 5 * 60_000;

/**
 * Operator views (JSON; a console comes later): degraded partner routes (SLA breaches and
 * interventions, and partner steps failing in the last hour), stuck transaction types (no change
 * for 5 minutes), accumulating retries (in-flight steps past their first attempt) and pending
 * compensations — each with links to the transactions behind it.
 */
export async function operatorViews(deps: Deps, runtime: Runtime) {
  const db = deps.db.$sql;
  const now = deps.clock().getTime();
  const hourAgo = new Date(now - 3_600_000).toISOString();
  const stuckBefore = new Date(now - STUCK_AFTER_MS).toISOString();
  const list = (query: string) => absoluteUrl(deps.config, `/v1/transactions?${query}`);

  const sla = await runtime.sla.status();
  // Ties are ordered explicitly (NULLs first, as SQLite sorts them) so both engines list the same rows.
  const failing = (await db.all(`SELECT partner, flow, json_extract(failure, '$.step') AS step, json_extract(failure, '$.failureMode') AS "failureMode", count(*) AS n, max(updated_at) AS last
       FROM transactions WHERE failure IS NOT NULL AND updated_at >= ? GROUP BY partner, flow, step, "failureMode"
       ORDER BY n DESC, partner, flow, step NULLS FIRST, "failureMode" NULLS FIRST LIMIT 50`, [hourAgo])) as Array<{ partner: string; flow: string; step: string; failureMode: string; n: number; last: string }>;
  const degraded = [
    ...sla.flows.flatMap((f) =>
      f.partners
        .filter((p) => p.breaches.length > 0 || p.interventions.length > 0)
        .map((p) => ({ partner: p.partner, flow: f.flow, why: 'sla', breaches: p.breaches, interventions: p.interventions, transactions: list(`partner=${p.partner}&flow=${f.flow}&state=in-progress,compensating,needs-attention`) })),
    ),
    ...failing.map((r) => ({ partner: r.partner, flow: r.flow, why: 'failures', step: r.step, failureMode: r.failureMode, failuresLastHour: r.n, lastFailure: r.last, transactions: list(`partner=${r.partner}&flow=${r.flow}&state=compensated,needs-attention,compensating`) })),
  ];
  const stuck = (
    (await db.all(`SELECT flow, state, count(*) AS n, min(updated_at) AS oldest FROM transactions WHERE state NOT IN ('completed', 'compensated') AND updated_at <= ? GROUP BY flow, state ORDER BY n DESC, flow, state`, [stuckBefore])) as Array<{ flow: string; state: string; n: number; oldest: string }>
  ).map((r) => ({ ...r, transactions: list(`flow=${r.flow}&state=${r.state}&olderThan=PT5M`) }));
  const retrying = (
    (await db.all(`SELECT t.partner, t.flow, s.step_id AS step, count(*) AS n, max(s.attempts) AS "maxAttempts", group_concat(t.id ORDER BY t.created_at, t.id) AS ids
         FROM transactions t JOIN transaction_steps s ON s.transaction_id = t.id AND s.state = 'running' AND s.attempts > 1
         WHERE t.state IN ('accepted', 'in-progress', 'compensating', 'needs-attention') GROUP BY t.partner, t.flow, s.step_id ORDER BY n DESC, t.partner, t.flow, s.step_id`,)) as Array<{ partner: string; flow: string; step: string; n: number; maxAttempts: number; ids: string }>
  ).map(({ ids, ...r }) => ({ ...r, transactions: ids.split(',').slice(0, 20).map((id) => absoluteUrl(deps.config, `/v1/transactions/${id}`)) }));
  const compensations = (
    (await db.all(`SELECT id, partner, flow, state, cursor, updated_at AS "updatedAt", failure FROM transactions WHERE phase = 'compensating' AND state NOT IN ('compensated') ORDER BY updated_at, id LIMIT 200`)) as Array<{ id: string; partner: string; flow: string; state: string; cursor: number; updatedAt: string; failure: string | null }>
  ).map((r) => ({ ...r, failure: r.failure ? (JSON.parse(r.failure) as unknown) : null, link: absoluteUrl(deps.config, `/v1/transactions/${r.id}`) }));
  return { at: new Date(now).toISOString(), degradedRoutes: degraded, stuckTransactionTypes: stuck, accumulatingRetries: retrying, pendingCompensations: compensations };
}
